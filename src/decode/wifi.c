/* Wireless LANs: radiotap's header (link type IEEE802_11_RADIO, what a
 * card in monitor mode gives), 802.11 frames (link type IEEE802_11, or
 * after radiotap), their QoS control, and the LLC and SNAP headers that
 * carry an Ethernet type in data frames and in 802.3 ones; beacons and
 * probes, with their first information elements. Encrypted bodies, other
 * management frames' and control frames' bodies stay Raw. */
#include <string.h>

#include "decoder.h"

enum {
	RADIOTAP_TSFT = 0, RADIOTAP_FLAGS = 1, RADIOTAP_RATE = 2, RADIOTAP_CHANNEL = 3,
	RADIOTAP_DBM_ANTSIGNAL = 5, RADIOTAP_DBM_ANTNOISE = 6, RADIOTAP_ANTENNA = 11,
	RADIOTAP_EXT = 31,
};
enum { RADIOTAP_FLAG_FCS = 0x10, RADIOTAP_FLAG_DATAPAD = 0x20 };

/* Each field's alignment and size, by its bit in the first presence word
 * (radiotap.org); those past the table, or a TLV, end the walk, since
 * what follows cannot be placed. */
static const struct { uint8_t align, size; } radiotap_fields[] = {
	{ 8, 8 }, { 1, 1 }, { 1, 1 }, { 2, 4 }, { 1, 2 }, { 1, 1 }, { 1, 1 }, { 2, 2 },
	{ 2, 2 }, { 2, 2 }, { 1, 1 }, { 1, 1 }, { 1, 1 }, { 1, 1 }, { 2, 2 }, { 2, 2 },
	{ 1, 1 }, { 1, 1 }, { 4, 8 }, { 1, 3 }, { 4, 8 }, { 2, 12 }, { 8, 12 }, { 2, 12 },
	{ 2, 12 }, { 2, 6 }, { 1, 1 }, { 2, 4 },
};
enum { RADIOTAP_KNOWN = sizeof radiotap_fields / sizeof radiotap_fields[0] };

static uint64_t get64_le(const uint8_t *p)
{
	return (uint64_t)get32_le(p + 4) << 32 | get32_le(p);
}

static void radiotap_field(struct dpl_radiotap *r, int bit, const uint8_t *p)
{
	switch (bit) {
	case RADIOTAP_TSFT: r->tsft = get64_le(p); break;
	case RADIOTAP_FLAGS: r->flags = p[0]; break;
	case RADIOTAP_RATE: r->rate = p[0]; break;
	case RADIOTAP_CHANNEL:
		r->chan_freq = get16_le(p);
		r->chan_flags = get16_le(p + 2);
		break;
	case RADIOTAP_DBM_ANTSIGNAL: r->dbm_antsignal = (int8_t)p[0]; break;
	case RADIOTAP_DBM_ANTNOISE: r->dbm_antnoise = (int8_t)p[0]; break;
	case RADIOTAP_ANTENNA: r->antenna = p[0]; break;
	default: return;
	}
	r->have |= 1u << bit;
}

/* The fields of the first presence word, each at its alignment from the
 * header's start, after every presence word. */
static void radiotap_fields_of(struct dpl_radiotap *r, const uint8_t *h, uint32_t len,
			       uint32_t at)
{
	for (int bit = 0; bit < RADIOTAP_KNOWN; bit++) {
		if (!(r->present & 1u << bit))
			continue;
		at = (at + radiotap_fields[bit].align - 1) & ~(uint32_t)(radiotap_fields[bit].align - 1);
		if (at + radiotap_fields[bit].size > len)
			return;
		radiotap_field(r, bit, h + at);
		at += radiotap_fields[bit].size;
	}
}

void decode_radiotap(struct decoder *d)
{
	struct dpl_radiotap *r = &d->pkt->radiotap;
	const uint8_t *h = d->data + d->off;
	uint32_t at = 8, word;

	if (!have(d, 8))
		return;
	memset(r, 0, sizeof *r);
	r->version = h[0];
	r->pad = h[1];
	r->len = get16_le(h + 2);
	r->present = get32_le(h + 4);
	if (r->len < 8 || !have(d, r->len))
		return;
	for (word = r->present; word & 1u << RADIOTAP_EXT; at += 4) {
		if (at + 4 > r->len)
			return;
		word = get32_le(h + at);
	}
	push_layer(d, DPL_RADIOTAP);
	radiotap_fields_of(r, h, r->len, at);	/* flags stay 0 unless there */
	d->off += r->len;
	if (r->flags & RADIOTAP_FLAG_FCS && have(d, 4))
		d->end -= 4;
	decode_dot11(d, r->flags & RADIOTAP_FLAG_DATAPAD);
}

enum { DOT11_MGMT = 0, DOT11_CTRL = 1, DOT11_DATA = 2 };
enum { DOT11_TO_DS = 0x01, DOT11_FROM_DS = 0x02, DOT11_PROTECTED = 0x40, DOT11_ORDER = 0x80 };
/* to and from the distribution system: a bridge's frame, with four addresses */
enum { WDS = DOT11_TO_DS | DOT11_FROM_DS };

/* A control frame's addresses: two for block acks, PS-Poll, RTS and
 * CF-End, one for the rest (CTS, ACK). */
static int ctrl_addresses(uint8_t subtype)
{
	switch (subtype) {
	case 8: case 9: case 10: case 11: case 14: case 15: return 2;
	default: return 1;
	}
}

