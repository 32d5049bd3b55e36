/* Replays from the federation's history (see hub_replay.h).
 *
 * A replay is shared by two threads: the hub's (its eater, fan-out, the
 * writes) and its own (the consumer, the queue's far end). What both touch
 * is under r->lock; each drops its reference when done with it, and the
 * last one frees it. The thread never touches the eater's connection, and
 * ends before the NATS connection does (hub_replay_close_all). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "hub.h"
#include "hub_link.h"
#include "hub_replay.h"
#include "base/jsonscan.h"
#include "base/seqbook.h"
#include "base/util.h"

#define REPLAY_MAX 16			/* at once; more are refused */
#define REPLAY_QUEUE_N 4096		/* queued for the eater */
#define REPLAY_QUEUE_BYTES (4u << 20)
#define REPLAY_LATEST_BYTES (16u << 20)	/* the latest, held until all are in */
#define REPLAY_PENDING_N 8192		/* the NATS client's, per consumer */
#define REPLAY_PENDING_BYTES (16 << 20)
#define REPLAY_API_WAIT_MS 3000		/* a JetStream request's answer */
#define REPLAY_POLL_MS 50
#define REPLAY_STREAM_WAIT 5.0		/* for the link to find the stream */
#define REPLAY_STUCK 15.0		/* history that gives nothing while it owes */
#define REPLAY_GRACE 1.0		/* the consumer goes on after the join */
#define REPLAY_GRACE_MAX 10.0		/* however long the link's outbox takes */
#define REPLAY_SEAM 1.0			/* fan-out checked past the hand-over */
#define REPLAY_WRITE_BATCH 256

struct replay_item {
	struct replay_item *next;
	size_t len;
	int notice;			/* the hub's word, not a dumpling */
	unsigned char buf[];		/* LWS_PRE bytes, then the dumpling */
};

enum replay_state {
	REPLAY_READING,			/* the stream still owes */
	REPLAY_CAUGHT,			/* nothing more owed: the eater may join */
	REPLAY_ENDED,			/* the consumer is gone; the queue drains */
	REPLAY_FAILED,
};

struct hub_replay {
	/* the hub's thread only */
	struct hub_replay *prev, *next;	/* in hub->replays */
	struct hub_conn *conn;
	int joined;
	int seam;			/* fan-out is checked against book */
	int seam_over;			/* seam_wants saw the eater past it */
	double seam_until;
	uint64_t seam_bytes;		/* fan-out's bytes stored at the hand-over */
	const struct hub_subscriber_ops *live_ops;	/* the eater's own */
	struct hub_subscriber_ops join_ops;	/* the same, covered by the consumer */
	struct hub_subscriber_ops seam_ops;	/* the same, but for wants */
	struct seq_book book;		/* the thread's, once it has ended */
	char *scratch;
	size_t scratch_len;

	/* set before the thread starts, then only read */
	struct hub *hub;
	jsCtx *js;
	char *stream;
	char subject[256];
	int latest;			/* the last per subject, not since a time */
	int64_t since_ns;
	struct hub_subscriber filter;	/* a copy of the eater's filters */
	pthread_t thread;

	/* the thread's own */
	natsSubscription *sub;
	uint64_t next_dseq, last_sseq;
	int64_t dropped_seen;
	struct seq_book tbook;
	char *tscratch;
	size_t tscratch_len;
	double heard;			/* when the consumer last gave a dumpling */

	/* both, under lock */
	pthread_mutex_t lock;
	pthread_cond_t room;
	struct replay_item *head, *tail;
	size_t n, bytes;
	enum replay_state state;
	const char *why;		/* REPLAY_FAILED: a literal, for the close */
	int stop;			/* the eater left, or the hub is closing */
	int dirty;			/* the hub's thread has something to see to */
	int joined_flag;
	double joined_mono;
	int64_t joined_ns;
	double covered_mono;		/* fan-out last moved the eater ahead */
	unsigned long latest_n;		/* held before the notice */
	int refs;
};

static pthread_mutex_t replays_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t replays_gone = PTHREAD_COND_INITIALIZER;
static int replays_running;		/* threads not yet ended */

/* ---- either thread -------------------------------------------------------- */

