/* TLS: a record at the start of a TCP segment, and the ClientHello or
 * ServerHello it may start with, decoded when a chef reads it, with the
 * JA3 (JA3S) and JA4 fingerprints of the hello.
 *
 * Every read is bounded by the bytes given and by the lengths around it:
 * a vector that runs past them yields the whole elements that are there
 * and ends the decoding. Fingerprints are made only from a hello that is
 * all there, since one made from part of a hello names a client that does
 * not exist. The JA3 strings follow tshark's tls.handshake.ja3_full and
 * ja3s_full; JA4 follows its specification (FoxIO's JA4.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "apps.h"
#include "bytes.h"
#include "base/util.h"

enum {
	REC_HEADER = 5, HS_HEADER = 4,
	REC_MAX = 16384 + 2048,		/* the longest record TLS allows */
	CT_FIRST = 20, CT_LAST = 24,	/* change_cipher_spec .. heartbeat */
	CT_HANDSHAKE = 22,
	HS_CLIENT_HELLO = 1, HS_SERVER_HELLO = 2,
	/* version, random, session id, and a ServerHello's suite and
	 * compression method: no hello is shorter */
	HELLO_MIN = 2 + 32 + 1 + 2 + 1,
	RANDOM_LEN = 32,
};

enum {
	EXT_SERVER_NAME = 0, EXT_GROUPS = 10, EXT_EC_POINT_FORMATS = 11,
	EXT_SIG_ALGS = 13, EXT_ALPN = 16, EXT_SUPPORTED_VERSIONS = 43,
};

/* JA4's fixed widths: two-digit counts, 12 hex digits of SHA-256. */
enum { JA4_COUNT_MAX = 99, JA4_HASH_HEX = 12 };

/* A window on the bytes: pos moves towards end, never past it. */
struct rd {
	const uint8_t *p;
	uint32_t pos, end;
};

static int rd_has(const struct rd *r, uint32_t n)
{
	return r->end - r->pos >= n;
}

static uint32_t rd_u8(struct rd *r)
{
	return r->p[r->pos++];
}

static uint32_t rd_u16(struct rd *r)
{
	uint32_t v = get16(r->p + r->pos);

	r->pos += 2;
	return v;
}

/* The vector at r with a lenbytes-byte length in front: v becomes a
 * window on its bytes (those that are there) and r moves past it.
 * Returns -1 when the vector, or its length, is cut short. */
static int rd_vector(struct rd *r, uint32_t lenbytes, struct rd *v)
{
	uint32_t len;

	*v = (struct rd){ r->p, r->end, r->end };
	if (!rd_has(r, lenbytes))
		return -1;
	len = lenbytes == 1 ? rd_u8(r) : rd_u16(r);
	v->pos = r->pos;
	if (!rd_has(r, len)) {
		r->pos = r->end;
		return -1;
	}
	v->end = r->pos + len;
	r->pos += len;
	return 0;
}

/* TLS 1.3's GREASE (RFC 8701): 0x0a0a, 0x1a1a ... 0xfafa, values a peer
 * sends to keep the other side tolerant, which fingerprints skip. */