static void dot11_qos(struct decoder *d)
{
	struct dpl_dot11qos *q = &d->pkt->dot11qos;
	const uint8_t *p = d->data + d->off;

	q->tid = p[0] & 15;
	q->eosp = p[0] >> 4 & 1;
	q->ack_policy = p[0] >> 5 & 3;
	q->amsdu = p[0] >> 7;
	q->txop = p[1];
	push_layer(d, DPL_DOT11QOS);
	d->off += 2;
}

enum { MGMT_PROBE_REQ = 4, MGMT_PROBE_RESP = 5, MGMT_BEACON = 8 };

/* The first DPL_MAX_ELTS information elements; the rest, and one cut
 * short, stay Raw. */
static void dot11_elements(struct decoder *d)
{
	struct dpl_packet *pkt = d->pkt;

	while (pkt->nelts < DPL_MAX_ELTS && have(d, 2)) {
		const uint8_t *p = d->data + d->off;
		struct dpl_dot11elt *e = &pkt->elts[pkt->nelts];

		if (!have(d, 2u + p[1]))
			return;
		e->id = p[0];
		e->len = p[1];
		e->off = d->off + 2;
		push_slot(d, DPL_DOT11ELT, pkt->nelts++);
		d->off += 2u + p[1];
	}
}

/* What a beacon, a probe response and a probe request carry: the first
 * two their fixed fields, then each its information elements (the SSID
 * first). Other management frames' bodies stay Raw. */
static void dot11_management(struct decoder *d, uint8_t subtype)
{
	struct dpl_dot11mgmt *m = &d->pkt->dot11mgmt;
	const uint8_t *p = d->data + d->off;

	if (subtype == MGMT_BEACON || subtype == MGMT_PROBE_RESP) {
		if (!have(d, 12))
			return;
		m->timestamp = get64_le(p);
		m->beacon_interval = get16_le(p + 8);
		m->cap = get16_le(p + 10);
		push_layer(d, subtype == MGMT_BEACON ? DPL_DOT11BEACON : DPL_DOT11PROBERESP);
		d->off += 12;
	} else if (subtype == MGMT_PROBE_REQ) {
		push_layer(d, DPL_DOT11PROBEREQ);
	} else {
		return;
	}
	dot11_elements(d);
}

void decode_dot11(struct decoder *d, int datapad)
{
	struct dpl_dot11 *w = &d->pkt->dot11;
	const uint8_t *p = d->data + d->off;
	uint32_t start = d->off, hlen;
	int qos;

	if (!have(d, 10))
		return;
	w->proto = p[0] & 3;
	w->type = p[0] >> 2 & 3;
	w->subtype = p[0] >> 4;
	w->fcfield = p[1];
	w->id = get16_le(p + 2);
	w->naddr = w->type == DOT11_CTRL ? (uint8_t)ctrl_addresses(w->subtype)
		 : w->type == DOT11_DATA && (w->fcfield & WDS) == WDS ? 4 : 3;
	hlen = w->naddr == 1 ? 10 : w->naddr == 2 ? 16 : w->naddr == 3 ? 24 : 30;
	if (w->type > DOT11_DATA || !have(d, hlen))
		return;
	memcpy(w->addr1, p + 4, 6);
	if (w->naddr >= 2)
		memcpy(w->addr2, p + 10, 6);
	if (w->naddr >= 3) {
		memcpy(w->addr3, p + 16, 6);
		w->sc = get16_le(p + 22);
	}
	if (w->naddr == 4)
		memcpy(w->addr4, p + 24, 6);
	push_layer(d, DPL_DOT11);
	d->off += hlen;
	if (w->type == DOT11_CTRL)
		return;		/* its body: Raw */
	qos = w->type == DOT11_DATA && w->subtype & 8;
	if (qos) {
		if (!have(d, 2))
			return;
		dot11_qos(d);
	}
	if ((qos || w->type == DOT11_MGMT) && w->fcfield & DOT11_ORDER) {
		if (!have(d, 4))
			return;
		d->off += 4;	/* HT control */
	}
	if (w->fcfield & DOT11_PROTECTED)
		return;		/* encrypted: Raw */
	if (w->type == DOT11_MGMT) {
		dot11_management(d, w->subtype);
		return;
	}
	if (datapad)
		d->off = start + ((d->off - start + 3) & ~3u);
	if (w->subtype & 4 || d->off > d->end)
		return;		/* a null function: no body */
	decode_llc(d);
}

enum { LLC_SNAP_SAP = 0xaa, LLC_UI = 0x03 };
/* the OUIs under which SNAP's code is an Ethernet type */
enum { OUI_ETHERNET = 0x000000, OUI_BRIDGE_TUNNEL = 0x0000f8 };

void decode_llc(struct decoder *d)
{
	struct dpl_llc *l = &d->pkt->llc;
	const uint8_t *p = d->data + d->off;

	if (!have(d, 3))
		return;
	l->dsap = p[0];
	l->ssap = p[1];
	l->ctrl = p[2];
	push_layer(d, DPL_LLC);
	d->off += 3;
	if (l->dsap != LLC_SNAP_SAP || l->ssap != LLC_SNAP_SAP || l->ctrl != LLC_UI || !have(d, 5))
		return;
	l->oui = (uint32_t)p[3] << 16 | (uint32_t)p[4] << 8 | p[5];
	l->code = get16(p + 6);
	push_layer(d, DPL_SNAP);
	d->off += 5;
	if (l->oui == OUI_ETHERNET || l->oui == OUI_BRIDGE_TUNNEL)
		decode_ethertype(d, l->code);
}
