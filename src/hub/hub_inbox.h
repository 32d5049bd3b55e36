#ifndef HUB_INBOX_H
#define HUB_INBOX_H

/* The hub's inbox (hub_inbox.c): the way in for dumplings that arrive on
 * other threads (a link to other hubs, whose client library delivers on
 * its own). Any thread may push; the hub's thread, woken by the push,
 * drains everything into ingest. Nothing else of the hub may be touched
 * from another thread.
 *
 * Bounded by a number of dumplings and of bytes: a push that would go past
 * either is refused, and counted; the pusher decides what that means (a
 * link would stop taking from its peer for a while). The wake-up is asked
 * for only when the inbox goes from empty to not, so a burst costs one. */

#include <pthread.h>
#include <stddef.h>

/* dumplings ingested per wake-up of the hub's loop (hub_conn.c): each
 * wake-up costs a turn of the loop, and at 64 a busy link spent more of
 * the hub's thread on turns than on dumplings; 512 is still a small part
 * of an eater's queue, so eaters get their turn long before it fills */
#define HUB_INBOX_BATCH 512

struct hub;
struct hub_source;
struct hub_inbox_item;

struct hub_inbox {
	pthread_mutex_t lock;
	struct hub_inbox_item *head, *tail;	/* under lock */
	size_t n, bytes;			/* under lock */
	size_t max_n, max_bytes;
	unsigned long refused;			/* under lock */
	void (*wake)(void *arg);		/* safe from any thread */
	void *arg;
};

void hub_inbox_init(struct hub_inbox *q, size_t max_n, size_t max_bytes,
		    void (*wake)(void *arg), void *arg);

/* From any thread: a copy of msg is queued for ingest as coming from
 * from, which must outlive it in the inbox and is only ever touched on
 * the hub's thread. 0, or -1 if the inbox is full (refused, counted). */
int hub_inbox_push(struct hub_inbox *q, struct hub_source *from, const char *msg, size_t len);

/* The same without the copy: msg (NUL-terminated at len) stays the
 * pusher's, and release(owner) is called once the hub is done with it,
 * on the hub's thread, or on the pusher's at once if it is refused. For a
 * client library that hands over messages it has allocated already. */
int hub_inbox_push_owned(struct hub_inbox *q, struct hub_source *from, const char *msg,
			 size_t len, void (*release)(void *owner), void *owner);

/* On the hub's thread, once woken: everything waiting goes to
 * hub_ingest(), in the order it was pushed. Returns how many went. */
size_t hub_inbox_drain(struct hub_inbox *q, struct hub *hub);

/* The same, but at most max of them, asking to be woken again if more
 * wait: the loop's other work (writing to eaters) goes on between batches,
 * as it does between reads from kitchens, so that a burst from another
 * thread does not fill the eaters' queue before they had a turn. */
size_t hub_inbox_drain_some(struct hub_inbox *q, struct hub *hub, size_t max);

unsigned long hub_inbox_refused(struct hub_inbox *q);

/* What is still queued is dropped (and released): _clear while the
 * owners' library is still there to take back what it owns. */
void hub_inbox_clear(struct hub_inbox *q);
void hub_inbox_free(struct hub_inbox *q);

#endif
