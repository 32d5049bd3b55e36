/* Fuzz target: the packet decoder and the Lua packet tables built from it.
 *
 * Input: one byte choosing the link type and the mode (see
 * LLVMFuzzerTestOneInput), then the captured bytes. The packet is decoded, checked against the invariants the Lua runtime relies
 * on (it reads the packet through the FFI, where no sanitizer can see), and
 * handed to the real chef runtime running a chef that reads every layer
 * and field (t/chefs/touch.lua), DNS sections included. Every dumpling must
 * be valid JSON, and the chef must never raise an error: its assertions
 * compare the runtime's ways of reaching a layer. The raw bytes also go
 * straight to dns_decode(), tcp_options() and nd_options(). */
#include <stdlib.h>
#include <string.h>

#include <pcap/dlt.h>

#include "kitchen/chef.h"
#include "check.h"
#include "base/log.h"
#include "decode/packet.h"

#ifndef FUZZ_CHEF
#define FUZZ_CHEF "t/chefs/touch.lua"
#endif

static const int linktypes[] = {
	DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_NULL, DLT_LOOP,
	DLT_RAW, DLT_IPV4, DLT_IPV6,
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

/* LuaJIT keeps some of its buffers through pointers that lie outside them,
 * which LeakSanitizer cannot follow, so the runtime is closed at exit
 * rather than left for the process to drop. */
static void close_runtime(void)
{
	chef_runtime_free(shared_rt);
	shared_rt = NULL;
}

static struct chef_runtime *runtime(void)
{
	static const char *const sources[] = { "fuzz" };
	struct chef_options opt = {
		.kitchen_name = "fuzz", .poke_interval = 5, .sources = sources,
		.nsources = 1, .sink = &discard,
	};
	const char *chef = getenv("DUMPLINGS_FUZZ_CHEF");

	if (shared_rt)
		return shared_rt;
	log_init("fuzz-decode", LOG_ERROR);
	shared_rt = chef_runtime_new(&opt);
	fuzz_assert(shared_rt != NULL, "chef runtime starts");
	atexit(close_runtime);
	fuzz_assert(chef_runtime_load(shared_rt, chef ? chef : FUZZ_CHEF) == 1,
		    "the touch chef loads (set DUMPLINGS_FUZZ_CHEF)");
	return shared_rt;
}

static int inside(uint32_t off, uint32_t len, uint32_t caplen)
{
	return off <= caplen && len <= caplen - off;
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

/* The first question decoded ahead, as the file reader does, must be
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

static unsigned long chef_errors(struct chef_runtime *rt)
{
	const struct chef_stats *st = chef_runtime_stats(rt);

	return st->handler_errors + st->serialize_errors;
}

/* The first byte: bits 0-4 choose the link type (modulo the table) and,
 * divided by its size, how many DNS sections dns_decode() reads; bit 6
 * decodes DNS questions ahead, as the file reader does; bit 7
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
	static char qnames[2][256];
	uint32_t len, half;
	uint8_t *cut;
	unsigned long errors;

	if (size < 1 || size > 65536 + 1)
		return 0;
	len = (uint32_t)(size - 1);
	half = len / 2;
	fuzz_dns(data + 1, len, 1 + (data[0] & 0x1f) / NLINKTYPES % 4);
	fuzz_options(data + 1, len);
	cut = malloc(half ? half : 1);
	fuzz_assert(cut != NULL, "out of memory");
	memcpy(cut, data + 1, half);
	decode(&pkts[0], cut, half, data[0], qnames[0], sizeof qnames[0]);
	decode(&pkts[1], data + 1, len, data[0], qnames[1], sizeof qnames[1]);
	if (!(data[0] & 0x80)) {
		errors = chef_errors(rt);
		emitted = 0;
		chef_runtime_batch(rt, pkts, 2);
		fuzz_assert(chef_errors(rt) == errors,
			    "the touch chef ran without an error (see the log above)");
		fuzz_assert(emitted == 2, "one dumpling per packet");
	}
	free(cut);
	return 0;
}
