#ifndef DECODER_H
#define DECODER_H

/* What the files of the packet decoder share among themselves (decode.c,
 * tunnel.c, options.c): where decoding stands and how bytes are read.
 * Nothing outside src/decode/ includes it; packet.h is the decoder's face. */

#include <stdint.h>

#include "ipfrag.h"
#include "packet.h"
#include "bytes.h"

/* Where decoding stands: the packet, the next byte to read, the end of
 * the bytes the current layer may use, and whether we are inside the
 * datagram quoted by an ICMP error, or inside a tunnel. stated is where
 * the datagram ends as its IP header says, captured or not (it may lie
 * past the capture): what TCP's payload length is counted from. frags
 * is the reassembler the packet's fragments go to, NULL for none or once
 * a datagram was completed (one a packet). */
struct decoder {
	struct dpl_packet *pkt;
	const uint8_t *data;
	uint32_t off, end;
	int quoted;
	uint32_t stated;
	int inner;
	struct ipfrag *frags;
};

static inline int have(const struct decoder *d, uint32_t n)
{
	return d->end >= d->off && d->end - d->off >= n;
}

_Static_assert(DPL_LAYER_COUNT <= 256, "dpl_packet.layers holds ids in a byte");

/* Append a layer; slot says which of its structs holds it, when a layer
 * can occur more than once (VLAN tags, say). Past DPL_MAX_LAYERS layers
 * are dropped, never written out of bounds. */
static inline void push_slot(struct decoder *d, enum dpl_layer_id id, int slot)
{
	struct dpl_packet *pkt = d->pkt;

	if (pkt->nlayers >= DPL_MAX_LAYERS)
		return;
	if (!pkt->first[id])
		pkt->first[id] = (uint8_t)(pkt->nlayers + 1);
	pkt->slot[pkt->nlayers] = (uint8_t)slot;
	pkt->layers[pkt->nlayers++] = (uint8_t)id;
}

static inline void push_layer(struct decoder *d, enum dpl_layer_id id)
{
	push_slot(d, id, 0);
}

/* decode.c: what a tunnel carries, from d->off: an Ethernet frame, or
 * what an Ethernet header's type says. */
void decode_inner_ethernet(struct decoder *d);
void decode_ethertype(struct decoder *d, uint16_t type);

/* tunnel.c: a GRE header (IP protocol 47) or a VXLAN one (UDP port 4789)
 * at d->off, and what it carries. */
void decode_gre(struct decoder *d);
void decode_vxlan(struct decoder *d);

/* wifi.c: radiotap's header and the 802.11 frame after it; an 802.11
 * frame, its body aligned to 4 bytes when datapad says so; an LLC header
 * (and SNAP's, and what its Ethernet type says). */
void decode_radiotap(struct decoder *d);
void decode_dot11(struct decoder *d, int datapad);
void decode_llc(struct decoder *d);

#endif
