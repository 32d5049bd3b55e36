/* DNS message decoding, done when a chef first reads pkt.DNS. Every read
 * is bounded by the message length, and a name may take only so many
 * compression pointers, so a pointer loop ends. A malformed record ends
 * the decoding; what was decoded before it stays. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packet.h"
#include "base/util.h"

/* RFC 1035: a name is at most 255 bytes on the wire, labels at most 63.
 * A name of 255 bytes has at most 127 labels, so a name that follows more
 * pointers than that is going round a loop. */
enum { NAME_MAX_WIRE = 255, NAME_MAX_JUMPS = 127, MAX_RECORDS = 1024 };

enum {
	T_A = 1, T_NS = 2, T_CNAME = 5, T_SOA = 6, T_PTR = 12, T_MX = 15,
	T_TXT = 16, T_AAAA = 28, T_SRV = 33, T_DNAME = 39,
};

struct dns_reader {
	const uint8_t *msg;
	uint32_t len;
	struct dpl_dns *out;
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void text_reserve(struct dpl_dns *out, uint32_t more)
{
	if (out->text_len + more <= out->text_cap)
		return;
	while (out->text_len + more > out->text_cap)
		out->text_cap = out->text_cap ? out->text_cap * 2 : 4096;
	out->text = xrealloc(out->text, out->text_cap);
}

static void text_put(struct dpl_dns *out, const void *s, uint32_t n)
{
	text_reserve(out, n);
	memcpy(out->text + out->text_len, s, n);
	out->text_len += n;
}

static void text_printf(struct dpl_dns *out, const char *fmt, unsigned long v)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, fmt, v);

	text_put(out, buf, (uint32_t)n);
}

static void text_end(struct dpl_dns *out)
{
	text_put(out, "", 1);
}

/* Append the name at *pos as text (no trailing dot; the root is ".") and
 * move *pos past it. Returns -1 for a malformed name. The name itself must
 * end by end (the end of its record's data, say); what pointers lead to
 * may lie anywhere in the message. Pointers forward are followed too (RFC
 * 1035 speaks of a prior occurrence, but tshark and scapy read them, and
 * the jump limit makes them as safe as backward ones). */
static int read_name(struct dns_reader *r, uint32_t *pos, uint32_t end)
{
	struct dpl_dns *out = r->out;
	uint32_t at = *pos, start = out->text_len, wire = 1;
	int jumps = 0;

	/* The text of a name is never longer than its wire form: room for
	 * the longest is made once, and labels are copied straight in. */
	text_reserve(out, NAME_MAX_WIRE + 1);

	for (;;) {
		uint32_t limit = jumps ? r->len : end;
		uint8_t len;

		if (at >= limit)
			return -1;
		len = r->msg[at];
		if (len == 0) {
			if (!jumps)
				*pos = at + 1;
			break;
		}
		if ((len & 0xc0) == 0xc0) {
			if (at + 1 >= limit || ++jumps > NAME_MAX_JUMPS)
				return -1;
			if (jumps == 1)
				*pos = at + 2;
			at = (uint32_t)(len & 0x3f) << 8 | r->msg[at + 1];
			continue;
		}
		if (len & 0xc0)		/* 0x40 and 0x80 label types */
			return -1;
		wire += 1u + len;
		if (at + 1 + len > limit || wire > NAME_MAX_WIRE)
			return -1;
		if (out->text_len > start)
			out->text[out->text_len++] = '.';
		memcpy(out->text + out->text_len, r->msg + at + 1, len);
		out->text_len += len;
		at += 1u + len;
	}
	if (out->text_len == start)
		out->text[out->text_len++] = '.';
	return 0;
}

static struct dpl_dns_rr *new_record(struct dpl_dns *out)
{
	uint32_t n = out->nrr[0] + out->nrr[1] + out->nrr[2] + out->nrr[3];

	if (n >= MAX_RECORDS)
		return NULL;
	if (n == out->rr_cap) {
		out->rr_cap = out->rr_cap ? out->rr_cap * 2 : 32;
		out->rr = xrealloc(out->rr, out->rr_cap * sizeof *out->rr);
	}
	memset(&out->rr[n], 0, sizeof out->rr[n]);
	return &out->rr[n];
}

static int read_question(struct dns_reader *r, uint32_t *pos)
{
	struct dpl_dns_rr *rr = new_record(r->out);

	if (!rr)
		return -1;
	rr->name = r->out->text_len;
	if (read_name(r, pos, r->len) < 0 || *pos + 4 > r->len)
		return -1;
	rr->name_len = r->out->text_len - rr->name;
	text_end(r->out);
	rr->type = rd16(r->msg + *pos);
	rr->rclass = rd16(r->msg + *pos + 2);
	rr->is_question = 1;
	*pos += 4;
	return 0;
}

/* Names inside rdata, for the types whose rdata is (or holds) a name. */
static int rdata_name(struct dns_reader *r, uint32_t pos, uint32_t end)
{
	return read_name(r, &pos, end);
}

static int rdata_soa(struct dns_reader *r, uint32_t pos, uint32_t end)
{
	if (read_name(r, &pos, end) < 0)
		return -1;
	text_put(r->out, " ", 1);
	if (read_name(r, &pos, end) < 0 || pos + 20 > end)
		return -1;
	for (int i = 0; i < 5; i++)
		text_printf(r->out, " %lu", rd32(r->msg + pos + 4 * i));
	return 0;
}

