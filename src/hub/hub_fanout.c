/* Fan-out: every dumpling is stored once, in one lws_ring shared by all
 * subscribers (see hub_fanout.h), and every subscriber keeps its own read
 * position (tail). The ring is bounded twice, by a number of dumplings
 * (--queue) and by bytes (--queue-bytes). When a new dumpling does not
 * fit, the subscribers holding the oldest tail are a full queue behind: by
 * policy they are skipped ahead to the newest dumpling, and what they
 * missed is counted per subscriber (default), or they are let go and
 * culled (--slow-eater disconnect). Either way the hub's memory stays
 * bounded and nobody else waits.
 *
 * A lossless subscriber is never skipped: when it is a full queue behind,
 * the hub stops reading from every publisher (hub_kitchens_hold()) until it
 * has caught up half way. Publishers then hold back themselves, and what
 * the hold cannot stop (the message being read, the hub's own status) goes
 * into HUB_LOSSLESS_SLACK slots past --queue.
 *
 * In a fan-out every subscriber is at about the same place, so whatever
 * looks at every one of them each time one moves costs eaters squared.
 * Subscribers are counted per slot of the ring instead (hub->fan.at): a
 * subscriber's turn moves its count once, and what nobody needs any more
 * is found by walking from the oldest tail to the first slot with anyone
 * at it, i.e. in what is freed. Only a full ring (someone a queue behind)
 * looks at them all. */
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "base/util.h"

#define HUB_LOSSLESS_SLACK 256

int hub_fanout_init(struct hub *hub)
{
	struct hub_fanout *f = &hub->fan;

	/* lws_ring keeps one slot free to tell full from empty */
	f->nslots = (size_t)hub->cfg.queue_len + HUB_LOSSLESS_SLACK + 1;
	f->ring = lws_ring_create(sizeof(struct hub_msg), f->nslots, NULL);
	f->at = xcalloc(f->nslots, sizeof *f->at);
	return f->ring ? 0 : -1;
}

/* The slot of the ring a tail (a byte offset into it) points at. */
static size_t fanout_slot(uint32_t tail)
{
	return tail / sizeof(struct hub_msg);
}

/* Count s where its tail is now, no longer where it was. */
static void fanout_recount(struct hub_fanout *f, struct hub_subscriber *s)
{
	f->at[fanout_slot(s->counted)]--;
	f->at[fanout_slot(s->tail)]++;
	s->counted = s->tail;
}

/* The last subscriber is done with m: its kitchen may hear so. */
static void fanout_free_msg(struct hub_fanout *f, const struct hub_msg *m)
{
	f->bytes -= m->len;
	hub_ack_done(m->from, m->seq);
	hub_ack_release(m->from);
	free(m->buf);
}

/* Free every element older than new_oldest, then move the ring's tail. */
static void fanout_release(struct hub_fanout *f, uint32_t new_oldest)
{
	uint32_t t = lws_ring_get_oldest_tail(f->ring);
	const struct hub_msg *m;

	while (t != new_oldest && (m = lws_ring_get_element(f->ring, &t))) {
		fanout_free_msg(f, m);
		lws_ring_consume(f->ring, &t, NULL, 1);
	}
	lws_ring_update_oldest_tail(f->ring, new_oldest);
}

/* Where a new reader starts: just past the newest dumpling. */
static uint32_t fanout_head(struct hub_fanout *f)
{
	uint32_t t = lws_ring_get_oldest_tail(f->ring);

	lws_ring_consume(f->ring, &t, NULL, lws_ring_get_count_waiting_elements(f->ring, &t));
	return t;
}

unsigned long hub_fanout_used(struct hub *hub)
{
	uint32_t t = lws_ring_get_oldest_tail(hub->fan.ring);

	return lws_ring_get_count_waiting_elements(hub->fan.ring, &t);
}

unsigned long hub_fanout_depth(struct hub *hub, struct hub_subscriber *s)
{
	return s->fed ? lws_ring_get_count_waiting_elements(hub->fan.ring, &s->tail) : 0;
}

