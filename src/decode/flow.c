/* The flow table (flow.h). A flow is keyed by the tuple Community ID v1
 * hashes: protocol, and the two endpoints in a canonical order, so that
 * both directions meet in one record. The records are one array made at
 * the start, linked into hash chains and into an idle list per kind of
 * flow by index; a free record is found on the free list, and a full
 * table evicts the flow idle longest. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "base/util.h"
#include "flow.h"

enum { TCP_FIN = 1, TCP_SYN = 2, TCP_RST = 4, TCP_ACK = 16 };
enum { PROTO_ICMP = 1, PROTO_TCP = 6, PROTO_UDP = 17, PROTO_ICMPV6 = 58, PROTO_SCTP = 132 };

/* What a direction has shown so far, for the history and the state. */
enum { SEEN_SYN = 1, SEEN_SYNACK = 2, SEEN_ACK = 4, SEEN_DATA = 8, SEEN_FIN = 16,
       SEEN_RST = 32 };

/* Filled whole (memset) so that it can be hashed and compared as bytes. */
struct flow_key {
	uint8_t lo[16], hi[16];
	uint16_t plo, phi;
	uint8_t proto, family, pad[2];
};

struct flow_rec {
	struct flow_key key;
	struct dpl_flow f;
	uint32_t hnext;			/* hash chain, or the free list */
	uint32_t prev, next;		/* its idle list, oldest first */
	uint8_t kind;			/* enum flow_kind: the list it is on */
	uint8_t orig_swapped;		/* the key's order is resp, orig */
	uint8_t seen[2];
	uint8_t closed;			/* DPL_FLOW_FIN or _RST, or 0 */
	struct flow_streams *streams;	/* NULL for most flows */
};

/* What a TCP flow's directions reassemble, by dir, allocated for the few
 * flows that have any: each whole stream, when some chef asked for
 * streams as the flow began; and the first bytes of a direction whose
 * first segment cut a TLS hello or HTTP head, until it is whole. A
 * direction all zeros is not tracked. */
struct flow_streams {
	struct tcpreasm_dir stream[2];
	struct tcpreasm_dir head[2];
};

struct flow_list {
	uint32_t head, tail;
};

/* Index 0 is no record. */
struct flow_table {
	struct flow_config cfg;
	struct flow_rec *recs;
	uint32_t *buckets, mask;
	uint32_t free;			/* records given back */
	uint32_t unused;		/* records from here on never used */
	struct flow_list lists[FLOW_NKINDS];
	double next_id;
	struct flow_stats st;
	/* Streams. During a call from outside: where events go, and the
	 * places in the batch they go at (a flow's end, stream data of the
	 * packet at hand, and whichever is being written now), all 0 after a
	 * spill; the flow and direction whose stream is delivering. */
	struct tcpreasm_pool pool;
	struct tcpreasm_pool heads;	/* delivers nowhere: only heads count */
	int want_streams;
	struct flow_events *out;
	struct dpl_packet *pending;	/* the packet whose flow is to be
					 * written, or NULL */
	uint32_t at_end, at_data, at_stream;
	uint32_t streaming;
	uint8_t streaming_dir;
};

/* A packet's endpoints, as sent. */
struct endpoints {
	const uint8_t *src, *dst;
	uint16_t sport, dport;
	uint8_t proto, family, has_ports, one_way;
	uint8_t tcp_flags;
	double payload, ip_bytes;
};

static void stream_emit(void *ctx, const uint8_t *data, uint32_t len);

static void heads_emit(void *ctx, const uint8_t *data, uint32_t len)
{
}

/* ------------------------------------------------------------ the table */

static uint32_t bucket_count(uint32_t max)
{
	uint32_t n = 1024;

	while (n < 2 * max && n < (1u << 30))
		n *= 2;
	return n;
}

struct flow_table *flow_table_new(const struct flow_config *cfg)
{
	struct flow_table *t = xcalloc(1, sizeof *t);
	uint32_t n;

	t->cfg = *cfg;
	if (t->cfg.max_flows < 1)
		t->cfg.max_flows = 1;
	n = t->cfg.max_flows;
	/* calloc'd, and handed out in order before any is reused: pages no
	 * flow ever used are never touched. */
	t->recs = xcalloc((size_t)n + 1, sizeof *t->recs);
	t->mask = bucket_count(n) - 1;
	t->buckets = xcalloc((size_t)t->mask + 1, sizeof *t->buckets);
	t->unused = 1;
	t->next_id = 1;
	tcpreasm_pool_init(&t->pool, stream_emit);
	if (cfg->stream_dir_max)
		t->pool.dir_max = cfg->stream_dir_max;
	if (cfg->stream_total_max)
		t->pool.total_max = cfg->stream_total_max;
	t->want_streams = cfg->want_streams;
	tcpreasm_pool_init(&t->heads, heads_emit);
	t->heads.total_max = FLOW_HEADS_MEMORY;
	t->heads.dir_max = FLOW_HEADS_DIR_MEMORY;
	return t;
}

