/* The hub's numbers (see hub_stats.h): what each is called, what it means
 * and where it lives. */
#include "hub.h"
#include "hub_stats.h"
#include "base/util.h"

/* ---- the hub as a whole --------------------------------------------------- */

#define HUB_COUNT_VALUE(field, key, metric, help) \
	static double count_##field(struct hub *h) { return (double)h->count.field; }
HUB_COUNTS(HUB_COUNT_VALUE)
#undef HUB_COUNT_VALUE

static double s_uptime(struct hub *h) { return monotonic_seconds() - h->start; }
static double s_kitchens(struct hub *h) { return h->nkitchens; }
static double s_eaters(struct hub *h) { return h->fan.nsubs; }
static double s_lost(struct hub *h) { return (double)h->seq.lost; }
static double s_repeated(struct hub *h) { return (double)h->seq.repeated; }
static double s_held(struct hub *h) { return h->fan.held; }
static double s_connections(struct hub *h) { return h->connections; }
static double s_connections_cap(struct hub *h) { return h->cfg.max_connections; }
static double s_queue(struct hub *h) { return hub_fanout_used(h); }
static double s_queue_cap(struct hub *h) { return h->cfg.queue_len; }
static double s_queue_bytes(struct hub *h) { return h->fan.bytes; }
static double s_queue_bytes_cap(struct hub *h) { return h->cfg.queue_bytes; }
static double s_latest_kept(struct hub *h) { return h->latest.n; }
static double s_latest_bytes(struct hub *h) { return h->latest.bytes; }
static double s_latest_evicted(struct hub *h) { return h->latest.evicted; }

const struct hub_stat hub_stats[] = {
#define HUB_COUNT_STAT(field, key, metric, help) \
	{ key, metric, "counter", help, HUB_STAT_COUNT, count_##field },
	HUB_COUNTS(HUB_COUNT_STAT)
#undef HUB_COUNT_STAT
	{ "server_uptime", "uptime_seconds", "gauge", "Seconds since the hub started.",
	  HUB_STAT_SECONDS, s_uptime },
	{ "dumpling_kitchen_count", "kitchens", "gauge",
	  "Kitchens connected (their hello received).", HUB_STAT_COUNT, s_kitchens },
	{ "dumpling_eater_count", "eaters", "gauge",
	  "Eaters connected (their hello received).", HUB_STAT_COUNT, s_eaters },
	{ "total_dumplings_lost_upstream", "dumplings_lost_upstream_total", "counter",
	  "Dumplings missing from kitchens' seq numbers: lost before the hub.",
	  HUB_STAT_COUNT, s_lost },
	{ "total_dumplings_repeated", "dumplings_repeated_total", "counter",
	  "Dumplings a kitchen sent again after a broken connection, already had.",
	  HUB_STAT_COUNT, s_repeated },
	{ "kitchens_held", "kitchens_held", "gauge",
	  "1 while the hub is not reading kitchens, for a lossless eater.",
	  HUB_STAT_FLAG, s_held },
	{ "connections", "connections", "gauge", "Sockets open on both ports.",
	  HUB_STAT_COUNT, s_connections },
	{ "connections_capacity", "connections_capacity", "gauge",
	  "Sockets the hub allows (--max-connections).", HUB_STAT_COUNT, s_connections_cap },
	{ "queue_used", "queue_dumplings", "gauge", "Dumplings held in the eaters' queue.",
	  HUB_STAT_COUNT, s_queue },
	{ "queue_capacity", "queue_capacity_dumplings", "gauge",
	  "Dumplings the queue may hold (--queue).", HUB_STAT_COUNT, s_queue_cap },
	{ "queue_bytes", "queue_bytes", "gauge", "Bytes held in the eaters' queue.",
	  HUB_STAT_COUNT, s_queue_bytes },
	{ "queue_bytes_capacity", "queue_capacity_bytes", "gauge",
	  "Bytes the queue may hold (--queue-bytes).", HUB_STAT_COUNT, s_queue_bytes_cap },
	{ "latest_kept", "latest_dumplings", "gauge",
	  "Kitchen and chef pairs whose latest dumpling is kept for joining eaters.",
	  HUB_STAT_COUNT, s_latest_kept },
	{ "latest_bytes", "latest_bytes", "gauge",
	  "Bytes those take, against --latest-memory.", HUB_STAT_COUNT, s_latest_bytes },
	{ "total_latest_evicted", "latest_evicted_total", "counter",
	  "Latest dumplings let go for --latest-memory, the least recently replaced first.",
	  HUB_STAT_COUNT, s_latest_evicted },
};

const size_t hub_nstats = sizeof hub_stats / sizeof *hub_stats;

/* ---- one connection ------------------------------------------------------- */

static double c_in(struct hub *h, struct hub_conn *c) { return c->src.in; }
static double c_invalid(struct hub *h, struct hub_conn *c) { return c->src.invalid; }
static double c_out(struct hub *h, struct hub_conn *c) { return c->sub.out; }
static double c_dropped(struct hub *h, struct hub_conn *c) { return c->sub.dropped; }
static double c_depth(struct hub *h, struct hub_conn *c) { return hub_fanout_depth(h, &c->sub); }

const struct hub_conn_stat hub_conn_stats[] = {
	{ HUB_KITCHEN, "dumplings_in", "kitchen_dumplings_in_total", "counter",
	  "Valid dumplings received from each kitchen.", c_in },
	{ HUB_KITCHEN, "dumplings_invalid", "kitchen_dumplings_invalid_total", "counter",
	  "Invalid dumplings dropped from each kitchen.", c_invalid },
	{ HUB_EATER, "dumplings_out", "eater_dumplings_out_total", "counter",
	  "Dumplings sent to each eater.", c_out },
	{ HUB_EATER, "dumplings_dropped", "eater_dumplings_dropped_total", "counter",
	  "Dumplings dropped for each eater because it fell behind.", c_dropped },
	{ HUB_EATER, "queue_depth", "eater_queue_depth", "gauge",
	  "Dumplings waiting in the queue for each eater.", c_depth },
};

const size_t hub_nconn_stats = sizeof hub_conn_stats / sizeof *hub_conn_stats;
