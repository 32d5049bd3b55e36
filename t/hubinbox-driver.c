/* The driver of the hub's inbox (src/hub/hub_inbox.c), run by
 * t/68-hub-inbox.t: threads push dumplings, as a link to other hubs will
 * from its client library's threads, and the main thread, woken by them,
 * drains the inbox into ingest and fan-out, then reads what a subscriber
 * (no connection behind it) is given. Prints TAP.
 *
 * Checked: every valid dumpling arrives once, each producer's in the order
 * it pushed them; invalid ones are counted for their source and the hub,
 * not published; the seq books see no loss; a full inbox refuses and
 * counts; a burst asks for one wake-up, not one per dumpling. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/hub.h"

#define PRODUCERS 4
#define EACH 3000		/* valid dumplings per producer */
#define INVALID_EVERY 100	/* and one invalid message after every this many */

static struct hub hub;
static struct hub_source sources[PRODUCERS];
static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_cond = PTHREAD_COND_INITIALIZER;
static unsigned long wakes, woken_subscriber;
static int tests, failed;

static void ok(int cond, const char *what)
{
	printf("%sok %d - %s\n", cond ? "" : "not ", ++tests, what);
	failed += !cond;
}

static void wake(void *arg)
{
	pthread_mutex_lock(&wake_lock);
	wakes++;
	pthread_cond_signal(&wake_cond);
	pthread_mutex_unlock(&wake_lock);
}

static void sub_wake(struct hub_subscriber *s)
{
	woken_subscriber++;
}

static void sub_cull(struct hub_subscriber *s)
{
	ok(0, "the subscriber is never culled");
}

static const struct hub_subscriber_ops sub_ops = { .wake = sub_wake, .cull = sub_cull };

static void *producer(void *arg)
{
	int id = (int)(long)arg;
	char msg[256];

	for (int i = 1; i <= EACH; i++) {
		int n = snprintf(msg, sizeof msg,
				 "{\"metadata\":{\"chef\":\"InboxChef\",\"kitchen\":\"k%d\","
				 "\"run\":\"r%d\",\"seq\":%d,\"driver\":\"packet\"},\"payload\":%d}",
				 id, id, i, i);

		while (hub_inbox_push(&hub.inbox, &sources[id], msg, (size_t)n) < 0)
			;	/* full: the main thread is draining */
		if (i % INVALID_EVERY == 0)
			while (hub_inbox_push(&hub.inbox, &sources[id], "{\"not\": json", 12) < 0)
				;
	}
	return NULL;
}

/* What the subscriber is given: each producer's dumplings in order. */
static unsigned long read_all(struct hub_subscriber *s, int *next_seq, int *in_order)
{
	const struct hub_msg *m;
	unsigned long n = 0;

	while ((m = hub_fanout_next(&hub, s))) {
		int id = m->kitchen ? m->kitchen[1] - '0' : -1;

		if (id < 0 || id >= PRODUCERS || (int)m->seq != next_seq[id])
			*in_order = 0;
		else
			next_seq[id]++;
		hub_fanout_take(&hub, s);
		n++;
	}
	hub_fanout_sent(&hub, s, n);
	return n;
}

static void test_threads(void)
{
	struct hub_subscriber sub;
	pthread_t t[PRODUCERS];
	int next_seq[PRODUCERS], in_order = 1;
	unsigned long got = 0, invalid = 0, in = 0, want = (unsigned long)PRODUCERS * EACH;
	size_t drained = 0;

	memset(&sub, 0, sizeof sub);
	sub.ops = &sub_ops;
	snprintf(sub.label, sizeof sub.label, "test subscriber");
	hub_fanout_join(&hub, &sub);
	for (int i = 0; i < PRODUCERS; i++) {
		next_seq[i] = 1;
		pthread_create(&t[i], NULL, producer, (void *)(long)i);
	}
	while (got < want) {
		pthread_mutex_lock(&wake_lock);
		if (!wakes) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 10 * 1000 * 1000;	/* a wake-up lost would hang */
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&wake_cond, &wake_lock, &ts);
		}
		pthread_mutex_unlock(&wake_lock);
		drained += hub_inbox_drain(&hub.inbox, &hub);
		got += read_all(&sub, next_seq, &in_order);
	}
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(t[i], NULL);
	drained += hub_inbox_drain(&hub.inbox, &hub);
	got += read_all(&sub, next_seq, &in_order);
	for (int i = 0; i < PRODUCERS; i++) {
		in += sources[i].in;
		invalid += sources[i].invalid;
	}
	ok(got == want, "the subscriber got every valid dumpling pushed, once");
	ok(in_order, "each producer's dumplings in the order it pushed them");
	ok(drained == want + want / INVALID_EVERY, "the drains took every message pushed");
	ok(in == want && hub.count.in == want, "the sources and the hub counted them in");
	ok(invalid == want / INVALID_EVERY && hub.count.invalid == invalid,
	   "invalid messages were counted for their source and the hub");
	ok(sub.out == want && hub.count.out == want, "and counted out");
	ok(hub.seq.lost == 0 && hub.seq.n == PRODUCERS, "the seq books saw each run, no loss");
	ok(woken_subscriber > 0, "fan-out woke the subscriber");
	ok(wakes <= drained, "no more wake-ups than messages");
	hub_fanout_leave(&hub, &sub);
}

