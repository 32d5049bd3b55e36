#ifndef HUB_FANOUT_H
#define HUB_FANOUT_H

/* Fan-out (hub_fanout.c): every dumpling stored once, in one ring, and read
 * by every subscriber at its own pace. A subscriber is anything that takes
 * dumplings from the hub: an eater's connection (hub_eater.c), or the
 * link to other hubs (hub_link.c). Fan-out never writes to one itself: it
 * wakes the subscriber (ops->wake), which comes for what waits for it
 * (hub_fanout_next, _take) from its own event and writes it as its
 * transport wants. It never calls libwebsockets either, beyond its ring. */

#include <stddef.h>
#include <stdint.h>

struct hub;
struct hub_ledger;
struct hub_source;
struct lws_ring;

/* Who a dumpling is for, beyond filters: the hub's status comes in two
 * sizes, the one with every connection's entry only for those that asked
 * ("details": true in an eater's hello). */
enum hub_audience { HUB_TO_ALL, HUB_TO_PLAIN, HUB_TO_DETAILED };

/* One dumpling, stored once for every subscriber: LWS_PRE bytes of
 * headroom (so that lws can write it in place), the JSON text, then the
 * strings the filters look at. */
struct hub_msg {
	unsigned char *buf;
	size_t len;
	const char *chef, *kitchen, *driver;	/* kitchen, driver may be NULL */
	struct hub_ledger *from;	/* to acknowledge once done with, or NULL */
	const struct hub_source *source;	/* who published it; NULL: the hub itself */
	unsigned long long seq;		/* metadata.seq, 0 if none */
	uint64_t end;			/* fan.bytes_stored once it was */
	enum hub_audience to;
};

/* What a subscriber asked for: names, any of which may match; none, all. */
struct hub_filter {
	char **v;
	int n;
};

struct hub_subscriber;

struct hub_subscriber_ops {
	/* Dumplings wait for s: it should come for them soon, from its own
	 * loop, not from inside this call. */
	void (*wake)(struct hub_subscriber *s);
	/* Whether s takes m, beyond its filters; NULL if they say it all (a
	 * link to other hubs would refuse what came from them). */
	int (*wants)(const struct hub_subscriber *s, const struct hub_msg *m);
	/* s was a full queue behind under --slow-eater disconnect and has
	 * left fan-out already: close it. */
	void (*cull)(struct hub_subscriber *s);
	/* s is a full queue behind: 1 if what it would miss reaches it
	 * another way (a replay's consumer, hub_replay.c), and it is moved
	 * ahead with no drop counted nor publisher held; 0, or NULL, for
	 * the slow-eater policy. */
	int (*covered)(struct hub_subscriber *s);
};

struct hub_subscriber {
	const struct hub_subscriber_ops *ops;
	struct hub_subscriber *prev, *next;	/* in hub->fan.subs */
	char label[96];			/* names it in logs: "eater 127.0.0.1:4242" */
	int fed;			/* has joined: holds a tail in the ring */
	int lossless;			/* publishers are held back rather than it skipped */
	int details;			/* takes HUB_TO_DETAILED rather than _PLAIN */
	int woken;			/* ops->wake was called, and it has not come yet */
	uint32_t tail;
	uint32_t counted;		/* the tail hub->fan.at counts it at */
	unsigned long out;		/* dumplings it was given */
	unsigned long dropped;		/* dumplings it was not, being too slow */
	unsigned long dropped_numbered;	/* of dropped, those with a seq */
	struct hub_filter chefs, kitchens, drivers;
};

/* The fan-out part of the hub (hub->fan). */
struct hub_fanout {
	struct lws_ring *ring;
	size_t bytes;			/* held in the ring */
	uint64_t bytes_stored;		/* in all, for bytes behind a subscriber */
	struct hub_subscriber *subs;	/* every one that has joined */
	/* how many subscribers are counted at each slot of the ring: the
	 * oldest tail anyone needs is the first slot with one, found without
	 * looking at every subscriber */
	unsigned *at;
	size_t nslots;
	int nsubs, nlossless, ndetailed;
	int held;			/* publishers are held back, for a lossless one */
};

/* Whether s takes m: its filters, and its own say. */
int hub_subscriber_wants(const struct hub_subscriber *s, const struct hub_msg *m);

int hub_fanout_init(struct hub *hub);
void hub_fanout_free(struct hub *hub);

/* Store a dumpling (already checked) for every subscriber that wants it,
 * making room by the slow-eater policy; with none, it is done with at once. */
void hub_fanout_publish(struct hub *hub, const char *json, size_t len,
			const char *chef, const char *kitchen, const char *driver,
			const struct hub_source *source, struct hub_ledger *from,
			unsigned long long seq);
/* The hub's own dumplings, for some of the subscribers only. */
void hub_fanout_publish_to(struct hub *hub, enum hub_audience to, const char *json, size_t len,
			   const char *chef, const char *kitchen, const char *driver);

/* A subscriber starts at the newest dumpling, and leaves whenever. */
void hub_fanout_join(struct hub *hub, struct hub_subscriber *s);
void hub_fanout_leave(struct hub *hub, struct hub_subscriber *s);

/* A subscriber's turn, from its own event (s->woken is cleared first):
 * hub_fanout_next() is the next dumpling it wants, or NULL when nothing
 * waits (what it does not want is passed by); hub_fanout_take() moves past
 * it once it is written, hub_fanout_sent() counts what was; at the end,
 * hub_fanout_settle(), with the tail the turn began at, frees what nobody
 * needs any more and wakes s again if more waits. */
const struct hub_msg *hub_fanout_next(struct hub *hub, struct hub_subscriber *s);
void hub_fanout_take(struct hub *hub, struct hub_subscriber *s);
void hub_fanout_sent(struct hub *hub, struct hub_subscriber *s, unsigned long n);
void hub_fanout_settle(struct hub *hub, struct hub_subscriber *s, uint32_t began);
void hub_fanout_wake(struct hub_subscriber *s);

unsigned long hub_fanout_depth(struct hub *hub, struct hub_subscriber *s);
unsigned long hub_fanout_used(struct hub *hub);

#endif
