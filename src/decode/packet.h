#ifndef PACKET_H
#define PACKET_H

/* The decoded packet: filled once by the C decoder, read by the Lua runtime
 * through the LuaJIT FFI. The part between the FFI markers is handed to
 * ffi.cdef() verbatim (the Makefile extracts it), so it holds only plain
 * declarations: no macros, no includes. Addresses stay binary here; Lua turns
 * them into text only when a chef reads them. */

#include <stdint.h>

/* enum dpl_layer_id, generated from layers.tab (and handed to Lua too) */
#include "layers.h"
/* the application layers' structs, whose FFI part Lua reads first */
#include "apps.h"

/* FFI-BEGIN */
/* Room for a tunnel's two stacks of layers, with VLAN tags and IPv6
 * extension headers in them, which 16 did not always leave. */
enum { DPL_MAX_LAYERS = 24, DPL_MAX_TAGS = 4, DPL_MAX_LABELS = 4, DPL_MAX_ELTS = 6 };

struct dpl_ethernet { uint8_t src[6], dst[6]; uint16_t type; };
struct dpl_tag { uint16_t vlan, type; uint8_t prio, dei; };
struct dpl_mpls { uint32_t label; uint8_t cos, s, ttl; };
struct dpl_pppoe { uint8_t version, type, code; uint16_t sessionid, len; };
/* radiotap's header, and those of its fields a chef may want; present
 * has a bit for each field there (radiotap's own numbering) */
struct dpl_radiotap {
	uint8_t version, pad, flags, rate, antenna;
	int8_t dbm_antsignal, dbm_antnoise;
	uint16_t len, chan_freq, chan_flags;
	uint32_t present, have;
	uint64_t tsft;
};
/* naddr: how many of the addresses the frame's type has */
struct dpl_dot11 {
	uint8_t type, subtype, proto, fcfield, naddr;
	uint16_t id, sc;
	uint8_t addr1[6], addr2[6], addr3[6], addr4[6];
};
struct dpl_dot11qos { uint8_t tid, eosp, ack_policy, amsdu, txop; };
/* a beacon's or probe response's fixed fields; an information element,
 * its bytes where off says in the packet */
struct dpl_dot11mgmt { uint64_t timestamp; uint16_t beacon_interval, cap; };
struct dpl_dot11elt { uint8_t id, len; uint32_t off; };
struct dpl_llc { uint8_t dsap, ssap, ctrl; uint32_t oui; uint16_t code; };
struct dpl_cooked {
	uint16_t pkttype, lladdrtype, lladdrlen, proto;
	uint32_t ifindex;
	uint8_t src[8];
	uint8_t version;
};
struct dpl_arp {
	uint16_t hwtype, ptype, op;
	uint8_t hwlen, plen;
	uint8_t hwsrc[6], hwdst[6], psrc[4], pdst[4];
};
struct dpl_ip {
	uint8_t version, ihl, tos, flags, ttl, proto;
	uint16_t len, id, frag, chksum;
	uint8_t src[4], dst[4];
};
struct dpl_ipv6 {
	uint8_t version, tc, nh, hlim;
	uint32_t fl;
	uint16_t plen;
	uint8_t src[16], dst[16];
};
struct dpl_icmp { uint8_t type, code; uint16_t chksum, id, seq; };
struct dpl_tcp {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t dataofs, reserved;
	uint8_t partial;	/* only ports and seq: an ICMP error's 8-byte quote */
	uint16_t flags, window, chksum, urgptr;
	uint8_t opt_len;	/* the options' bytes captured, at opt_off */
	uint32_t opt_off;
	uint32_t payload_len;	/* as the IP header counts it, captured or not */
	uint32_t data_off, data_cap;	/* the payload: where, and how much
					 * of it was captured */
};
struct dpl_udp { uint16_t sport, dport, len, chksum; };

/* An IPv6 extension header with a layer of its own (hop-by-hop, routing,
 * fragment, destination options): off and size place it in the packet,
 * size being what was captured of it (all but for a snapshot length). */