static struct flow_streams *streams_of(struct flow_rec *r)
{
	if (!r->streams)
		r->streams = xcalloc(1, sizeof *r->streams);
	return r->streams;
}

static void streams_free(struct flow_table *t, struct flow_rec *r)
{
	struct flow_streams *s = r->streams;

	if (!s)
		return;
	for (int dir = 0; dir < 2; dir++) {
		tcpreasm_release(&s->stream[dir], &t->pool);
		tcpreasm_release(&s->head[dir], &t->heads);
	}
	free(s);
	r->streams = NULL;
}

void flow_table_free(struct flow_table *t)
{
	if (!t)
		return;
	/* only the records ever used: the rest were never touched, and
	 * walking them would fault in every page of a table sized for
	 * --max-flows */
	for (uint32_t i = 1; i < t->unused; i++)
		streams_free(t, &t->recs[i]);
	free(t->recs);
	free(t->buckets);
	free(t);
}

void flow_table_stats(const struct flow_table *t, struct flow_stats *st)
{
	*st = t->st;
}

static uint32_t key_hash(const struct flow_key *k)
{
	uint64_t w[sizeof *k / 8], h = 0x9e3779b97f4a7c15u;

	memcpy(w, k, sizeof w);
	for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
		h = (h ^ w[i]) * 0xff51afd7ed558ccdu;
		h ^= h >> 29;
	}
	return (uint32_t)(h ^ h >> 32);
}

static void list_remove(struct flow_table *t, uint32_t i)
{
	struct flow_rec *r = &t->recs[i];
	struct flow_list *l = &t->lists[r->kind];

	if (r->prev)
		t->recs[r->prev].next = r->next;
	else
		l->head = r->next;
	if (r->next)
		t->recs[r->next].prev = r->prev;
	else
		l->tail = r->prev;
	r->prev = r->next = 0;
}

static void list_append(struct flow_table *t, uint32_t i, int kind)
{
	struct flow_rec *r = &t->recs[i];
	struct flow_list *l = &t->lists[kind];

	r->kind = (uint8_t)kind;
	r->prev = l->tail;
	r->next = 0;
	if (l->tail)
		t->recs[l->tail].next = i;
	else
		l->head = i;
	l->tail = i;
}

static uint32_t *chain_of(struct flow_table *t, const struct flow_key *k)
{
	return &t->buckets[key_hash(k) & t->mask];
}

static uint32_t lookup(struct flow_table *t, const struct flow_key *k)
{
	for (uint32_t i = *chain_of(t, k); i; i = t->recs[i].hnext)
		if (!memcmp(&t->recs[i].key, k, sizeof *k))
			return i;
	return 0;
}

static void unhash(struct flow_table *t, uint32_t i)
{
	uint32_t *p = chain_of(t, &t->recs[i].key);

	while (*p != i)
		p = &t->recs[*p].hnext;
	*p = t->recs[i].hnext;
}

/* ------------------------------------------------------------ events */

static int out_has_room(const struct flow_events *o, uint32_t bytes)
{
	return o->n < o->cap && o->bytes_cap - o->bytes_used >= bytes;
}

/* Room for one more event with bytes of stream data: in this batch, or,
 * when it is full, in the next (a spill). NULL: none, and it is counted. */
static struct dpl_flow_event *next_event(struct flow_table *t, uint32_t bytes)
{
	struct flow_events *o = t->out;

	if (o && !out_has_room(o, bytes) && o->spill) {
		/* The packet moves to the head of the next batch, if it is
		 * still to be written; what goes before it goes at 0. */
		t->at_data = t->pending ? 1 : 0;
		t->at_end = t->at_stream = 0;
		o = t->out = o->spill(o->spill_ctx, &t->pending);
	}
	if (!o || !out_has_room(o, bytes)) {
		t->st.events_dropped++;
		return NULL;
	}
	return &o->ev[o->n++];
}

/* The most bytes one data event carries, so that one always fits in an
 * empty batch. */
#define STREAM_CHUNK 65536u

/* The reassembler delivers: data, or a hole (data NULL), of the flow
 * and direction at hand. */