/* Free what is older than every subscriber: the ring's oldest tail moves
 * to the first slot anyone is counted at, or to the head. */
static void fanout_trim(struct hub_fanout *f)
{
	uint32_t t = lws_ring_get_oldest_tail(f->ring);
	const struct hub_msg *m;

	if (f->at[fanout_slot(t)])
		return;
	while ((m = lws_ring_get_element(f->ring, &t)) && !f->at[fanout_slot(t)]) {
		fanout_free_msg(f, m);
		lws_ring_consume(f->ring, &t, NULL, 1);
		lws_ring_update_oldest_tail(f->ring, t);
	}
}

static void fanout_free_all(struct hub_fanout *f)
{
	fanout_release(f, fanout_head(f));
}

void hub_fanout_free(struct hub *hub)
{
	if (!hub->fan.ring)
		return;
	fanout_free_all(&hub->fan);
	lws_ring_destroy(hub->fan.ring);
	hub->fan.ring = NULL;
	free(hub->fan.at);
	hub->fan.at = NULL;
}

static int filter_has(const struct hub_filter *f, const char *s)
{
	if (!f->n)
		return 1;
	if (!s)
		return 0;
	for (int i = 0; i < f->n; i++)
		if (!strcmp(f->v[i], s))
			return 1;
	return 0;
}

int hub_subscriber_wants(const struct hub_subscriber *s, const struct hub_msg *m)
{
	return (m->to == HUB_TO_ALL || (m->to == HUB_TO_DETAILED) == (s->details != 0)) &&
	       filter_has(&s->chefs, m->chef) &&
	       filter_has(&s->kitchens, m->kitchen) &&
	       filter_has(&s->drivers, m->driver) &&
	       (!s->ops->wants || s->ops->wants(s, m));
}

/* How many of the dumplings a subscriber is about to skip it would have
 * got, and how many of those carry a seq (which it sees as a gap). */
static unsigned long fanout_count_wanted(struct hub_fanout *f, struct hub_subscriber *s,
					 unsigned long *numbered)
{
	uint32_t t = s->tail;
	const struct hub_msg *m;
	unsigned long n = 0;

	*numbered = 0;
	while ((m = lws_ring_get_element(f->ring, &t))) {
		if (hub_subscriber_wants(s, m)) {
			n++;
			*numbered += m->seq != 0;
		}
		lws_ring_consume(f->ring, &t, NULL, 1);
	}
	return n;
}

static void fanout_report_drop(struct hub *hub, struct hub_subscriber *s,
			       unsigned long n, const char *what)
{
	unsigned long suppressed;

	if (log_allow(&hub->drop_log, &suppressed))
		log_warn("%s is a full queue behind: %s, %lu dumplings "
			 "dropped for it (%lu in all)%s", s->label, what,
			 n, s->dropped, suppressed ? " (some messages suppressed)" : "");
}

/* Whether s, a full queue behind, is moved ahead for what reaches it
 * another way. */
static int fanout_covered(struct hub *hub, struct hub_subscriber *s, uint32_t head)
{
	if (!s->ops->covered || !s->ops->covered(s))
		return 0;
	s->tail = head;
	fanout_recount(&hub->fan, s);
	return 1;
}

static void fanout_punish(struct hub *hub, struct hub_subscriber *s, uint32_t head)
{
	unsigned long numbered, n = fanout_count_wanted(&hub->fan, s, &numbered);

	s->dropped += n;
	s->dropped_numbered += numbered;
	hub->count.dropped += n;
	if (hub->cfg.slow == HUB_SLOW_SKIP) {
		s->tail = head;
		fanout_recount(&hub->fan, s);
		fanout_report_drop(hub, s, n, "skipped ahead");
		return;
	}
	hub->count.culled++;
	hub_fanout_leave(hub, s);
	fanout_report_drop(hub, s, n, "disconnected");
	s->ops->cull(s);
}

static int fanout_full(struct hub *hub, size_t len)
{
	if (hub_fanout_used(hub) >= (unsigned long)hub->cfg.queue_len)
		return 1;
	return hub->fan.bytes && hub->fan.bytes + len > hub->cfg.queue_bytes;
}

