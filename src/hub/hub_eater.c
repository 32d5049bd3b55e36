/* An eater's connection as a fan-out subscriber (see hub_fanout.h): woken,
 * it asks lws for a WRITEABLE callback; there it writes what waits for it,
 * in order, and the notices it asked for. */
#include <stdio.h>

#include "hub.h"
#include "net/wsframe.h"

/* How many dumplings one WRITEABLE callback may send before yielding to the
 * rest of the loop; kitchens can insert several per loop turn, so an eater
 * must be able to drain several too. */
#define EATER_WRITE_BATCH 256
/* bytes framed into one write for an uncompressed eater */
#define EATER_BATCH_BYTES (64 * 1024)
/* A loop turn reads up to this much from every kitchen (the protocol's rx
 * buffer): an eater may write twice that per kitchen in one turn, so that
 * delivery keeps pace with ingest however many kitchens there are, and
 * the others still get their turn. */
#define EATER_KITCHEN_SHARE (2 * 16384)
#define EATER_TURN_MIN (256 * 1024)

/* Framed batches, one eater's at a time: the hub has one thread. */
static unsigned char eater_batch[LWS_PRE + EATER_BATCH_BYTES];

static struct hub_conn *eater_conn(struct hub_subscriber *s)
{
	return lws_container_of(s, struct hub_conn, sub);
}

static void eater_wake(struct hub_subscriber *s)
{
	lws_callback_on_writable(eater_conn(s)->wsi);
}

static void eater_cull(struct hub_subscriber *s)
{
	hub_conn_close(eater_conn(s), LWS_CLOSE_STATUS_POLICY_VIOLATION, "eater too slow");
}

static const struct hub_subscriber_ops eater_ops = {
	.wake = eater_wake,
	.cull = eater_cull,
};

void hub_eater_join(struct hub *hub, struct hub_conn *c)
{
	const char *why;

	c->sub.ops = &eater_ops;
	snprintf(c->sub.label, sizeof c->sub.label, "eater %s:%d", c->host, c->port);
	/* history first: the replay joins it to fan-out when it is time */
	if (c->wants_since || (c->wants_latest && hub->cfg.nats_stream)) {
		c->wants_latest = 0;	/* the replay says how many come */
		if (hub_replay_start(hub, c, c->wants_since ? c->replay_since : -1, &why) < 0)
			hub_conn_close(c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, why);
		return;
	}
	hub_fanout_join(hub, &c->sub);
	/* in the same turn as the join: what is live from now on goes to
	 * the ring behind its tail, the latest before it */
	if (c->wants_latest) {
		c->latest = hub_latest_for(&hub->latest, &c->sub);
		hub_fanout_wake(&c->sub);
	}
}

/* Uncompressed eaters get many frames per write(): we frame the waiting
 * dumplings ourselves into one buffer and hand lws the bytes as they go on
 * the wire. A system call per dumpling per eater is what limits a hub. */
static int eater_send_batch(struct hub *hub, struct hub_conn *c, size_t *wrote)
{
	unsigned char *p = eater_batch + LWS_PRE, *start = p;
	const struct hub_msg *m;
	unsigned long n = 0;

	while ((m = hub_fanout_next(hub, &c->sub))) {
		if ((size_t)(p - start) + WS_FRAME_OVERHEAD + m->len > EATER_BATCH_BYTES)
			break;
		p += ws_frame(p, WS_OP_TEXT, m->buf + LWS_PRE, m->len, NULL);
		n++;
		hub_fanout_take(hub, &c->sub);
	}
	if (p == start)
		return 0;
	if (lws_write(c->wsi, start, (size_t)(p - start), LWS_WRITE_RAW) < 0)
		return -1;
	hub_fanout_sent(hub, &c->sub, n);
	*wrote += (size_t)(p - start);
	return 0;
}

/* One at a time, through lws: compressed eaters, and dumplings too big to
 * share a batch. */
static int eater_send_each(struct hub *hub, struct hub_conn *c, size_t *wrote)
{
	const struct hub_msg *m;
	int sent = 0;

	while (sent < EATER_WRITE_BATCH && (m = hub_fanout_next(hub, &c->sub))) {
		if (lws_write(c->wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT) < 0)
			return -1;
		hub_fanout_sent(hub, &c->sub, 1);
		sent++;
		*wrote += m->len;
		hub_fanout_take(hub, &c->sub);
		/* lws writes uncompressed messages whole, so a batch may follow */
		if (!c->deflate || lws_partial_buffered(c->wsi))
			break;
	}
	return 0;
}

