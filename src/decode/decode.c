/* The packet decoder: link layer to transport, once per packet, into the
 * fixed struct dpl_packet. It never reads past the captured bytes and never
 * trusts a length field: each layer is bounded by what was captured and by
 * the lengths of the layers around it, and a layer whose fixed header does
 * not fit is left to Raw (one exception: the 8 bytes of TCP an ICMP error
 * quotes). DNS messages are only located here; dns.c decodes them when a
 * chef asks. The datagram quoted in an ICMP error is decoded too, into the
 * *err members, as scapy's IPerror, UDPerror and so on. What a tunnel
 * carries (IP in IP here, GRE and VXLAN in tunnel.c) goes into the second
 * Ethernet, IP, IPv6 and UDP structs. */
#include <string.h>

#include <pcap/dlt.h>

#include "decoder.h"

enum {
	ETHERTYPE_IP = 0x0800, ETHERTYPE_ARP = 0x0806, ETHERTYPE_RARP = 0x8035,
	ETHERTYPE_DOT1Q = 0x8100, ETHERTYPE_IPV6 = 0x86dd, ETHERTYPE_DOT1AD = 0x88a8,
	ETHERTYPE_MPLS = 0x8847, ETHERTYPE_MPLS_MULTICAST = 0x8848,
	ETHERTYPE_PPP = 0x880b, ETHERTYPE_PPPOE_SESSION = 0x8864,
	ETHERTYPE_QINQ = 0x9100,
};
/* Ethernet types up to this are an 802.3 frame's length */
enum { ETHER_MAX_LENGTH = 1500 };

enum {
	IPPROTO_HOPOPTS_ = 0, IPPROTO_ICMP_ = 1, IPPROTO_IPIP_ = 4, IPPROTO_TCP_ = 6,
	IPPROTO_UDP_ = 17, IPPROTO_IPV6_ = 41, IPPROTO_ROUTING_ = 43,
	IPPROTO_FRAGMENT_ = 44, IPPROTO_AH_ = 51, IPPROTO_ICMPV6_ = 58,
	IPPROTO_NONE_ = 59, IPPROTO_DSTOPTS_ = 60, IPPROTO_MOBILITY_ = 135,
	IPPROTO_GRE_ = 47,
};

enum { VXLAN_PORT = 4789 };

/* Whatever the decoder did not understand stays available as Raw. */
static void finish_raw(struct decoder *d)
{
	if (d->end > d->off) {
		d->pkt->payload_off = d->off;
		d->pkt->payload_len = d->end - d->off;
		push_layer(d, DPL_RAW);
	}
}

/* Ethernet, IP, IPv6 and UDP headers can each occur twice: outside a
 * tunnel and inside it. Which of its two structs the next header of this
 * layer goes into: 0 for the packet's first, 1 for its second, -1 for a
 * third, which has nowhere to go and stays Raw. */
static int instance(const struct decoder *d, enum dpl_layer_id id)
{
	const struct dpl_packet *pkt = d->pkt;

	if (!pkt->first[id])
		return 0;
	for (int i = pkt->first[id]; i < pkt->nlayers; i++)
		if (pkt->layers[i] == id)
			return -1;
	return 1;
}

/* Bytes the link layer carried beyond the network layer's own length, such
 * as the Ethernet minimum-size trailer. */
static void note_padding(struct decoder *d, uint32_t net_end)
{
	if (d->quoted || d->inner)
		return;		/* a quote's lengths describe the original,
				 * and a tunnel's frame is not the link's */
	if (net_end < d->pkt->caplen && d->pkt->pad_len == 0) {
		d->pkt->pad_off = net_end;
		d->pkt->pad_len = d->pkt->caplen - net_end;
	}
}

/* A header's length field bounds what follows it: what the link carried
 * past that is Padding. */
static void end_at_length(struct decoder *d, uint32_t len)
{
	if (d->end - d->off > len) {
		d->end = d->off + len;
		note_padding(d, d->end);
	}
}

/* Where the datagram ends by its IP header. Inside a tunnel the inner
 * header can only shorten it; a quote's header describes the original
 * datagram, which the ICMP error carries only the start of. */
static void note_stated_end(struct decoder *d, uint32_t end)
{
	if (d->quoted || end < d->stated)
		d->stated = end;
}

static int is_dns_port(uint16_t port)
{
	return port == 53 || port == 5353 || port == 5355;
}

static void decode_dns_at(struct decoder *d, uint32_t off, uint32_t len)
{
	if (len < 12)
		return;
	d->pkt->dns_off = off;
	d->pkt->dns_len = len;
	push_layer(d, DPL_DNS);
	d->off = d->end;
}

/* The application layers (apps.h): recognised here from their first
 * bytes, their offsets noted, and decoded only when a chef reads them.
 * They are not looked for inside an ICMP error's quote, which is too
 * short to hold them and whose offsets would mix with the packet's. */
static int is_bootp_port(uint16_t port)
{
	return port == 67 || port == 68;
}

