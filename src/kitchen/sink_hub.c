/* The kitchen's uplink to the hub. Between the kitchen thread (emit) and
 * the socket sits a bounded queue (UPLINK_MAX_ITEMS dumplings and
 * UPLINK_MAX_BYTES bytes). An uplink thread owns its own lws context and
 * drains the queue; the kitchen thread only locks the queue and, when the
 * uplink found it empty and sleeps, wakes it with lws_cancel_service(), the
 * one lws call that is safe from another thread. It does so once a plate
 * (at flush), or once a full write is waiting: a wake per dumpling is a
 * pipe write and a context switch each, more than framing costs.
 *
 * When the queue is full: reading files (lossless) waits for room, so
 * nothing is lost however slow the hub; live capture drops the oldest
 * dumpling, counts it and logs (rate-limited), so capture never stalls.
 * While the hub is away the uplink reconnects with backoff, 100 ms doubling
 * up to 5 s, and resends the hello on every new connection.
 *
 * What was written is kept, as many again as the queue holds, until the
 * hub acknowledges it ({"ack": SEQ}, asked for in the hello): when a
 * connection breaks, what it had not acknowledged is sent again on the
 * next one, ahead of the queue, and the hub and eaters drop what they had
 * already (by seq). What could not be kept that long, or was written to a
 * hub that does not acknowledge, is counted as unconfirmed when the
 * connection breaks: written, and not known to have arrived. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <libwebsockets.h>

#include "base/log.h"
#include "sink.h"
#include "base/util.h"
#include "net/wsclient.h"
#include "net/wsutil.h"

#define UPLINK_MAX_ITEMS	16384
#define UPLINK_MAX_BYTES	(16u << 20)
#define UPLINK_BACKOFF_MIN	0.1
#define UPLINK_BACKOFF_MAX	5.0
#define UPLINK_PROVEN_SECONDS	2.0	/* a connection this long resets the backoff */
#define UPLINK_WRITE_BATCH	512
#define UPLINK_BATCH_BYTES	(64 * 1024)	/* framed into one write */
/* close() waits this long without progress before giving up on a hub */
#define UPLINK_CLOSE_GRACE	5.0

struct uplink_item {
	unsigned char *buf;	/* LWS_PRE headroom, then the JSON */
	size_t len;
	unsigned long long seq;	/* 0: not numbered (a hello) */
};

/* Items in order, in a ring of cap slots. */
struct uplink_ring {
	struct uplink_item *v;
	size_t cap, head, count, bytes;
};

struct hub_sink {
	struct sink base;
	char hubs[1024];	/* "hub A" or "hubs A, B": fixed, for any thread */
	int lossless;
	char *hello;
	size_t hello_len;
	struct wsclient *ws;
	unsigned char *batch;	/* LWS_PRE + UPLINK_BATCH_BYTES */
	pthread_t thread;

	/* shared with the kitchen thread, under mu */
	pthread_mutex_t mu;
	pthread_cond_t room;
	struct uplink_ring q;		/* not yet written */
	struct uplink_ring unacked;	/* written, not yet acknowledged */
	int closing, finished;
	int asleep;			/* the uplink found q empty: wake it */
	int hub_acks;			/* this connection's hub acknowledges */
	unsigned long long acked;	/* the last seq it acknowledged */
	unsigned long long forgot_seq;	/* the last unacked one let go */
	unsigned long forgotten;	/* numbered ones let go, not acked */
	unsigned long dropped, sent, reconnects, resent, unconfirmed;
	struct log_limit drop_log;

	/* the uplink thread's own */
	int connecting, hello_sent, close_sent, close_seen, ever_connected;
	int closed_clean;		/* the hub answered our close */
	double backoff, next_connect, last_progress;
	double connected_at;		/* when the connection was established */
	struct log_limit conn_log;
};

/* ---- the queues (caller holds mu) --------------------------------------- */

static void ring_init(struct uplink_ring *r, size_t cap)
{
	r->v = xcalloc(cap, sizeof *r->v);
	r->cap = cap;
}