enum { DPL_MAX_EXTHDRS = 8 };
struct dpl_ip6ext {
	uint8_t nh, len;	/* as sent: len counts 8 bytes past the first 8 */
	uint8_t type, segleft;	/* routing */
	uint8_t naddr;		/* routing: IPv6 addresses from off + 8 */
	uint8_t m, res2;	/* fragment: more fragments; the 2 reserved bits */
	uint16_t offset;	/* fragment: in 8 bytes */
	uint32_t reserved;	/* routing: bytes 4 to 7 */
	uint32_t id;		/* fragment */
	uint32_t off, size;
};

/* A neighbour discovery message (RFC 4861) past its ICMPv6 header (whose
 * type, code and checksum are in icmp). flags is byte 5 of a router
 * advertisement (M O H prf P res), byte 4 of a neighbour advertisement
 * (R S O); res the reserved 32 bits of the others, or those after an
 * advertisement's flags. Its options lie at opt_off, all captured. */
struct dpl_nd {
	uint8_t chlim, flags;
	uint16_t routerlifetime;
	uint32_t reachabletime, retranstimer;
	uint32_t res;
	uint8_t tgt[16], dst[16];
	uint32_t opt_off, opt_len;
};

/* GRE: flags holds the first two bytes (flag bits, and the version in the
 * low three); have says which optional fields were read (present, and
 * captured). Version 1 (PPTP) keeps its payload length and call id in key. */
enum { DPL_GRE_CHKSUM = 1, DPL_GRE_KEY = 2, DPL_GRE_SEQ = 4, DPL_GRE_ACK = 8 };
struct dpl_gre {
	uint16_t flags, proto, chksum, offset;
	uint32_t key, seq, ack;
	uint8_t have;
};
struct dpl_vxlan {
	uint8_t flags, reserved2;
	uint32_t reserved1, vni;
};

/* A flow (flow.c): both directions of a conversation, as the flow table
 * saw it up to and including this packet. Each packet carries its own
 * copy, since the decode stage runs ahead of the chefs. Counters are
 * doubles, exact to 2^53, so that Lua reads them as numbers; [0] is the
 * originator's (the sender of the first packet, or the SYN's), [1] the
 * responder's. ICMP's ports are its type and code, or the type's
 * counterpart (echo: 8 and 0), as Community ID takes them. */
enum { DPL_FLOW_HISTORY = 16 };
enum dpl_flow_end { DPL_FLOW_FIN = 1, DPL_FLOW_RST, DPL_FLOW_IDLE, DPL_FLOW_EVICTED,
		    DPL_FLOW_END_OF_INPUT };
struct dpl_flow {
	double id;			/* 1, 2, 3 ... in order of creation; 0: none */
	double first, last;
	double pkts[2], bytes[2], ip_bytes[2];	/* bytes: transport payload */
	uint8_t orig_h[16], resp_h[16];	/* IPv4: the first 4 bytes */
	uint16_t orig_p, resp_p;
	uint8_t family, proto;		/* 4 or 6; the IP protocol number */
	uint8_t dir;			/* this packet's: 0 from orig, 1 from resp */
	uint8_t conn_state;		/* enum flow_conn_state (flow.h) */
	char history[DPL_FLOW_HISTORY];	/* Zeek's letters, NUL-terminated */
};
/* What happened to a flow, in a batch, before its packet at (at == the
 * batch's count: after the last): it ended (why, enum dpl_flow_end), or
 * one direction of its TCP stream (dir: 0 orig, 1 resp) delivered len
 * bytes at off in the batch's stream bytes, or a hole of len bytes. The
 * flow is as it was then. */
enum dpl_flow_event_kind { DPL_EV_END, DPL_EV_DATA, DPL_EV_GAP };
struct dpl_flow_event {
	uint32_t at;
	uint8_t kind;			/* enum dpl_flow_event_kind */
	uint8_t why;
	uint8_t dir;
	uint32_t off, len;
	struct dpl_flow flow;
};

