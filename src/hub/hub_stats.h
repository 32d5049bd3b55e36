#ifndef HUB_STATS_H
#define HUB_STATS_H

/* The hub's numbers, each listed once, here: the SystemStatusChef dumpling
 * (hub_status.c) carries every one under its key and /metrics
 * (hub_metrics.c) under its name, with its help, so the two cannot drift
 * apart. The keys are the original hub's and its clients', and the names
 * are what dashboards scrape: neither may change. */

#include <stddef.h>

struct hub;
struct hub_conn;

/* The counts the hub keeps itself, in hub->count:
 * X(field, status key, metric name, help). */
#define HUB_COUNTS(X) \
	X(in, "total_dumplings_in", "dumplings_in_total", \
	  "Valid dumplings received from kitchens.") \
	X(out, "total_dumplings_out", "dumplings_out_total", \
	  "Dumplings sent to eaters.") \
	X(dropped, "total_dumplings_dropped", "dumplings_dropped_total", \
	  "Dumplings dropped for eaters that fell a full queue behind.") \
	X(undelivered, "total_dumplings_undelivered", "dumplings_undelivered_total", \
	  "Valid dumplings received while no eater was connected.") \
	X(holds, "total_kitchen_holds", "kitchen_holds_total", \
	  "Times the hub stopped reading kitchens for a lossless eater a full queue behind.") \
	X(turn_holds, "total_kitchen_turn_holds", "kitchen_turn_holds_total", \
	  "Loop turns in which kitchens brought a quarter of the queue and were read no more until eaters wrote.") \
	X(invalid, "total_dumplings_invalid", "dumplings_invalid_total", \
	  "Messages from kitchens dropped as invalid dumplings.") \
	X(oversized, "total_messages_oversized", "messages_oversized_total", \
	  "Connections closed for a message over --max-message.") \
	X(fragmented, "total_messages_too_fragmented", "messages_too_fragmented_total", \
	  "Connections closed for a message in too many fragments.") \
	X(unmasked, "total_frames_unmasked", "frames_unmasked_total", \
	  "Connections closed with 1002 for sending a frame that is not masked.") \
	X(no_hello, "total_hellos_missing", "hellos_missing_total", \
	  "Connections closed for sending no hello in time.") \
	X(bad_hello, "total_hellos_invalid", "hellos_invalid_total", \
	  "Connections closed for a hello that is not a JSON object, or whose filters are too long.") \
	X(big_hello, "total_hellos_oversized", "hellos_oversized_total", \
	  "Connections closed for a hello over --max-hello.") \
	X(refused, "total_connections_refused", "connections_refused_total", \
	  "Connections refused at once for --max-connections.") \
	X(requests_refused, "total_requests_refused", "requests_refused_total", \
	  "Requests refused at once: CONNECT, and WebSocket upgrades RFC 6455 refuses.") \
	X(culled, "total_eaters_disconnected_slow", "eaters_disconnected_slow_total", \
	  "Eaters disconnected for being too slow (--slow-eater disconnect).") \
	X(kitchens_unauthorized, "total_kitchens_unauthorized", "kitchens_unauthorized_total", \
	  "Kitchen upgrades refused with 401 (no token or a wrong one).") \
	X(eaters_unauthorized, "total_eaters_unauthorized", "eaters_unauthorized_total", \
	  "Eater upgrades and /metrics requests refused with 401.") \
	X(kitchens_origin_refused, "total_kitchens_origin_refused", "kitchens_origin_refused_total", \
	  "Kitchen upgrades from web pages refused with 403 for their Origin.") \
	X(eaters_origin_refused, "total_eaters_origin_refused", "eaters_origin_refused_total", \
	  "Eater upgrades from web pages refused with 403 for their Origin.") \
	X(latest_sent, "total_latest_sent", "latest_sent_total", \
	  "Latest dumplings sent to eaters as they joined (\"latest\": true).") \
	X(replays, "total_replays", "replays_total", \
	  "Eaters sent history from the NATS stream (\"since\", or \"latest\" with --nats-stream).") \
	X(replays_failed, "total_replays_failed", "replays_failed_total", \
	  "Replays from the NATS stream that failed, their eater closed with 1011.") \
	X(replay_sent, "total_replay_sent", "replay_sent_total", \
	  "Dumplings sent to eaters from the NATS stream's history.")

struct hub_counts {
#define HUB_COUNT_FIELD(field, key, metric, help) unsigned long field;
	HUB_COUNTS(HUB_COUNT_FIELD)
#undef HUB_COUNT_FIELD
};

/* How a number reads in the status dumpling (in /metrics, all are plain
 * numbers): a count; seconds, with a fraction as Python prints floats; a
 * flag, as true or false. */
enum hub_stat_form { HUB_STAT_COUNT, HUB_STAT_SECONDS, HUB_STAT_FLAG };

struct hub_stat {
	const char *key;	/* in the status dumpling's payload */
	const char *metric;	/* in /metrics, after dumplings_hub_ */
	const char *type;	/* "counter" or "gauge" */
	const char *help;
	enum hub_stat_form form;
	double (*value)(struct hub *hub);
};

/* Every number of the hub as a whole: the counts above, then what is
 * worked out when asked (connections, queue depths, the seq books). */
extern const struct hub_stat hub_stats[];
extern const size_t hub_nstats;

/* The numbers of one connection, in its entry of the status dumpling's
 * dumpling_kitchens or dumpling_eaters and as a series per connection in
 * /metrics. */
struct hub_conn_stat {
	int role;		/* enum hub_role */
	const char *key, *metric, *type, *help;
	double (*value)(struct hub *hub, struct hub_conn *c);
};

extern const struct hub_conn_stat hub_conn_stats[];
extern const size_t hub_nconn_stats;

#endif