static void ring_push(struct uplink_ring *r, struct uplink_item it)
{
	r->v[(r->head + r->count) % r->cap] = it;
	r->count++;
	r->bytes += it.len;
}

static void ring_push_front(struct uplink_ring *r, struct uplink_item it)
{
	r->head = (r->head + r->cap - 1) % r->cap;
	r->v[r->head] = it;
	r->count++;
	r->bytes += it.len;
}

static struct uplink_item ring_pop(struct uplink_ring *r)
{
	struct uplink_item it = r->v[r->head];

	r->head = (r->head + 1) % r->cap;
	r->count--;
	r->bytes -= it.len;
	return it;
}

static struct uplink_item ring_pop_back(struct uplink_ring *r)
{
	struct uplink_item it = r->v[(r->head + r->count - 1) % r->cap];

	r->count--;
	r->bytes -= it.len;
	return it;
}

static void ring_free(struct uplink_ring *r)
{
	while (r->count)
		free(ring_pop(r).buf);
	free(r->v);
}

static int ring_full(const struct uplink_ring *r, size_t len)
{
	return r->count >= UPLINK_MAX_ITEMS ||
	       (r->count && r->bytes + len > UPLINK_MAX_BYTES);
}

static void uplink_drop_oldest(struct hub_sink *s)
{
	struct uplink_item it = ring_pop(&s->q);
	unsigned long suppressed;

	free(it.buf);
	s->dropped++;
	if (log_allow(&s->drop_log, &suppressed))
		log_warn("uplink to %s is full: dropped the oldest dumpling "
			 "(%lu dropped so far)", s->hubs, s->dropped);
}

/* Written items are kept, in order, until acknowledged; past the bound the
 * oldest is let go, and counted as unconfirmed if its connection breaks
 * before an acknowledgement covers it. */
static void uplink_keep(struct hub_sink *s, struct uplink_item it)
{
	while (ring_full(&s->unacked, it.len)) {
		struct uplink_item old = ring_pop(&s->unacked);

		if (old.seq) {
			s->forgot_seq = old.seq;
			s->forgotten++;
		}
		free(old.buf);
	}
	ring_push(&s->unacked, it);
}

static void uplink_acked(struct hub_sink *s, unsigned long long seq)
{
	struct uplink_ring *u = &s->unacked;

	s->hub_acks = 1;
	if (seq > s->acked)
		s->acked = seq;
	while (u->count && u->v[u->head].seq <= s->acked)
		free(ring_pop(u).buf);
	if (s->acked >= s->forgot_seq)
		s->forgotten = 0;
	else if (s->forgotten > s->forgot_seq - s->acked)
		s->forgotten = (unsigned long)(s->forgot_seq - s->acked);
}

static unsigned long numbered(const struct uplink_ring *r)
{
	unsigned long n = 0;

	for (size_t i = 0; i < r->count; i++)
		n += r->v[(r->head + i) % r->cap].seq != 0;
	return n;
}

enum uplink_end { UPLINK_CLEAN, UPLINK_BROKEN, UPLINK_GAVE_UP };

/* A connection ended: after a clean close the hub has read everything;
 * after a break, what it had not acknowledged goes out again first on the
 * next connection, and what cannot (let go, or the hub does not
 * acknowledge) is unconfirmed, as is everything unacknowledged when the
 * kitchen gives up. */
static void uplink_settle(struct hub_sink *s, enum uplink_end end)
{
	struct uplink_ring *u = &s->unacked;

	if (end == UPLINK_CLEAN) {
		while (u->count)
			free(ring_pop(u).buf);
	} else if (end == UPLINK_BROKEN && s->hub_acks) {
		s->unconfirmed += s->forgotten;
		s->resent += u->count;
		while (u->count)
			ring_push_front(&s->q, ring_pop_back(u));
	} else {
		s->unconfirmed += numbered(u) + (s->hub_acks ? s->forgotten : 0);
		while (u->count)
			free(ring_pop(u).buf);
	}
	s->forgotten = 0;
	s->hub_acks = 0;
}

/* ---- the kitchen's side -------------------------------------------------- */

