#ifndef FLOW_H
#define FLOW_H

/* The flow table: every IP packet joined to its flow, both directions in
 * one, keyed as Community ID v1 keys them. A bounded hash table with an
 * idle list per kind of flow (TCP, UDP, ICMP, other, closed TCP), each in
 * order of last packet, so that expiring and evicting look at list heads
 * only. Nothing is allocated per packet: the records are one array, made
 * at the start. One thread owns a table (the decode stage's). */

#include <stdint.h>

#include "packet.h"
#include "tcpreasm.h"

/* The TCP state of a flow, in Zeek's conn.log words (conn_state). */
enum flow_conn_state {
	FLOW_S0, FLOW_S1, FLOW_SF, FLOW_REJ, FLOW_S2, FLOW_S3, FLOW_RSTO, FLOW_RSTR,
	FLOW_RSTOS0, FLOW_RSTRH, FLOW_SH, FLOW_SHR, FLOW_OTH, FLOW_NSTATES
};

/* Idle timeouts by kind, in seconds of packet time. */
enum flow_kind { FLOW_TCP, FLOW_UDP, FLOW_ICMP, FLOW_OTHER, FLOW_CLOSED, FLOW_NKINDS };

struct flow_config {
	double timeout[FLOW_NKINDS];	/* FLOW_CLOSED: how long a closed TCP
					 * flow stays for its last packets */
	uint32_t max_flows;
	/* TCP streams: memory a direction may hold, and all of them
	 * (tcpreasm.h); 0 for the defaults. */
	size_t stream_dir_max, stream_total_max;
	int want_streams;	/* from the start (flow_want_streams()) */
};

#define FLOW_DEFAULT_MAX 100000
/* Zeek's: tcp_inactivity_timeout, udp_ and icmp_inactivity_timeout,
 * tcp_close_delay. */
#define FLOW_DEFAULT_TIMEOUTS { 300, 60, 60, 60, 5 }

struct flow_stats {
	unsigned long active, created, ended, evicted;
	unsigned long untracked;	/* IP packets with no flow: later
					 * fragments, transport headers cut */
	unsigned long events_dropped;	/* events with no room and no spill */
	/* TLS hellos and HTTP heads cut by a segment's end: followed, and
	 * decoded once the segments after completed them. */
	unsigned long heads, heads_decoded;
};

/* Where the flows' events go: room for cap events, n used, and for
 * bytes_cap bytes of stream data, bytes_used used. When either is full,
 * spill (if set) hands the batch they belong to on and returns the
 * events of the next one, empty (NULL: the reader is stopping, and what
 * is left is dropped). *pending is the packet being joined to its flow
 * when its flow is still to be written into it (else NULL): it moves to
 * the head of the next batch, and *pending to its new place, so that no
 * batch handed on is written to again. Without spill, what does not fit
 * is dropped and counted (flow_stats.events_dropped). */
struct flow_events {
	struct dpl_flow_event *ev;
	int n, cap;
	uint8_t *bytes;
	uint32_t bytes_used, bytes_cap;
	struct flow_events *(*spill)(void *ctx, struct dpl_packet **pending);
	void *spill_ctx;
	/* Room for len bytes that the packet being joined to its flow is to
	 * refer to (a reassembled TLS hello or HTTP head), in its batch after
	 * it; NULL: none. Unset: such heads are not decoded. */
	uint8_t *(*room)(void *ctx, uint32_t len);
};

/* Events a packet may need: an old flow ended by a new SYN, an eviction. */
enum { FLOW_EVENTS_PER_PACKET = 2 };

struct flow_table;

struct flow_table *flow_table_new(const struct flow_config *cfg);
void flow_table_free(struct flow_table *t);

/* Join a decoded packet to its flow, filling pkt->flow (id 0 for a
 * packet that has none); a flow that this ends, or one evicted to make
 * room, goes to out before packet number at. What the packet delivers of
 * its TCP stream goes after it, at at + 1. After a spill, every event
 * goes at 0 of the next batch, after the packet. */
void flow_track(struct flow_table *t, struct dpl_packet *pkt, uint32_t at,
		struct flow_events *out);

/* End at most max of the flows idle at time now (and closed flows past
 * their delay), oldest first: before packet number at. Returns how many
 * ended. */
int flow_expire(struct flow_table *t, double now, uint32_t at, int max,
		struct flow_events *out);

/* End every flow (end of input): as far as out has room without spilling
 * when it has no spill; returns 1 while some are left. */
int flow_drain(struct flow_table *t, uint32_t at, struct flow_events *out);

/* Whether TCP flows that begin from now on have their streams
 * reassembled and delivered as events (some chef asks for streams).
 * Flows already there keep what they had. */
void flow_want_streams(struct flow_table *t, int on);

/* The stream reassembler's pool: its counts, limits and memory. */
const struct tcpreasm_pool *flow_stream_pool(const struct flow_table *t);

/* Memory for the application messages followed across segments (the
 * first bytes of TCP directions that start with a TLS hello or an HTTP
 * head the first segment cuts), whether or not a chef asks for streams. */
#define FLOW_HEADS_MEMORY (8u << 20)
#define FLOW_HEADS_DIR_MEMORY (64u << 10)

void flow_table_stats(const struct flow_table *t, struct flow_stats *st);

/* Community ID v1 of a flow, seed 0: "1:" and the base64 of its SHA-1,
 * NUL-terminated in buf (at least 32 bytes). Returns the length. */
int flow_community_id(const struct dpl_flow *f, char *buf);

/* Parse --flow-timeout: one number for every kind, or a list such as
 * "tcp=3600,udp=30" (kinds tcp, udp, icmp, other, closed). Returns 0, or
 * -1 with *why set. */
int flow_parse_timeouts(const char *s, double timeout[FLOW_NKINDS], const char **why);

#endif