static void stream_emit(void *ctx, const uint8_t *data, uint32_t len)
{
	struct flow_table *t = ctx;
	const struct flow_rec *r = &t->recs[t->streaming];

	if (len == 0)
		return;
	do {
		uint32_t n = data && len > STREAM_CHUNK ? STREAM_CHUNK : len;
		struct dpl_flow_event *ev = next_event(t, data ? n : 0);

		if (ev) {
			ev->at = t->at_stream;
			ev->kind = data ? DPL_EV_DATA : DPL_EV_GAP;
			ev->why = 0;
			ev->dir = t->streaming_dir;
			ev->len = n;
			ev->off = data ? t->out->bytes_used : 0;
			ev->flow = r->f;
			if (data) {
				memcpy(t->out->bytes + ev->off, data, n);
				t->out->bytes_used += n;
			}
		}
		if (data)
			data += n;
		len -= n;
	} while (len > 0);
}

/* What the flow's streams still hold goes out, holes as gaps, before
 * its end. */
static void stream_flush(struct flow_table *t, uint32_t i)
{
	struct flow_streams *s = t->recs[i].streams;

	for (int dir = 0; s && dir < 2; dir++) {
		if (!tcpreasm_tracking(&s->stream[dir]))
			continue;
		t->streaming = i;
		t->streaming_dir = (uint8_t)dir;
		t->at_stream = t->at_end;
		tcpreasm_flush(&s->stream[dir], &t->pool, t);
		tcpreasm_release(&s->stream[dir], &t->pool);
	}
}

void flow_want_streams(struct flow_table *t, int on)
{
	t->want_streams = on;
}

const struct tcpreasm_pool *flow_stream_pool(const struct flow_table *t)
{
	return &t->pool;
}

/* Where a call's events go. */
static void events_to(struct flow_table *t, struct flow_events *out, uint32_t at_end,
		      uint32_t at_data)
{
	t->out = out;
	t->at_end = at_end;
	t->at_data = at_data;
}

/* The flow at i ends: what its streams hold, then its last state, go
 * out; the record is freed. */
static void end_flow(struct flow_table *t, uint32_t i, int why)
{
	struct flow_rec *r = &t->recs[i];
	struct dpl_flow_event *ev;

	stream_flush(t, i);
	streams_free(t, r);
	ev = next_event(t, 0);
	if (ev) {
		ev->at = t->at_end;
		ev->kind = DPL_EV_END;
		ev->why = (uint8_t)why;
		ev->dir = 0;
		ev->off = ev->len = 0;
		ev->flow = r->f;
	}
	unhash(t, i);
	list_remove(t, i);
	r->f.id = 0;
	r->hnext = t->free;
	t->free = i;
	t->st.active--;
	t->st.ended++;
	if (why == DPL_FLOW_EVICTED)
		t->st.evicted++;
}

/* The list whose head is to go first: the one idle longest past its
 * timeout (timeouts: NULL to compare idle time alone). */
static int oldest_list(const struct flow_table *t, const double *timeouts)
{
	int best = -1;
	double best_due = 0;

	for (int k = 0; k < FLOW_NKINDS; k++) {
		uint32_t h = t->lists[k].head;
		double due;

		if (!h)
			continue;
		due = t->recs[h].f.last + (timeouts ? timeouts[k] : 0);
		if (best < 0 || due < best_due) {
			best = k;
			best_due = due;
		}
	}
	return best;
}

static int end_reason(const struct flow_rec *r, int otherwise)
{
	return r->closed ? r->closed : otherwise;
}

int flow_expire(struct flow_table *t, double now, uint32_t at, int max,
		struct flow_events *out)
{
	int ended = 0, k;

	/* By the time given, not the latest seen: a second capture file
	 * may be years older than the first, and its flows are not idle
	 * for that. A flow last seen after now is not idle either. */
	events_to(t, out, at, at);
	while (ended < max && (k = oldest_list(t, t->cfg.timeout)) >= 0) {
		uint32_t h = t->lists[k].head;

		if (now - t->recs[h].f.last <= t->cfg.timeout[k])
			break;
		end_flow(t, h, end_reason(&t->recs[h], DPL_FLOW_IDLE));
		ended++;
	}
	t->out = NULL;
	return ended;
}

int flow_drain(struct flow_table *t, uint32_t at, struct flow_events *out)
{
	int k;

	events_to(t, out, at, at);
	while ((out->spill || out->n < out->cap) && (k = oldest_list(t, NULL)) >= 0) {
		uint32_t h = t->lists[k].head;

		end_flow(t, h, end_reason(&t->recs[h], DPL_FLOW_END_OF_INPUT));
	}
	t->out = NULL;
	return t->st.active > 0;
}