static int stopping(const struct hub_sink *s)
{
	return s->base.stop;
}

/* Signals do not end a wait on a condition, so the wait ends every tenth
 * of a second to see whether the kitchen is stopping. */
static void wait_for_room(struct hub_sink *s)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += 100 * 1000 * 1000;
	if (until.tv_nsec >= 1000 * 1000 * 1000) {
		until.tv_sec++;
		until.tv_nsec -= 1000 * 1000 * 1000;
	}
	pthread_cond_timedwait(&s->room, &s->mu, &until);
}

static int uplink_emit(struct sink *base, const char *json, size_t len,
		       unsigned long long seq)
{
	struct hub_sink *s = (struct hub_sink *)base;
	struct uplink_item it = { xmalloc(LWS_PRE + len), len, seq };
	int wake;

	memcpy(it.buf + LWS_PRE, json, len);
	pthread_mutex_lock(&s->mu);
	while (ring_full(&s->q, len) && !s->finished) {
		if (!s->lossless || stopping(s)) {
			uplink_drop_oldest(s);
			continue;
		}
		if (s->asleep) {	/* a full queue of big dumplings */
			s->asleep = 0;
			pthread_mutex_unlock(&s->mu);
			wsclient_wake(s->ws);
			pthread_mutex_lock(&s->mu);
			continue;
		}
		wait_for_room(s);
	}
	if (s->finished) {	/* the uplink gave up: nothing can be sent */
		s->dropped++;
		pthread_mutex_unlock(&s->mu);
		free(it.buf);
		return -1;
	}
	ring_push(&s->q, it);
	wake = s->asleep && s->q.count >= UPLINK_WRITE_BATCH;
	if (wake)
		s->asleep = 0;
	pthread_mutex_unlock(&s->mu);
	if (wake)
		wsclient_wake(s->ws);
	return 0;
}

static void uplink_flush(struct sink *base)
{
	struct hub_sink *s = (struct hub_sink *)base;
	int wake;

	pthread_mutex_lock(&s->mu);
	wake = s->asleep && s->q.count > 0;
	if (wake)
		s->asleep = 0;
	pthread_mutex_unlock(&s->mu);
	if (wake)
		wsclient_wake(s->ws);
}

/* ---- the uplink thread --------------------------------------------------- */

static void uplink_connect(struct hub_sink *s)
{
	s->connecting = 1;
	wsclient_connect(s->ws);
}

static void uplink_established(void *user)
{
	struct hub_sink *s = user;
	char hub[300];

	s->connecting = 0;
	s->hello_sent = 0;
	s->connected_at = s->last_progress = monotonic_seconds();

	wsclient_hub_name(wsclient_current(s->ws), 0, hub, sizeof hub);
	log_info("connected to hub %s%s", hub, s->ever_connected ? " again" : "");
	if (s->ever_connected) {
		pthread_mutex_lock(&s->mu);
		s->reconnects++;
		pthread_mutex_unlock(&s->mu);
	}
	s->ever_connected = 1;
	wsclient_want_write(s->ws);
}

static void uplink_schedule(struct hub_sink *s)
{
	int closing;

	pthread_mutex_lock(&s->mu);
	closing = s->closing;
	pthread_mutex_unlock(&s->mu);
	if (closing)	/* tick often, to notice when close() may finish */
		wsclient_after(s->ws, 0.1);
	else if (!s->connecting && !wsclient_connected(s->ws))
		wsclient_after(s->ws, s->next_connect - monotonic_seconds());
}

static void uplink_say_lost(struct hub_sink *s, const char *hub, int was_established,
			   int code, const char *why, double delay)
{
	unsigned long suppressed;
	char next[300], then[320];

	if (!log_allow(&s->conn_log, &suppressed))
		return;
	wsclient_hub_name(wsclient_current(s->ws), 0, next, sizeof next);
	if (strcmp(hub, next))
		snprintf(then, sizeof then, "trying hub %s", next);
	else
		snprintf(then, sizeof then, "retrying");
	if (code)
		log_warn("the hub %s closed the connection with code %d; %s in %.1f s",
			 hub, code, then, delay);
	else
		log_warn("%s hub %s (%s); %s in %.1f s",
			 was_established ? "lost the connection to" : "cannot reach", hub, why,
			 then, delay);
}