static void filter_copy(struct hub_filter *to, const struct hub_filter *from)
{
	to->n = from->n;
	to->v = from->n ? xcalloc((size_t)from->n, sizeof *to->v) : NULL;
	for (int i = 0; i < from->n; i++)
		to->v[i] = xstrdup(from->v[i]);
}

static void filter_clear(struct hub_filter *f)
{
	for (int i = 0; i < f->n; i++)
		free(f->v[i]);
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

static void queue_free(struct hub_replay *r)
{
	for (struct replay_item *it = r->head, *next; it; it = next) {
		next = it->next;
		free(it);
	}
	r->head = r->tail = NULL;
	r->n = r->bytes = 0;
}

static void replay_free(struct hub_replay *r)
{
	queue_free(r);
	seq_book_free(&r->book);
	seq_book_free(&r->tbook);
	filter_clear(&r->filter.chefs);
	filter_clear(&r->filter.kitchens);
	filter_clear(&r->filter.drivers);
	free(r->scratch);
	free(r->tscratch);
	free(r->stream);
	pthread_cond_destroy(&r->room);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static void replay_release(struct hub_replay *r)
{
	int last;

	pthread_mutex_lock(&r->lock);
	last = --r->refs == 0;
	pthread_mutex_unlock(&r->lock);
	if (last)
		replay_free(r);
}

static char *scratch_for(char **buf, size_t *size, size_t len)
{
	if (*size < len + 3) {
		free(*buf);
		*size = len + 3;
		*buf = xmalloc(*size);
	}
	return *buf;
}

/* ---- the replay's thread --------------------------------------------------- */

static int replay_stopped(struct hub_replay *r);

/* What the NATS client said of its last error on this thread. */
static const char *nats_detail(natsStatus s)
{
	const char *text = nats_GetLastError(NULL);

	return text && *text ? text : natsStatus_GetText(s);
}

/* Under lock: tell the hub's thread (not once it has let the replay go:
 * at shutdown the context may be gone). */
static void replay_poke(struct hub_replay *r)
{
	r->dirty = 1;
	if (!r->stop)
		lws_cancel_service(r->hub->ctx);
}

static void replay_fail(struct hub_replay *r, const char *why, const char *detail)
{
	if (replay_stopped(r))
		return;		/* the eater left: nobody to tell */
	log_warn("replay for %s: %s%s%s", r->filter.label, why, detail ? ": " : "",
		 detail ? detail : "");
	pthread_mutex_lock(&r->lock);
	r->state = REPLAY_FAILED;
	r->why = why;
	replay_poke(r);
	pthread_mutex_unlock(&r->lock);
}

static int replay_stopped(struct hub_replay *r)
{
	int stop;

	pthread_mutex_lock(&r->lock);
	stop = r->stop;
	pthread_mutex_unlock(&r->lock);
	return stop;
}

/* The consumer, from the start or, made again, right after what was
 * taken. */
static natsStatus replay_subscribe(struct hub_replay *r)
{
	jsOptions jo;
	jsSubOptions so;
	jsErrCode jerr = 0;
	natsStatus s;

	jsOptions_Init(&jo);
	jo.Wait = REPLAY_API_WAIT_MS;
	jsSubOptions_Init(&so);
	so.Stream = r->stream;
	so.Ordered = true;
	if (r->last_sseq) {
		so.Config.DeliverPolicy = js_DeliverByStartSequence;
		so.Config.OptStartSeq = r->last_sseq + 1;
	} else if (r->latest) {
		so.Config.DeliverPolicy = js_DeliverLastPerSubject;
	} else if (r->since_ns > 0) {
		so.Config.DeliverPolicy = js_DeliverByStartTime;
		so.Config.OptStartTime = r->since_ns;
	} else {
		so.Config.DeliverPolicy = js_DeliverAll;	/* from the epoch */
	}
	s = js_SubscribeSync(&r->sub, r->js, r->subject, &jo, &so, &jerr);
	if (s == NATS_OK)
		s = natsSubscription_SetPendingLimits(r->sub, REPLAY_PENDING_N, REPLAY_PENDING_BYTES);
	r->next_dseq = 1;
	r->dropped_seen = 0;
	return s;
}

static void replay_unsubscribe(struct hub_replay *r)
{
	if (!r->sub)
		return;
	natsSubscription_Unsubscribe(r->sub);
	natsSubscription_Destroy(r->sub);
	r->sub = NULL;
}

/* Whether the new consumer owes anything at all: if not, no dumpling will
 * come to say so. */
static int replay_owes(struct hub_replay *r)
{
	jsConsumerInfo *ci = NULL;
	jsOptions jo;
	jsErrCode jerr = 0;
	int owes = 1;

	jsOptions_Init(&jo);
	jo.Wait = REPLAY_API_WAIT_MS;
	if (natsSubscription_GetConsumerInfo(&ci, r->sub, &jo, &jerr) == NATS_OK) {
		owes = ci->NumPending > 0 || ci->Delivered.Consumer > 0;
		jsConsumerInfo_Destroy(ci);
	}
	return owes;
}

/* Under lock: the notice that says how many of the latest come, first. */
static void queue_latest_notice(struct hub_replay *r)
{
	char text[64];
	int n = snprintf(text, sizeof text, "{\"notice\":\"latest\",\"count\":%lu}", r->latest_n);
	struct replay_item *it = xmalloc(sizeof *it + LWS_PRE + (size_t)n);

	it->len = (size_t)n;
	it->notice = 1;
	memcpy(it->buf + LWS_PRE, text, (size_t)n);
	it->next = r->head;
	r->head = it;
	if (!r->tail)
		r->tail = it;
	r->n++;
	r->bytes += it->len;
}

/* Under lock: history has nothing more to give. */
static void replay_caught(struct hub_replay *r)
{
	if (r->state != REPLAY_READING)
		return;
	if (r->latest)
		queue_latest_notice(r);
	r->state = REPLAY_CAUGHT;
	replay_poke(r);
}

/* Under lock: whether the queue takes one more of len bytes now. While
 * the latest are gathered, they are all held (up to a bound). */
static int queue_has_room(const struct hub_replay *r, size_t len)
{
	if (r->latest && r->state == REPLAY_READING)
		return r->bytes + len <= REPLAY_LATEST_BYTES;
	return r->n < REPLAY_QUEUE_N && r->bytes + len <= REPLAY_QUEUE_BYTES;
}

/* Queue one dumpling for the eater, waiting for room. 0, or -1 if the
 * replay is stopped meanwhile. */
static int replay_queue(struct hub_replay *r, const char *json, size_t len)
{
	struct replay_item *it = xmalloc(sizeof *it + LWS_PRE + len);
	struct timespec until;

	it->next = NULL;
	it->len = len;
	it->notice = 0;
	memcpy(it->buf + LWS_PRE, json, len);
	pthread_mutex_lock(&r->lock);
	while (!r->stop && !queue_has_room(r, len)) {
		if (r->latest && r->state == REPLAY_READING) {
			/* more latest than the bound holds: the rest come
			 * after the notice, as live ones */
			replay_caught(r);
			continue;
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += REPLAY_POLL_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&r->room, &r->lock, &until);
	}
	if (r->stop) {
		pthread_mutex_unlock(&r->lock);
		free(it);
		return -1;
	}
	if (r->tail)
		r->tail->next = it;
	else
		r->head = it;
	r->tail = it;
	r->n++;
	r->bytes += len;
	if (r->latest && r->state == REPLAY_READING)
		r->latest_n++;
	else if (r->n == 1)
		replay_poke(r);
	pthread_mutex_unlock(&r->lock);
	return 0;
}

/* Whether a dumpling read from history goes to the eater: a dumpling, its
 * filters take it, it is not one sent already, and (with no seq to tell
 * it apart) fan-out will not send it too. */
static int replay_wants(struct hub_replay *r, const char *json, size_t len, int64_t stored_ns)
{
	struct json_meta meta;
	struct hub_msg m;
	int64_t joined_ns;

	if (json_scan(json, len, &meta, scratch_for(&r->tscratch, &r->tscratch_len, len)) < 0 ||
	    !meta.chef)
		return 0;
	memset(&m, 0, sizeof m);
	m.chef = meta.chef;
	m.kitchen = meta.kitchen;
	m.driver = meta.driver;
	m.to = HUB_TO_ALL;
	if (!hub_subscriber_wants(&r->filter, &m))
		return 0;
	if (!meta.seq) {
		pthread_mutex_lock(&r->lock);
		joined_ns = r->joined_flag ? r->joined_ns : 0;
		pthread_mutex_unlock(&r->lock);
		return !joined_ns || stored_ns < joined_ns;
	}
	return seq_book_note(&r->tbook, meta.kitchen, meta.run, meta.seq);
}

/* A gap in what the NATS client handed over (its pending limits dropped
 * some) is made good by a consumer from the last stream sequence taken;
 * the latest, still being gathered, are gathered again from the start,
 * since a start sequence would bring every later dumpling too. */
static void replay_again(struct hub_replay *r)
{
	log_debug("replay for %s: the NATS client dropped some; reading again from stream "
		  "sequence %llu", r->filter.label, (unsigned long long)r->last_sseq + 1);
	replay_unsubscribe(r);
	pthread_mutex_lock(&r->lock);
	if (r->latest && r->state == REPLAY_READING) {
		queue_free(r);
		r->latest_n = 0;
		r->last_sseq = 0;
		seq_book_free(&r->tbook);
		r->tbook.max = SEQ_BOOK_RUNS;
	}
	pthread_mutex_unlock(&r->lock);
}

static int replay_gap(struct hub_replay *r, uint64_t dseq)
{
	int64_t dropped = 0;

	natsSubscription_GetDropped(r->sub, &dropped);
	if (dropped == r->dropped_seen && (dseq == r->next_dseq || dseq == 1))
		return 0;
	replay_again(r);
	return 1;
}

/* One message from the consumer. */
static void replay_take(struct hub_replay *r, natsMsg *msg)
{
	jsMsgMetaData *meta = NULL;
	uint64_t sseq, dseq, pending;
	int64_t stored;
	const char *data = natsMsg_GetData(msg);
	int len = natsMsg_GetDataLength(msg);

	if (natsMsg_GetMetaData(&meta, msg) != NATS_OK)
		return;		/* not from the consumer */
	sseq = meta->Sequence.Stream;
	dseq = meta->Sequence.Consumer;
	pending = meta->NumPending;
	stored = meta->Timestamp;
	jsMsgMetaData_Destroy(meta);
	if (replay_gap(r, dseq))
		return;
	r->next_dseq = dseq + 1;
	r->last_sseq = sseq;
	r->heard = monotonic_seconds();
	if (len > 0 && (size_t)len <= r->hub->cfg.max_message && replay_wants(r, data, (size_t)len, stored))
		replay_queue(r, data, (size_t)len);
	r->heard = monotonic_seconds();	/* the wait for room is no silence */
	if (!pending) {
		pthread_mutex_lock(&r->lock);
		replay_caught(r);
		pthread_mutex_unlock(&r->lock);
	}
}

/* Whether the consumer has done its part: the eater joined fan-out a grace
 * period ago (and fan-out last moved it ahead as long ago, what it passed
 * being the consumer's to send), and what this hub took in before is out
 * of the link's outbox (and so, a moment later, in the stream). Decided
 * under the lock, where fan-out asks whether the consumer still covers
 * the eater: once it is done, it no longer does. */
static int replay_done(struct hub_replay *r)
{
	double now = monotonic_seconds(), quiet;
	int done = 0;

	pthread_mutex_lock(&r->lock);
	quiet = now - (r->covered_mono > r->joined_mono ? r->covered_mono : r->joined_mono);
	if (r->joined_flag && r->state == REPLAY_CAUGHT && quiet >= REPLAY_GRACE &&
	    (now - r->joined_mono >= REPLAY_GRACE_MAX || hub_link_outbox_empty(r->hub))) {
		r->state = REPLAY_ENDED;
		done = 1;
	}
	pthread_mutex_unlock(&r->lock);
	return done;
}

/* Read the stream until the seam is past, or the replay stopped. */
static void replay_read(struct hub_replay *r)
{
	natsMsg *msg;
	natsStatus s;

	r->heard = monotonic_seconds();
	while (!replay_stopped(r) && !replay_done(r)) {
		if (!r->sub) {
			if ((s = replay_subscribe(r)) != NATS_OK)
				return replay_fail(r, "history could not be read again", nats_detail(s));
			continue;
		}
		s = natsSubscription_NextMsg(&msg, r->sub, REPLAY_POLL_MS);
		if (s == NATS_OK) {
			replay_take(r, msg);
			natsMsg_Destroy(msg);
		} else if (s == NATS_SLOW_CONSUMER) {
			replay_again(r);	/* it dropped some past its limits */
		} else if (s != NATS_TIMEOUT) {
			return replay_fail(r, "history stopped", nats_detail(s));
		} else if (r->state == REPLAY_READING &&
			   monotonic_seconds() - r->heard > REPLAY_STUCK) {
			return replay_fail(r, "history stopped answering", NULL);
		}
	}
}

/* Wait for the link to have found the stream. */
static int replay_find_stream(struct hub_replay *r)
{
	double until = monotonic_seconds() + REPLAY_STREAM_WAIT;
	char why[256];

	while (!(r->js = hub_link_stream(r->hub, why, sizeof why))) {
		if (monotonic_seconds() > until || replay_stopped(r)) {
			replay_fail(r, "no history: the NATS stream is not available", why);
			return -1;
		}
		usleep(REPLAY_POLL_MS * 1000);
	}
	return 0;
}

static void *replay_main(void *arg)
{
	struct hub_replay *r = arg;
	natsStatus s;

	if (replay_find_stream(r) == 0) {
		if ((s = replay_subscribe(r)) != NATS_OK) {
			replay_fail(r, "no history: the NATS stream cannot be read", nats_detail(s));
		} else if (!replay_stopped(r)) {
			if (!replay_owes(r)) {
				pthread_mutex_lock(&r->lock);
				replay_caught(r);
				pthread_mutex_unlock(&r->lock);
			}
			replay_read(r);
		}
	}
	replay_unsubscribe(r);
	pthread_mutex_lock(&r->lock);
	if (r->state != REPLAY_FAILED) {
		r->state = REPLAY_ENDED;
		replay_poke(r);
	}
	pthread_mutex_unlock(&r->lock);
	nats_ReleaseThreadMemory();
	replay_release(r);
	pthread_mutex_lock(&replays_lock);
	replays_running--;
	pthread_cond_broadcast(&replays_gone);
	pthread_mutex_unlock(&replays_lock);
	return NULL;
}

/* ---- the hub's thread --------------------------------------------------------- */

/* The consumer reads only the subjects the eater's filters can take,
 * where they say so in one subject: a single kitchen, or a single chef. */
static void replay_subject(struct hub_replay *r, const struct hub_subscriber *s)
{
	const char *kitchen = s->kitchens.n == 1 ? s->kitchens.v[0] : NULL;
	const char *chef = !kitchen && s->chefs.n == 1 ? s->chefs.v[0] : NULL;

	if ((!kitchen && !chef) || !hub_link_pattern(r->subject, sizeof r->subject, kitchen, chef))
		snprintf(r->subject, sizeof r->subject, "dumplings.>");
}

/* The thread's copy of the eater's filters wants nothing more of its own. */
static const struct hub_subscriber_ops replay_filter_ops;

static struct hub_replay *replay_new(struct hub *hub, struct hub_conn *c, double since)
{
	struct hub_replay *r = xcalloc(1, sizeof *r);

	r->hub = hub;
	r->conn = c;
	r->stream = xstrdup(hub->cfg.nats_stream);
	r->latest = since < 0;
	/* a server refuses a start in the future */
	if (since > wall_seconds())
		since = wall_seconds();
	r->since_ns = since < 0 ? 0 : (int64_t)(since * 1e9);
	r->filter.ops = &replay_filter_ops;
	snprintf(r->filter.label, sizeof r->filter.label, "%s", c->sub.label);
	filter_copy(&r->filter.chefs, &c->sub.chefs);
	filter_copy(&r->filter.kitchens, &c->sub.kitchens);
	filter_copy(&r->filter.drivers, &c->sub.drivers);
	replay_subject(r, &c->sub);
	r->tbook.max = SEQ_BOOK_RUNS;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->room, NULL);
	r->refs = 2;
	return r;
}

int hub_replay_start(struct hub *hub, struct hub_conn *c, double since, const char **why)
{
	struct hub_replay *r;

	if (!hub->cfg.nats_stream) {
		*why = "no history: this hub runs without --nats-stream";
		return -1;
	}
	if (hub->nreplays >= REPLAY_MAX) {
		*why = "too many replays at once; try again";
		return -1;
	}
	r = replay_new(hub, c, since);
	pthread_mutex_lock(&replays_lock);
	replays_running++;
	pthread_mutex_unlock(&replays_lock);
	if (start_thread(&r->thread, replay_main, r) != 0) {
		pthread_mutex_lock(&replays_lock);
		replays_running--;
		pthread_mutex_unlock(&replays_lock);
		replay_free(r);
		*why = "the hub cannot start a replay";
		return -1;
	}
	pthread_detach(r->thread);
	r->next = hub->replays;
	if (r->next)
		r->next->prev = r;
	hub->replays = r;
	hub->nreplays++;
	hub->count.replays++;
	c->replay = r;
	return 0;
}

static void replay_unlink(struct hub *hub, struct hub_replay *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		hub->replays = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
	hub->nreplays--;
}

static struct hub_replay *replay_of(const struct hub_subscriber *s)
{
	return lws_container_of(s, struct hub_conn, sub)->replay;
}

/* Fan-out would skip the eater, a full queue behind while it writes what
 * history sends: while the consumer goes on, what it passes comes that
 * way, and the consumer goes on a grace period longer. */
static int replay_covered(struct hub_subscriber *s)
{
	struct hub_replay *r = replay_of(s);
	int covered;

	pthread_mutex_lock(&r->lock);
	covered = r->state == REPLAY_CAUGHT;
	if (covered)
		r->covered_mono = monotonic_seconds();
	pthread_mutex_unlock(&r->lock);
	return covered;
}

/* The eater joins fan-out: what comes in from now on waits for it there. */
static void replay_join(struct hub *hub, struct hub_replay *r)
{
	struct hub_subscriber *s = &r->conn->sub;

	r->live_ops = s->ops;
	r->join_ops = *s->ops;
	r->join_ops.covered = replay_covered;
	s->ops = &r->join_ops;
	hub_fanout_join(hub, s);
	r->joined = 1;
	pthread_mutex_lock(&r->lock);
	r->joined_flag = 1;
	r->joined_mono = monotonic_seconds();
	r->joined_ns = (int64_t)(wall_seconds() * 1e9);
	pthread_mutex_unlock(&r->lock);
}

void hub_replay_poll(struct hub *hub)
{
	for (struct hub_replay *r = hub->replays, *next; r; r = next) {
		enum replay_state state;
		int dirty;

		next = r->next;
		pthread_mutex_lock(&r->lock);
		dirty = r->dirty;
		r->dirty = 0;
		state = r->state;
		pthread_mutex_unlock(&r->lock);
		if (!dirty)
			continue;
		if (state == REPLAY_FAILED) {
			hub->count.replays_failed++;
			hub_conn_close(r->conn, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, r->why);
			continue;
		}
		if (state != REPLAY_READING && !r->joined)
			replay_join(hub, r);
		lws_callback_on_writable(r->conn->wsi);
	}
}

/* ---- the seam ------------------------------------------------------------------ */

/* What fan-out holds for an eater just past its replay: not a dumpling
 * sent from history already. What was stored up to the hand-over is
 * checked, and what came a moment after (another hub's dumpling may reach
 * this one after the stream sent it); past both, the seam is over. */
static int seam_wants(const struct hub_subscriber *s, const struct hub_msg *m)
{
	struct hub_replay *r = replay_of(s);
	struct json_meta meta;

	if (!r || r->seam_over)
		return 1;
	if (m->end > r->seam_bytes && monotonic_seconds() > r->seam_until) {
		r->seam_over = 1;
		return 1;
	}
	if (!m->seq || !m->kitchen)
		return 1;
	if (json_scan((const char *)m->buf + LWS_PRE, m->len, &meta,
		      scratch_for(&r->scratch, &r->scratch_len, m->len)) < 0 || !meta.run)
		return 1;
	return m->seq > seq_book_last(&r->book, m->kitchen, meta.run);
}

/* An eater that takes notices is told where history ends, in line: from
 * here on what it is sent is live ({"notice": "live"}), which `eat
 * --since` goes by to ask again after a reconnection. */
static int replay_tell_live(struct hub_conn *c)
{
	static const char live[] = "{\"notice\":\"live\"}";
	unsigned char buf[LWS_PRE + sizeof live];

	if (!c->notices)
		return 0;
	memcpy(buf + LWS_PRE, live, sizeof live - 1);
	return lws_write(c->wsi, buf + LWS_PRE, sizeof live - 1, LWS_WRITE_TEXT) < 0 ? -1 : 0;
}

/* The replay is over: the eater is fan-out's, checked for a while. */
static int replay_hand_over(struct hub *hub, struct hub_conn *c)
{
	struct hub_replay *r = c->replay;
	struct hub_subscriber *s = &c->sub;

	if (replay_tell_live(c) < 0)
		return -1;
	pthread_mutex_lock(&r->lock);
	r->book = r->tbook;
	memset(&r->tbook, 0, sizeof r->tbook);
	pthread_mutex_unlock(&r->lock);
	r->seam = 1;
	r->seam_until = monotonic_seconds() + REPLAY_SEAM;
	r->seam_bytes = hub->fan.bytes_stored;
	r->seam_ops = *r->live_ops;
	r->seam_ops.wants = seam_wants;
	s->ops = &r->seam_ops;
	replay_unlink(hub, r);
	return 0;
}

static void replay_seam_end(struct hub_conn *c)
{
	struct hub_replay *r = c->replay;

	c->sub.ops = r->live_ops;
	c->replay = NULL;
	replay_release(r);
}

/* Pop one for the eater, or NULL. */
static struct replay_item *replay_pop(struct hub_replay *r, enum replay_state *state)
{
	struct replay_item *it;

	pthread_mutex_lock(&r->lock);
	*state = r->state;
	it = r->latest && r->state == REPLAY_READING ? NULL : r->head;
	if (it) {
		r->head = it->next;
		if (!r->head)
			r->tail = NULL;
		r->n--;
		r->bytes -= it->len;
		pthread_cond_signal(&r->room);
	}
	pthread_mutex_unlock(&r->lock);
	return it;
}

static int replay_send(struct hub *hub, struct hub_conn *c, enum replay_state *state)
{
	struct replay_item *it;
	int sent = 0, rc = 0;

	while (sent < REPLAY_WRITE_BATCH && (it = replay_pop(c->replay, state))) {
		if (lws_write(c->wsi, it->buf + LWS_PRE, it->len, LWS_WRITE_TEXT) < 0)
			rc = -1;
		if (!it->notice)
			hub->count.replay_sent++;
		free(it);
		if (rc < 0)
			return -1;
		sent++;
		if (lws_partial_buffered(c->wsi))
			break;
	}
	if (sent)
		lws_callback_on_writable(c->wsi);
	return 0;
}

int hub_replay_writable(struct hub *hub, struct hub_conn *c)
{
	struct hub_replay *r = c->replay;
	enum replay_state state;
	int empty;

	if (r->seam) {
		if (r->seam_over)
			replay_seam_end(c);
		return 1;
	}
	if (replay_send(hub, c, &state) < 0)
		return -1;
	pthread_mutex_lock(&r->lock);
	empty = !r->head;
	pthread_mutex_unlock(&r->lock);
	/* nothing more this turn once lws holds part of a write */
	if (state != REPLAY_ENDED || !empty || lws_partial_buffered(c->wsi))
		return 0;
	if (replay_hand_over(hub, c) < 0)
		return -1;
	lws_callback_on_writable(c->wsi);	/* fan-out's turn, next */
	return 0;
}

static void replay_stop_thread(struct hub_replay *r)
{
	pthread_mutex_lock(&r->lock);
	r->stop = 1;
	pthread_cond_signal(&r->room);
	pthread_mutex_unlock(&r->lock);
}

void hub_replay_stop(struct hub *hub, struct hub_conn *c)
{
	struct hub_replay *r = c->replay;

	if (!r)
		return;
	if (r->seam) {
		replay_seam_end(c);
		return;
	}
	replay_unlink(hub, r);
	replay_stop_thread(r);
	if (r->live_ops)	/* not the replay's, which may go first */
		c->sub.ops = r->live_ops;
	c->replay = NULL;
	replay_release(r);
}

void hub_replay_stop_all(struct hub *hub)
{
	for (struct hub_replay *r = hub->replays; r; r = r->next)
		replay_stop_thread(r);
}

int hub_replay_wait_all(double seconds)
{
	struct timespec until;
	int left;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)seconds;
	pthread_mutex_lock(&replays_lock);
	while (replays_running > 0)
		if (pthread_cond_timedwait(&replays_gone, &replays_lock, &until) == ETIMEDOUT)
			break;
	left = replays_running;
	pthread_mutex_unlock(&replays_lock);
	if (left)
		log_warn("%d replays did not stop in time; leaving the NATS client to them", left);
	return left ? -1 : 0;
}