static int rdata_txt(struct dns_reader *r, uint32_t pos, uint32_t end)
{
	while (pos < end) {
		uint8_t n = r->msg[pos];

		if (pos + 1 + n > end)
			return -1;
		text_put(r->out, r->msg + pos + 1, n);
		pos += 1u + n;
	}
	return 0;
}

static int rdata_text(struct dns_reader *r, uint16_t type, uint32_t pos, uint32_t rdlen)
{
	const uint8_t *p = r->msg + pos;
	uint32_t end = pos + rdlen;
	char buf[64];

	switch (type) {
	case T_A:
		if (rdlen != 4)
			break;
		text_put(r->out, buf, (uint32_t)format_ip4(p, buf));
		return 0;
	case T_AAAA:
		if (rdlen != 16)
			break;
		text_put(r->out, buf, (uint32_t)format_ip6(p, buf));
		return 0;
	case T_NS: case T_CNAME: case T_PTR: case T_DNAME:
		return rdata_name(r, pos, end);
	case T_MX:
		if (rdlen < 3)
			break;
		text_printf(r->out, "%lu ", rd16(p));
		return rdata_name(r, pos + 2, end);
	case T_SRV:
		if (rdlen < 7)
			break;
		text_printf(r->out, "%lu ", rd16(p));
		text_printf(r->out, "%lu ", rd16(p + 2));
		text_printf(r->out, "%lu ", rd16(p + 4));
		return rdata_name(r, pos + 6, end);
	case T_SOA:
		return rdata_soa(r, pos, end);
	case T_TXT:
		return rdata_txt(r, pos, end);
	}
	/* Anything else is handed over as its raw bytes. */
	text_put(r->out, p, rdlen);
	return 0;
}

static int read_record(struct dns_reader *r, uint32_t *pos)
{
	struct dpl_dns_rr *rr = new_record(r->out);
	uint32_t rdlen, mark;

	if (!rr)
		return -1;
	rr->name = r->out->text_len;
	if (read_name(r, pos, r->len) < 0 || *pos + 10 > r->len)
		return -1;
	rr->name_len = r->out->text_len - rr->name;
	text_end(r->out);
	rr->type = rd16(r->msg + *pos);
	rr->rclass = rd16(r->msg + *pos + 2);
	rr->ttl = rd32(r->msg + *pos + 4);
	rdlen = rd16(r->msg + *pos + 8);
	*pos += 10;
	if (*pos + rdlen > r->len)
		return -1;
	rr->rdata = mark = r->out->text_len;
	if (rdata_text(r, rr->type, *pos, rdlen) < 0)
		return -1;
	rr->rdlen = r->out->text_len - mark;
	text_end(r->out);
	*pos += rdlen;
	return 0;
}

static void read_header(const uint8_t *m, struct dpl_dns *out)
{
	out->id = rd16(m);
	out->qr = m[2] >> 7;
	out->opcode = (m[2] >> 3) & 15;
	out->aa = (m[2] >> 2) & 1;
	out->tc = (m[2] >> 1) & 1;
	out->rd = m[2] & 1;
	out->ra = m[3] >> 7;
	out->z = (m[3] >> 6) & 1;
	out->ad = (m[3] >> 5) & 1;
	out->cd = (m[3] >> 4) & 1;
	out->rcode = m[3] & 15;
	out->qdcount = rd16(m + 4);
	out->ancount = rd16(m + 6);
	out->nscount = rd16(m + 8);
	out->arcount = rd16(m + 10);
}

int dns_decode(const uint8_t *msg, uint32_t len, int sections, struct dpl_dns *out)
{
	struct dns_reader r = { msg, len, out };
	uint32_t pos = 12;
	uint16_t counts[4];

	out->text_len = 0;
	memset(out->nrr, 0, sizeof out->nrr);
	if (len < 12)
		return -1;
	read_header(msg, out);
	counts[0] = out->qdcount;
	counts[1] = out->ancount;
	counts[2] = out->nscount;
	counts[3] = out->arcount;
	for (int s = 0; s < sections && s < 4; s++) {
		for (uint32_t i = 0; i < counts[s]; i++) {
			uint32_t text_mark = out->text_len;
			int rc = s == 0 ? read_question(&r, &pos) : read_record(&r, &pos);

			if (rc < 0) {
				out->text_len = text_mark;
				return 0;	/* the rest is malformed */
			}
			out->nrr[s]++;
		}
	}
	return 0;
}

/* Only the common case, one question, is decoded ahead; for anything
 * else the runtime decodes the questions when a chef asks. */
size_t packet_decode_question(struct dpl_packet *pkt, struct dpl_dns *scratch,
			      char *text, size_t room)
{
	const struct dpl_dns_rr *q;

	if (!pkt->dns_len)
		return 0;
	if (dns_decode(pkt->data + pkt->dns_off, pkt->dns_len, 1, scratch) < 0) {
		pkt->dns_q = 2;
		return 0;
	}
	q = scratch->rr;	/* where the decoder put it */
	if (scratch->nrr[0] != 1 || q->name_len + 1 > room)
		return 0;
	memcpy(text, scratch->text + q->name, q->name_len + 1);
	pkt->dns_qname = text;
	pkt->dns_qname_len = q->name_len;
	pkt->dns_qtype = q->type;
	pkt->dns_qclass = q->rclass;
	pkt->dns_q = 1;
	return q->name_len + 1;
}

void dns_free(struct dpl_dns *dns)
{
	free(dns->rr);
	free(dns->text);
	memset(dns, 0, sizeof *dns);
}
