/* Tunnels: GRE and VXLAN headers, and the frame or datagram inside them,
 * decoded like any other into the packet's second Ethernet, IP, IPv6 and
 * UDP structs (decode.c chooses). A packet has room for one GRE and one
 * VXLAN header: a tunnel inside a tunnel of the same kind stays Raw, so
 * decoding goes no deeper than the structs it has. */
#include <string.h>

#include "decoder.h"

enum {
	GRE_CHECKSUM = 0x8000, GRE_ROUTING = 0x4000, GRE_KEY = 0x2000,
	GRE_SEQUENCE = 0x1000, GRE_ACK = 0x0080,
};

enum { ETHERTYPE_TEB = 0x6558 };	/* transparent Ethernet bridging */

/* The bytes of a GRE header: four, then the optional fields its flags
 * announce, in this order. Version 1 (the enhanced GRE of PPTP, RFC 2637)
 * always has a key and may have an acknowledgement number. */
static uint32_t gre_size(uint16_t flags)
{
	uint32_t n = 4;

	if (flags & (GRE_CHECKSUM | GRE_ROUTING))
		n += 4;
	if (flags & GRE_KEY)
		n += 4;
	if (flags & GRE_SEQUENCE)
		n += 4;
	if ((flags & 7) == 1 && (flags & GRE_ACK))
		n += 4;
	return n;
}

/* The optional fields, those of them the capture holds: have says which
 * were read (a field whose flag is set may still be missing then). */
static void gre_fields(struct dpl_gre *gre, const uint8_t *p, uint32_t captured)
{
	uint32_t at = 4;

	if (gre->flags & (GRE_CHECKSUM | GRE_ROUTING)) {
		if (at + 4 > captured)
			return;
		gre->chksum = get16(p + at);
		gre->offset = get16(p + at + 2);
		gre->have |= DPL_GRE_CHKSUM;
		at += 4;
	}
	if (gre->flags & GRE_KEY) {
		if (at + 4 > captured)
			return;
		gre->key = get32(p + at);
		gre->have |= DPL_GRE_KEY;
		at += 4;
	}
	if (gre->flags & GRE_SEQUENCE) {
		if (at + 4 > captured)
			return;
		gre->seq = get32(p + at);
		gre->have |= DPL_GRE_SEQ;
		at += 4;
	}
	if ((gre->flags & 7) == 1 && (gre->flags & GRE_ACK) && at + 4 <= captured) {
		gre->ack = get32(p + at);
		gre->have |= DPL_GRE_ACK;
	}
}

/* GRE (RFC 2784, with RFC 2890's key and sequence number). What it
 * carries is decoded by its protocol type, as an Ethernet frame's is, or
 * as an Ethernet frame for transparent bridging. Versions other than 0
 * and 1, and the source routes of RFC 1701 (which end where a list of
 * them ends), leave the payload Raw. A header the capture cut is decoded
 * as far as it goes, with nothing behind it. */
void decode_gre(struct decoder *d)
{
	struct dpl_gre *gre = &d->pkt->gre;
	const uint8_t *p = d->data + d->off;
	uint32_t size;

	if (d->pkt->first[DPL_GRE] || !have(d, 4))
		return;
	memset(gre, 0, sizeof *gre);
	gre->flags = get16(p);
	gre->proto = get16(p + 2);
	gre_fields(gre, p, d->end - d->off);
	push_layer(d, DPL_GRE);
	size = gre_size(gre->flags);
	if (!have(d, size)) {
		d->off = d->end;
		return;
	}
	d->off += size;
	if ((gre->flags & 7) > 1 || (gre->flags & GRE_ROUTING))
		return;
	d->inner = 1;
	if (gre->proto == ETHERTYPE_TEB)
		decode_inner_ethernet(d);
	else
		decode_ethertype(d, gre->proto);
}

/* VXLAN (RFC 7348): eight bytes, then an Ethernet frame. */
void decode_vxlan(struct decoder *d)
{
	struct dpl_vxlan *vx = &d->pkt->vxlan;
	const uint8_t *p = d->data + d->off;

	if (!have(d, 8))
		return;
	vx->flags = p[0];
	vx->reserved1 = get32(p) & 0xffffff;
	vx->vni = get32(p + 4) >> 8;
	vx->reserved2 = p[7];
	push_layer(d, DPL_VXLAN);
	d->off += 8;
	d->inner = 1;
	decode_inner_ethernet(d);
}