/* ---- lossless subscribers ------------------------------------------------- */

/* Bytes waiting for s, from the running total of bytes stored. */
static uint64_t fanout_bytes_behind(struct hub_fanout *f, struct hub_subscriber *s)
{
	uint32_t t = s->tail;
	const struct hub_msg *m = lws_ring_get_element(f->ring, &t);

	return m ? f->bytes_stored - (m->end - m->len) : 0;
}

/* Whether some lossless subscriber is at least 1/part of a queue behind. */
static int fanout_lossless_behind(struct hub *hub, unsigned part)
{
	unsigned long most = (unsigned long)hub->cfg.queue_len / part;
	uint64_t bytes = hub->cfg.queue_bytes / part;

	for (struct hub_subscriber *s = hub->fan.subs; s; s = s->next)
		if (s->lossless && !s->ops->covered && (hub_fanout_depth(hub, s) >= most ||
				    fanout_bytes_behind(&hub->fan, s) >= bytes))
			return 1;
	return 0;
}

static void fanout_hold(struct hub *hub, int hold)
{
	if (hub->fan.held == hold)
		return;
	hub->fan.held = hold;
	hub->count.holds += hold;
	log_debug("%s reading from kitchens: a lossless eater %s", hold ? "stopped" : "resumed",
		  hold ? "is a full queue behind" : "has caught up");
	hub_kitchens_hold(hub, hold || hub->turn_held);
	if (!hold && hub->inbox.wake)	/* what waited in the inbox, too */
		hub->inbox.wake(hub->inbox.arg);
}

/* Publishers are read again once every lossless subscriber is half way there. */
static void fanout_maybe_resume(struct hub *hub)
{
	if (hub->fan.held && !fanout_lossless_behind(hub, 2))
		fanout_hold(hub, 0);
}

/* ---- making room ---------------------------------------------------------- */

/* Make room for len more bytes by dealing with the subscribers at the
 * oldest tail; with none behind, the ring is simply emptied. A lossless
 * one there holds the publishers back instead, and the dumpling goes into
 * the slack; only when that too is full is it skipped like any other. */
static void fanout_make_room(struct hub *hub, size_t len)
{
	struct hub_fanout *f = &hub->fan;

	while (fanout_full(hub, len)) {
		uint32_t oldest = lws_ring_get_oldest_tail(f->ring);
		uint32_t head = fanout_head(f);
		int slack = lws_ring_get_count_free_elements(f->ring) > 0, held = 0;
		struct hub_subscriber *s, *next;

		for (s = f->at[fanout_slot(oldest)] ? f->subs : NULL; s; s = next) {
			next = s->next;
			if (s->counted != oldest || fanout_covered(hub, s, head))
				continue;
			if (s->lossless && slack)
				held = 1;
			else
				fanout_punish(hub, s, head);
		}
		if (held) {
			fanout_hold(hub, 1);
			return;
		}
		fanout_trim(f);
		if (lws_ring_get_oldest_tail(f->ring) == oldest)
			fanout_free_all(f);	/* nobody held it */
	}
}

void hub_fanout_wake(struct hub_subscriber *s)
{
	if (!s->woken) {
		s->woken = 1;
		s->ops->wake(s);
	}
}

static void fanout_wake_all(struct hub_fanout *f)
{
	for (struct hub_subscriber *s = f->subs; s; s = s->next)
		hub_fanout_wake(s);
}

