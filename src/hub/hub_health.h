#ifndef HUB_HEALTH_H
#define HUB_HEALTH_H

/* The latest KitchenStatusChef report of each kitchen, by kitchen name
 * (hub_health.c), for /metrics: kept by name, not by connection, so that
 * its series go on when a kitchen reconnects. */

#include <stddef.h>

/* What a report says of the kitchen as a whole, of each source, of each
 * chef; a number the report lacks, or that is not one, is not kept. */
enum hub_health_kitchen_stat {
	HUB_HEALTH_PACKETS, HUB_HEALTH_UPTIME, HUB_HEALTH_SENT, HUB_HEALTH_BUFFERED,
	HUB_HEALTH_DROPPED, HUB_HEALTH_RECONNECTS, HUB_HEALTH_LAST_SEQ, HUB_HEALTH_RESENT,
	HUB_HEALTH_UNCONFIRMED, HUB_HEALTH_ACKED_SEQ,
	HUB_HEALTH_FLOWS_ACTIVE, HUB_HEALTH_FLOWS_CREATED, HUB_HEALTH_FLOWS_ENDED,
	HUB_HEALTH_FLOWS_EVICTED, HUB_HEALTH_FLOWS_UNTRACKED,
	HUB_HEALTH_FRAGS_REASSEMBLED, HUB_HEALTH_FRAGS_PENDING, HUB_HEALTH_FRAGS_TIMED_OUT,
	HUB_HEALTH_FRAGS_EVICTED, HUB_HEALTH_FRAGS_UNFINISHED, HUB_HEALTH_FRAGS_OVERLAPS,
	HUB_HEALTH_FLOWS_EVENTS_DROPPED, HUB_HEALTH_STREAMS_BYTES, HUB_HEALTH_STREAMS_GAP_BYTES,
	HUB_HEALTH_STREAMS_DIR_LIMIT, HUB_HEALTH_STREAMS_TOTAL_LIMIT, HUB_HEALTH_STREAMS_MEMORY,
	HUB_HEALTH_KITCHEN_STATS
};
/* which are kept is a bit each, in an unsigned */
_Static_assert(HUB_HEALTH_KITCHEN_STATS <= 32, "too many kitchen stats for the have bits");
enum hub_health_source_stat {
	HUB_HEALTH_SOURCE_PACKETS, HUB_HEALTH_SOURCE_PASSED, HUB_HEALTH_SOURCE_KERNEL,
	HUB_HEALTH_SOURCE_IFACE, HUB_HEALTH_SOURCE_STATS
};
enum hub_health_chef_stat {
	HUB_HEALTH_CHEF_CALLS, HUB_HEALTH_CHEF_ERRORS, HUB_HEALTH_CHEF_DUMPLINGS,
	HUB_HEALTH_CHEF_SECONDS, HUB_HEALTH_CHEF_STATS
};

#define HUB_HEALTH_ITEM_STATS 4	/* the larger of the source and chef stats */

/* A source or a chef: its name and numbers; bit i of have says v[i] is. */
struct hub_health_item {
	char *name;
	double v[HUB_HEALTH_ITEM_STATS];
	unsigned have;
};

struct hub_health {
	char *kitchen;
	unsigned long long heard;	/* the book's note count when it came */
	double received;		/* monotonic_seconds() then */
	double v[HUB_HEALTH_KITCHEN_STATS];
	unsigned have;
	struct hub_health_item *sources, *chefs;
	int nsources, nchefs;
};

struct hub_health_book {
	struct hub_health *k;
	int n;
	unsigned long long notes;
};

struct hub;

/* Keep a dumpling (msg, len bytes, already checked) if chef says it is a
 * kitchen's report; anything else is none of this book's business. */
void hub_health_note(struct hub *hub, const char *chef, const char *kitchen,
		     const char *msg, size_t len);
void hub_health_free(struct hub_health_book *b);

#endif
