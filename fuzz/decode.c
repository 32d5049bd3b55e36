/* Fuzz target: the packet decoder and the Lua packet tables built from it.
 *
 * Input: one byte choosing the link type and the mode (see
 * LLVMFuzzerTestOneInput), then the captured bytes. The packet is decoded, checked against the invariants the Lua runtime relies
 * on (it reads the packet through the FFI, where no sanitizer can see), and
 * handed to the real chef runtime running a chef that reads every layer
 * and field (t/chefs/touch.lua), DNS sections included. Every dumpling must
 * be valid JSON, and the chef must never raise an error: its assertions
 * compare the runtime's ways of reaching a layer. The raw bytes also go
 * straight to dns_decode(), tcp_options() and nd_options(), and to the
 * application layers' decoders (tls_decode(), http_decode(),
 * dhcp_decode()), whose results are checked against what runtime.lua
 * reads of them. Both packets go through a small flow table kept from
 * input to input (four flows, timeouts of a second), so that flows are
 * made, closed, expired and evicted, and the flows that end are handed to
 * the chef's flow_end with the batch. */
#include <stdlib.h>
#include <string.h>

#include <pcap/dlt.h>

#include "kitchen/chef.h"
#include "kitchen/emit.h"
#include "kitchen/sink.h"
#include "check.h"
#include "base/log.h"
#include "decode/flow.h"
#include "decode/packet.h"

#ifndef FUZZ_CHEF
#define FUZZ_CHEF "t/chefs/touch.lua"
#endif

static const int linktypes[] = {
	DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_NULL, DLT_LOOP,
	DLT_RAW, DLT_IPV4, DLT_IPV6, DLT_PPP, DLT_PPP_SERIAL, DLT_PPP_ETHER,
	DLT_IEEE802_11, DLT_IEEE802_11_RADIO,
};

enum { NLINKTYPES = sizeof linktypes / sizeof linktypes[0] };

static unsigned long emitted;

static int sink_emit(struct sink *s, const char *json, size_t len, unsigned long long seq)
{
	fuzz_check_json(json, len);
	fuzz_check_no_hidden_controls(json, len);
	emitted++;
	return 0;
}

static void sink_flush(struct sink *s)
{
}

static int sink_close(struct sink *s)
{
	return 0;
}

static struct sink discard = { .emit = sink_emit, .flush = sink_flush, .close = sink_close };

static struct chef_runtime *shared_rt;
static struct flow_table *shared_flows;
static struct emit *shared_emit;

/* LuaJIT keeps some of its buffers through pointers that lie outside them,
 * which LeakSanitizer cannot follow, so the runtime is closed at exit
 * rather than left for the process to drop. */
static void close_runtime(void)
{
	emit_close(shared_emit);
	emit_free(shared_emit);
	chef_runtime_free(shared_rt);
	flow_table_free(shared_flows);
	shared_rt = NULL;
}

static struct chef_runtime *runtime(void)
{
	static const char *const sources[] = { "fuzz" };
	struct chef_options opt = {
		.kitchen_name = "fuzz", .poke_interval = 5, .sources = sources,
		.nsources = 1,
	};
	const char *chef = getenv("DUMPLINGS_FUZZ_CHEF");

	if (shared_rt)
		return shared_rt;
	log_init("fuzz-decode", LOG_ERROR);
	shared_rt = chef_runtime_new(&opt);
	fuzz_assert(shared_rt != NULL, "chef runtime starts");
	shared_emit = emit_start(&discard, "fuzz", 0, NULL);
	atexit(close_runtime);
	fuzz_assert(chef_runtime_load(shared_rt, chef ? chef : FUZZ_CHEF, NULL) == 1,
		    "the touch chef loads (set DUMPLINGS_FUZZ_CHEF)");
	return shared_rt;
}

static int inside(uint32_t off, uint32_t len, uint32_t caplen)
{
	return off <= caplen && len <= caplen - off;
}

/* Where decode.c says the application layers are: inside the capture,
 * each long enough for what its builder reads without asking, and a
 * hello only inside a record, DHCP only behind BOOTP. */