/* What one eater may write in one WRITEABLE callback. */
static size_t eater_turn_budget(const struct hub *hub)
{
	size_t share = (size_t)(hub->nkitchens + 1) * EATER_KITCHEN_SHARE;

	return share > EATER_TURN_MIN ? share : EATER_TURN_MIN;
}

/* Write while the socket takes it, within the turn's budget: the kernel
 * took the whole of each write so far, and when it takes only part lws
 * keeps the rest and calls again once the socket drains. */
static int eater_send(struct hub *hub, struct hub_conn *c)
{
	size_t wrote = 0, budget = eater_turn_budget(hub);
	const struct hub_msg *m;
	int rc;

	while (wrote < budget && (m = hub_fanout_next(hub, &c->sub))) {
		if (!c->deflate && m->len + WS_FRAME_OVERHEAD <= EATER_BATCH_BYTES)
			rc = eater_send_batch(hub, c, &wrote);
		else
			rc = eater_send_each(hub, c, &wrote);
		if (rc < 0)
			return -1;
		if (lws_partial_buffered(c->wsi))
			break;
	}
	return 0;
}

/* Tell an eater that asked how many dumplings it was not sent since it
 * was last told, and how many of them had a seq: it is in line with the
 * dumplings, so the eater knows a gap it sees next is the hub's doing. */
static int eater_send_notice(struct hub_conn *c)
{
	unsigned char buf[LWS_PRE + 96];
	int n = snprintf((char *)buf + LWS_PRE, sizeof buf - LWS_PRE,
			 "{\"notice\":\"skipped\",\"count\":%lu,\"numbered\":%lu}",
			 c->sub.dropped - c->told, c->sub.dropped_numbered - c->told_numbered);

	if (lws_write(c->wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < 0)
		return -1;
	c->told = c->sub.dropped;
	c->told_numbered = c->sub.dropped_numbered;
	return 0;
}

/* An eater that asked for the latest dumplings is told how many come,
 * {"notice": "latest", "count": N}, so that it does not count the jump
 * from each to the live stream as a loss; then they come, one write each,
 * a burst only once per connection. */
static int eater_send_latest(struct hub *hub, struct hub_conn *c)
{
	unsigned char *json;
	size_t len;
	int sent = 0;

	if (!c->latest_told) {
		unsigned char buf[LWS_PRE + 64];
		int n = snprintf((char *)buf + LWS_PRE, sizeof buf - LWS_PRE,
				 "{\"notice\":\"latest\",\"count\":%zu}",
				 c->latest ? c->latest->n : 0);

		if (lws_write(c->wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < 0)
			return -1;
		c->latest_told = 1;
		return 0;
	}
	while (sent < EATER_WRITE_BATCH && latest_batch_peek(c->latest, &json, &len)) {
		if (lws_write(c->wsi, json, len, LWS_WRITE_TEXT) < 0)
			return -1;
		latest_batch_pop(c->latest);
		hub->count.latest_sent++;
		sent++;
		if (lws_partial_buffered(c->wsi))
			break;
	}
	if (!latest_batch_peek(c->latest, &json, &len)) {
		latest_batch_free(c->latest);
		c->latest = NULL;
	}
	return 0;
}

/* WRITEABLE for an eater: send what is waiting for it, in order, skipping
 * what its filters reject. */
int hub_eater_writable(struct hub *hub, struct hub_conn *c)
{
	struct hub_subscriber *s = &c->sub;
	uint32_t began = s->tail;

	s->woken = 0;
	if (c->replay) {
		int rc = hub_replay_writable(hub, c);

		if (rc <= 0)
			return rc;
	}
	if (!s->fed)
		return 0;
	if (c->wants_latest && (!c->latest_told || c->latest)) {
		if (eater_send_latest(hub, c) < 0)
			return -1;
		hub_fanout_wake(s);
		return 0;
	}
	if (c->notices && s->dropped != c->told) {
		if (eater_send_notice(c) < 0)
			return -1;
		hub_fanout_wake(s);
		return 0;
	}
	if (eater_send(hub, c) < 0)
		return -1;
	hub_fanout_settle(hub, s, began);
	return 0;
}