/* A record for a new flow: a free one, or the one idle longest (a closed
 * flow first: it is over anyway). */
static uint32_t take_record(struct flow_table *t)
{
	uint32_t i = t->free;

	if (!i && t->unused <= t->cfg.max_flows)
		return t->unused++;
	if (!i) {
		int k = t->lists[FLOW_CLOSED].head ? FLOW_CLOSED : oldest_list(t, NULL);

		i = t->lists[k].head;
		end_flow(t, i, end_reason(&t->recs[i], DPL_FLOW_EVICTED));
		i = t->free;
	}
	t->free = t->recs[i].hnext;
	return i;
}

/* ---------------------------------------------------------- a packet */

/* Community ID's ICMP types that have a counterpart: their flows go both
 * ways, with the counterpart as the second port. -1: none. */
static int icmp_counterpart(int family, int type)
{
	static const int8_t v4[19] = { [0] = 8, [8] = 0, [13] = 14, [14] = 13, [15] = 16,
				       [16] = 15, [10] = 9, [9] = 10, [17] = 18, [18] = 17 };
	static const uint8_t v4_has[19] = { [0] = 1, [8] = 1, [13] = 1, [14] = 1, [15] = 1,
					    [16] = 1, [10] = 1, [9] = 1, [17] = 1, [18] = 1 };

	if (family == 4)
		return type < 19 && v4_has[type] ? v4[type] : -1;
	switch (type) {
	case 128: case 130: case 133: case 135: case 139: case 144: return type + 1;
	case 129: case 131: case 134: case 136: case 140: case 145: return type - 1;
	}
	return -1;
}

static void icmp_ports(struct endpoints *e, const struct dpl_icmp *icmp)
{
	int other = icmp_counterpart(e->family, icmp->type);

	e->has_ports = 1;
	e->sport = icmp->type;
	e->dport = other >= 0 ? (uint16_t)other : icmp->code;
	e->one_way = other < 0;
}

/* The innermost IP layer that is not quoted in an ICMP error: a flow is
 * what a tunnel carries, not the tunnel. -1: none. */
static int innermost_ip(const struct dpl_packet *pkt)
{
	for (int i = pkt->nlayers - 1; i >= 0; i--)
		if (pkt->layers[i] == DPL_IP || pkt->layers[i] == DPL_IPV6)
			return i;
	return -1;
}

/* Whether the IP layer at pos is one whose datagram this packet completed
 * (ipfrag.h): the layers above it come from the whole datagram, so it is
 * keyed by them like any unfragmented packet, and counted whole. Only the
 * outermost IP layer is reassembled. */
static int completed_datagram(const struct dpl_packet *pkt, int pos)
{
	int version = pkt->layers[pos] == DPL_IP ? 4 : 6;

	return pkt->reasm_ver == version && pkt->slot[pos] == 0;
}

/* Whether the IP layer at pos carries a piece of its datagram only. */
static int is_fragment(const struct dpl_packet *pkt, int pos)
{
	if (pkt->layers[pos] == DPL_IP) {
		const struct dpl_ip *ip = pkt->slot[pos] == 1 ? &pkt->ip2 : &pkt->ip;

		return ip->frag != 0 || (ip->flags & 1);
	}
	for (int i = pos + 1; i < pkt->nlayers; i++) {
		if (pkt->layers[i] == DPL_IP6FRAGMENT) {
			const struct dpl_ip6ext *e = &pkt->exthdrs[pkt->slot[i]];

			return e->offset != 0 || e->m;
		}
		if (pkt->layers[i] < DPL_IP6HOPBYHOP || pkt->layers[i] > DPL_IP6DESTOPT)
			break;
	}
	return 0;
}

static int transport_after(const struct dpl_packet *pkt, int pos)
{
	for (int i = pos + 1; i < pkt->nlayers; i++) {
		int id = pkt->layers[i];

		if (id == DPL_TCP || id == DPL_UDP || id == DPL_ICMP || id == DPL_ICMPV6)
			return i;
		if (id == DPL_IP6FRAGMENT && pkt->exthdrs[pkt->slot[i]].offset != 0 &&
		    !completed_datagram(pkt, pos))
			return -2;
	}
	return -1;
}