static void check_apps_located(const struct dpl_packet *p)
{
	if (p->first[DPL_TLS])
		fuzz_assert(inside(p->tls_off, p->tls_len, p->caplen) && p->tls_len >= 5,
			    "TLS holds a record header, within the capture");
	fuzz_assert(!(p->first[DPL_TLSCLIENTHELLO] || p->first[DPL_TLSSERVERHELLO]) ||
		    p->first[DPL_TLS], "a hello is in a TLS record");
	if (p->first[DPL_HTTPREQUEST] || p->first[DPL_HTTPRESPONSE])
		fuzz_assert(inside(p->http_off, p->http_len, p->caplen) && p->http_len > 0,
			    "HTTP within the capture");
	if (p->first[DPL_BOOTP])
		fuzz_assert(inside(p->bootp_off, p->bootp_len, p->caplen) && p->bootp_len >= 236,
			    "BOOTP holds its fixed fields, within the capture");
	fuzz_assert(!p->first[DPL_DHCP] || (p->first[DPL_BOOTP] && p->bootp_len >= 240),
		    "DHCP options follow BOOTP and its cookie");
}

/* How many structs a layer's slot may choose from. */
static int slots(const struct dpl_packet *p, int id)
{
	switch (id) {
	case DPL_DOT1Q:
	case DPL_DOT1AD:
		return p->ntags;
	case DPL_IP6HOPBYHOP:
	case DPL_IP6ROUTING:
	case DPL_IP6FRAGMENT:
	case DPL_IP6DESTOPT:
		return p->nexthdrs;
	case DPL_ETHERNET:
	case DPL_IP:
	case DPL_IPV6:
	case DPL_UDP:
		return 2;
	}
	return 1;
}

/* The extension headers, and the options Lua hands to options.c: all
 * within the capture. */
static void check_network(const struct dpl_packet *p)
{
	fuzz_assert(p->nexthdrs <= DPL_MAX_EXTHDRS, "extension header count in bounds");
	for (int i = 0; i < p->nexthdrs; i++) {
		const struct dpl_ip6ext *e = &p->exthdrs[i];

		fuzz_assert(inside(e->off, e->size, p->caplen) && e->size >= 8,
			    "extension header within the capture");
		fuzz_assert(8u + 16u * e->naddr <= e->size, "routing addresses within the header");
	}
	if (p->first[DPL_TCP])
		fuzz_assert(inside(p->tcp.opt_off, p->tcp.opt_len, p->caplen) && p->tcp.opt_len <= 40,
			    "TCP options within the capture");
	if (p->first[DPL_TCPERROR])
		fuzz_assert(inside(p->tcperr.opt_off, p->tcperr.opt_len, p->caplen),
			    "TCPerror options within the capture");
	if (p->first[DPL_NDRS] || p->first[DPL_NDRA] || p->first[DPL_NDNS] ||
	    p->first[DPL_NDNA] || p->first[DPL_NDREDIRECT])
		fuzz_assert(inside(p->nd.opt_off, p->nd.opt_len, p->caplen),
			    "neighbour discovery options within the capture");
}

/* What runtime.lua takes on trust when it reads the packet. */
static void check_packet(const struct dpl_packet *p)
{
	int seen[DPL_LAYER_COUNT] = { 0 };

	fuzz_assert(p->nlayers <= DPL_MAX_LAYERS, "layer count in bounds");
	fuzz_assert(p->ntags <= DPL_MAX_TAGS, "tag count in bounds");
	for (int i = 0; i < p->nlayers; i++) {
		int id = p->layers[i];

		fuzz_assert(id >= 1 && id < DPL_LAYER_COUNT, "layer id in range");
		fuzz_assert(p->slot[i] < slots(p, id), "slot names one of the layer's structs");
		if (!seen[id])
			fuzz_assert(p->first[id] == i + 1, "first[] marks the first occurrence");
		seen[id] = 1;
	}
	check_network(p);
	for (int id = 1; id < DPL_LAYER_COUNT; id++)
		fuzz_assert(seen[id] || !p->first[id], "first[] only for present layers");
	fuzz_assert(inside(p->payload_off, p->payload_len, p->caplen), "Raw within the capture");
	fuzz_assert(inside(p->dns_off, p->dns_len, p->caplen), "DNS within the capture");
	fuzz_assert(inside(p->pad_off, p->pad_len, p->caplen), "Padding within the capture");
	fuzz_assert(!p->first[DPL_DNS] || p->dns_len >= 12, "DNS layer holds a header");
	check_apps_located(p);
}