static int is_grease(uint32_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

static void put_val(struct dpl_tls *t, uint32_t v)
{
	if (t->vals_len == t->vals_cap) {
		t->vals_cap = t->vals_cap ? t->vals_cap * 2 : 256;
		t->vals = xrealloc(t->vals, t->vals_cap * sizeof *t->vals);
	}
	t->vals[t->vals_len++] = v;
}

static uint32_t val(const struct dpl_tls *t, struct dpl_run run, uint32_t i)
{
	return t->vals[run.off + i];
}

/* A list of width-byte numbers filling v; -1 if a number is cut. */
static int read_list(struct dpl_tls *t, struct dpl_run *run, struct rd *v, uint32_t width)
{
	run->off = t->vals_len;
	while (rd_has(v, width))
		put_val(t, width == 1 ? rd_u8(v) : rd_u16(v));
	run->n = t->vals_len - run->off;
	return v->pos == v->end ? 0 : -1;
}

/* ---- extensions ---------------------------------------------------------- */

/* server_name: the first entry of type host_name. */
static void ext_sni(struct dpl_tls *t, struct rd *d)
{
	struct rd list, name;

	rd_vector(d, 2, &list);
	while (rd_has(&list, 1)) {
		uint32_t type = rd_u8(&list);

		if (rd_vector(&list, 2, &name) < 0)
			return;
		if (type == 0 && !t->has_sni) {
			t->has_sni = 1;
			t->sni_len = name.end - name.pos;
			t->sni = apps_text_put(&t->text, name.p + name.pos, t->sni_len);
			apps_text_end(&t->text);
			return;
		}
	}
}

/* application_layer_protocol_negotiation: each protocol name goes to
 * text, its offset and length to vals. */
static void ext_alpn(struct dpl_tls *t, struct rd *d)
{
	struct rd list, name;

	rd_vector(d, 2, &list);
	t->alpn.off = t->vals_len;
	while (rd_has(&list, 1) && rd_vector(&list, 1, &name) == 0) {
		uint32_t len = name.end - name.pos;

		put_val(t, apps_text_put(&t->text, name.p + name.pos, len));
		put_val(t, len);
		apps_text_end(&t->text);
	}
	t->alpn.n = (t->vals_len - t->alpn.off) / 2;
}

/* One extension's data, for the kinds the fields and fingerprints use. */
static void ext_data(struct dpl_tls *t, uint32_t type, struct rd *d)
{
	struct rd list;

	switch (type) {
	case EXT_SERVER_NAME:
		ext_sni(t, d);
		break;
	case EXT_ALPN:
		ext_alpn(t, d);
		break;
	case EXT_GROUPS:
		rd_vector(d, 2, &list);
		read_list(t, &t->groups, &list, 2);
		break;
	case EXT_EC_POINT_FORMATS:
		rd_vector(d, 1, &list);
		read_list(t, &t->ec_point_formats, &list, 1);
		break;
	case EXT_SIG_ALGS:
		rd_vector(d, 2, &list);
		read_list(t, &t->sig_algs, &list, 2);
		break;
	case EXT_SUPPORTED_VERSIONS:
		/* A ClientHello lists the versions; a ServerHello has the
		 * one chosen, bare. */
		if (t->msgtype == HS_CLIENT_HELLO)
			rd_vector(d, 1, &list);
		else
			list = *d;
		read_list(t, &t->supported_versions, &list, 2);
		break;
	}
}

/* The extension block: the types first, so that they make one run of
 * vals, then the data of each extension that is whole. Returns -1 when
 * the block is cut short. */
static int extensions(struct dpl_tls *t, struct rd *block)
{
	struct rd walk = *block, d;
	int cut = 0;

	t->ext.off = t->vals_len;
	while (rd_has(&walk, 4)) {
		put_val(t, rd_u16(&walk));
		if (rd_vector(&walk, 2, &d) < 0)
			cut = 1;
	}
	t->ext.n = t->vals_len - t->ext.off;
	if (walk.pos != walk.end)
		cut = 1;
	walk = *block;
	while (rd_has(&walk, 4)) {
		uint32_t type = rd_u16(&walk);

		if (rd_vector(&walk, 2, &d) < 0)
			break;
		ext_data(t, type, &d);
	}
	return cut ? -1 : 0;
}

/* ---- hellos -------------------------------------------------------------- */

/* Both hellos: version, random, session id; then a ClientHello's suites
 * and compression methods, or a ServerHello's choice of each; then the
 * extensions, which a hello from before TLS 1.2 may leave out. Returns
 * -1 when the hello is cut short or malformed. */
static int hello(struct dpl_tls *t, struct rd *r)
{
	struct rd v;

	t->version = (uint16_t)rd_u16(r);
	r->pos += RANDOM_LEN;
	if (rd_vector(r, 1, &v) < 0)			/* session id */
		return -1;
	if (t->msgtype == HS_CLIENT_HELLO) {
		if (rd_vector(r, 2, &v) < 0) {
			read_list(t, &t->ciphers, &v, 2);
			return -1;
		}
		if (read_list(t, &t->ciphers, &v, 2) < 0 || rd_vector(r, 1, &v) < 0)
			return -1;
	} else {
		if (!rd_has(r, 3))
			return -1;
		t->cipher = (int32_t)rd_u16(r);
		r->pos++;				/* compression method */
	}
	t->ext.off = t->vals_len;
	if (r->pos == r->end)
		return 0;
	if (rd_vector(r, 2, &v) < 0) {
		extensions(t, &v);
		return -1;
	}
	return extensions(t, &v);
}

/* ---- fingerprints -------------------------------------------------------- */

static void put_text(struct dpl_tls *t, const char *s)
{
	apps_text_put(&t->text, s, (uint32_t)strlen(s));
}

static void put_number(struct dpl_tls *t, const char *fmt, uint32_t v)
{
	char buf[16];

	snprintf(buf, sizeof buf, fmt, v);
	put_text(t, buf);
}

/* A run's values but GREASE, joined by sep, each printed with fmt. */
static void put_run(struct dpl_tls *t, struct dpl_run run, const char *fmt, const char *sep)
{
	int first = 1;

	for (uint32_t i = 0; i < run.n; i++) {
		uint32_t v = val(t, run, i);

		if (is_grease(v))
			continue;
		if (!first)
			put_text(t, sep);
		put_number(t, fmt, v);
		first = 0;
	}
}

/* Append the first n hex digits of a digest of text[from, from + len),
 * or nothing if OpenSSL will not make it (as a FIPS configuration
 * refuses MD5). The digest is made before anything is appended, since
 * appending may move the text. */
static void put_digest(struct dpl_tls *t, const EVP_MD *md, uint32_t from, uint32_t len, int n)
{
	unsigned char sum[EVP_MAX_MD_SIZE];
	unsigned int sum_len = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	if (!EVP_Digest(t->text.s + from, len, sum, &sum_len, md, NULL))
		sum_len = 0;
	for (unsigned int i = 0; i < sum_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", sum[i]);
	hex[2 * sum_len] = '\0';
	if ((int)(2 * sum_len) > n)
		hex[n] = '\0';
	put_text(t, hex);
}

/* JA3: version,ciphers,extensions,groups,point formats, in decimal;
 * JA3S: version,cipher,extensions. Then the MD5 of either. */
static void ja3(struct dpl_tls *t)
{
	t->ja3_full = t->text.len;
	put_number(t, "%u,", t->version);
	if (t->msgtype == HS_CLIENT_HELLO) {
		put_run(t, t->ciphers, "%u", "-");
		put_text(t, ",");
		put_run(t, t->ext, "%u", "-");
		put_text(t, ",");
		put_run(t, t->groups, "%u", "-");
		put_text(t, ",");
		put_run(t, t->ec_point_formats, "%u", "-");
	} else {
		put_number(t, "%u,", t->cipher);
		put_run(t, t->ext, "%u", "-");
	}
	t->ja3_full_len = t->text.len - t->ja3_full;
	apps_text_end(&t->text);
	t->ja3 = t->text.len;
	put_digest(t, EVP_md5(), t->ja3_full, t->ja3_full_len, 32);
	t->ja3_len = t->text.len - t->ja3;
	apps_text_end(&t->text);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* A run less GREASE (and, for extensions, less SNI and ALPN, which JA4
 * tells in its first part), sorted, as a new run at the end of vals. */
static struct dpl_run sorted(struct dpl_tls *t, struct dpl_run run, int drop_named)
{
	struct dpl_run out = { t->vals_len, 0 };

	for (uint32_t i = 0; i < run.n; i++) {
		uint32_t v = val(t, run, i);

		if (is_grease(v) || (drop_named && (v == EXT_SERVER_NAME || v == EXT_ALPN)))
			continue;
		put_val(t, v);
		out.n++;
	}
	qsort(t->vals + out.off, out.n, sizeof *t->vals, cmp_u32);
	return out;
}

static uint32_t count_ungreased(const struct dpl_tls *t, struct dpl_run run)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < run.n; i++)
		n += !is_grease(val(t, run, i));
	return n > JA4_COUNT_MAX ? JA4_COUNT_MAX : n;
}

static int has_ext(const struct dpl_tls *t, uint32_t type)
{
	for (uint32_t i = 0; i < t->ext.n; i++)
		if (val(t, t->ext, i) == type)
			return 1;
	return 0;
}

/* The version JA4 names: the highest supported_versions entry if there
 * is one, else the hello's own. */
static const char *ja4_version(const struct dpl_tls *t)
{
	static const struct { uint16_t v; const char *s; } names[] = {
		{ 0x0304, "13" }, { 0x0303, "12" }, { 0x0302, "11" }, { 0x0301, "10" },
		{ 0x0300, "s3" }, { 0x0002, "s2" }, { 0xfeff, "d1" }, { 0xfefd, "d2" },
		{ 0xfefc, "d3" },
	};
	uint32_t v = 0;

	for (uint32_t i = 0; i < t->supported_versions.n; i++) {
		uint32_t s = val(t, t->supported_versions, i);

		if (!is_grease(s) && s > v)
			v = s;
	}
	if (v == 0)
		v = t->version;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].v == v)
			return names[i].s;
	return "00";
}

