/* A recursive-descent JSON checker over the bytes as they came: nothing is
 * built or copied but the three strings a dumpling's metadata is read for.
 * Its rules are RFC 8259's, stricter than cJSON's where cJSON is lenient
 * ("01", "+1", "1."), so that what the hub forwards parses everywhere. */
#include <stdint.h>
#include <string.h>

#include "jsonscan.h"
#include "utf8.h"

/* What an object's members are looked at for. */
enum want { WANT_NOTHING, WANT_METADATA, WANT_FIELDS };

enum { FIELD_CHEF, FIELD_KITCHEN, FIELD_DRIVER, FIELD_RUN, NFIELDS };

static const char *const field_names[NFIELDS] = { "chef", "kitchen", "driver", "run" };

/* A string's content, between its quotes, as it is on the wire. */
struct span {
	const unsigned char *s;
	size_t n;
	int escaped;
};

struct scan {
	const unsigned char *p, *end;
	int depth;
	int metadata_seen;		/* the top object's first "metadata" */
	int field_seen[NFIELDS];	/* its first member of each name */
	int field_is_string[NFIELDS];
	struct span field[NFIELDS];
	int seq_seen;
	unsigned long long seq;		/* metadata.seq, if a plain integer */
};

static int scan_value(struct scan *s, enum want want);