/* What runtime.lua takes on trust when it reads a decoded DNS message. */
static void check_dns(const struct dpl_dns *d)
{
	uint32_t n = d->nrr[0] + d->nrr[1] + d->nrr[2] + d->nrr[3];

	fuzz_assert(n <= d->rr_cap || n == 0, "records within the array");
	fuzz_assert(d->nrr[0] <= d->qdcount && d->nrr[1] <= d->ancount &&
		    d->nrr[2] <= d->nscount && d->nrr[3] <= d->arcount,
		    "no more records than the header counts");
	for (uint32_t i = 0; i < n; i++) {
		const struct dpl_dns_rr *rr = &d->rr[i];

		fuzz_assert(rr->name < d->text_len && rr->name_len < d->text_len - rr->name,
			    "record name within the text");
		fuzz_assert(d->text[rr->name + rr->name_len] == '\0', "record name ends in NUL");
		fuzz_assert(rr->name_len > 0 && rr->name_len < 255, "a name fits in 255 wire bytes");
		if (rr->is_question)
			continue;
		fuzz_assert(rr->rdata < d->text_len && rr->rdlen < d->text_len - rr->rdata,
			    "rdata within the text");
		fuzz_assert(d->text[rr->rdata + rr->rdlen] == '\0', "rdata ends in NUL");
	}
}

/* The options decoders on any bytes: every option, name and address
 * within what they were given. */
static void fuzz_options(const uint8_t *data, size_t size)
{
	static struct dpl_tcpopts tcp;
	static struct dpl_ndopts nd;
	uint32_t len = (uint32_t)size;

	fuzz_assert(tcp_options(data, len < 40 ? len : 40, &tcp) == (int)tcp.n &&
		    tcp.n <= DPL_MAX_TCPOPTS, "TCP option count in bounds");
	for (uint32_t i = 0; i < tcp.n; i++) {
		const struct dpl_tcpopt *o = &tcp.opt[i];

		fuzz_assert(o->len >= 1 && o->nv <= 8 &&
			    (o->len == 1 ? o->off <= len : o->off - 2 + o->len <= len),
			    "TCP option within its bytes");
	}
	fuzz_assert(nd_options(data, len, &nd) == (int)nd.n && nd.n <= DPL_MAX_NDOPTS &&
		    nd.nnames <= DPL_MAX_NDNAMES && nd.text_len <= DPL_NDOPT_TEXT,
		    "neighbour discovery option count in bounds");
	for (uint32_t i = 0; i < nd.n; i++) {
		const struct dpl_ndopt *o = &nd.opt[i];

		fuzz_assert(o->size == o->len * 8u && inside(o->off, o->size, len),
			    "neighbour discovery option within its bytes");
		if (o->ok && o->type == 25)
			fuzz_assert(8 + 16 * o->nlist <= o->size, "RDNSS addresses within the option");
		if (o->ok && o->type == 31)
			fuzz_assert(o->first + o->nlist <= nd.nnames, "DNSSL names within the list");
	}
	for (uint32_t k = 0; k < nd.nnames; k++)
		fuzz_assert(nd.names[k] < nd.text_len && memchr(nd.text + nd.names[k], '\0',
			    nd.text_len - nd.names[k]), "DNSSL name within the text, NUL-terminated");
}

static void fuzz_dns(const uint8_t *data, size_t size, int sections)
{
	static struct dpl_dns dns;

	if (dns_decode(data, (uint32_t)size, sections, &dns) == 0)
		check_dns(&dns);
}

/* A string the runtime reads from a decoder's text: inside it, ending
 * in NUL. */
static void check_text(const struct dpl_text *t, uint32_t off, uint32_t len, const char *what)
{
	fuzz_assert(off < t->len && len < t->len - off && t->s[off + len] == '\0', what);
}

static void check_run(const struct dpl_tls *t, struct dpl_run run, uint32_t width)
{
	fuzz_assert(run.off <= t->vals_len && run.n * width <= t->vals_len - run.off,
		    "a TLS list within vals");
}

/* What runtime.lua reads of a decoded hello. */
static void check_tls(const struct dpl_tls *t)
{
	const struct dpl_run runs[] = { t->ciphers, t->ext, t->groups, t->ec_point_formats,
					t->sig_algs, t->supported_versions };

	for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++)
		check_run(t, runs[i], 1);
	check_run(t, t->alpn, 2);
	for (uint32_t i = 0; i < t->alpn.n; i++)
		check_text(&t->text, t->vals[t->alpn.off + 2 * i], t->vals[t->alpn.off + 2 * i + 1],
			   "an ALPN protocol within the text");
	if (t->has_sni)
		check_text(&t->text, t->sni, t->sni_len, "the server name within the text");
	if (!t->complete)
		return;
	check_text(&t->text, t->ja3_full, t->ja3_full_len, "JA3's string within the text");
	check_text(&t->text, t->ja3, t->ja3_len, "JA3 within the text");
	fuzz_assert(t->ja3_len == 32, "JA3 is an MD5 in hex");
	if (t->msgtype != 1)
		return;
	check_text(&t->text, t->ja4, t->ja4_len, "JA4 within the text");
	check_text(&t->text, t->ja4_r, t->ja4_r_len, "JA4_r within the text");
	fuzz_assert(t->ja4_len == 36, "JA4 is a_b_c, 10, 12 and 12 characters");
}

