#ifndef APPS_H
#define APPS_H

/* The application layers, a file each: TLS hellos (tls.c), HTTP messages
 * (http.c), BOOTP and DHCP (dhcp.c).
 *
 * The packet decoder only recognises them by their first bytes, which
 * costs next to nothing; each is decoded from a byte buffer when a chef
 * first reads it, into one of the structs below, and the Lua runtime
 * copies what it needs into the chef's table at once. A decoder takes any
 * buffer, not a packet, so that a stream reassembler can hand it whole
 * messages later.
 *
 * As in packet.h, the part between the FFI markers is handed to
 * ffi.cdef() verbatim: plain declarations only. Strings live in text,
 * NUL-terminated, and are named by their offset there and their length;
 * lists of numbers are runs of vals. */

#include <stdint.h>

/* FFI-BEGIN */
struct dpl_run { uint32_t off, n; };
struct dpl_text { char *s; uint32_t len, cap; };

/* A ClientHello (msgtype 1) or ServerHello (2). Lists are as sent,
 * GREASE values included; the fingerprints leave GREASE out. alpn is a
 * run of pairs: the text offset and the length of each protocol. */
struct dpl_tls {
	uint8_t msgtype;
	uint8_t complete;	/* the whole hello was there: fingerprints made */
	uint8_t has_sni;
	uint16_t version;	/* legacy_version */
	int32_t cipher;		/* the ServerHello's choice; -1 if cut before it */
	struct dpl_run ciphers, ext, groups, ec_point_formats, sig_algs,
		supported_versions, alpn;
	uint32_t sni, sni_len;
	uint32_t ja3, ja3_len, ja3_full, ja3_full_len;	/* JA3S for a ServerHello */
	uint32_t ja4, ja4_len, ja4_r, ja4_r_len;	/* ClientHello only */
	uint32_t *vals;
	uint32_t vals_len, vals_cap;
	struct dpl_text text;
};

/* An HTTP/1 request (kind 1) or response (kind 2): its start line and its
 * header fields, names lower-cased, repeated fields joined with ", ". */
struct dpl_http_field { uint32_t name, name_len, value, value_len; };
struct dpl_http {
	uint8_t kind;
	/* How much of the start line is given: a request's method, target
	 * and version, a response's version, status and reason; fewer when
	 * the bytes cut the line, since a part cut short is left out. */
	uint8_t line_parts;
	uint8_t complete;	/* the head ended (blank line) within the bytes */
	uint16_t status_code;
	uint32_t method, method_len, uri, uri_len, version, version_len,
		reason, reason_len;
	uint32_t head_len;	/* start line and fields, blank line included */
	struct dpl_http_field *fields;
	uint32_t nfields, fields_cap;
	struct dpl_text text;
};

/* A BOOTP message and, after the magic cookie, its DHCP options: each
 * option's code, and its data's offset and length in the message. The
 * named options are indices into opts (-1 when absent). */
struct dpl_dhcp_opt { uint32_t off; uint8_t code, len; };
struct dpl_dhcp {
	uint8_t op, htype, hlen, hops;
	uint32_t xid;
	uint16_t secs, flags;
	uint8_t ciaddr[4], yiaddr[4], siaddr[4], giaddr[4], chaddr[16];
	char sname[65], file[129];	/* empty when they carry options */
	uint8_t dhcp;			/* the magic cookie was there */
	int32_t message_type, requested_addr, server_id, lease_time,
		hostname, vendor_class_id, param_req_list;
	struct dpl_dhcp_opt *opts;
	uint32_t nopts, opts_cap;
};
/* FFI-END */

struct dpl_api;

/* Text the decoders build: apps_text_put appends n bytes and returns
 * where they start; apps_text_end ends a string with its NUL. */
uint32_t apps_text_put(struct dpl_text *t, const void *s, uint32_t n);
void apps_text_end(struct dpl_text *t);

/* Each layer has a recogniser, which decode.c asks about the first bytes
 * of a TCP payload or UDP datagram, and a decoder, which returns 0 when
 * there was something to decode and -1 otherwise; what is malformed or
 * cut short ends the decoding, and what came before it stays. */

/* TLS (tls.c). tls_recognise: -1 for no TLS record, else the handshake
 * type of the hello the record starts with (1, 2), or 0 for none;
 * tls_decode: that hello, from the record. */
int tls_recognise(const uint8_t *p, uint32_t len);
int tls_decode(const uint8_t *rec, uint32_t len, struct dpl_tls *out);

/* HTTP (http.c). http_recognise: 0, or 1 for a request and 2 for a
 * response, *head_len being the bytes of its start line and fields;
 * http_decode: the message, from its start line. */
int http_recognise(const uint8_t *p, uint32_t len, uint32_t *head_len);
/* ... and *complete set when the head ends within the bytes. */
int http_recognise_whole(const uint8_t *p, uint32_t len, uint32_t *head_len, int *complete);
int http_decode(const uint8_t *msg, uint32_t len, struct dpl_http *out);

/* BOOTP and DHCP (dhcp.c). dhcp_recognise: 0, 1 for BOOTP, 2 for BOOTP
 * with DHCP options; dhcp_decode: the BOOTP message. */
int dhcp_recognise(const uint8_t *p, uint32_t len);
int dhcp_decode(const uint8_t *msg, uint32_t len, struct dpl_dhcp *out);

/* Give the chef runtime these decoders and their scratch space, and take
 * them back (apps.c). */
void apps_attach(struct dpl_api *api);
void apps_detach(struct dpl_api *api);

#endif