static void decode_bootp(struct decoder *d)
{
	int kind = dhcp_recognise(d->data + d->off, d->end - d->off);

	if (!kind)
		return;
	d->pkt->bootp_off = d->off;
	d->pkt->bootp_len = d->end - d->off;
	push_layer(d, DPL_BOOTP);
	if (kind == 2)
		push_layer(d, DPL_DHCP);
	d->off = d->end;
}

/* A TLS record or an HTTP message starting the segment, whatever the
 * ports. TLS takes the segment (the records after the first are TLS
 * too); HTTP takes its head, leaving the body to Raw. */
static void decode_tcp_app(struct decoder *d)
{
	const uint8_t *p = d->data + d->off;
	uint32_t len = d->end - d->off, head;
	int hello, kind;

	if (len == 0)		/* a bare ACK, as many segments are */
		return;
	if ((hello = tls_recognise(p, len)) >= 0) {
		d->pkt->tls_off = d->off;
		d->pkt->tls_len = len;
		push_layer(d, DPL_TLS);
		if (hello > 0)
			push_layer(d, hello == 1 ? DPL_TLSCLIENTHELLO : DPL_TLSSERVERHELLO);
		d->off = d->end;
	} else if ((kind = http_recognise(p, len, &head)) != 0) {
		d->pkt->http_off = d->off;
		d->pkt->http_len = head;
		push_layer(d, kind == 1 ? DPL_HTTPREQUEST : DPL_HTTPRESPONSE);
		d->off += head;
	}
}

/* The most an HTTP head is waited for across segments. */
enum { HTTP_HEAD_WANT = 8192 };

int packet_stream_message(const uint8_t *p, uint32_t len, uint32_t *need)
{
	uint32_t head;
	int complete;

	if (len == 0)
		return 0;
	if (tls_recognise(p, len) > 0) {
		/* a hello: the record's header is there (tls_recognise) */
		*need = 5u + get16(p + 3);
		return len >= *need ? 1 : 2;
	}
	if (http_recognise_whole(p, len, &head, &complete)) {
		*need = HTTP_HEAD_WANT;
		return complete ? 1 : 2;
	}
	return 0;
}

void packet_attach_stream_head(struct dpl_packet *pkt, const uint8_t *head, uint32_t len)
{
	int tcp = pkt->first[DPL_TCP], pad = pkt->first[DPL_PADDING] != 0;
	uint32_t off = (uint32_t)(head - pkt->data);
	struct decoder d = { pkt, pkt->data, off, off + len, 0, off + len, 0, NULL };

	if (!tcp)
		return;
	for (int i = tcp; i < pkt->nlayers; i++)
		if (pkt->first[pkt->layers[i]] > tcp)
			pkt->first[pkt->layers[i]] = 0;
	pkt->nlayers = (uint8_t)tcp;
	pkt->payload_off = pkt->payload_len = 0;
	decode_tcp_app(&d);
	if (pad)
		push_layer(&d, DPL_PADDING);
}

static void decode_udp(struct decoder *d)
{
	int slot = d->quoted ? 0 : instance(d, DPL_UDP);
	struct dpl_udp *udp = d->quoted ? &d->pkt->udperr : slot ? &d->pkt->udp2 : &d->pkt->udp;
	const uint8_t *p = d->data + d->off;
	uint32_t stated;

	if (slot < 0 || !have(d, 8))
		return;
	udp->sport = get16(p);
	udp->dport = get16(p + 2);
	udp->len = get16(p + 4);
	udp->chksum = get16(p + 6);
	push_slot(d, d->quoted ? DPL_UDPERROR : DPL_UDP, slot);
	/* A UDP length shorter than the header is nonsense; zero is what
	 * IPv6 jumbograms use. Either way the IP bound is all we have. */
	stated = udp->len;
	if (stated >= 8 && d->end - d->off > stated)
		d->end = d->off + stated;
	d->off += 8;
	if (udp->dport == VXLAN_PORT && !d->quoted && !d->pkt->first[DPL_VXLAN]) {
		decode_vxlan(d);
		return;
	}
	if (is_dns_port(udp->sport) || is_dns_port(udp->dport))
		decode_dns_at(d, d->off, d->end - d->off);
	else if (!d->quoted && (is_bootp_port(udp->sport) || is_bootp_port(udp->dport)))
		decode_bootp(d);
}

/* DNS over TCP: a two-byte length, then the message. Without stream
 * reassembly only a segment that starts a message can be decoded. */
static void decode_tcp_dns(struct decoder *d)
{
	uint32_t avail = d->end - d->off, stated;

	if (avail < 2 + 12)
		return;
	stated = get16(d->data + d->off);
	decode_dns_at(d, d->off + 2, stated < avail - 2 ? stated : avail - 2);
}

/* An ICMP error need quote only 8 bytes past the IP header (RFC 792),
 * which for TCP is the ports and the sequence number: enough to tell the
 * connection, so they make a partial TCPerror. */