static void fanout_store(struct hub *hub, enum hub_audience to, const char *json, size_t len,
			 const char *chef, const char *kitchen, const char *driver,
			 const struct hub_source *source, struct hub_ledger *from,
			 unsigned long long seq)
{
	size_t lc = strlen(chef) + 1;
	size_t lk = kitchen ? strlen(kitchen) + 1 : 0;
	size_t ld = driver ? strlen(driver) + 1 : 0;
	struct hub_fanout *f = &hub->fan;
	struct hub_msg m;
	char *p;

	if (!f->nsubs) {
		hub_ack_done(from, seq);
		return;		/* nobody to feed: nothing to store */
	}
	fanout_make_room(hub, len);
	m.buf = xmalloc(LWS_PRE + len + 1 + lc + lk + ld);
	m.len = len;
	p = (char *)m.buf + LWS_PRE;
	memcpy(p, json, len);
	p[len] = '\0';
	p += len + 1;
	m.chef = memcpy(p, chef, lc);
	p += lc;
	m.kitchen = kitchen ? memcpy(p, kitchen, lk) : NULL;
	p += lk;
	m.driver = driver ? memcpy(p, driver, ld) : NULL;
	m.from = from;
	m.source = source;
	m.seq = seq;
	m.to = to;
	hub_ack_hold(from);
	f->bytes_stored += len;
	m.end = f->bytes_stored;
	lws_ring_insert(f->ring, &m, 1);
	f->bytes += len;
	if (f->nlossless && !f->held && fanout_lossless_behind(hub, 1))
		fanout_hold(hub, 1);
	fanout_wake_all(f);
}

void hub_fanout_publish(struct hub *hub, const char *json, size_t len,
			const char *chef, const char *kitchen, const char *driver,
			const struct hub_source *source, struct hub_ledger *from,
			unsigned long long seq)
{
	fanout_store(hub, HUB_TO_ALL, json, len, chef, kitchen, driver, source, from, seq);
}

void hub_fanout_publish_to(struct hub *hub, enum hub_audience to, const char *json, size_t len,
			   const char *chef, const char *kitchen, const char *driver)
{
	int some = to == HUB_TO_ALL ? hub->fan.nsubs :
		   to == HUB_TO_DETAILED ? hub->fan.ndetailed : hub->fan.nsubs - hub->fan.ndetailed;

	if (some)
		fanout_store(hub, to, json, len, chef, kitchen, driver, NULL, NULL, 0);
}

void hub_fanout_join(struct hub *hub, struct hub_subscriber *s)
{
	struct hub_fanout *f = &hub->fan;

	s->tail = s->counted = fanout_head(f);
	f->at[fanout_slot(s->tail)]++;
	s->fed = 1;
	s->prev = NULL;
	s->next = f->subs;
	if (f->subs)
		f->subs->prev = s;
	f->subs = s;
	f->nsubs++;
	f->nlossless += s->lossless;
	f->ndetailed += s->details != 0;
}

void hub_fanout_leave(struct hub *hub, struct hub_subscriber *s)
{
	struct hub_fanout *f = &hub->fan;

	if (!s->fed)
		return;
	s->fed = 0;
	if (s->prev)
		s->prev->next = s->next;
	else
		f->subs = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	f->at[fanout_slot(s->counted)]--;
	f->nsubs--;
	f->nlossless -= s->lossless;
	f->ndetailed -= s->details != 0;
	fanout_trim(f);
	fanout_maybe_resume(hub);
}

/* ---- a subscriber's turn -------------------------------------------------- */

const struct hub_msg *hub_fanout_next(struct hub *hub, struct hub_subscriber *s)
{
	const struct hub_msg *m;

	while ((m = lws_ring_get_element(hub->fan.ring, &s->tail))) {
		if (hub_subscriber_wants(s, m))
			return m;
		lws_ring_consume(hub->fan.ring, &s->tail, NULL, 1);
	}
	return NULL;
}

void hub_fanout_take(struct hub *hub, struct hub_subscriber *s)
{
	lws_ring_consume(hub->fan.ring, &s->tail, NULL, 1);
}

void hub_fanout_sent(struct hub *hub, struct hub_subscriber *s, unsigned long n)
{
	s->out += n;
	hub->count.out += n;
}

void hub_fanout_settle(struct hub *hub, struct hub_subscriber *s, uint32_t began)
{
	if (s->tail != s->counted) {
		fanout_recount(&hub->fan, s);
		if (began == lws_ring_get_oldest_tail(hub->fan.ring))
			fanout_trim(&hub->fan);
	}
	if (s->lossless)
		fanout_maybe_resume(hub);
	if (lws_ring_get_count_waiting_elements(hub->fan.ring, &s->tail))
		hub_fanout_wake(s);
}