/* What runtime.lua reads of a decoded HTTP head. */
static void check_http(const struct dpl_http *h, uint32_t len)
{
	fuzz_assert(h->head_len <= len && h->line_parts >= 1 && h->line_parts <= 3,
		    "the head within the message, its start line in parts");
	fuzz_assert(h->nfields <= h->fields_cap || h->nfields == 0, "fields within the array");
	if (h->kind == 1)
		check_text(&h->text, h->method, h->method_len, "the method within the text");
	else
		check_text(&h->text, h->version, h->version_len, "the version within the text");
	if (h->line_parts >= 2 && h->kind == 1)
		check_text(&h->text, h->uri, h->uri_len, "the uri within the text");
	if (h->line_parts >= 3)
		check_text(&h->text, h->kind == 1 ? h->version : h->reason,
			   h->kind == 1 ? h->version_len : h->reason_len, "the last part within the text");
	for (uint32_t i = 0; i < h->nfields; i++) {
		const struct dpl_http_field *f = &h->fields[i];

		check_text(&h->text, f->name, f->name_len, "a field name within the text");
		check_text(&h->text, f->value, f->value_len, "a field value within the text");
		for (uint32_t k = 0; k < f->name_len; k++)
			fuzz_assert(!(h->text.s[f->name + k] >= 'A' && h->text.s[f->name + k] <= 'Z'),
				    "field names are lower-case");
	}
}

/* What runtime.lua reads of a decoded BOOTP/DHCP message. */
static void check_dhcp(const struct dpl_dhcp *d, uint32_t len)
{
	const int32_t named[] = { d->message_type, d->requested_addr, d->server_id, d->lease_time,
				  d->hostname, d->vendor_class_id, d->param_req_list };

	fuzz_assert(memchr(d->sname, 0, sizeof d->sname) && memchr(d->file, 0, sizeof d->file),
		    "sname and file end in NUL");
	for (uint32_t i = 0; i < d->nopts; i++)
		fuzz_assert(d->opts[i].off <= len && d->opts[i].len <= len - d->opts[i].off,
			    "an option within the message");
	for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
		fuzz_assert(named[i] >= -1 && named[i] < (int32_t)d->nopts, "a named option is one of them");
}

/* The raw bytes straight to the application decoders. */
static void fuzz_apps(const uint8_t *data, uint32_t len)
{
	static struct dpl_tls tls;
	static struct dpl_http http;
	static struct dpl_dhcp dhcp;

	if (tls_decode(data, len, &tls) == 0)
		check_tls(&tls);
	if (http_decode(data, len, &http) == 0)
		check_http(&http, len);
	if (dhcp_decode(data, len, &dhcp) == 0)
		check_dhcp(&dhcp, len);
}

/* The first question decoded ahead, as the decode stage does, must be
 * what decoding the questions later finds. */
static void decode_question(struct dpl_packet *pkt, char *text, size_t room)
{
	static struct dpl_dns ahead, later;
	size_t used = packet_decode_question(pkt, &ahead, text, room);

	fuzz_assert(used <= room, "the question's name fits where it went");
	if (pkt->dns_q != 1)
		return;
	fuzz_assert(used == pkt->dns_qname_len + 1 && pkt->dns_qname == text &&
		    text[pkt->dns_qname_len] == '\0', "the name is where it says");
	fuzz_assert(dns_decode(pkt->data + pkt->dns_off, pkt->dns_len, 1, &later) == 0 &&
		    later.nrr[0] == 1 && later.rr[0].name_len == pkt->dns_qname_len &&
		    !memcmp(later.text + later.rr[0].name, text, used) &&
		    later.rr[0].type == pkt->dns_qtype && later.rr[0].rclass == pkt->dns_qclass,
		    "the question decoded ahead is the one decoded later");
}

/* Bit 6 of sel: decode the DNS question ahead, into text. */
static void decode(struct dpl_packet *pkt, const uint8_t *bytes, uint32_t len, uint8_t sel,
		   char *text, size_t room)
{
	memset(pkt, 0, sizeof *pkt);
	pkt->time = 1e9 + sel;
	pkt->data = bytes;
	pkt->caplen = pkt->wirelen = len;
	packet_decode(pkt, linktypes[(sel & 0x1f) % NLINKTYPES]);
	check_packet(pkt);
	if (sel & 0x40)
		decode_question(pkt, text, room);
}

