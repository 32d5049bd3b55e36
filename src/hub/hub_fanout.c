/* Fan-out: every dumpling is stored once, in one lws_ring shared by all
 * eaters, and every eater keeps its own read position (tail). The ring is
 * bounded twice, by a number of dumplings (--queue) and by bytes
 * (--queue-bytes). When a new dumpling does not fit, the eaters holding the
 * oldest tail are a full queue behind: by policy they are skipped ahead to
 * the newest dumpling, and what they missed is counted per eater (default),
 * or they are disconnected (--slow-eater disconnect). Either way the hub's
 * memory stays bounded and nobody else waits. An eater that asked for
 * notices is told, before its next dumpling, how many it was not sent.
 *
 * A lossless eater is never skipped: when it is a full queue behind, the
 * hub stops reading from every kitchen (receive flow control) until it has
 * caught up half way. Kitchens then hold back themselves, and what the
 * hold cannot stop (the message being read, the hub's own status) goes
 * into HUB_LOSSLESS_SLACK slots past --queue. */
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "base/util.h"
#include "net/wsframe.h"

/* How many dumplings one WRITEABLE callback may send before yielding to the
 * rest of the loop; kitchens can insert several per loop turn, so an eater
 * must be able to drain several too. */
#define HUB_WRITE_BATCH 256
/* bytes framed into one write for an uncompressed eater */
#define HUB_BATCH_BYTES (64 * 1024)
#define HUB_LOSSLESS_SLACK 256

int hub_fanout_init(struct hub *hub)
{
	/* lws_ring keeps one slot free to tell full from empty */
	hub->ring = lws_ring_create(sizeof(struct hub_msg),
				    (size_t)hub->cfg.queue_len + HUB_LOSSLESS_SLACK + 1, NULL);
	hub->batch = xmalloc(LWS_PRE + HUB_BATCH_BYTES);
	return hub->ring ? 0 : -1;
}

/* The last eater is done with m: its kitchen may hear so. */
static void fanout_free_msg(struct hub *hub, const struct hub_msg *m)
{
	hub->ring_bytes -= m->len;
	hub_ack_done(m->from, m->seq);
	hub_ack_release(m->from);
	free(m->buf);
}

/* Free every element older than new_oldest, then move the ring's tail. */
static void fanout_release(struct hub *hub, uint32_t new_oldest)
{
	uint32_t t = lws_ring_get_oldest_tail(hub->ring);
	const struct hub_msg *m;

	while (t != new_oldest && (m = lws_ring_get_element(hub->ring, &t))) {
		fanout_free_msg(hub, m);
		lws_ring_consume(hub->ring, &t, NULL, 1);
	}
	lws_ring_update_oldest_tail(hub->ring, new_oldest);
}

/* Where a new reader starts: just past the newest dumpling. */
static uint32_t fanout_head(struct hub *hub)
{
	uint32_t t = lws_ring_get_oldest_tail(hub->ring);

	lws_ring_consume(hub->ring, &t, NULL,
			 lws_ring_get_count_waiting_elements(hub->ring, &t));
	return t;
}

unsigned long hub_fanout_used(struct hub *hub)
{
	uint32_t t = lws_ring_get_oldest_tail(hub->ring);

	return lws_ring_get_count_waiting_elements(hub->ring, &t);
}

unsigned long hub_fanout_depth(struct hub *hub, struct hub_conn *c)
{
	return c->fed ? lws_ring_get_count_waiting_elements(hub->ring, &c->tail) : 0;
}

/* The furthest-behind eater's tail becomes the ring's oldest tail. */
static void fanout_trim(struct hub *hub)
{
	uint32_t oldest = fanout_head(hub);
	int most = 0, w;

	for (struct hub_conn *c = hub->eaters; c; c = c->next) {
		if (!c->fed)
			continue;
		w = lws_ring_get_count_waiting_elements(hub->ring, &c->tail);
		if (w > most) {
			most = w;
			oldest = c->tail;
		}
	}
	fanout_release(hub, oldest);
}

static void fanout_free_all(struct hub *hub)
{
	fanout_release(hub, fanout_head(hub));
}