struct dpl_packet {
	double time;
	const uint8_t *data;
	uint32_t wirelen, caplen;
	uint16_t source;		/* index into the kitchen's sources */
	uint8_t nlayers, ntags, nexthdrs;	/* layers; tags and IPv6
						 * extension headers in them */
	uint8_t layers[DPL_MAX_LAYERS];	/* enum dpl_layer_id, outermost first */
	uint8_t first[DPL_LAYER_COUNT];	/* by layer id: 1 + index of its
					 * first occurrence in layers, or 0;
					 * lets Lua find a layer without a
					 * loop */
	uint32_t payload_off, payload_len;	/* Raw */
	uint32_t dns_off, dns_len;		/* the DNS message */
	/* Its first question, when the decode stage decoded it ahead
	 * (packet_decode_question): dns_q is 1 then, 2 when the questions are
	 * malformed, 0 when the runtime decodes them itself. */
	uint8_t dns_q;
	uint16_t dns_qtype, dns_qclass;
	uint32_t dns_qname_len;
	const char *dns_qname;			/* NUL-terminated */
	uint32_t pad_off, pad_len;		/* Padding */
	/* The application layers (apps.h): where each starts, and how many
	 * bytes it may read. TLS: from the first record's header on;
	 * HTTPRequest, HTTPResponse: the start line and fields, the body
	 * being Raw; BOOTP and DHCP: the message. */
	uint32_t tls_off, tls_len;
	uint32_t http_off, http_len;
	uint32_t bootp_off, bootp_len;
	struct dpl_ethernet eth;
	/* By position in layers: which of the structs of a layer that occurs
	 * more than once holds this one (the index into tags, for instance).
	 * Here rather than beside layers, so that what most chefs read of a
	 * packet stays in its first two cache lines: Lua reads a slot only
	 * for VLAN tags, extension headers and later instances, the first
	 * instance of any other layer being in slot 0. */
	uint8_t slot[DPL_MAX_LAYERS];
	struct dpl_tag tags[DPL_MAX_TAGS];
	uint8_t nlabels;			/* MPLS labels in labels */
	struct dpl_mpls labels[DPL_MAX_LABELS];
	struct dpl_pppoe pppoe;
	uint16_t ppp_proto;
	struct dpl_radiotap radiotap;
	struct dpl_dot11 dot11;
	struct dpl_dot11qos dot11qos;
	struct dpl_dot11mgmt dot11mgmt;
	uint8_t nelts;				/* information elements in elts */
	struct dpl_dot11elt elts[DPL_MAX_ELTS];
	struct dpl_llc llc;		/* and SNAP's oui and code */
	struct dpl_cooked cooked;
	uint32_t loopback_family;
	struct dpl_arp arp;
	struct dpl_ip ip;
	struct dpl_ipv6 ipv6;
	struct dpl_icmp icmp;
	struct dpl_tcp tcp;
	struct dpl_udp udp;
	struct dpl_ip iperr;
	struct dpl_ipv6 ipv6err;
	struct dpl_icmp icmperr;
	struct dpl_tcp tcperr;
	struct dpl_udp udperr;
	/* Network layers: the first DPL_MAX_EXTHDRS IPv6 extension headers
	 * (any after them are walked, without layers of their own), a
	 * neighbour discovery message, a GRE or VXLAN header. */
	struct dpl_ip6ext exthdrs[DPL_MAX_EXTHDRS];
	struct dpl_nd nd;
	struct dpl_gre gre;
	struct dpl_vxlan vxlan;
	/* The second Ethernet, IP, IPv6 and UDP header of a packet: one a
	 * tunnel carries inside the first (which is always eth, ip, ipv6 or
	 * udp, on whichever side of a tunnel it is). A third is left Raw. */
	struct dpl_ethernet eth2;
	struct dpl_ip ip2;
	struct dpl_ipv6 ipv6_2;
	struct dpl_udp udp2;
	/* The datagram this packet completed, when it was the last of its
	 * fragments to arrive (ipfrag.h): what lies above its IP header (or
	 * IPv6 fragment header) is decoded from the reassembled payload,
	 * reasm_len bytes placed right after the frame's at data + caplen, so
	 * that every offset stays one from data. reasm_ver is the version of
	 * that (outermost) IP layer, 0 for a packet that completed nothing;
	 * reasm_frags counts the fragments, reasm_flags says whether some
	 * overlapped (1) and whether with other bytes (2). */
	uint32_t reasm_len;
	uint16_t reasm_frags;
	uint8_t reasm_ver, reasm_flags;
	/* Its flow (id 0: none), filled by the decode stage's flow table. */
	struct dpl_flow flow;
};