static void ip_endpoints(const struct dpl_packet *pkt, int pos, struct endpoints *e)
{
	int inner = pkt->slot[pos] == 1;

	if (pkt->layers[pos] == DPL_IP) {
		const struct dpl_ip *ip = inner ? &pkt->ip2 : &pkt->ip;

		e->family = 4;
		e->src = ip->src;
		e->dst = ip->dst;
		e->proto = ip->proto;
		e->ip_bytes = ip->len ? ip->len : pkt->wirelen;
		if (completed_datagram(pkt, pos))
			e->ip_bytes = ip->ihl * 4.0 + pkt->reasm_len;
		e->payload = e->ip_bytes > ip->ihl * 4 ? e->ip_bytes - ip->ihl * 4 : 0;
	} else {
		const struct dpl_ipv6 *ip6 = inner ? &pkt->ipv6_2 : &pkt->ipv6;

		e->family = 6;
		e->src = ip6->src;
		e->dst = ip6->dst;
		e->proto = ip6->nh;
		for (int i = pos + 1; i < pkt->nlayers; i++)
			if (pkt->layers[i] >= DPL_IP6HOPBYHOP && pkt->layers[i] <= DPL_IP6DESTOPT)
				e->proto = pkt->exthdrs[pkt->slot[i]].nh;
		e->ip_bytes = 40.0 + (completed_datagram(pkt, pos) ? pkt->reasm_len : ip6->plen);
		e->payload = e->ip_bytes - 40;
	}
}

static void transport_endpoints(const struct dpl_packet *pkt, int tpos, struct endpoints *e)
{
	int id = pkt->layers[tpos];

	if (id == DPL_TCP) {
		e->proto = PROTO_TCP;
		e->has_ports = 1;
		e->sport = pkt->tcp.sport;
		e->dport = pkt->tcp.dport;
		e->tcp_flags = (uint8_t)pkt->tcp.flags;
		e->payload = pkt->tcp.payload_len;
	} else if (id == DPL_UDP) {
		const struct dpl_udp *u = pkt->slot[tpos] == 1 ? &pkt->udp2 : &pkt->udp;

		e->proto = PROTO_UDP;
		e->has_ports = 1;
		e->sport = u->sport;
		e->dport = u->dport;
		e->payload = u->len >= 8 ? u->len - 8 : 0;
	} else {
		e->proto = id == DPL_ICMP ? PROTO_ICMP : PROTO_ICMPV6;
		icmp_ports(e, &pkt->icmp);
		e->payload = e->payload > 8 ? e->payload - 8 : 0;
	}
}

/* Where the packet's flow is to be found. Returns 0, or -1 for an IP
 * packet with no flow: a later fragment (no transport header to key it
 * by), or a transport header the capture cut. */
static int packet_endpoints(const struct dpl_packet *pkt, struct endpoints *e)
{
	int pos = innermost_ip(pkt), tpos;

	memset(e, 0, sizeof *e);
	if (pos < 0)
		return 1;
	ip_endpoints(pkt, pos, e);
	if (e->family == 4 && (pkt->slot[pos] == 1 ? pkt->ip2.frag : pkt->ip.frag) != 0 &&
	    !completed_datagram(pkt, pos))
		return -1;
	tpos = transport_after(pkt, pos);
	if (tpos == -2)
		return -1;
	if (tpos >= 0) {
		transport_endpoints(pkt, tpos, e);
		return 0;
	}
	/* a piece held for reassembly (or one of another protocol, a tunnel's
	 * say) is keyed by nothing until its datagram is whole */
	if (is_fragment(pkt, pos) && !completed_datagram(pkt, pos))
		return -1;
	switch (e->proto) {
	case PROTO_TCP: case PROTO_UDP: case PROTO_ICMP: case PROTO_ICMPV6:
		return -1;
	}
	return 0;
}

/* Community ID's order: lower address first, then lower port; a one-way
 * ICMP message keeps the order it was sent in. */
static int should_swap(const uint8_t *src, const uint8_t *dst, int alen, uint16_t sport,
		       uint16_t dport, int one_way)
{
	int c;

	if (one_way)
		return 0;
	c = memcmp(src, dst, alen);
	return c > 0 || (c == 0 && sport > dport);
}

static int make_key(const struct endpoints *e, struct flow_key *k)
{
	int alen = e->family == 4 ? 4 : 16;
	int swap = should_swap(e->src, e->dst, alen, e->sport, e->dport, e->one_way);

	memset(k, 0, sizeof *k);
	memcpy(k->lo, swap ? e->dst : e->src, alen);
	memcpy(k->hi, swap ? e->src : e->dst, alen);
	k->plo = swap ? e->dport : e->sport;
	k->phi = swap ? e->sport : e->dport;
	k->proto = e->proto;
	k->family = e->family;
	return swap;
}

static int kind_of(uint8_t proto)
{
	switch (proto) {
	case PROTO_TCP: return FLOW_TCP;
	case PROTO_UDP: return FLOW_UDP;
	case PROTO_ICMP: case PROTO_ICMPV6: return FLOW_ICMP;
	}
	return FLOW_OTHER;
}