void hub_fanout_free(struct hub *hub)
{
	if (!hub->ring)
		return;
	fanout_free_all(hub);
	lws_ring_destroy(hub->ring);
	hub->ring = NULL;
	free(hub->batch);
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

static int fanout_wants(const struct hub_conn *c, const struct hub_msg *m)
{
	return filter_has(&c->chefs, m->chef) &&
	       filter_has(&c->kitchens, m->kitchen) &&
	       filter_has(&c->drivers, m->driver);
}

/* How many of the dumplings an eater is about to skip it would have got,
 * and how many of those carry a seq (which the eater sees as a gap). */
static unsigned long fanout_count_wanted(struct hub *hub, struct hub_conn *c,
					 unsigned long *numbered)
{
	uint32_t t = c->tail;
	const struct hub_msg *m;
	unsigned long n = 0;

	*numbered = 0;
	while ((m = lws_ring_get_element(hub->ring, &t))) {
		if (fanout_wants(c, m)) {
			n++;
			*numbered += m->seq != 0;
		}
		lws_ring_consume(hub->ring, &t, NULL, 1);
	}
	return n;
}

static void fanout_report_drop(struct hub *hub, struct hub_conn *c,
			       unsigned long n, const char *what)
{
	unsigned long suppressed;

	if (log_allow(&hub->drop_log, &suppressed))
		log_warn("eater %s:%d is a full queue behind: %s, %lu dumplings "
			 "dropped for it (%lu in all)%s", c->host, c->port, what,
			 n, c->dropped, suppressed ? " (some messages suppressed)" : "");
}

static void fanout_punish(struct hub *hub, struct hub_conn *c, uint32_t head)
{
	unsigned long numbered, n = fanout_count_wanted(hub, c, &numbered);

	c->dropped += n;
	c->dropped_numbered += numbered;
	hub->count.dropped += n;
	if (hub->cfg.slow == HUB_SLOW_SKIP) {
		c->tail = head;
		fanout_report_drop(hub, c, n, "skipped ahead");
		return;
	}
	hub->count.culled++;
	hub_fanout_leave(hub, c);
	fanout_report_drop(hub, c, n, "disconnected");
	hub_conn_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "eater too slow");
}

static int fanout_full(struct hub *hub, size_t len)
{
	if (hub_fanout_used(hub) >= (unsigned long)hub->cfg.queue_len)
		return 1;
	return hub->ring_bytes && hub->ring_bytes + len > hub->cfg.queue_bytes;
}

/* ---- lossless eaters ------------------------------------------------------ */

/* Bytes waiting for c, from the running total of bytes stored. */
static uint64_t fanout_bytes_behind(struct hub *hub, struct hub_conn *c)
{
	uint32_t t = c->tail;
	const struct hub_msg *m = lws_ring_get_element(hub->ring, &t);

	return m ? hub->bytes_stored - (m->end - m->len) : 0;
}

/* Whether some lossless eater is at least 1/part of a queue behind. */
static int fanout_lossless_behind(struct hub *hub, unsigned part)
{
	unsigned long most = (unsigned long)hub->cfg.queue_len / part;
	uint64_t bytes = hub->cfg.queue_bytes / part;

	for (struct hub_conn *c = hub->eaters; c; c = c->next)
		if (c->fed && c->lossless &&
		    (hub_fanout_depth(hub, c) >= most || fanout_bytes_behind(hub, c) >= bytes))
			return 1;
	return 0;
}

void hub_fanout_hold_kitchens(struct hub *hub, int hold)
{
	if (hub->paused == hold)
		return;
	hub->paused = hold;
	hub->count.holds += hold;
	log_debug("%s reading from kitchens: a lossless eater %s", hold ? "stopped" : "resumed",
		  hold ? "is a full queue behind" : "has caught up");
	for (struct hub_conn *c = hub->kitchens; c; c = c->next)
		if (c->greeted)
			lws_rx_flow_control(c->wsi, !hold);
}

/* Kitchens are read again once every lossless eater is half way there. */
static void fanout_maybe_resume(struct hub *hub)
{
	if (hub->paused && !fanout_lossless_behind(hub, 2))
		hub_fanout_hold_kitchens(hub, 0);
}

/* ---- making room ---------------------------------------------------------- */

/* Make room for len more bytes by dealing with the eaters at the oldest
 * tail; with no eater behind, the ring is simply emptied. A lossless eater
 * there holds the kitchens back instead, and the dumpling goes into the
 * slack; only when that too is full is it skipped like any other. */
static void fanout_make_room(struct hub *hub, size_t len)
{
	while (fanout_full(hub, len)) {
		uint32_t oldest = lws_ring_get_oldest_tail(hub->ring);
		uint32_t head = fanout_head(hub);
		int slack = lws_ring_get_count_free_elements(hub->ring) > 0, held = 0;
		struct hub_conn *c, *next;

		for (c = hub->eaters; c; c = next) {
			next = c->next;
			if (!c->fed || c->tail != oldest)
				continue;
			if (c->lossless && slack)
				held = 1;
			else
				fanout_punish(hub, c, head);
		}
		if (held) {
			hub_fanout_hold_kitchens(hub, 1);
			return;
		}
		fanout_trim(hub);
		if (lws_ring_get_oldest_tail(hub->ring) == oldest)
			fanout_free_all(hub);	/* nobody held it */
	}
}

static void fanout_wake(struct hub *hub)
{
	for (struct hub_conn *c = hub->eaters; c; c = c->next) {
		if (c->fed && !c->write_armed) {
			c->write_armed = 1;
			lws_callback_on_writable(c->wsi);
		}
	}
}

void hub_fanout_publish(struct hub *hub, const char *json, size_t len,
			const char *chef, const char *kitchen, const char *driver,
			struct hub_ledger *from, unsigned long long seq)
{
	size_t lc = strlen(chef) + 1;
	size_t lk = kitchen ? strlen(kitchen) + 1 : 0;
	size_t ld = driver ? strlen(driver) + 1 : 0;
	struct hub_msg m;
	char *p;