static void skip_space(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int at(const struct scan *s, unsigned char c)
{
	return s->p < s->end && *s->p == c;
}

static int hex4(const unsigned char *p, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		unsigned char c = p[i];

		if (c >= '0' && c <= '9')
			v = v << 4 | (c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v = v << 4 | ((c | 0x20) - 'a' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static int is_high_surrogate(unsigned cp)
{
	return cp >= 0xd800 && cp <= 0xdbff;
}

static int is_low_surrogate(unsigned cp)
{
	return cp >= 0xdc00 && cp <= 0xdfff;
}

/* s->p at a backslash: one escape, and a high surrogate's low partner. */
static int scan_escape(struct scan *s)
{
	const unsigned char *p = s->p + 1;
	unsigned cp, low;

	if (p >= s->end)
		return -1;
	if (*p && strchr("\"\\/bfnrt", *p)) {
		s->p = p + 1;
		return 0;
	}
	if (*p != 'u' || s->end - p < 5 || hex4(p + 1, &cp) < 0 || is_low_surrogate(cp))
		return -1;
	p += 5;
	if (is_high_surrogate(cp)) {
		if (s->end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &low) < 0 ||
		    !is_low_surrogate(low))
			return -1;
		p += 6;
	}
	s->p = p;
	return 0;
}

static int is_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

#define BYTES(b) (0x0101010101010101ULL * (b))

/* Whether a byte of v is below n (n <= 0x80): exact as to whether there
 * is one, which is all that is asked. */
static int has_byte_below(uint64_t v, unsigned n)
{
	return ((v - BYTES(n)) & ~v & BYTES(0x80)) != 0;
}

/* Skip the plain bytes (printable ASCII but quote and backslash) that make
 * up most strings, eight at a time while there are eight. */
static const unsigned char *skip_plain(const unsigned char *p, const unsigned char *end)
{
	uint64_t x;

	while (end - p >= 8) {
		memcpy(&x, p, 8);
		if ((x & BYTES(0x80)) || has_byte_below(x, 0x20) ||
		    has_byte_below(x ^ BYTES('"'), 1) || has_byte_below(x ^ BYTES('\\'), 1))
			break;
		p += 8;
	}
	while (p < end && is_plain(*p))
		p++;
	return p;
}

/* s->p at the opening quote; *sp (if given) gets the content. */
static int scan_string(struct scan *s, struct span *sp)
{
	const unsigned char *open = s->p, *p = s->p + 1;
	int escaped = 0;
	size_t n;

	for (;;) {
		p = skip_plain(p, s->end);
		if (p >= s->end || *p < 0x20)
			return -1;
		if (*p == '"')
			break;
		if (*p == '\\') {
			s->p = p;
			if (scan_escape(s) < 0)
				return -1;
			p = s->p;
			escaped = 1;
			continue;
		}
		n = utf8_seq(p, (size_t)(s->end - p));
		if (!n)
			return -1;
		p += n;
	}
	if (sp) {
		sp->s = open + 1;
		sp->n = (size_t)(p - open - 1);
		sp->escaped = escaped;
	}
	s->p = p + 1;
	return 0;
}

static int scan_digits(struct scan *s)
{
	const unsigned char *start = s->p;

	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return s->p > start ? 0 : -1;
}

static int scan_number(struct scan *s)
{
	if (at(s, '-'))
		s->p++;
	if (at(s, '0'))
		s->p++;
	else if (scan_digits(s) < 0)
		return -1;
	if (at(s, '.')) {
		s->p++;
		if (scan_digits(s) < 0)
			return -1;
	}
	if (at(s, 'e') || at(s, 'E')) {
		s->p++;
		if (at(s, '+') || at(s, '-'))
			s->p++;
		if (scan_digits(s) < 0)
			return -1;
	}
	return 0;
}

static int scan_word(struct scan *s, const char *word, size_t n)
{
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n))
		return -1;
	s->p += n;
	return 0;
}

static size_t put_utf8(char *out, unsigned cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The content of a string already checked, unescaped into out (which needs
 * no more than sp->n bytes); returns the length. */
static size_t unescape(const struct span *sp, char *out)
{
	const unsigned char *s = sp->s;
	size_t o = 0;
	unsigned cp, low;

	for (size_t i = 0; i < sp->n;) {
		if (s[i] != '\\') {
			out[o++] = (char)s[i++];
			continue;
		}
		switch (s[i + 1]) {
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u':
			hex4(s + i + 2, &cp);
			if (is_high_surrogate(cp)) {
				hex4(s + i + 8, &low);
				cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
				i += 6;
			}
			o += put_utf8(out + o, cp);
			i += 6;
			continue;
		default: out[o++] = (char)s[i + 1]; break;	/* " \ / */
		}
		i += 2;
	}
	return o;
}

/* Whether a key is name, comparing what the key means, not how it is
 * written: "met\u0061data" is "metadata". */
static int key_is(const struct span *key, const char *name)
{
	size_t n = strlen(name);
	char buf[64];

	if (!key->escaped)
		return key->n == n && !memcmp(key->s, name, n);
	/* a name of n characters is written in at most 6 * n bytes */
	return key->n <= sizeof buf && unescape(key, buf) == n && !memcmp(buf, name, n);
}

static int scan_field(struct scan *s, int f)
{
	s->field_seen[f] = 1;
	if (!at(s, '"'))
		return scan_value(s, WANT_NOTHING);
	s->field_is_string[f] = 1;
	return scan_string(s, &s->field[f]);
}

/* metadata.seq: read as it is checked, when it is a plain integer. */
static int scan_seq(struct scan *s)
{
	const unsigned char *p = s->p;
	unsigned long long v = 0;

	s->seq_seen = 1;
	while (p < s->end && *p >= '0' && *p <= '9' && v < 1000000000000000000ull)
		v = v * 10 + (unsigned)(*p++ - '0');
	if (scan_value(s, WANT_NOTHING) < 0)
		return -1;
	if (s->p == p)	/* the number was all digits */
		s->seq = v;
	return 0;
}

static int scan_member_value(struct scan *s, enum want want, const struct span *key)
{
	if (want == WANT_METADATA && !s->metadata_seen && key_is(key, "metadata")) {
		s->metadata_seen = 1;
		return scan_value(s, WANT_FIELDS);
	}
	if (want == WANT_FIELDS) {
		for (int f = 0; f < NFIELDS; f++)
			if (!s->field_seen[f] && key_is(key, field_names[f]))
				return scan_field(s, f);
		if (!s->seq_seen && key_is(key, "seq"))
			return scan_seq(s);
	}
	return scan_value(s, WANT_NOTHING);
}

/* One member of an object: a key, a colon, a value. */
static int scan_member(struct scan *s, enum want want)
{
	struct span key;

	if (!at(s, '"') || scan_string(s, &key) < 0)
		return -1;
	skip_space(s);
	if (!at(s, ':'))
		return -1;
	s->p++;
	skip_space(s);
	return scan_member_value(s, want, &key);
}

/* An object (close is '}') or an array (']'), s->p at its opening. */
static int scan_container(struct scan *s, unsigned char close, enum want want)
{
	if (++s->depth > JSON_MAX_DEPTH)
		return -1;
	s->p++;
	skip_space(s);
	if (!at(s, close)) {
		for (;;) {
			if ((close == '}' ? scan_member(s, want) : scan_value(s, WANT_NOTHING)) < 0)
				return -1;
			skip_space(s);
			if (!at(s, ','))
				break;
			s->p++;
			skip_space(s);
		}
		if (!at(s, close))
			return -1;
	}
	s->p++;
	s->depth--;
	return 0;
}

/* want applies if the value is an object: which members to look for. */
static int scan_value(struct scan *s, enum want want)
{
	if (s->p >= s->end)
		return -1;
	switch (*s->p) {
	case '{': return scan_container(s, '}', want);
	case '[': return scan_container(s, ']', WANT_NOTHING);
	case '"': return scan_string(s, NULL);
	case 't': return scan_word(s, "true", 4);
	case 'f': return scan_word(s, "false", 5);
	case 'n': return scan_word(s, "null", 4);
	default: return scan_number(s);
	}
}

static void fill_meta(const struct scan *s, struct json_meta *meta, char *scratch)
{
	const char **out[NFIELDS] = { &meta->chef, &meta->kitchen, &meta->driver, &meta->run };

	meta->seq = s->seq;

	for (int f = 0; f < NFIELDS; f++) {
		const struct span *sp = &s->field[f];
		size_t n;

		*out[f] = NULL;
		if (!s->field_is_string[f])
			continue;
		if (sp->escaped) {
			n = unescape(sp, scratch);
		} else {
			memcpy(scratch, sp->s, sp->n);
			n = sp->n;
		}
		scratch[n] = '\0';
		*out[f] = scratch;
		scratch += n + 1;
	}
}

int json_scan(const char *msg, size_t len, struct json_meta *meta, char *scratch)
{
	struct scan s;

	memset(&s, 0, sizeof s);
	s.p = (const unsigned char *)msg;
	s.end = s.p + len;
	skip_space(&s);
	if (scan_value(&s, WANT_METADATA) < 0)
		return -1;
	skip_space(&s);
	if (s.p != s.end)
		return -1;
	if (meta)
		fill_meta(&s, meta, scratch);
	return 0;
}
