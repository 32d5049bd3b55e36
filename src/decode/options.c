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