static int is_alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* The first and last character of the first ALPN protocol; where either
 * is not alphanumeric, the first and last digit of its hex instead. */
static void ja4_alpn(const struct dpl_tls *t, char out[3])
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *s;
	uint32_t len;

	strcpy(out, "00");
	if (t->alpn.n == 0 || (len = val(t, t->alpn, 1)) == 0)
		return;
	s = (const uint8_t *)t->text.s + val(t, t->alpn, 0);
	if (is_alnum(s[0]) && is_alnum(s[len - 1])) {
		out[0] = (char)s[0];
		out[1] = (char)s[len - 1];
	} else {
		out[0] = hex[s[0] >> 4];
		out[1] = hex[s[len - 1] & 15];
	}
}

/* JA4's second or third part: 12 hex digits of the SHA-256 of a list
 * already in text, or twelve zeros for an empty one. */
static void ja4_hash(struct dpl_tls *t, uint32_t from, uint32_t len, int empty)
{
	if (empty)
		put_text(t, "000000000000");
	else
		put_digest(t, EVP_sha256(), from, len, JA4_HASH_HEX);
}

/* ja4_r: a_ciphers_extensions[_sigalgs], in hex, the first two lists
 * sorted; ja4: a, then the two parts after it hashed. */
static void ja4(struct dpl_tls *t)
{
	struct dpl_run ciphers = sorted(t, t->ciphers, 0), exts = sorted(t, t->ext, 1);
	uint32_t nsig = 0, c_from, c_len, e_from, e_len;
	char alpn[3], a[16];

	for (uint32_t i = 0; i < t->sig_algs.n; i++)
		nsig += !is_grease(val(t, t->sig_algs, i));
	ja4_alpn(t, alpn);
	snprintf(a, sizeof a, "t%s%s%02u%02u%s", ja4_version(t),
		 has_ext(t, EXT_SERVER_NAME) ? "d" : "i", count_ungreased(t, t->ciphers),
		 count_ungreased(t, t->ext), alpn);

	t->ja4_r = t->text.len;
	put_text(t, a);
	put_text(t, "_");
	c_from = t->text.len;
	put_run(t, ciphers, "%04x", ",");
	c_len = t->text.len - c_from;
	put_text(t, "_");
	e_from = t->text.len;
	put_run(t, exts, "%04x", ",");
	if (nsig) {
		put_text(t, "_");
		put_run(t, t->sig_algs, "%04x", ",");
	}
	e_len = t->text.len - e_from;
	t->ja4_r_len = t->text.len - t->ja4_r;
	apps_text_end(&t->text);

	t->ja4 = t->text.len;
	put_text(t, a);
	put_text(t, "_");
	ja4_hash(t, c_from, c_len, ciphers.n == 0);
	put_text(t, "_");
	ja4_hash(t, e_from, e_len, exts.n == 0);
	t->ja4_len = t->text.len - t->ja4;
	apps_text_end(&t->text);
	t->vals_len = ciphers.off;	/* the sorted copies go */
}