static void decode_tcp_quote(struct decoder *d, struct dpl_tcp *tcp)
{
	const uint8_t *p = d->data + d->off;

	memset(tcp, 0, sizeof *tcp);
	tcp->partial = 1;
	tcp->sport = get16(p);
	tcp->dport = get16(p + 2);
	tcp->seq = get32(p + 4);
	push_layer(d, DPL_TCPERROR);
	d->off = d->end;
}

static void decode_tcp(struct decoder *d)
{
	struct dpl_tcp *tcp = d->quoted ? &d->pkt->tcperr : &d->pkt->tcp;
	const uint8_t *p = d->data + d->off;
	uint32_t hlen;

	if (d->quoted && have(d, 8) && !have(d, 20)) {
		decode_tcp_quote(d, tcp);
		return;
	}
	if (!have(d, 20))
		return;
	tcp->partial = 0;
	tcp->sport = get16(p);
	tcp->dport = get16(p + 2);
	tcp->seq = get32(p + 4);
	tcp->ack = get32(p + 8);
	tcp->dataofs = p[12] >> 4;
	tcp->reserved = (p[12] >> 1) & 7;
	tcp->flags = (uint16_t)((p[12] & 1) << 8 | p[13]);
	tcp->window = get16(p + 14);
	tcp->chksum = get16(p + 16);
	tcp->urgptr = get16(p + 18);
	push_layer(d, d->quoted ? DPL_TCPERROR : DPL_TCP);
	hlen = tcp->dataofs * 4u;
	if (hlen < 20)
		hlen = 20;
	/* Options are decoded when a chef reads them (options.c); here only
	 * what of them was captured. The payload length is the IP header's
	 * count, so that a snapshot length does not change it. */
	tcp->opt_off = d->off + 20;
	tcp->opt_len = (uint8_t)((have(d, hlen) ? hlen : d->end - d->off) - 20);
	tcp->payload_len = d->stated > d->off + hlen ? d->stated - (d->off + hlen) : 0;
	d->off = have(d, hlen) ? d->off + hlen : d->end;
	tcp->data_off = d->off;
	tcp->data_cap = d->end - d->off < tcp->payload_len ? d->end - d->off : tcp->payload_len;
	if (tcp->sport == 53 || tcp->dport == 53)
		decode_tcp_dns(d);
	else if (!d->quoted)
		decode_tcp_app(d);
}

static void decode_ip(struct decoder *d);
static void decode_ipv6(struct decoder *d);

/* Destination unreachable, source quench, redirect, time exceeded and
 * parameter problem (ICMPv6: unreachable, too big, time exceeded,
 * parameter problem) quote the datagram that caused them. */
