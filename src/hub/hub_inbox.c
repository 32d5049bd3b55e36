/* The hub's inbox (see hub_inbox.h): a locked list, swapped out whole by
 * the hub's thread, so that a pusher waits at most for a pointer swap. */
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "hub_inbox.h"
#include "base/util.h"

struct hub_inbox_item {
	struct hub_inbox_item *next;
	struct hub_source *from;
	const char *msg;		/* copy, or the pusher's own */
	size_t len;
	void (*release)(void *owner);	/* NULL for a copy */
	void *owner;
	char copy[];
};

void hub_inbox_init(struct hub_inbox *q, size_t max_n, size_t max_bytes,
		    void (*wake)(void *arg), void *arg)
{
	memset(q, 0, sizeof *q);
	pthread_mutex_init(&q->lock, NULL);
	q->max_n = max_n;
	q->max_bytes = max_bytes;
	q->wake = wake;
	q->arg = arg;
}

/* Queue it, or refuse it (and free it) when it does not fit. */
static int inbox_add(struct hub_inbox *q, struct hub_inbox_item *it)
{
	int was_empty;

	pthread_mutex_lock(&q->lock);
	if (q->n >= q->max_n || q->bytes + it->len > q->max_bytes) {
		q->refused++;
		pthread_mutex_unlock(&q->lock);
		if (it->release)
			it->release(it->owner);
		free(it);
		return -1;
	}
	was_empty = !q->n;
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->n++;
	q->bytes += it->len;
	pthread_mutex_unlock(&q->lock);
	/* the hub drains everything once woken: one wake-up per burst */
	if (was_empty)
		q->wake(q->arg);
	return 0;
}

int hub_inbox_push(struct hub_inbox *q, struct hub_source *from, const char *msg, size_t len)
{
	struct hub_inbox_item *it = xmalloc(sizeof *it + len + 1);

	it->next = NULL;
	it->from = from;
	it->len = len;
	memcpy(it->copy, msg, len);
	it->copy[len] = '\0';
	it->msg = it->copy;
	it->release = NULL;
	it->owner = NULL;
	return inbox_add(q, it);
}

int hub_inbox_push_owned(struct hub_inbox *q, struct hub_source *from, const char *msg,
			 size_t len, void (*release)(void *owner), void *owner)
{
	struct hub_inbox_item *it = xmalloc(sizeof *it);

	it->next = NULL;
	it->from = from;
	it->len = len;
	it->msg = msg;
	it->release = release;
	it->owner = owner;
	return inbox_add(q, it);
}

static struct hub_inbox_item *inbox_take_all(struct hub_inbox *q)
{
	struct hub_inbox_item *all;

	pthread_mutex_lock(&q->lock);
	all = q->head;
	q->head = q->tail = NULL;
	q->n = q->bytes = 0;
	pthread_mutex_unlock(&q->lock);
	return all;
}

/* At most max items from the head; *more says whether any are left. */
static struct hub_inbox_item *inbox_take_some(struct hub_inbox *q, size_t max, int *more)
{
	struct hub_inbox_item *first, *last = NULL, *it;
	size_t n = 0, bytes = 0;

	pthread_mutex_lock(&q->lock);
	first = q->head;
	for (it = first; it && n < max; it = it->next) {
		last = it;
		n++;
		bytes += it->len;
	}
	if (last) {
		q->head = last->next;
		last->next = NULL;
		if (!q->head)
			q->tail = NULL;
		q->n -= n;
		q->bytes -= bytes;
	}
	*more = q->head != NULL;
	pthread_mutex_unlock(&q->lock);
	return n ? first : NULL;
}

static void inbox_item_free(struct hub_inbox_item *it)
{
	if (it->release)
		it->release(it->owner);
	free(it);
}

static void inbox_ingest(struct hub *hub, struct hub_inbox_item *it)
{
	unsigned long suppressed;
	const char *why = "dumpling without metadata.chef dropped";

	switch (hub_ingest(hub, it->from, it->msg, it->len, &why)) {
	case HUB_NO_CHEF:
		hub_ingest_reject(hub, it->from);
		/* fall through */
	case HUB_INVALID:
		if (log_allow(&hub->invalid_log, &suppressed))
			log_warn("a dumpling handed over from another thread: %s%s", why,
				 suppressed ? " (similar messages suppressed)" : "");
		break;
	case HUB_TAKEN:
	case HUB_REPEATED:
		break;
	}
}

size_t hub_inbox_drain(struct hub_inbox *q, struct hub *hub)
{
	struct hub_inbox_item *it = inbox_take_all(q), *next;
	size_t n = 0;

	for (; it; it = next, n++) {
		next = it->next;
		inbox_ingest(hub, it);
		inbox_item_free(it);
	}
	return n;
}

size_t hub_inbox_drain_some(struct hub_inbox *q, struct hub *hub, size_t max)
{
	int more;
	struct hub_inbox_item *it = inbox_take_some(q, max, &more), *next;
	size_t n = 0;

	for (; it; it = next, n++) {
		next = it->next;
		inbox_ingest(hub, it);
		inbox_item_free(it);
	}
	if (more)
		q->wake(q->arg);
	return n;
}

unsigned long hub_inbox_refused(struct hub_inbox *q)
{
	unsigned long n;

	pthread_mutex_lock(&q->lock);
	n = q->refused;
	pthread_mutex_unlock(&q->lock);
	return n;
}

void hub_inbox_clear(struct hub_inbox *q)
{
	struct hub_inbox_item *it = inbox_take_all(q), *next;

	for (; it; it = next) {
		next = it->next;
		inbox_item_free(it);
	}
}

void hub_inbox_free(struct hub_inbox *q)
{
	hub_inbox_clear(q);
	pthread_mutex_destroy(&q->lock);
}