/* ---- records ------------------------------------------------------------- */

/* A record header: a known content type, version 3.0 to 3.4 (SSL 3.0
 * to TLS 1.3, which all write 3.x there), a length TLS allows. Random
 * bytes pass this about once in a million. */
static int is_record(const uint8_t *p, uint32_t len)
{
	uint32_t rlen;

	if (len < REC_HEADER || p[0] < CT_FIRST || p[0] > CT_LAST || p[1] != 3 || p[2] > 4)
		return 0;
	rlen = get16(p + 3);
	return rlen > 0 && rlen <= REC_MAX;
}

int tls_recognise(const uint8_t *p, uint32_t len)
{
	uint32_t hs_len;

	if (!is_record(p, len))
		return -1;
	if (p[0] != CT_HANDSHAKE || len < REC_HEADER + HS_HEADER + 2)
		return 0;
	if ((p[5] != HS_CLIENT_HELLO && p[5] != HS_SERVER_HELLO) ||
	    get16(p + 3) < HS_HEADER + 2)
		return 0;
	/* An encrypted Finished travels as a handshake record too: a hello
	 * also has a plausible length and a 3.x version. */
	hs_len = (uint32_t)p[6] << 16 | get16(p + 7);
	if (hs_len < HELLO_MIN || p[9] != 3)
		return 0;
	return p[5];
}

