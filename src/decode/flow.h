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
};

#define FLOW_DEFAULT_MAX 100000
/* Zeek's: tcp_inactivity_timeout, udp_ and icmp_inactivity_timeout,
 * tcp_close_delay. */
#define FLOW_DEFAULT_TIMEOUTS { 300, 60, 60, 60, 5 }

struct flow_stats {
	unsigned long active, created, ended, evicted;
	unsigned long untracked;	/* IP packets with no flow: later
					 * fragments, transport headers cut */
};

/* Where ended flows go: room for cap events, n used. */
struct flow_events {
	struct dpl_flow_event *ev;
	int n, cap;
};

/* Events a packet may need: an old flow ended by a new SYN, an eviction. */
enum { FLOW_EVENTS_PER_PACKET = 2 };

struct flow_table;

struct flow_table *flow_table_new(const struct flow_config *cfg);
void flow_table_free(struct flow_table *t);

/* Join a decoded packet to its flow, filling pkt->flow (id 0 for a
 * packet that has none); a flow that this ends, or one evicted to make
 * room, goes to out before packet number at. out must have room for
 * FLOW_EVENTS_PER_PACKET. */
void flow_track(struct flow_table *t, struct dpl_packet *pkt, uint32_t at,
		struct flow_events *out);

/* End the flows idle at time now (and closed flows past their delay),
 * oldest first, as far as out has room: before packet number at.
 * Returns how many ended. */
int flow_expire(struct flow_table *t, double now, uint32_t at, struct flow_events *out);

/* End every flow (end of input) as far as out has room; returns 1 while
 * some are left. */
int flow_drain(struct flow_table *t, uint32_t at, struct flow_events *out);

void flow_table_stats(const struct flow_table *t, struct flow_stats *st);

/* Community ID v1 of a flow, seed 0: "1:" and the base64 of its SHA-1,
 * NUL-terminated in buf (at least 32 bytes). Returns the length. */
int flow_community_id(const struct dpl_flow *f, char *buf);

/* Parse --flow-timeout: one number for every kind, or a list such as
 * "tcp=3600,udp=30" (kinds tcp, udp, icmp, other, closed). Returns 0, or
 * -1 with *why set. */
int flow_parse_timeouts(const char *s, double timeout[FLOW_NKINDS], const char **why);

#endif