/* A decoded DNS message. Names and text rdata are NUL-terminated strings
 * inside text; the offsets point there. A section stops at the first record
 * that is malformed, so counts say how many records are really present. */
struct dpl_dns_rr {
	uint32_t name, name_len;	/* offset into text, and length */
	uint16_t type, rclass;
	uint32_t ttl;
	uint32_t rdata;		/* offset into text: rdata as text */
	uint32_t rdlen;		/* length of that text */
	uint8_t is_question;
};
struct dpl_dns {
	uint16_t id, qdcount, ancount, nscount, arcount;
	uint8_t qr, opcode, aa, tc, rd, ra, z, ad, cd, rcode;
	uint16_t nrr[4];	/* records decoded per section: qd, an, ns, ar */
	struct dpl_dns_rr *rr;
	uint32_t rr_cap;
	char *text;
	uint32_t text_len, text_cap;
};

/* TCP options, decoded when a chef reads them (tcp_options()): kind and
 * length as sent (EOL and NOP count 1), the value at off from the start of
 * the options, and its numbers when its kind has any and its length is
 * the kind's (MSS, WScale, UTO: 1; Timestamp: 2; SAck: 2 a block). */
enum { DPL_MAX_TCPOPTS = 40 };		/* 40 bytes of options at most */
struct dpl_tcpopt {
	uint8_t kind, len, nv;
	uint32_t off;
	uint32_t v[8];
};
struct dpl_tcpopts {
	uint32_t n;
	struct dpl_tcpopt opt[DPL_MAX_TCPOPTS];
};

/* Neighbour discovery options, decoded when a chef reads them
 * (nd_options()): type and length as sent (len counts 8 bytes), where the
 * option lies from the start of the options, and whether its size is one
 * its type allows (ok). Only then are its fields read: the 16-bit words at
 * its bytes 2, 4 and 6 and the 32-bit ones at 4, 8 and 12, as numbers that
 * mean what its type says; a prefix (prefix and route information,
 * zero-padded); a list (RDNSS: nlist addresses at off + 8; DNSSL: nlist
 * names, NUL-terminated in text at the offsets names[first ...]). */
enum { DPL_MAX_NDOPTS = 32, DPL_MAX_NDNAMES = 64, DPL_NDOPT_TEXT = 4096 };
struct dpl_ndopt {
	uint8_t type, len, ok;
	uint32_t off, size;
	uint16_t w16[3];
	uint32_t w32[3];
	uint8_t prefix[16];
	uint32_t nlist, first;
};
struct dpl_ndopts {
	uint32_t n, nnames, text_len;
	struct dpl_ndopt opt[DPL_MAX_NDOPTS];
	uint16_t names[DPL_MAX_NDNAMES];
	char text[DPL_NDOPT_TEXT];
};

/* The C functions Lua may call, handed over as one table of pointers so
 * the binary need not export symbols. Each formatter writes at most 64 bytes
 * and returns the length written. */