static uint32_t new_flow(struct flow_table *t, const struct flow_key *k, const struct endpoints *e,
			 int swapped, double time)
{
	uint32_t i = take_record(t);
	struct flow_rec *r = &t->recs[i];
	int alen = e->family == 4 ? 4 : 16;
	/* A SYN-ACK first: its receiver opened the connection. */
	int flip = e->proto == PROTO_TCP && (e->tcp_flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK);

	memset(r, 0, sizeof *r);
	r->key = *k;
	r->orig_swapped = (uint8_t)(swapped ^ flip);
	memcpy(r->f.orig_h, flip ? e->dst : e->src, alen);
	memcpy(r->f.resp_h, flip ? e->src : e->dst, alen);
	r->f.orig_p = flip ? e->dport : e->sport;
	r->f.resp_p = flip ? e->sport : e->dport;
	r->f.family = e->family;
	r->f.proto = e->proto;
	r->f.id = t->next_id++;
	r->f.first = r->f.last = time;
	if (flip)
		r->f.history[0] = '^';
	r->hnext = *chain_of(t, k);
	*chain_of(t, k) = i;
	list_append(t, i, kind_of(e->proto));
	t->st.active++;
	t->st.created++;
	if (t->want_streams && e->proto == PROTO_TCP) {
		tcpreasm_track(&streams_of(r)->stream[0], &t->pool, 0);
		tcpreasm_track(&streams_of(r)->stream[1], &t->pool, 0);
	}
	return i;
}

/* ------------------------------------------------------ TCP and state */

static void note_letter(struct flow_rec *r, int dir, uint8_t bit, char letter)
{
	size_t n;

	if (r->seen[dir] & bit)
		return;
	r->seen[dir] |= bit;
	n = strlen(r->f.history);
	if (n + 1 < sizeof r->f.history) {
		r->f.history[n] = dir ? (char)(letter | 0x20) : letter;
		r->f.history[n + 1] = '\0';
	}
}

static void note_tcp(struct flow_rec *r, int dir, const struct endpoints *e)
{
	uint8_t fl = e->tcp_flags;

	if ((fl & (TCP_SYN | TCP_ACK)) == TCP_SYN)
		note_letter(r, dir, SEEN_SYN, 'S');
	if ((fl & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK))
		note_letter(r, dir, SEEN_SYNACK, 'H');
	if ((fl & (TCP_SYN | TCP_FIN | TCP_RST | TCP_ACK)) == TCP_ACK && e->payload == 0)
		note_letter(r, dir, SEEN_ACK, 'A');
	if (e->payload > 0)
		note_letter(r, dir, SEEN_DATA, 'D');
	if (fl & TCP_FIN)
		note_letter(r, dir, SEEN_FIN, 'F');
	if (fl & TCP_RST)
		note_letter(r, dir, SEEN_RST, 'R');
}

/* Zeek's conn_state from what each side showed. */
static int tcp_state(const struct flow_rec *r)
{
	uint8_t o = r->seen[0], p = r->seen[1];
	int syn = o & SEEN_SYN, synack = p & SEEN_SYNACK, replied = r->f.pkts[1] > 0;

	if (o & SEEN_RST)
		return syn && !synack && !replied ? FLOW_RSTOS0 : FLOW_RSTO;
	if (p & SEEN_RST) {
		if (syn && !synack)
			return FLOW_REJ;
		return synack && !syn ? FLOW_RSTRH : FLOW_RSTR;
	}
	if (syn && !replied)
		return o & SEEN_FIN ? FLOW_SH : FLOW_S0;
	if (syn && synack) {
		if ((o & SEEN_FIN) && (p & SEEN_FIN))
			return FLOW_SF;
		return o & SEEN_FIN ? FLOW_S2 : p & SEEN_FIN ? FLOW_S3 : FLOW_S1;
	}
	if (synack && !syn && (p & SEEN_FIN))
		return FLOW_SHR;
	return FLOW_OTH;
}

static void update_flow(struct flow_table *t, uint32_t i, int dir, const struct endpoints *e,
			double time)
{
	struct flow_rec *r = &t->recs[i];

	r->f.pkts[dir]++;
	r->f.bytes[dir] += e->payload;
	r->f.ip_bytes[dir] += e->ip_bytes;
	if (time > r->f.last)
		r->f.last = time;
	r->f.dir = (uint8_t)dir;
	if (e->proto == PROTO_TCP) {
		note_tcp(r, dir, e);
		r->f.conn_state = (uint8_t)tcp_state(r);
		if (!r->closed && (r->seen[0] & r->seen[1] & SEEN_FIN))
			r->closed = DPL_FLOW_FIN;
		if (!r->closed && ((r->seen[0] | r->seen[1]) & SEEN_RST))
			r->closed = DPL_FLOW_RST;
	} else {
		note_letter(r, dir, SEEN_DATA, 'D');
		r->f.conn_state = r->f.pkts[1] > 0 ? FLOW_SF : FLOW_S0;
	}
	list_remove(t, i);
	list_append(t, i, r->closed ? FLOW_CLOSED : kind_of(e->proto));
}