static int is_icmp_error(enum dpl_layer_id id, uint8_t type)
{
	if (id == DPL_ICMPV6)
		return type >= 1 && type <= 4;
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

/* The quote is the original IP header and at least 8 bytes after it, its
 * length fields those of the original: decoded like any datagram, bounded
 * by the ICMP message. A quote inside a quote is left raw, and an ICMPv6
 * message in a quote is an ICMPerror too (scapy has no ICMPv6 twin). */
static void decode_quoted(struct decoder *d, enum dpl_layer_id id)
{
	d->quoted = 1;
	if (id == DPL_ICMP)
		decode_ip(d);
	else
		decode_ipv6(d);
}

enum { ND_RS = 133, ND_RA, ND_NS, ND_NA, ND_REDIRECT };

/* Neighbour discovery: the fixed part of the message as a layer of its
 * own after ICMPv6, and where its options lie (options.c reads them when
 * a chef asks). Returns 0 for a message too short for its fixed part,
 * which stays ICMPv6 and Raw. */
static int decode_nd(struct decoder *d, uint8_t type)
{
	static const uint8_t size[] = { 8, 16, 24, 24, 40 };
	static const uint8_t layer[] = {
		DPL_NDRS, DPL_NDRA, DPL_NDNS, DPL_NDNA, DPL_NDREDIRECT,
	};
	struct dpl_nd *nd = &d->pkt->nd;
	const uint8_t *p = d->data + d->off;
	int i = type - ND_RS;

	if (!have(d, size[i]))
		return 0;
	memset(nd, 0, sizeof *nd);
	nd->res = get32(p + 4);
	if (type == ND_RA) {
		nd->chlim = p[4];
		nd->flags = p[5];
		nd->routerlifetime = get16(p + 6);
		nd->reachabletime = get32(p + 8);
		nd->retranstimer = get32(p + 12);
	} else if (type == ND_NA) {
		nd->flags = p[4];
	}
	if (size[i] >= 24)
		memcpy(nd->tgt, p + 8, 16);
	if (type == ND_REDIRECT)
		memcpy(nd->dst, p + 24, 16);
	nd->opt_off = d->off + size[i];
	nd->opt_len = d->end - nd->opt_off;
	push_layer(d, (enum dpl_layer_id)layer[i]);
	d->off = d->end;
	return 1;
}

static void decode_icmp(struct decoder *d, enum dpl_layer_id id)
{
	struct dpl_icmp *icmp = d->quoted ? &d->pkt->icmperr : &d->pkt->icmp;
	const uint8_t *p = d->data + d->off;

	if (!have(d, 4))
		return;
	memset(icmp, 0, sizeof *icmp);
	icmp->type = p[0];
	icmp->code = p[1];
	icmp->chksum = get16(p + 2);
	if (have(d, 8)) {
		icmp->id = get16(p + 4);
		icmp->seq = get16(p + 6);
	}
	push_layer(d, d->quoted ? DPL_ICMPERROR : id);
	if (id == DPL_ICMPV6 && !d->quoted && icmp->type >= ND_RS && icmp->type <= ND_REDIRECT &&
	    decode_nd(d, icmp->type))
		return;
	if (!have(d, 8)) {
		d->off = d->end;
		return;
	}
	d->off += 8;
	if (!d->quoted && is_icmp_error(id, icmp->type))
		decode_quoted(d, id);
}

static void decode_transport(struct decoder *d, uint8_t proto)
{
	switch (proto) {
	/* IP in IP (4in4, 6in4, 4in6, 6in6) and GRE are tunnels; in an ICMP
	 * error's quote they stay Raw. */
	case IPPROTO_IPIP_:
		if (!d->quoted) {
			d->inner = 1;
			decode_ip(d);
		}
		break;
	case IPPROTO_IPV6_:
		if (!d->quoted) {
			d->inner = 1;
			decode_ipv6(d);
		}
		break;
	case IPPROTO_GRE_:
		if (!d->quoted)
			decode_gre(d);
		break;
	case IPPROTO_TCP_:
		decode_tcp(d);
		break;
	case IPPROTO_UDP_:
		decode_udp(d);
		break;
	case IPPROTO_ICMP_:
		decode_icmp(d, DPL_ICMP);
		break;
	case IPPROTO_ICMPV6_:
		decode_icmp(d, DPL_ICMPV6);
		break;
	}
}

/* Fragments of the packet's own datagram go to the reassembler, if there
 * is one; those quoted by an ICMP error, or inside a tunnel, stay as they
 * are. */
static int reassembles(const struct decoder *d)
{
	return d->frags && !d->quoted && !d->inner;
}

/* Hand the fragment at d->off to the reassembler. When it completes its
 * datagram, the datagram's payload lands right after the frame, where
 * decoding goes on (returns 1); else the fragment is left Raw. The decode
 * stage gives each packet that room (packet_decode_frags()). */
static int reassemble(struct decoder *d, struct ipfrag_piece *piece)
{
	struct dpl_packet *pkt = d->pkt;
	uint8_t *room = (uint8_t *)pkt->data + pkt->caplen;
	struct ipfrag_done done;

	piece->key.source = pkt->source;
	piece->time = pkt->time;
	piece->bytes = d->data + d->off;
	piece->len = d->end - d->off;
	piece->truncated = d->end < d->stated;	/* cannot complete anything */
	if (!ipfrag_add(d->frags, piece, room, &done))
		return 0;
	pkt->reasm_len = done.len;
	pkt->reasm_frags = done.frags;
	pkt->reasm_flags = done.flags;
	pkt->reasm_ver = piece->key.version;
	d->frags = NULL;
	d->off = pkt->caplen;
	d->end = d->stated = pkt->caplen + done.len;
	return 1;
}

static int reassemble_ip(struct decoder *d, const struct dpl_ip *ip)
{
	struct ipfrag_piece piece;

	memset(&piece, 0, sizeof piece);
	piece.key.version = 4;
	piece.key.proto = ip->proto;
	piece.key.id = ip->id;
	memcpy(piece.key.src, ip->src, 4);
	memcpy(piece.key.dst, ip->dst, 4);
	piece.offset = ip->frag * 8u;
	piece.more = ip->flags & 1;
	piece.max_end = IPFRAG_MAX_DATAGRAM - ip->ihl * 4u;
	return reassemble(d, &piece);
}

static void decode_ip(struct decoder *d)
{
	int slot = d->quoted ? 0 : instance(d, DPL_IP);
	struct dpl_ip *ip = d->quoted ? &d->pkt->iperr : slot ? &d->pkt->ip2 : &d->pkt->ip;
	const uint8_t *p = d->data + d->off;
	uint32_t hlen, len;

	if (slot < 0 || !have(d, 20) || p[0] >> 4 != 4)
		return;
	hlen = (p[0] & 15) * 4u;
	len = get16(p + 2);
	/* A header that claims to be shorter than itself, or longer than the
	 * datagram, is not an IPv4 header we can place anything behind. A
	 * total length of zero is what segmentation offload leaves in
	 * captured outgoing packets: the capture is all we have then. */
	if (hlen < 20 || (len < hlen && len != 0))
		return;
	ip->len = (uint16_t)len;
	ip->version = 4;
	ip->ihl = (uint8_t)(hlen / 4);
	ip->tos = p[1];
	ip->id = get16(p + 4);
	ip->flags = p[6] >> 5;
	ip->frag = get16(p + 6) & 0x1fff;
	ip->ttl = p[8];
	ip->proto = p[9];
	ip->chksum = get16(p + 10);
	memcpy(ip->src, p + 12, 4);
	memcpy(ip->dst, p + 16, 4);
	push_slot(d, d->quoted ? DPL_IPERROR : DPL_IP, slot);
	if (len != 0)
		note_stated_end(d, d->off + len);
	if (!have(d, hlen)) {		/* options cut by the snapshot length */
		d->off = d->end;
		return;
	}
	if (len != 0)
		end_at_length(d, len);
	d->off += hlen;
	/* Later fragments carry the middle of a datagram, not a header;
	 * reassembling, a first one carries only the start of it. */
	if (ip->frag == 0 && !(ip->flags & 1))
		decode_transport(d, ip->proto);
	else if (reassembles(d) ? reassemble_ip(d, ip) : ip->frag == 0)
		decode_transport(d, ip->proto);
}

static int is_ipv6_extension(uint8_t nh)
{
	return nh == IPPROTO_HOPOPTS_ || nh == IPPROTO_ROUTING_ ||
	       nh == IPPROTO_DSTOPTS_ || nh == IPPROTO_AH_ ||
	       nh == IPPROTO_MOBILITY_ || nh == IPPROTO_FRAGMENT_;
}

static int extension_layer(uint8_t nh)
{
	switch (nh) {
	case IPPROTO_HOPOPTS_:
		return DPL_IP6HOPBYHOP;
	case IPPROTO_ROUTING_:
		return DPL_IP6ROUTING;
	case IPPROTO_FRAGMENT_:
		return DPL_IP6FRAGMENT;
	case IPPROTO_DSTOPTS_:
		return DPL_IP6DESTOPT;
	}
	return 0;
}

/* Routing headers of type 0 (RFC 2460), 2 (mobile IPv6) and 4 (segment
 * routing) carry IPv6 addresses from their eighth byte on; segment
 * routing says how many (its last entry, plus one) and may put TLVs after
 * them. */
static uint8_t routing_addresses(const uint8_t *p, uint32_t size)
{
	uint32_t n = (size - 8) / 16;

	if (p[2] == 4 && p[4] + 1u < n)
		n = p[4] + 1u;
	return p[2] == 0 || p[2] == 2 || p[2] == 4 ? (uint8_t)n : 0;
}

/* An extension header, size bytes at d->off (all of it, or as much of it
 * as there is), becomes a layer while there is room for it. AH and
 * mobility headers are walked but not layered, and so are the headers of
 * an ICMP error's quote. */
static void note_extension(struct decoder *d, uint8_t nh, uint32_t size)
{
	struct dpl_packet *pkt = d->pkt;
	const uint8_t *p = d->data + d->off;
	int id = extension_layer(nh);
	struct dpl_ip6ext *e;

	if (d->quoted || !id || pkt->nexthdrs >= DPL_MAX_EXTHDRS)
		return;
	e = &pkt->exthdrs[pkt->nexthdrs];
	memset(e, 0, sizeof *e);
	e->nh = p[0];
	e->len = p[1];
	e->off = d->off;
	e->size = size;
	if (nh == IPPROTO_ROUTING_) {
		e->type = p[2];
		e->segleft = p[3];
		e->reserved = get32(p + 4);
		e->naddr = routing_addresses(p, size);
	} else if (nh == IPPROTO_FRAGMENT_) {
		e->offset = get16(p + 2) >> 3;
		e->res2 = (p[3] >> 1) & 3;
		e->m = p[3] & 1;
		e->id = get32(p + 4);
	}
	push_slot(d, (enum dpl_layer_id)id, pkt->nexthdrs++);
}

/* The fragment header at d->off (all 8 bytes there) of the IPv6 header
 * ip6, whose payload starts at start: the fragmentable part is reassembled
 * behind it, the unfragmentable part's length counting towards 65535. */
static int reassemble_ipv6(struct decoder *d, const struct dpl_ipv6 *ip6, uint32_t start)
{
	const uint8_t *p = d->data + d->off;
	struct ipfrag_piece piece;
	uint32_t unfragmentable = d->off - start;

	memset(&piece, 0, sizeof piece);
	piece.key.version = 6;
	piece.key.proto = p[0];
	piece.key.id = get32(p + 4);
	memcpy(piece.key.src, ip6->src, 16);
	memcpy(piece.key.dst, ip6->dst, 16);
	piece.offset = get16(p + 2) & 0xfff8;
	piece.more = p[3] & 1;
	piece.max_end = unfragmentable < IPFRAG_MAX_DATAGRAM ?
			IPFRAG_MAX_DATAGRAM - unfragmentable : 0;
	d->off += 8;
	return reassemble(d, &piece);
}

/* A fragment header that makes a fragment: an atomic one (offset 0, no
 * more fragments; RFC 6946) heads a whole datagram. */
static int is_fragment6(const uint8_t *p)
{
	return (get16(p + 2) & 0xfff8) != 0 || (p[3] & 1);
}

/* Walk the extension header chain; returns the transport protocol, or -1
 * when the chain is cut short or the rest is a later fragment (which
 * stays Raw; its fragment header's layer keeps what reassembly needs).
 * Reassembling, a fragment that completes its datagram goes on in the
 * reassembled bytes, and any other stays Raw. */
static int walk_ipv6_extensions(struct decoder *d, const struct dpl_ipv6 *ip6, uint8_t nh)
{
	uint32_t start = d->off;

	while (is_ipv6_extension(nh)) {
		const uint8_t *p = d->data + d->off;
		uint32_t len;
		int later_fragment = 0;

		if (!have(d, 8))
			return -1;
		if (nh == IPPROTO_FRAGMENT_ && reassembles(d) && is_fragment6(p)) {
			note_extension(d, nh, 8);
			nh = p[0];
			if (!reassemble_ipv6(d, ip6, start))
				return -1;
			continue;
		}
		if (nh == IPPROTO_FRAGMENT_) {
			len = 8;
			later_fragment = (get16(p + 2) & 0xfff8) != 0;
		} else if (nh == IPPROTO_AH_) {
			len = (p[1] + 2u) * 4;
		} else {
			len = (p[1] + 1u) * 8;
		}
		if (!have(d, len)) {	/* cut by the capture or the payload length */
			note_extension(d, nh, d->end - d->off);
			d->off = d->end;
			return -1;
		}
		note_extension(d, nh, len);
		nh = p[0];
		d->off += len;
		if (later_fragment)
			return -1;
	}
	return nh == IPPROTO_NONE_ ? -1 : nh;
}

static void decode_ipv6(struct decoder *d)
{
	int slot = d->quoted ? 0 : instance(d, DPL_IPV6);
	struct dpl_ipv6 *ip6 = d->quoted ? &d->pkt->ipv6err : slot ? &d->pkt->ipv6_2 : &d->pkt->ipv6;
	const uint8_t *p = d->data + d->off;
	uint32_t vtf;
	int proto;

	if (slot < 0 || !have(d, 40) || p[0] >> 4 != 6)
		return;
	vtf = get32(p);
	ip6->version = 6;
	ip6->tc = (uint8_t)(vtf >> 20);
	ip6->fl = vtf & 0xfffff;
	ip6->plen = get16(p + 4);
	ip6->nh = p[6];
	ip6->hlim = p[7];
	memcpy(ip6->src, p + 8, 16);
	memcpy(ip6->dst, p + 24, 16);
	push_slot(d, d->quoted ? DPL_IPERROR6 : DPL_IPV6, slot);
	d->off += 40;
	if (ip6->plen != 0)
		note_stated_end(d, d->off + ip6->plen);
	/* A zero payload length means a jumbogram; trust the capture then. */
	if (ip6->plen != 0)
		end_at_length(d, ip6->plen);
	proto = walk_ipv6_extensions(d, ip6, ip6->nh);
	if (proto >= 0)
		decode_transport(d, (uint8_t)proto);
}

static void decode_arp(struct decoder *d)
{
	struct dpl_arp *arp = &d->pkt->arp;
	const uint8_t *p = d->data + d->off;
	uint32_t len;

	if (!have(d, 8))
		return;
	arp->hwtype = get16(p);
	arp->ptype = get16(p + 2);
	arp->hwlen = p[4];
	arp->plen = p[5];
	arp->op = get16(p + 6);
	len = 8 + 2u * (arp->hwlen + arp->plen);
	push_layer(d, DPL_ARP);
	if (!have(d, len)) {
		arp->hwlen = arp->plen = 0;	/* addresses not captured */
		d->off = d->end;
		return;
	}
	/* Sender hardware, sender protocol, target hardware, target protocol
	 * address; the struct holds the usual sizes (Ethernet, IPv4), each
	 * kind read whatever the other's size (InfiniBand has 20-byte ones). */
	if (arp->hwlen == 6) {
		memcpy(arp->hwsrc, p + 8, 6);
		memcpy(arp->hwdst, p + 8 + 6 + arp->plen, 6);
	}
	if (arp->plen == 4) {
		memcpy(arp->psrc, p + 8 + arp->hwlen, 4);
		memcpy(arp->pdst, p + 8 + 2 * arp->hwlen + 4, 4);
	}
	d->off += len;
	note_padding(d, d->off);
	d->end = d->off;
}

static void decode_tag(struct decoder *d, enum dpl_layer_id id)
{
	struct dpl_packet *pkt = d->pkt;
	struct dpl_tag *tag;
	const uint8_t *p = d->data + d->off;

	if (!have(d, 4) || pkt->ntags >= DPL_MAX_TAGS)
		return;
	tag = &pkt->tags[pkt->ntags];
	tag->prio = p[0] >> 5;
	tag->dei = (p[0] >> 4) & 1;
	tag->vlan = get16(p) & 0xfff;
	tag->type = get16(p + 2);
	push_slot(d, id, pkt->ntags++);
	d->off += 4;
	decode_ethertype(d, tag->type);
}

/* IPv4 or IPv6, by the version in its first four bits: what raw IP links
 * and MPLS label stacks carry, saying nothing of which. */
static void decode_ip_by_version(struct decoder *d)
{
	if (!have(d, 1))
		return;
	if (d->data[d->off] >> 4 == 4)
		decode_ip(d);
	else if (d->data[d->off] >> 4 == 6)
		decode_ipv6(d);
}

/* An MPLS label stack says nothing of what it carries: as scapy and
 * tshark do, what follows the bottom label is IPv4 or IPv6 by its first
 * four bits, anything else (a pseudowire's control word) Raw. Labels past
 * DPL_MAX_LABELS are left Raw with what follows them. */
static void decode_mpls(struct decoder *d)
{
	struct dpl_packet *pkt = d->pkt;

	for (;;) {
		const uint8_t *p = d->data + d->off;
		struct dpl_mpls *m;

		if (!have(d, 4) || pkt->nlabels >= DPL_MAX_LABELS)
			return;
		m = &pkt->labels[pkt->nlabels];
		m->label = get32(p) >> 12;
		m->cos = (p[2] >> 1) & 7;
		m->s = p[2] & 1;
		m->ttl = p[3];
		push_slot(d, DPL_MPLS, pkt->nlabels++);
		d->off += 4;
		if (m->s)
			break;
	}
	decode_ip_by_version(d);
}

enum { PPP_IP = 0x0021, PPP_IPV6 = 0x0057 };

/* PPP: the HDLC address and control bytes where the link keeps them, and
 * a protocol of one byte where it is compressed (an odd first byte; 0xff
 * is only ever the address). */
static void decode_ppp(struct decoder *d)
{
	const uint8_t *p = d->data + d->off;
	uint16_t proto;

	if (have(d, 1) && p[0] == 0xff) {
		if (!have(d, 2) || p[1] != 0x03)
			return;
		d->off += 2;
		p += 2;
	}
	if (have(d, 1) && p[0] & 1) {
		proto = p[0];
		d->off += 1;
	} else if (have(d, 2)) {
		proto = get16(p);
		d->off += 2;
	} else {
		return;
	}
	d->pkt->ppp_proto = proto;
	push_layer(d, DPL_PPP);
	if (proto == PPP_IP)
		decode_ip(d);
	else if (proto == PPP_IPV6)
		decode_ipv6(d);
}

/* A PPPoE session's header (RFC 2516), PPP after it; its length bounds
 * what follows, as an IP header's does. */
static void decode_pppoe(struct decoder *d)
{
	struct dpl_pppoe *s = &d->pkt->pppoe;
	const uint8_t *p = d->data + d->off;

	if (!have(d, 6))
		return;
	s->version = p[0] >> 4;
	s->type = p[0] & 15;
	s->code = p[1];
	s->sessionid = get16(p + 2);
	s->len = get16(p + 4);
	push_layer(d, DPL_PPPOE);
	d->off += 6;
	end_at_length(d, s->len);
	decode_ppp(d);
}

void decode_ethertype(struct decoder *d, uint16_t type)
{
	switch (type) {
	case ETHERTYPE_IP:
		decode_ip(d);
		break;
	case ETHERTYPE_IPV6:
		decode_ipv6(d);
		break;
	case ETHERTYPE_ARP:
	case ETHERTYPE_RARP:		/* same packet format, ops 3 and 4 */
		decode_arp(d);
		break;
	case ETHERTYPE_DOT1Q:
	case ETHERTYPE_QINQ:		/* pre-standard S-tag, 802.1Q format */
		decode_tag(d, DPL_DOT1Q);
		break;
	case ETHERTYPE_DOT1AD:
		decode_tag(d, DPL_DOT1AD);
		break;
	case ETHERTYPE_MPLS:
	case ETHERTYPE_MPLS_MULTICAST:
		decode_mpls(d);
		break;
	case ETHERTYPE_PPP:		/* PPTP's GRE carries it */
		decode_ppp(d);
		break;
	case ETHERTYPE_PPPOE_SESSION:
		decode_pppoe(d);
		break;
	}
}

static void decode_ethernet(struct decoder *d)
{
	int slot = instance(d, DPL_ETHERNET);
	struct dpl_ethernet *eth = slot ? &d->pkt->eth2 : &d->pkt->eth;
	const uint8_t *p = d->data + d->off;

	if (slot < 0 || !have(d, 14))
		return;
	memcpy(eth->dst, p, 6);
	memcpy(eth->src, p + 6, 6);
	eth->type = get16(p + 12);
	push_slot(d, DPL_ETHERNET, slot);
	d->off += 14;
	if (eth->type >= 0x600) {
		decode_ethertype(d, eth->type);
	} else if (eth->type <= ETHER_MAX_LENGTH) {
		end_at_length(d, eth->type);	/* an 802.3 length, LLC after it */
		decode_llc(d);
	}
}

/* The link layer's frame is decoded once per packet, so the function
 * stays static (and inlined there); tunnels reach it through this. */
void decode_inner_ethernet(struct decoder *d)
{
	decode_ethernet(d);
}

/* Linux cooked capture, version 1 (16 bytes) or 2 (20 bytes). */
static void decode_cooked(struct decoder *d, int version)
{
	struct dpl_cooked *c = &d->pkt->cooked;
	const uint8_t *p = d->data;
	uint32_t hlen = version == 1 ? 16 : 20;

	if (!have(d, hlen))
		return;
	c->version = (uint8_t)version;
	if (version == 1) {
		c->pkttype = get16(p);
		c->lladdrtype = get16(p + 2);
		c->lladdrlen = get16(p + 4);
		memcpy(c->src, p + 6, 8);
		c->proto = get16(p + 14);
	} else {
		c->proto = get16(p);
		c->ifindex = get32(p + 4);
		c->lladdrtype = get16(p + 8);
		c->pkttype = p[10];
		c->lladdrlen = p[11];
		memcpy(c->src, p + 12, 8);
	}
	push_layer(d, DPL_COOKEDLINUX);
	d->off = hlen;
	decode_ethertype(d, c->proto);
}

/* BSD loopback: a 4-byte address family, host order for DLT_NULL and
 * network order for DLT_LOOP. IPv6 has several values across the BSDs. */
static void decode_loopback(struct decoder *d, int network_order)
{
	uint32_t family;

	if (!have(d, 4))
		return;
	family = network_order ? get32(d->data) : get32_le(d->data);
	if (!network_order && (family & 0xffff) == 0)
		family = get32(d->data);	/* written on a big-endian host */
	d->pkt->loopback_family = family;
	push_layer(d, DPL_LOOPBACK);
	d->off = 4;
	if (family == 2)
		decode_ip(d);
	else if (family == 10 || family == 24 || family == 28 || family == 30)
		decode_ipv6(d);
}


/* Whether it knows the link type: the one list of those it decodes. */
static int decode_link(struct decoder *d, int linktype)
{
	switch (linktype) {
	case DLT_EN10MB:
		decode_ethernet(d);
		return 1;
	case DLT_LINUX_SLL:
		decode_cooked(d, 1);
		return 1;
	case DLT_LINUX_SLL2:
		decode_cooked(d, 2);
		return 1;
	case DLT_NULL:
		decode_loopback(d, 0);
		return 1;
	case DLT_LOOP:
		decode_loopback(d, 1);
		return 1;
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		decode_ip_by_version(d);
		return 1;
	case DLT_PPP:
	case DLT_PPP_SERIAL:
		decode_ppp(d);
		return 1;
	case DLT_PPP_ETHER:
		decode_pppoe(d);
		return 1;
	case DLT_IEEE802_11:
		decode_dot11(d, 0);
		return 1;
	case DLT_IEEE802_11_RADIO:
		decode_radiotap(d);
		return 1;
	default:
		return 0;
	}
}

/* Asked of a packet with no bytes, which every decoder leaves at once. */
int packet_decodes_linktype(int linktype)
{
	static const uint8_t nothing[1];
	struct dpl_packet none;
	struct decoder d = { &none, nothing, 0, 0, 0, 0, 0, NULL };

	memset(&none, 0, sizeof none);
	return decode_link(&d, linktype);
}

void packet_decode(struct dpl_packet *pkt, int linktype)
{
	packet_decode_frags(pkt, linktype, NULL);
}

void packet_decode_frags(struct dpl_packet *pkt, int linktype, struct ipfrag *frags)
{
	struct decoder d = { pkt, pkt->data, 0, pkt->caplen, 0, pkt->wirelen, 0, frags };

	memset(pkt->first, 0, sizeof pkt->first);
	pkt->nlayers = 0;
	pkt->ntags = 0;
	pkt->nlabels = 0;
	pkt->nelts = 0;
	pkt->nexthdrs = 0;
	pkt->payload_len = pkt->dns_len = pkt->pad_len = 0;
	pkt->payload_off = pkt->dns_off = pkt->pad_off = 0;
	pkt->dns_q = 0;
	pkt->tls_off = pkt->tls_len = pkt->http_off = pkt->http_len = 0;
	pkt->bootp_off = pkt->bootp_len = 0;
	pkt->reasm_len = pkt->reasm_frags = 0;
	pkt->reasm_ver = pkt->reasm_flags = 0;
	decode_link(&d, linktype);
	finish_raw(&d);
	if (pkt->pad_len)
		push_layer(&d, DPL_PADDING);
}
