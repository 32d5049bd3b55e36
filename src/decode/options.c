/* Options, decoded when a chef reads them: the decoder only notes where
 * they are and how many of their bytes were captured, so that a packet
 * nobody asks about costs nothing more. Each walk stops at the first
 * option that does not fit in what is left, and reads nothing past it. */
#include <string.h>

#include "decoder.h"

enum {
	TCPOPT_EOL = 0, TCPOPT_NOP = 1, TCPOPT_MSS = 2, TCPOPT_WSCALE = 3,
	TCPOPT_SACK = 5, TCPOPT_TIMESTAMP = 8, TCPOPT_UTO = 28,
};

/* The numbers of a TCP option whose value has the size its kind gives it;
 * any other option keeps its value as bytes only (as scapy does). */
static void tcp_option_numbers(struct dpl_tcpopt *o, const uint8_t *v)
{
	uint32_t n = o->len - 2u;

	switch (o->kind) {
	case TCPOPT_MSS:
	case TCPOPT_UTO:
		if (n == 2) {
			o->v[0] = get16(v);
			o->nv = 1;
		}
		break;
	case TCPOPT_WSCALE:
		if (n == 1) {
			o->v[0] = v[0];
			o->nv = 1;
		}
		break;
	case TCPOPT_TIMESTAMP:
		if (n == 8) {
			o->v[0] = get32(v);
			o->v[1] = get32(v + 4);
			o->nv = 2;
		}
		break;
	case TCPOPT_SACK:	/* blocks of two edges, at most four */
		if (n > 0 && n % 8 == 0 && n / 4 <= sizeof o->v / sizeof o->v[0]) {
			for (uint32_t i = 0; i < n / 4; i++)
				o->v[i] = get32(v + 4 * i);
			o->nv = (uint8_t)(n / 4);
		}
		break;
	}
}

int tcp_options(const uint8_t *opts, uint32_t len, struct dpl_tcpopts *out)
{
	uint32_t pos = 0;

	out->n = 0;
	while (pos < len && out->n < DPL_MAX_TCPOPTS) {
		struct dpl_tcpopt *o = &out->opt[out->n];
		uint8_t kind = opts[pos];

		memset(o, 0, sizeof *o);
		o->kind = kind;
		if (kind == TCPOPT_EOL || kind == TCPOPT_NOP) {
			o->len = 1;
			o->off = ++pos;
			out->n++;
			if (kind == TCPOPT_EOL)
				break;		/* what follows is padding */
			continue;
		}
		/* A length under 2 would never move on; one past the end
		 * claims bytes that are not there. */
		if (len - pos < 2 || opts[pos + 1] < 2 || opts[pos + 1] > len - pos)
			break;
		o->len = opts[pos + 1];
		o->off = pos + 2;
		tcp_option_numbers(o, opts + pos + 2);
		out->n++;
		pos += o->len;
	}
	return (int)out->n;
}

enum {
	NDOPT_SRCLL = 1, NDOPT_TGTLL = 2, NDOPT_PREFIX = 3, NDOPT_REDIRECTED = 4,
	NDOPT_MTU = 5, NDOPT_ADVINT = 7, NDOPT_HAINFO = 8, NDOPT_ROUTE = 24,
	NDOPT_RDNSS = 25, NDOPT_DNSSL = 31,
};

/* Whether a neighbour discovery option of this size has the layout its
 * type gives it; an unknown type has none. */
static int nd_option_fits(const uint8_t *p, uint32_t size)
{
	switch (p[0]) {
	case NDOPT_SRCLL:
	case NDOPT_TGTLL:
	case NDOPT_REDIRECTED:
		return 1;
	case NDOPT_PREFIX:
		return size == 32;
	case NDOPT_MTU:
	case NDOPT_ADVINT:
	case NDOPT_HAINFO:
		return size == 8;
	case NDOPT_ROUTE:	/* a prefix of 0, 8 or 16 bytes, as its length needs */
		return size <= 24 && p[2] <= 128 && (p[2] + 63u) / 64 * 8 <= size - 8;
	case NDOPT_RDNSS:
		return size >= 24 && (size - 8) % 16 == 0;
	case NDOPT_DNSSL:
		return size >= 16;
	}
	return 0;
}

/* One name of a DNSSL option: DNS labels without compression, from pos,
 * into out's text as dotted text. Returns where the name ends, or 0 when
 * it is malformed or there is no room left for it. */
static uint32_t nd_name(const uint8_t *p, uint32_t pos, uint32_t size, struct dpl_ndopts *out)
{
	uint32_t start = out->text_len, n = start;

	while (pos < size && p[pos] != 0) {
		uint32_t len = p[pos];

		if (len > 63 || len >= size - pos || n + len + 2 > DPL_NDOPT_TEXT)
			return 0;
		if (n > start)
			out->text[n++] = '.';
		memcpy(out->text + n, p + pos + 1, len);
		n += len;
		pos += 1 + len;
	}
	if (pos >= size || out->nnames >= DPL_MAX_NDNAMES)
		return 0;	/* no root label: the name runs past the option */
	out->text[n++] = '\0';
	out->names[out->nnames++] = (uint16_t)start;
	out->text_len = n;
	return pos + 1;
}

/* DNSSL (RFC 8106): names from byte 8, then zeros to the option's end.
 * The list ends at the zeros, or before a name that is malformed. */
static void nd_dnssl(const uint8_t *p, uint32_t size, struct dpl_ndopt *o, struct dpl_ndopts *out)
{
	uint32_t pos = 8;

	o->first = out->nnames;
	while (pos < size && p[pos] != 0 && (pos = nd_name(p, pos, size, out)) != 0)
		o->nlist++;
}

static void nd_option_fields(const uint8_t *p, struct dpl_ndopt *o, struct dpl_ndopts *out)
{
	for (int i = 0; i < 3; i++) {
		o->w16[i] = get16(p + 2 + 2 * i);
		if (o->size >= 8u + 4 * i)
			o->w32[i] = get32(p + 4 + 4 * i);
	}
	if (p[0] == NDOPT_PREFIX)
		memcpy(o->prefix, p + 16, 16);
	else if (p[0] == NDOPT_ROUTE)
		memcpy(o->prefix, p + 8, o->size - 8);
	else if (p[0] == NDOPT_RDNSS)
		o->nlist = (o->size - 8) / 16;
	else if (p[0] == NDOPT_DNSSL)
		nd_dnssl(p, o->size, o, out);
}

int nd_options(const uint8_t *opts, uint32_t len, struct dpl_ndopts *out)
{
	uint32_t pos = 0;

	out->n = out->nnames = out->text_len = 0;
	/* A length of zero is invalid (RFC 4861: the message is dropped);
	 * one past the end claims bytes that are not there. */
	while (len - pos >= 8 && opts[pos + 1] != 0 && opts[pos + 1] * 8u <= len - pos &&
	       out->n < DPL_MAX_NDOPTS) {
		struct dpl_ndopt *o = &out->opt[out->n++];
		const uint8_t *p = opts + pos;

		memset(o, 0, sizeof *o);
		o->type = p[0];
		o->len = p[1];
		o->off = pos;
		o->size = p[1] * 8u;
		o->ok = (uint8_t)nd_option_fits(p, o->size);
		if (o->ok)
			nd_option_fields(p, o, out);
		pos += o->size;
	}
	return (int)out->n;
}