/* A SYN for a connection that was closed opens a new one. */
static int reopens(const struct flow_rec *r, const struct endpoints *e)
{
	return r->closed && (e->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN;
}

/* ------------------------------------------------ messages across segments */

/* A direction's first segment starts a TLS hello or an HTTP head that it
 * cuts: its first bytes are followed from there (whether or not a chef
 * asks for streams), until they hold the message or cannot. */
static void head_start(struct flow_table *t, struct flow_rec *r, int dir, const uint8_t *p,
		       uint32_t len)
{
	uint32_t need;

	if (packet_stream_message(p, len, &need) != 2)
		return;
	tcpreasm_track(&streams_of(r)->head[dir], &t->heads, need);
	t->st.heads++;
}

/* The message is whole: the packet that completed it carries its layer,
 * decoded from a copy of the bytes in its batch. */
static void head_attach(struct flow_table *t, struct dpl_packet *pkt, const uint8_t *head,
			uint32_t len)
{
	uint8_t *to = t->out && t->out->room ? t->out->room(t->out->spill_ctx, len) : NULL;

	if (!to)
		return;
	memcpy(to, head, len);
	packet_attach_stream_head(pkt, to, len);
	t->st.heads_decoded++;
}

static void head_feed(struct flow_table *t, struct flow_rec *r, int dir, struct dpl_packet *pkt,
		      const struct endpoints *e, int first_data)
{
	const uint8_t *p = pkt->data + pkt->tcp.data_off, *head;
	struct tcpreasm_dir *d;
	uint32_t len, need;
	int complete, rc;

	if (first_data && pkt->tcp.sport != 53 && pkt->tcp.dport != 53)
		head_start(t, r, dir, p, pkt->tcp.data_cap);
	if (!r->streams || !tcpreasm_tracking(&r->streams->head[dir]))
		return;
	d = &r->streams->head[dir];
	tcpreasm_segment(d, &t->heads, pkt->tcp.seq,
			 e->tcp_flags & (TCPREASM_SYN | TCPREASM_FIN | TCPREASM_RST), p,
			 pkt->tcp.data_cap, NULL);
	head = tcpreasm_head(d, &len, &complete);
	rc = head ? packet_stream_message(head, len, &need) : 0;
	if (rc == 1 && !first_data)
		head_attach(t, pkt, head, len);
	if (rc != 2 || complete)
		tcpreasm_release(d, &t->heads);
}

/* The packet's TCP payload, to its direction's stream when that is
 * tracked. */
static void feed_stream(struct flow_table *t, uint32_t i, int dir, const struct dpl_packet *pkt,
			const struct endpoints *e)
{
	struct flow_streams *s = t->recs[i].streams;
	struct tcpreasm_dir *d = s ? &s->stream[dir] : NULL;

	if (e->proto != PROTO_TCP || !d || !tcpreasm_tracking(d))
		return;
	t->streaming = i;
	t->streaming_dir = (uint8_t)dir;
	t->at_stream = t->at_data;
	tcpreasm_segment(d, &t->pool, pkt->tcp.seq,
			 e->tcp_flags & (TCPREASM_SYN | TCPREASM_FIN | TCPREASM_RST),
			 pkt->data + pkt->tcp.data_off, pkt->tcp.data_cap, t);
}

void flow_track(struct flow_table *t, struct dpl_packet *pkt, uint32_t at,
		struct flow_events *out)
{
	struct endpoints e;
	struct flow_key k;
	int swapped, dir, first_data, rc = packet_endpoints(pkt, &e);
	uint32_t i;

	pkt->flow.id = 0;
	if (rc != 0) {
		if (rc < 0)
			t->st.untracked++;
		return;
	}
	swapped = make_key(&e, &k);
	i = lookup(t, &k);
	events_to(t, out, at, at + 1);
	t->pending = pkt;
	if (i && reopens(&t->recs[i], &e)) {
		end_flow(t, i, t->recs[i].closed);
		i = 0;
	}
	if (!i)
		i = new_flow(t, &k, &e, swapped, pkt->time);
	pkt = t->pending;	/* where a spill may have moved it */
	t->pending = NULL;
	dir = swapped != t->recs[i].orig_swapped;
	first_data = e.proto == PROTO_TCP && e.payload > 0 && !(t->recs[i].seen[dir] & SEEN_DATA);
	update_flow(t, i, dir, &e, pkt->time);
	pkt->flow = t->recs[i].f;
	if (e.proto == PROTO_TCP)
		head_feed(t, &t->recs[i], dir, pkt, &e, first_data);
	feed_stream(t, i, dir, pkt, &e);
	t->out = NULL;
}

/* ------------------------------------------------------ Community ID */

static int has_ports(uint8_t proto)
{
	return proto == PROTO_TCP || proto == PROTO_UDP || proto == PROTO_SCTP ||
	       proto == PROTO_ICMP || proto == PROTO_ICMPV6;
}

/* SHA-1 fetched once: SHA1() and EVP_sha1() look the algorithm up on
 * every call in OpenSSL 3, three times the cost of hashing 40 bytes, and
 * FlowChef hashes once per flow. Never freed: it lives as long as the
 * process. */
static EVP_MD *sha1;
static pthread_once_t sha1_once = PTHREAD_ONCE_INIT;

static void fetch_sha1(void)
{
	sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
}

int flow_community_id(const struct dpl_flow *f, char *buf)
{
	uint8_t in[2 + 32 + 2 + 4], md[SHA_DIGEST_LENGTH];
	int alen = f->family == 4 ? 4 : 16, n = 0, one_way = 0, swap;
	uint16_t plo, phi;

	if (f->proto == PROTO_ICMP || f->proto == PROTO_ICMPV6)
		one_way = icmp_counterpart(f->family, f->orig_p) < 0;
	swap = should_swap(f->orig_h, f->resp_h, alen, f->orig_p, f->resp_p, one_way);
	plo = swap ? f->resp_p : f->orig_p;
	phi = swap ? f->orig_p : f->resp_p;
	in[n++] = 0;			/* the seed, 0 */
	in[n++] = 0;
	memcpy(in + n, swap ? f->resp_h : f->orig_h, alen);
	n += alen;
	memcpy(in + n, swap ? f->orig_h : f->resp_h, alen);
	n += alen;
	in[n++] = f->proto;
	in[n++] = 0;
	if (has_ports(f->proto)) {
		in[n++] = (uint8_t)(plo >> 8);
		in[n++] = (uint8_t)plo;
		in[n++] = (uint8_t)(phi >> 8);
		in[n++] = (uint8_t)phi;
	}
	pthread_once(&sha1_once, fetch_sha1);
	if (!sha1 || !EVP_Digest(in, (size_t)n, md, NULL, sha1, NULL))
		SHA1(in, (size_t)n, md);
	memcpy(buf, "1:", 2);
	return 2 + EVP_EncodeBlock((unsigned char *)buf + 2, md, SHA_DIGEST_LENGTH);
}

/* ------------------------------------------------------------ options */

static const char *const kind_names[FLOW_NKINDS] = { "tcp", "udp", "icmp", "other", "closed" };

static int set_timeout(const char *name, size_t len, const char *value,
		       double timeout[FLOW_NKINDS], const char **why)
{
	for (int k = 0; k < FLOW_NKINDS; k++)
		if (strlen(kind_names[k]) == len && !strncmp(name, kind_names[k], len))
			return parse_seconds(value, 0.001, 86400 * 365, &timeout[k], why);
	*why = "unknown kind (want tcp, udp, icmp, other or closed)";
	return -1;
}

int flow_parse_timeouts(const char *s, double timeout[FLOW_NKINDS], const char **why)
{
	char item[64];

	if (!strchr(s, '=')) {
		double all;

		if (parse_seconds(s, 0.001, 86400 * 365, &all, why) < 0)
			return -1;
		for (int k = 0; k < FLOW_CLOSED; k++)
			timeout[k] = all;
		return 0;
	}
	while (*s) {
		size_t n = strcspn(s, ",");
		char *eq;

		if (n == 0 || n >= sizeof item) {
			*why = "want KIND=SECONDS[,KIND=SECONDS]...";
			return -1;
		}
		memcpy(item, s, n);
		item[n] = '\0';
		eq = strchr(item, '=');
		if (!eq) {
			*why = "want KIND=SECONDS[,KIND=SECONDS]...";
			return -1;
		}
		if (set_timeout(item, (size_t)(eq - item), eq + 1, timeout, why) < 0)
			return -1;
		s += n;
		if (*s == ',')
			s++;
	}
	return 0;
}