static void reset(struct dpl_tls *t)
{
	uint32_t *vals = t->vals, vals_cap = t->vals_cap;
	struct dpl_text text = t->text;

	memset(t, 0, sizeof *t);
	t->vals = vals;
	t->vals_cap = vals_cap;
	t->text = text;
	t->text.len = 0;
	t->cipher = -1;
}

/* The hello the record starts with, bounded by the record, by the
 * handshake message's own length and by the bytes given. A hello that
 * goes on in a next record is decoded as far as this one holds it. */
int tls_decode(const uint8_t *rec, uint32_t len, struct dpl_tls *t)
{
	struct rd r = { rec, REC_HEADER + HS_HEADER, len };
	uint32_t rec_end, hs_len;
	int whole;

	reset(t);
	if (tls_recognise(rec, len) <= 0)
		return -1;
	t->msgtype = rec[5];
	rec_end = REC_HEADER + get16(rec + 3);
	hs_len = (uint32_t)rec[6] << 16 | get16(rec + 7);
	whole = rec_end <= len && HS_HEADER + hs_len <= rec_end - REC_HEADER;
	if (r.end > rec_end)
		r.end = rec_end;
	if (r.end - r.pos > hs_len)
		r.end = r.pos + hs_len;
	if (!rd_has(&r, HELLO_MIN)) {
		t->version = (uint16_t)rd_u16(&r);	/* recognised: it is there */
		return 0;
	}
	if (hello(t, &r) < 0 || !whole)
		return 0;
	t->complete = 1;
	ja3(t);
	if (t->msgtype == HS_CLIENT_HELLO)
		ja4(t);
	return 0;
}