static void check_flow(const struct dpl_flow *f)
{
	char cid[64];

	if (f->id == 0)
		return;
	fuzz_assert(f->family == 4 || f->family == 6, "a flow is IPv4 or IPv6");
	fuzz_assert(f->pkts[0] + f->pkts[1] >= 1, "a flow has a packet");
	fuzz_assert(memchr(f->history, '\0', sizeof f->history) != NULL, "the history ends");
	fuzz_assert(f->conn_state < FLOW_NSTATES, "a known conn_state");
	fuzz_assert(flow_community_id(f, cid) == 30 && strlen(cid) == 30, "a Community ID's length");
}

/* Each packet through the flow table, as the decode stage does it. */
static void track_flows(struct dpl_packet *pkts, int n, struct flow_events *ev)
{
	static const struct flow_config cfg = { .timeout = { 1, 1, 1, 1, 1 }, .max_flows = 4 };
	struct flow_stats st;

	if (!shared_flows) {
		shared_flows = flow_table_new(&cfg);
		flow_want_streams(shared_flows, 1);
	}
	for (int i = 0; i < n; i++) {
		flow_expire(shared_flows, pkts[i].time, (uint32_t)i, 2, ev);
		flow_track(shared_flows, &pkts[i], (uint32_t)i, ev);
		check_flow(&pkts[i].flow);
	}
	for (int i = 0; i < ev->n; i++) {
		const struct dpl_flow_event *e = &ev->ev[i];

		fuzz_assert(e->at <= (uint32_t)n, "a flow event is placed in the batch");
		fuzz_assert(e->kind != DPL_EV_END ||
			    (e->why >= DPL_FLOW_FIN && e->why <= DPL_FLOW_END_OF_INPUT),
			    "a flow ends for a known reason");
		fuzz_assert(e->kind != DPL_EV_DATA ||
			    (e->len > 0 && e->off + e->len <= ev->bytes_used),
			    "stream data lies in the stream bytes");
		fuzz_assert(e->kind <= DPL_EV_GAP && e->dir <= 1, "a known event");
		check_flow(&e->flow);
	}
	flow_table_stats(shared_flows, &st);
	fuzz_assert(st.active <= cfg.max_flows, "the flow table keeps its bound");
	fuzz_assert(st.created == st.active + st.ended, "every flow made is active or ended");
}

static unsigned long chef_errors(struct chef_runtime *rt)
{
	const struct chef_stats *st = chef_runtime_stats(rt);

	return st->handler_errors + st->serialize_errors;
}

/* The first byte: bits 0-4 choose the link type (modulo the table) and,
 * divided by its size, how many DNS sections dns_decode() reads; bit 6
 * decodes DNS questions ahead, as the decode stage does; bit 7
 * leaves the chef runtime out, for a hundred times the pace on the C side
 * alone (check_packet() still guards what Lua would read).
 *
 * A batch of two: the packet cut in half (in a buffer of its own, so that
 * reading past the cut is caught), then the whole packet. The second
 * packet's place in the batch is what DNS decoding after the handler
 * (while serializing) must find. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chef_runtime *rt = runtime();
	struct dpl_packet pkts[2];
	static struct dpl_flow_event events[8];
	static uint8_t stream[1 << 18];
	struct flow_events ev = { .ev = events, .cap = 8, .bytes = stream,
				  .bytes_cap = sizeof stream };
	static char qnames[2][256];
	uint32_t len, half;
	uint8_t *cut;
	unsigned long errors;

	if (size < 1 || size > 65536 + 1)
		return 0;
	len = (uint32_t)(size - 1);
	half = len / 2;
	fuzz_dns(data + 1, len, 1 + (data[0] & 0x1f) / NLINKTYPES % 4);
	fuzz_apps(data + 1, len);
	fuzz_options(data + 1, len);
	cut = malloc(half ? half : 1);
	fuzz_assert(cut != NULL, "out of memory");
	memcpy(cut, data + 1, half);
	decode(&pkts[0], cut, half, data[0], qnames[0], sizeof qnames[0]);
	decode(&pkts[1], data + 1, len, data[0], qnames[1], sizeof qnames[1]);
	track_flows(pkts, 2, &ev);
	if (!(data[0] & 0x80)) {
		struct plate *p = emit_plate(shared_emit);

		errors = chef_errors(rt);
		emitted = 0;
		chef_runtime_batch(rt, pkts, 2, ev.ev, ev.n, 0, ev.bytes, p);
		emit_send(shared_emit, p);
		emit_wait(shared_emit);
		fuzz_assert(chef_errors(rt) == errors,
			    "the touch chef ran without an error (see the log above)");
		fuzz_assert(emitted == 2, "one dumpling per packet");
	}
	free(cut);
	return 0;
}