/* The next hub has its turn (wsclient_next_hub()): at once while some
 * hub of -H's list is untried since one last answered, then after a
 * backoff that doubles with each round that fails. */
static void uplink_lost(void *user, int was_established, int code, const char *why)
{
	struct hub_sink *s = user;
	double delay = UPLINK_BACKOFF_MIN;
	char hub[300];

	s->connecting = 0;
	s->hello_sent = 0;
	if (was_established) {
		s->closed_clean = s->close_sent && code;
		pthread_mutex_lock(&s->mu);
		uplink_settle(s, s->closed_clean ? UPLINK_CLEAN : UPLINK_BROKEN);
		pthread_mutex_unlock(&s->mu);
	}
	if (s->close_sent)
		return;
	/* a hub that kept us a while has earned a quick return; one that
	 * takes us and drops us at once has not */
	if (was_established && monotonic_seconds() - s->connected_at >= UPLINK_PROVEN_SECONDS)
		s->backoff = UPLINK_BACKOFF_MIN;
	wsclient_hub_name(wsclient_current(s->ws), 0, hub, sizeof hub);
	if (wsclient_next_hub(s->ws)) {
		delay = s->backoff;
		s->backoff *= 2;
		if (s->backoff > UPLINK_BACKOFF_MAX)
			s->backoff = UPLINK_BACKOFF_MAX;
	}
	uplink_say_lost(s, hub, was_established, code, why, delay);
	s->next_connect = monotonic_seconds() + delay;
	uplink_schedule(s);
}

static void uplink_timer(void *user)
{
	struct hub_sink *s = user;

	if (!s->connecting && !wsclient_connected(s->ws) && !s->close_sent &&
	    monotonic_seconds() >= s->next_connect)
		uplink_connect(s);
	uplink_schedule(s);
}

/* The hub says one thing to kitchens: {"ack":SEQ}. */
static int uplink_message(void *user, const char *msg, size_t len)
{
	static const char ack[] = "{\"ack\":";
	struct hub_sink *s = user;
	char num[24];
	size_t n = len - (sizeof ack - 1);

	if (len <= sizeof ack || len - (sizeof ack - 1) >= sizeof num ||
	    memcmp(msg, ack, sizeof ack - 1))
		return 0;
	memcpy(num, msg + sizeof ack - 1, n);
	num[n] = '\0';
	pthread_mutex_lock(&s->mu);
	uplink_acked(s, strtoull(num, NULL, 10));
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* Written, or tried: kept until acknowledged (a failed write ends the
 * connection, and uplink_settle() decides). */
static void uplink_written(struct hub_sink *s, struct uplink_item *items, size_t n, int ok)
{
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < n; i++)
		uplink_keep(s, items[i]);
	if (ok)
		s->sent += n;
	pthread_mutex_unlock(&s->mu);
}

/* Take what fits in one write off the queue, under the lock but without
 * copying, so the kitchen is held up as little as possible. */