struct dpl_api {
	int (*dns_decode)(const uint8_t *msg, uint32_t len, int sections,
			  struct dpl_dns *out);
	int (*format_mac)(const uint8_t *mac, int len, char *buf);
	int (*format_ip4)(const uint8_t *a, char *buf);
	int (*format_ip6)(const uint8_t *a, char *buf);
	struct dpl_dns *dns_scratch;
	int (*tcp_options)(const uint8_t *opts, uint32_t len, struct dpl_tcpopts *out);
	struct dpl_tcpopts *tcp_scratch;
	int (*nd_options)(const uint8_t *opts, uint32_t len, struct dpl_ndopts *out);
	struct dpl_ndopts *nd_scratch;
	/* The layers' names, by id (layer_names[0] is NULL). */
	const char *const *layer_names;
	int32_t layer_count;
	/* The chef runtime's hooks: an id for a chef's name; which chef runs
	 * now (a call, so that compiled code cannot drop it), for the
	 * watchdog on another thread; and an interrupt caught, going on. */
	void *owner;
	int32_t (*chef_id)(void *owner, const char *name);
	void (*chef_running)(void *owner, int32_t id);
	void (*guard_restart)(void *owner);
	/* print() in a chef: to the log, with the running chef's name, so
	 * that standard output carries only dumplings. */
	void (*chef_print)(void *owner, const char *text, size_t len);
	/* How many running chefs define stream (runtime.lua tells on each
	 * change of chefs). */
	void (*stream_chefs)(void *owner, int32_t n);
	/* The application layers' decoders (apps.h), each with the scratch
	 * it decodes into; Lua copies out what it needs straight away. */
	int (*tls_decode)(const uint8_t *rec, uint32_t len, struct dpl_tls *out);
	int (*http_decode)(const uint8_t *msg, uint32_t len, struct dpl_http *out);
	int (*dhcp_decode)(const uint8_t *msg, uint32_t len, struct dpl_dhcp *out);
	struct dpl_tls *tls_scratch;
	struct dpl_http *http_scratch;
	struct dpl_dhcp *dhcp_scratch;
	/* A flow's Community ID v1 ("1:" and base64), as text in buf. */
	int (*community_id)(const struct dpl_flow *f, char *buf);
};
/* FFI-END */

void packet_decode(struct dpl_packet *pkt, int linktype);

/* Whether packet_decode() knows a link type; of one it does not, a
 * packet is all Raw. */
int packet_decodes_linktype(int linktype);

/* Likewise, reassembling IP fragments with frags (ipfrag.h; NULL: none,
 * as packet_decode()): a fragment is decoded up to its IP layer (IPv6: its
 * fragment header), its payload left Raw, unless it completes a datagram.
 * The reassembled payload is written right after the captured bytes, so
 * pkt->data must have IPFRAG_MAX_DATAGRAM writable bytes past caplen. */
struct ipfrag;
void packet_decode_frags(struct dpl_packet *pkt, int linktype, struct ipfrag *frags);

/* Whether a TCP payload's first bytes start a TLS hello or an HTTP head
 * (apps.h) that they do not hold whole: 0 when they start none, 1 when
 * they hold it whole, 2 when it is cut, *need then being the bytes it
 * takes (a guess for HTTP). */
int packet_stream_message(const uint8_t *p, uint32_t len, uint32_t *need);

/* The packet completed a TLS hello or HTTP head whose bytes, reassembled
 * from the stream's first segments, are the len bytes at head, in the
 * same buffer as the frame and after it: it carries that layer, decoded
 * from there, in place of its own payload's. */
void packet_attach_stream_head(struct dpl_packet *pkt, const uint8_t *head, uint32_t len);

/* Decode the header and the first `sections` sections (1: questions only,
 * 4: everything). */
int dns_decode(const uint8_t *msg, uint32_t len, int sections, struct dpl_dns *out);

/* Decode the first question of pkt's DNS message ahead of the chefs, its
 * name going to text (room bytes there); scratch is for the decoder.
 * Returns how many bytes of text it used. */
size_t packet_decode_question(struct dpl_packet *pkt, struct dpl_dns *scratch,
			      char *text, size_t room);
void dns_free(struct dpl_dns *dns);

/* The options of a TCP header, len bytes at opts, walked up to the first
 * that does not fit (options.c). Returns how many went into out. */
int tcp_options(const uint8_t *opts, uint32_t len, struct dpl_tcpopts *out);

/* The options of a neighbour discovery message, likewise. */
int nd_options(const uint8_t *opts, uint32_t len, struct dpl_ndopts *out);

/* The name chefs know a layer by, for ids 1 .. DPL_LAYER_COUNT - 1, and
 * the whole table (layers.c). */
const char *layer_name(enum dpl_layer_id id);
const char *const *layer_name_table(void);

/* Addresses as text (addr.c). */
int format_mac(const uint8_t *mac, int len, char *buf);
int format_ip4(const uint8_t *a, char *buf);
int format_ip6(const uint8_t *a, char *buf);

#endif