/* A full inbox refuses, counts, and a burst asks for one wake-up. */
static void test_bounds(void)
{
	struct hub_source src;
	const char *d = "{\"metadata\":{\"chef\":\"C\"},\"payload\":1}";
	int refused;

	memset(&src, 0, sizeof src);
	hub_inbox_free(&hub.inbox);
	hub_inbox_init(&hub.inbox, 3, 1 << 20, wake, NULL);
	wakes = 0;
	for (int i = 0; i < 3; i++)
		hub_inbox_push(&hub.inbox, &src, d, strlen(d));
	refused = hub_inbox_push(&hub.inbox, &src, d, strlen(d));
	ok(refused < 0 && hub_inbox_refused(&hub.inbox) == 1, "a push past the bound is refused and counted");
	ok(wakes == 1, "three pushes into an empty inbox ask for one wake-up");
	ok(hub_inbox_drain(&hub.inbox, &hub) == 3 && src.in == 3, "the three are ingested");
	ok(hub_inbox_push(&hub.inbox, &src, d, strlen(d)) == 0 && wakes == 2,
	   "once drained, the next push wakes the hub again");
	hub_inbox_push(&hub.inbox, &src, d, strlen(d));
	/* what is still queued when the hub stops is let go (for ASan's eyes) */
}

static int released;

static void release(void *owner)
{
	released++;
	free(owner);
}

/* Pushed without a copy: the pusher's buffer is read in place and let go
 * exactly once, whether ingested, refused or left queued. */
static void test_owned(void)
{
	struct hub_source src;
	const char *d = "{\"metadata\":{\"chef\":\"Owned\"},\"payload\":2}";
	int rc;

	memset(&src, 0, sizeof src);
	hub_inbox_free(&hub.inbox);
	hub_inbox_init(&hub.inbox, 2, 1 << 20, wake, NULL);
	released = 0;
	for (int i = 0; i < 2; i++) {
		char *own = strdup(d);

		hub_inbox_push_owned(&hub.inbox, &src, own, strlen(own), release, own);
	}
	rc = hub_inbox_push_owned(&hub.inbox, &src, d, strlen(d), release, strdup(d));
	ok(rc < 0 && released == 1, "an owned push past the bound is refused and let go at once");
	ok(hub_inbox_drain(&hub.inbox, &hub) == 2 && src.in == 2 && released == 3,
	   "the owned ones are ingested, and let go");
	hub_inbox_push_owned(&hub.inbox, &src, d, strlen(d), release, strdup(d));
	hub_inbox_free(&hub.inbox);
	ok(released == 4, "what is still queued when the hub stops is let go too");
	hub_inbox_init(&hub.inbox, 3, 1 << 20, wake, NULL);
}

int main(void)
{
	log_set_level(LOG_ERROR);	/* the invalid ones are logged as warnings */
	memset(&hub, 0, sizeof hub);
	hub.cfg.queue_len = 1000000;
	hub.cfg.queue_bytes = 1 << 28;
	hub.cfg.max_hello = 16384;
	hub.cfg.slow = HUB_SLOW_SKIP;
	hub.seq.max = SEQ_BOOK_RUNS;
	if (hub_fanout_init(&hub) < 0) {
		printf("Bail out! no ring\n");
		return 1;
	}
	hub_inbox_init(&hub.inbox, 1024, 1 << 20, wake, NULL);
	printf("1..%d\n", 16);
	test_threads();
	test_bounds();
	test_owned();
	hub_inbox_free(&hub.inbox);
	hub_fanout_free(&hub);
	hub_ingest_free(&hub);
	seq_book_free(&hub.seq);
	hub_health_free(&hub.health);
	return failed != 0;
}