	if (!hub->neaters) {
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
	m.seq = seq;
	hub_ack_hold(from);
	hub->bytes_stored += len;
	m.end = hub->bytes_stored;
	lws_ring_insert(hub->ring, &m, 1);
	hub->ring_bytes += len;
	if (hub->nlossless && !hub->paused && fanout_lossless_behind(hub, 1))
		hub_fanout_hold_kitchens(hub, 1);
	fanout_wake(hub);
}

void hub_fanout_join(struct hub *hub, struct hub_conn *c)
{
	c->tail = fanout_head(hub);
	c->fed = 1;
	hub->neaters++;
	hub->nlossless += c->lossless;
}

void hub_fanout_leave(struct hub *hub, struct hub_conn *c)
{
	if (!c->fed)
		return;
	c->fed = 0;
	hub->neaters--;
	hub->nlossless -= c->lossless;
	fanout_trim(hub);
	fanout_maybe_resume(hub);
}

static int fanout_send(struct hub *hub, struct hub_conn *c, const struct hub_msg *m)
{
	if (lws_write(c->wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT) < 0)
		return -1;
	c->out++;
	hub->count.out++;
	return 0;
}

/* Uncompressed eaters get many frames per write(): we frame the waiting
 * dumplings ourselves into one buffer and hand lws the bytes as they go on
 * the wire. A system call per dumpling per eater is what limits a hub. */
static int fanout_send_batch(struct hub *hub, struct hub_conn *c)
{
	unsigned char *p = hub->batch + LWS_PRE, *start = p;
	const struct hub_msg *m;
	unsigned long n = 0;

	while ((m = lws_ring_get_element(hub->ring, &c->tail))) {
		if (fanout_wants(c, m)) {
			if ((size_t)(p - start) + WS_FRAME_OVERHEAD + m->len > HUB_BATCH_BYTES)
				break;
			p += ws_frame(p, WS_OP_TEXT, m->buf + LWS_PRE, m->len, NULL);
			n++;
		}
		lws_ring_consume(hub->ring, &c->tail, NULL, 1);
	}
	if (p == start)
		return 0;
	if (lws_write(c->wsi, start, (size_t)(p - start), LWS_WRITE_RAW) < 0)
		return -1;
	c->out += n;
	hub->count.out += n;
	return 0;
}

/* One at a time, through lws: compressed eaters, and dumplings too big to
 * share a batch. */
static int fanout_send_each(struct hub *hub, struct hub_conn *c)
{
	const struct hub_msg *m;
	int sent = 0;

	while (sent < HUB_WRITE_BATCH && (m = lws_ring_get_element(hub->ring, &c->tail))) {
		if (fanout_wants(c, m)) {
			if (fanout_send(hub, c, m) < 0)
				return -1;
			sent++;
		}
		lws_ring_consume(hub->ring, &c->tail, NULL, 1);
		/* the kernel took only part: lws holds the rest until the
		 * socket drains, and will call us again */
		if (sent && (!c->deflate || lws_partial_buffered(c->wsi)))
			break;
	}
	return 0;
}

/* Tell an eater that asked how many dumplings it was not sent since it
 * was last told, and how many of them had a seq: it is in line with the
 * dumplings, so the eater knows a gap it sees next is the hub's doing. */
static int fanout_send_notice(struct hub_conn *c)
{
	unsigned char buf[LWS_PRE + 96];
	int n = snprintf((char *)buf + LWS_PRE, sizeof buf - LWS_PRE,
			 "{\"notice\":\"skipped\",\"count\":%lu,\"numbered\":%lu}",
			 c->dropped - c->told, c->dropped_numbered - c->told_numbered);

	if (lws_write(c->wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < 0)
		return -1;
	c->told = c->dropped;
	c->told_numbered = c->dropped_numbered;
	return 0;
}

/* WRITEABLE for an eater: send what is waiting for it, in order, skipping
 * what its filters reject. */
int hub_fanout_writable(struct hub *hub, struct hub_conn *c)
{
	uint32_t before = c->tail;
	const struct hub_msg *m;
	int rc;

	c->write_armed = 0;
	if (!c->fed)
		return 0;
	if (c->notices && c->dropped != c->told) {
		if (fanout_send_notice(c) < 0)
			return -1;
		c->write_armed = 1;
		lws_callback_on_writable(c->wsi);
		return 0;
	}
	m = lws_ring_get_element(hub->ring, &c->tail);
	if (!c->deflate && m && m->len + WS_FRAME_OVERHEAD <= HUB_BATCH_BYTES)
		rc = fanout_send_batch(hub, c);
	else
		rc = fanout_send_each(hub, c);
	if (rc < 0)
		return -1;
	if (before == lws_ring_get_oldest_tail(hub->ring))
		fanout_trim(hub);
	if (c->lossless)
		fanout_maybe_resume(hub);
	if (lws_ring_get_count_waiting_elements(hub->ring, &c->tail)) {
		c->write_armed = 1;
		lws_callback_on_writable(c->wsi);
	}
	return 0;
}