static size_t uplink_take(struct hub_sink *s, struct uplink_item *out, int *more)
{
	size_t n = 0, bytes = 0;

	pthread_mutex_lock(&s->mu);
	while (s->q.count && n < UPLINK_WRITE_BATCH &&
	       (n == 0 || bytes + s->q.v[s->q.head].len + WSCLIENT_FRAME_OVERHEAD <= UPLINK_BATCH_BYTES)) {
		out[n] = ring_pop(&s->q);
		bytes += out[n++].len + WSCLIENT_FRAME_OVERHEAD;
	}
	pthread_cond_broadcast(&s->room);
	*more = s->q.count > 0;
	s->asleep = !*more;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* A dumpling too big to share a batch goes alone, framed by lws. */
static int uplink_send_one(struct hub_sink *s, struct uplink_item *it)
{
	return wsclient_write(s->ws, it->buf + LWS_PRE, it->len);
}

/* Frame a batch into one buffer and send it with one write(): a system
 * call per dumpling is what would limit the uplink. */
static int uplink_send_batch(struct hub_sink *s, struct uplink_item *items, size_t n)
{
	unsigned char *p = s->batch + LWS_PRE;

	for (size_t i = 0; i < n; i++)
		p += wsclient_frame(s->ws, p, items[i].buf + LWS_PRE, items[i].len);
	return wsclient_write_frames(s->ws, s->batch + LWS_PRE,
				     (size_t)(p - (s->batch + LWS_PRE)));
}

/* Send the queue in order; one batch per WRITEABLE, then ask again. */
static int uplink_send_queue(struct hub_sink *s)
{
	struct uplink_item items[UPLINK_WRITE_BATCH];
	int more, rc;
	size_t n = uplink_take(s, items, &more);

	if (!n)
		return 0;
	if (n == 1 && items[0].len + WSCLIENT_FRAME_OVERHEAD > UPLINK_BATCH_BYTES)
		rc = uplink_send_one(s, &items[0]);
	else
		rc = uplink_send_batch(s, items, n);
	uplink_written(s, items, n, rc >= 0);
	if (rc < 0)
		return -1;
	s->last_progress = monotonic_seconds();
	if (more)
		wsclient_want_write(s->ws);
	return 0;
}

static int uplink_writable(void *user)
{
	struct hub_sink *s = user;

	if (!s->hello_sent) {
		int rc;

		pthread_mutex_lock(&s->mu);	/* uplink_describe may replace it */
		rc = wsclient_write_copy(s->ws, s->hello, s->hello_len);
		pthread_mutex_unlock(&s->mu);
		if (rc < 0)
			return -1;
		s->hello_sent = 1;
		wsclient_want_write(s->ws);
		return 0;
	}
	return uplink_send_queue(s);
}

static void uplink_woken(void *user)
{
	struct hub_sink *s = user;

	if (wsclient_connected(s->ws))
		wsclient_want_write(s->ws);
	uplink_schedule(s);
}

static const struct wsclient_ops uplink_ops = {
	.established = uplink_established,
	.message = uplink_message,
	.writable = uplink_writable,
	.lost = uplink_lost,
	.woken = uplink_woken,
	.timer = uplink_timer,
};

/* Closing: once everything queued is written, say goodbye (1000); give up
 * when nothing has moved for UPLINK_CLOSE_GRACE seconds. */
static int uplink_check_close(struct hub_sink *s)
{
	size_t left;

	pthread_mutex_lock(&s->mu);
	left = s->closing ? s->q.count : (size_t)-1;
	pthread_mutex_unlock(&s->mu);
	if (left == (size_t)-1)
		return 0;
	if (!s->close_seen) {	/* the grace period starts now */
		s->close_seen = 1;
		s->last_progress = monotonic_seconds();
	}
	if (s->close_sent)
		return !wsclient_connected(s->ws) ||
		       monotonic_seconds() - s->last_progress > UPLINK_CLOSE_GRACE;
	if (!left && (!s->ever_connected || s->hello_sent) && !wsclient_buffered(s->ws)) {
		if (!wsclient_connected(s->ws))
			return 1;
		s->close_sent = 1;
		s->last_progress = monotonic_seconds();
		wsclient_close(s->ws, LWS_CLOSE_STATUS_NORMAL, "kitchen done");
		return 0;
	}
	if (monotonic_seconds() - s->last_progress > UPLINK_CLOSE_GRACE) {
		log_error("%s: gave up with %zu dumplings unsent", s->hubs, left);
		return 1;
	}
	return 0;
}

static void *uplink_run(void *arg)
{
	struct hub_sink *s = arg;

	uplink_connect(s);
	while (!uplink_check_close(s))
		if (wsclient_service(s->ws) < 0)
			break;
	pthread_mutex_lock(&s->mu);
	s->finished = 1;
	pthread_cond_broadcast(&s->room);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static int uplink_close(struct sink *base)
{
	struct hub_sink *s = (struct hub_sink *)base;
	unsigned long unsent = 0;
	int lossless = s->lossless;

	pthread_mutex_lock(&s->mu);
	s->closing = 1;
	pthread_mutex_unlock(&s->mu);
	/* the uplink thread may be idle: the timer keeps it checking */
	wsclient_wake(s->ws);
	pthread_join(s->thread, NULL);
	uplink_settle(s, s->closed_clean ? UPLINK_CLEAN : UPLINK_GAVE_UP);
	while (s->q.count) {
		free(ring_pop(&s->q).buf);
		s->dropped++;
		unsent++;
	}
	if (s->dropped || s->unconfirmed)
		log_warn("uplink to %s: %lu dumplings sent, %lu dropped, %lu unconfirmed "
			 "(written to a connection that broke), %lu sent again", s->hubs,
			 s->sent, s->dropped, s->unconfirmed, s->resent);
	else if (s->reconnects)
		log_info("uplink to %s: %lu dumplings sent, %lu of them again after a "
			 "connection broke", s->hubs, s->sent, s->resent);
	wsclient_free(s->ws);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->room);
	ring_free(&s->q);
	ring_free(&s->unacked);
	free(s->batch);
	free(s->hello);
	free(s);
	/* What was still queued when the kitchen gave up fails the run; what
	 * a broken connection took is counted (dropped, and as seq gaps at
	 * the hub), but the kitchen did not give up on it. */
	return lossless && unsent ? -1 : 0;
}

/* ---- opening ------------------------------------------------------------ */

/* The hello fits in HELLO_BUDGET bytes, well under the 16 KiB a hub takes
 * by default (--max-hello): a kitchen reading many files, or one file many
 * times, would otherwise say hello with every name and be refused. Strings
 * are cut at HELLO_MAX_STRING bytes, as the hub would cut them; names go
 * into the lists, chefs first, each once, while they fit. */
#define HELLO_BUDGET		(8 << 10)
#define HELLO_MAX_STRING	1024

/* Bytes s takes as a JSON string, at most: quotes, and escapes counted at
 * their longest. */
static size_t json_size(const char *s, size_t n)
{
	size_t size = 2;

	for (size_t i = 0; i < n; i++)
		size += (unsigned char)s[i] < 0x20 ? 6 : s[i] == '"' || s[i] == '\\' ? 2 : 1;
	return size;
}

/* s cut to HELLO_MAX_STRING bytes, not inside a UTF-8 character. */
static cJSON *hello_string(const char *s, size_t *used)
{
	size_t n = strlen(s);
	char *cut;
	cJSON *v;

	if (n > HELLO_MAX_STRING) {
		n = HELLO_MAX_STRING;
		while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	cut = xmalloc(n + 1);
	memcpy(cut, s, n);
	cut[n] = '\0';
	v = cJSON_CreateString(cut);
	free(cut);
	*used += json_size(s, n) + 16;	/* and its key */
	return v;
}

static int seen_before(const char *const *v, int i)
{
	for (int j = 0; j < i; j++)
		if (!strcmp(v[j], v[i]))
			return 1;
	return 0;
}

/* The names of v, each once, while they fit in the budget. */
static cJSON *hello_names(const char *const *v, int n, size_t *used)
{
	cJSON *arr = cJSON_CreateArray();

	*used += 16;
	for (int i = 0; i < n; i++) {
		size_t size = json_size(v[i], strlen(v[i])) + 1;

		if (seen_before(v, i))
			continue;
		if (*used + size > HELLO_BUDGET || strlen(v[i]) > HELLO_MAX_STRING)
			break;
		cJSON_AddItemToArray(arr, cJSON_CreateString(v[i]));
		*used += size;
	}
	return arr;
}

/* The original's "interface": the names, each once, joined by commas, cut
 * to HELLO_MAX_STRING bytes. */
static char *hello_interface(const struct kitchen_info *info)
{
	size_t n = 0;
	char *iface;

	for (int i = 0; i < info->ninterfaces; i++)
		n += strlen(info->interfaces[i]) + 1;
	iface = xcalloc(1, n + 1);
	for (int i = 0; i < info->ninterfaces; i++) {
		if (seen_before(info->interfaces, i))
			continue;
		if (*iface)
			strcat(iface, ",");
		strcat(iface, info->interfaces[i]);
	}
	return iface;
}

static char *uplink_hello(const struct kitchen_info *info, size_t *len)
{
	cJSON *h = cJSON_CreateObject();
	char *iface = hello_interface(info), *json;
	size_t used = 2;

	cJSON_AddItemToObject(h, "kitchen_name", hello_string(info->name, &used));
	cJSON_AddItemToObject(h, "interface", hello_string(iface, &used));
	cJSON_AddItemToObject(h, "filter", hello_string(info->filter ? info->filter : "", &used));
	used += 40;	/* poke_interval, and the braces */
	cJSON_AddItemToObject(h, "chefs", hello_names(info->chefs, info->nchefs, &used));
	cJSON_AddNumberToObject(h, "poke_interval", info->poke_interval);
	cJSON_AddItemToObject(h, "interfaces",
			      hello_names(info->interfaces, info->ninterfaces, &used));
	cJSON_AddBoolToObject(h, "acks", 1);
	json = cJSON_PrintUnformatted(h);
	cJSON_Delete(h);
	free(iface);
	*len = strlen(json);
	return json;
}

static void uplink_stats(struct sink *base, struct sink_stats *st)
{
	struct hub_sink *s = (struct hub_sink *)base;

	pthread_mutex_lock(&s->mu);
	st->sent = s->sent;
	st->buffered = s->q.count;
	st->dropped = s->dropped;
	st->reconnects = s->reconnects;
	st->resent = s->resent;
	st->unconfirmed = s->unconfirmed;
	st->acked = s->acked;
	pthread_mutex_unlock(&s->mu);
}

/* The kitchen's chefs changed: the hello of every later connection says
 * so, and the hub hears it now, as a message of its own in line with the
 * dumplings (the original hub counts it as an invalid dumpling, and goes
 * on). */
static void uplink_describe(struct sink *base, const struct kitchen_info *info)
{
	struct hub_sink *s = (struct hub_sink *)base;
	size_t len;
	char *hello = uplink_hello(info, &len);

	pthread_mutex_lock(&s->mu);
	free(s->hello);
	s->hello = hello;
	s->hello_len = len;
	pthread_mutex_unlock(&s->mu);
	uplink_emit(base, hello, len, 0);
}

struct sink *sink_hub_open(const struct wsclient_target *hub,
			   const struct kitchen_info *info, int lossless)
{
	struct hub_sink *s = xcalloc(1, sizeof *s);

	char names[sizeof s->hubs - 8];

	wsclient_hubs_name(hub, names, sizeof names);
	snprintf(s->hubs, sizeof s->hubs, "%s %s", hub->nhubs > 1 ? "hubs" : "hub", names);
	s->lossless = lossless;
	s->asleep = 1;
	s->backoff = UPLINK_BACKOFF_MIN;
	s->hello = uplink_hello(info, &s->hello_len);
	/* room for what the last connection left unacknowledged, too */
	ring_init(&s->q, 2 * UPLINK_MAX_ITEMS);
	ring_init(&s->unacked, UPLINK_MAX_ITEMS);
	s->batch = xmalloc(LWS_PRE + UPLINK_BATCH_BYTES);
	wsutil_log_init(0);	/* we log connection trouble ourselves */
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->room, NULL);
	s->ws = wsclient_new(hub, &uplink_ops, s, 1 << 20);
	if (!s->ws || start_thread(&s->thread, uplink_run, s) != 0) {
		log_error("cannot start the uplink to %s", s->hubs);
		wsclient_free(s->ws);
		free(s->batch);
		ring_free(&s->q);
		ring_free(&s->unacked);
		free(s->hello);
		free(s);
		return NULL;
	}
	s->base.emit = uplink_emit;
	s->base.flush = uplink_flush;
	s->base.close = uplink_close;
	s->base.describe = uplink_describe;
	s->base.stats = uplink_stats;
	return &s->base;
}
