/* The link to other hubs over NATS (see hub_link.h).
 *
 * Three kinds of thread touch it. The hub's thread moves local dumplings
 * from fan-out into the outbox and reads the link's numbers for status and
 * /metrics. The publisher thread (ours) empties the outbox into cnats,
 * whose publish may block on a full socket for up to the write deadline,
 * and samples cnats' numbers, since asking for them takes the connection's
 * lock, which a blocked publish holds. cnats' own threads deliver other
 * hubs' dumplings into the hub's inbox and report connection events. What
 * more than one of them touches is under link->lock.
 *
 * Bounds: the outbox (LINK_OUTBOX_*; what does not fit is dropped and
 * counted), cnats' reconnect buffer (LINK_RECONNECT_BUF; a publish that
 * does not fit fails, counted), the subscription's pending limits
 * (LINK_PENDING_*; cnats drops past them, a slow consumer, counted) and
 * the hub's inbox (refusals counted). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <nats/nats.h>

#include "hub.h"
#include "hub_link.h"
#include "hub_metrics.h"
#include "base/util.h"
#include "net/token.h"

#define LINK_SUBJECT_PREFIX "dumplings."
#define LINK_SUBSCRIPTION "dumplings.>"
#define LINK_OUTBOX_DUMPLINGS 65536
#define LINK_OUTBOX_BYTES (64 << 20)
#define LINK_PENDING_DUMPLINGS 65536
#define LINK_PENDING_BYTES (64 << 20)
#define LINK_RECONNECT_BUF (8 << 20)
/* cnats reads and writes its socket in this much at most (32 KiB by
 * default): a busy link's dumplings in fewer system calls */
#define LINK_IO_BUF (256 << 10)
#define LINK_RECONNECT_WAIT_MS 100
#define LINK_RECONNECT_JITTER_MS 400
#define LINK_WRITE_DEADLINE_MS 2000
#define LINK_PING_MS 2000
#define LINK_SAMPLE_SECONDS 1
/* at shutdown, replays' threads have this long to see the connection closed */
#define LINK_REPLAYS_WAIT 5.0
/* at shutdown, what is written may take this long to be confirmed */
#define LINK_CLOSE_FLUSH_MS 500
/* how long closing waits for cnats to be done with each subscription */
#define LINK_SUBS_DONE_WAIT 2.0
/* remote kitchens listed by name in the status; more are only counted */
#define LINK_REMOTE_KITCHENS 256
#define LINK_NAME_MAX 256
/* kitchens subscribed to one by one; more, and the link takes them all */
#define LINK_SCOPE_MAX 64
#define LINK_DRAINING_MAX 256
/* eaters come and go in bursts: the subscriptions follow once they settle */
#define LINK_RESCOPE_US (100 * LWS_US_PER_MS)
/* the stream is looked for again this often until it is there */
#define LINK_STREAM_RETRY 5
#define LINK_STREAM_WAIT_MS 2000
/* a subject: the prefix, two names of LINK_NAME_MAX bytes written %XX at
 * worst, the dot. Longer ones are not published: a server closes a
 * connection whose line passes its max_control_line (4 KiB by default). */
#define LINK_SUBJECT_MAX (sizeof LINK_SUBJECT_PREFIX + 6 * LINK_NAME_MAX + 2)

struct link_item {
	struct link_item *next;
	size_t len;
	char *subject;
	char data[];		/* the dumpling, then the subject */
};

/* cnats' numbers, as the publisher thread last read them */
struct link_sample {
	int connected;
	char server[256];
	uint64_t in_msgs, in_bytes, out_msgs, out_bytes, reconnects;
	int64_t slow_dropped;
	int pending_msgs, pending_bytes;
	int buffered;		/* bytes cnats holds, not yet written */
};

/* a remote kitchen, by its subject token: compared as it comes, read
 * back into a name only for the status */
struct link_remote {
	char token[3 * LINK_NAME_MAX];
	size_t len;
	unsigned long in;
};

/* One subscription: dumplings.KITCHEN.> or, with no kitchen, dumplings.> */
struct link_sub {
	natsSubscription *sub;
	char *kitchen;
};

struct hub_link {
	struct hub *hub;
	natsOptions *opts;
	natsConnection *nc;
	natsStatistics *stats;
	struct hub_source src;		/* what came from NATS, into ingest */
	struct hub_subscriber fan;	/* what local kitchens sent, out to NATS */
	lws_sorted_usec_list_t drain;
	pthread_t publisher;
	int publisher_started;
	unsigned long taken;		/* hub thread: put in the outbox */

	pthread_mutex_t lock;
	pthread_cond_t more;
	struct link_item *head, *tail;	/* the outbox */
	size_t n, bytes;
	int stop;
	int closing;			/* no more into the inbox */
	int subs_live;			/* subscriptions cnats may still deliver to */
	pthread_cond_t subs_done;
	unsigned long outbox_dropped, publish_failed, disconnects;
	unsigned long unpublishable;	/* names too long for a subject */
	unsigned long oversized;	/* from NATS, over --max-message */
	struct link_sample sample;
	struct link_remote remote[LINK_REMOTE_KITCHENS];
	int nremote;
	unsigned long remote_unlisted;
	time_t slow_logged;

	/* --nats-stream: the publisher thread makes sure of the stream; the
	 * replays' threads use the context once it is there */
	jsCtx *js;
	int stream_ready;		/* under lock */
	char stream_why[256];		/* under lock: why it is not */
	pthread_t keeper;		/* link_stream_keeper() */
	int keeper_started;

	/* What the link subscribes to: the hub's thread changes it, the
	 * publisher thread samples it, under subs_lock. All in one queue
	 * group of this hub's own, so that a dumpling two of them match
	 * (while one replaces the other) comes once. */
	pthread_mutex_t subs_lock;
	struct link_sub subs[LINK_SCOPE_MAX];
	int nsubs;
	int narrow;			/* subs name kitchens, not all */
	natsSubscription *draining[LINK_DRAINING_MAX];
	int ndraining;
	int64_t dropped_gone;		/* slow-consumer drops of subscriptions gone */
	char queue[48];
	lws_sorted_usec_list_t rescope;
};

/* ---- subjects ------------------------------------------------------------ */

static int subject_safe(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

static size_t subject_token(char *p, size_t room, const char *name)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	if (!name || !*name)
		return room >= 1 ? (*p = '%', 1) : 0;
	for (const unsigned char *s = (const unsigned char *)name; *s; s++) {
		if (subject_safe(*s)) {
			if (n + 1 > room)
				return 0;
			p[n++] = (char)*s;
			continue;
		}
		if (n + 3 > room)
			return 0;
		p[n++] = '%';
		p[n++] = hex[*s >> 4];
		p[n++] = hex[*s & 15];
	}
	return n;
}

/* A name's token, or the wildcard any when it is not 0. */
static size_t put_token(char *p, size_t room, const char *name, char any)
{
	if (any)
		return room >= 1 ? (*p = any, 1) : 0;
	return subject_token(p, room, name);
}

static size_t compose(char *buf, size_t size, const char *kitchen, char any_kitchen,
		      const char *chef, char any_chef)
{
	size_t pre = sizeof LINK_SUBJECT_PREFIX - 1, k, c;

	if (size < pre + 4)
		return 0;
	memcpy(buf, LINK_SUBJECT_PREFIX, pre);
	k = put_token(buf + pre, size - pre - 3, kitchen, any_kitchen);
	if (!k)
		return 0;
	buf[pre + k] = '.';
	c = put_token(buf + pre + k + 1, size - pre - k - 2, chef, any_chef);
	if (!c)
		return 0;
	buf[pre + k + 1 + c] = '\0';
	return pre + k + 1 + c;
}

size_t hub_link_subject(char *buf, size_t size, const char *kitchen, const char *chef)
{
	return compose(buf, size, kitchen, 0, chef, 0);
}

size_t hub_link_pattern(char *buf, size_t size, const char *kitchen, const char *chef)
{
	return compose(buf, size, kitchen, kitchen ? 0 : '*', chef, chef ? 0 : '>');
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hub_link_unsubject(const char *token, size_t len, char *out, size_t size)
{
	size_t n = 0;

	if (len == 1 && token[0] == '%')
		len = 0;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)token[i];

		if (c == '%') {
			int hi = i + 2 < len ? hex_digit(token[i + 1]) : -1;
			int lo = hi >= 0 ? hex_digit(token[i + 2]) : -1;

			if (lo < 0)
				return -1;
			c = hi << 4 | lo;
			i += 2;
		} else if (!subject_safe((unsigned char)c)) {
			return -1;
		}
		if (n + 1 >= size)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return 0;
}

/* ---- out: fan-out to the outbox, the outbox to NATS ------------------------ */

static struct hub_link *link_of_sub(const struct hub_subscriber *s)
{
	return lws_container_of(s, struct hub_link, fan);
}

/* Only what the hub's own kitchens sent: never what came from NATS
 * (no-echo, whatever the server does), nor the hub's own status. */
static int link_wants(const struct hub_subscriber *s, const struct hub_msg *m)
{
	return m->source && m->source != &link_of_sub(s)->src;
}

static void link_drain(lws_sorted_usec_list_t *sul);

static void link_wake(struct hub_subscriber *s)
{
	struct hub_link *l = link_of_sub(s);

	lws_sul_schedule(l->hub->ctx, 0, &l->drain, link_drain, 1);
}

static void link_cull(struct hub_subscriber *s)
{
	/* only under --slow-eater disconnect, and the link drains at once:
	 * come back at the newest dumpling */
	struct hub_link *l = link_of_sub(s);

	log_warn("NATS link: fell a full queue behind; going on from the newest dumpling");
	hub_fanout_join(l->hub, s);
}

static const struct hub_subscriber_ops link_ops = {
	.wake = link_wake,
	.wants = link_wants,
	.cull = link_cull,
};

static struct link_item *link_item_new(const struct hub_msg *m)
{
	char subject[LINK_SUBJECT_MAX];
	size_t ls = hub_link_subject(subject, sizeof subject, m->kitchen, m->chef);
	struct link_item *it;

	if (!ls)
		return NULL;
	it = xmalloc(sizeof *it + m->len + ls + 1);
	it->next = NULL;
	it->len = m->len;
	memcpy(it->data, m->buf + LWS_PRE, m->len);
	it->subject = it->data + m->len;
	memcpy(it->subject, subject, ls + 1);
	return it;
}

/* Under lock: room for it, or it is dropped and counted. */
static int link_enqueue(struct hub_link *l, struct link_item *it)
{
	if (!it) {
		l->unpublishable++;
		return 0;
	}
	if (l->n >= LINK_OUTBOX_DUMPLINGS || l->bytes + it->len > LINK_OUTBOX_BYTES) {
		l->outbox_dropped++;
		free(it);
		return 0;
	}
	if (l->tail)
		l->tail->next = it;
	else
		l->head = it;
	l->tail = it;
	l->n++;
	l->bytes += it->len;
	return 1;
}

/* On the hub's thread: everything that waits for the link goes to the
 * outbox now, so the link is never behind in the ring. */
static void link_drain(lws_sorted_usec_list_t *sul)
{
	struct hub_link *l = lws_container_of(sul, struct hub_link, drain);
	struct hub_subscriber *s = &l->fan;
	uint32_t began = s->tail;
	const struct hub_msg *m;
	int queued = 0;

	s->woken = 0;
	if (!s->fed)
		return;
	pthread_mutex_lock(&l->lock);
	while ((m = hub_fanout_next(l->hub, s))) {
		if (link_enqueue(l, link_item_new(m))) {
			s->out++;
			queued = 1;
		}
		hub_fanout_take(l->hub, s);
	}
	if (queued)
		pthread_cond_signal(&l->more);
	pthread_mutex_unlock(&l->lock);
	hub_fanout_settle(l->hub, s, began);
}

/* On the publisher thread: what the subscriptions dropped and hold. */
static void link_sample_subs(struct hub_link *l, struct link_sample *s)
{
	pthread_mutex_lock(&l->subs_lock);
	s->slow_dropped = l->dropped_gone;
	for (int i = 0; i < l->nsubs; i++) {
		int64_t dropped = 0;
		int msgs = 0, bytes = 0;

		natsSubscription_GetDropped(l->subs[i].sub, &dropped);
		natsSubscription_GetPending(l->subs[i].sub, &msgs, &bytes);
		s->slow_dropped += dropped;
		s->pending_msgs += msgs;
		s->pending_bytes += bytes;
	}
	pthread_mutex_unlock(&l->subs_lock);
}

static void link_sample(struct hub_link *l)
{
	struct link_sample s;

	memset(&s, 0, sizeof s);
	s.connected = natsConnection_Status(l->nc) == NATS_CONN_STATUS_CONNECTED;
	if (s.connected && natsConnection_GetConnectedUrl(l->nc, s.server, sizeof s.server) != NATS_OK)
		s.server[0] = '\0';
	if (natsConnection_GetStats(l->nc, l->stats) == NATS_OK)
		natsStatistics_GetCounts(l->stats, &s.in_msgs, &s.in_bytes, &s.out_msgs,
					 &s.out_bytes, &s.reconnects);
	link_sample_subs(l, &s);
	s.buffered = natsConnection_Buffered(l->nc);
	if (s.buffered < 0)
		s.buffered = 0;
	pthread_mutex_lock(&l->lock);
	l->sample = s;
	pthread_mutex_unlock(&l->lock);
}

static unsigned long link_publish(struct hub_link *l, struct link_item *it)
{
	unsigned long failed = 0;

	for (struct link_item *next; it; it = next) {
		next = it->next;
		if (natsConnection_Publish(l->nc, it->subject, it->data, (int)it->len) != NATS_OK)
			failed++;
		free(it);
	}
	return failed;
}

/* A batch goes out now, not when cnats' flusher next looks (it waits a
 * millisecond for more, which is most of a dumpling's time between two
 * hubs); the server's answer paces the next batch, which grows while we
 * wait. Not while disconnected: cnats keeps what is published then. */
static void link_flush(struct hub_link *l)
{
	if (natsConnection_Status(l->nc) == NATS_CONN_STATUS_CONNECTED)
		natsConnection_FlushTimeout(l->nc, LINK_WRITE_DEADLINE_MS);
}

/* ---- the stream (--nats-stream) ------------------------------------------------ */

static void link_stream_state(struct hub_link *l, int ready, const char *why)
{
	pthread_mutex_lock(&l->lock);
	l->stream_ready = ready;
	snprintf(l->stream_why, sizeof l->stream_why, "%s", why ? why : "");
	pthread_mutex_unlock(&l->lock);
}

static void link_stream_config(const struct hub_config *cfg, jsStreamConfig *sc,
			       const char **subjects)
{
	jsStreamConfig_Init(sc);
	sc->Name = cfg->nats_stream;
	subjects[0] = LINK_SUBSCRIPTION;
	sc->Subjects = subjects;
	sc->SubjectsLen = 1;
	sc->Storage = js_FileStorage;
	sc->MaxAge = (int64_t)(cfg->retain_age * 1e9);
	sc->MaxBytes = cfg->retain_bytes;
	sc->Replicas = cfg->nats_replicas;
}

static void link_stream_said(const struct hub_config *cfg, const jsStreamInfo *si,
			     const char *how)
{
	const jsStreamConfig *c = si && si->Config ? si->Config : NULL;

	if (!c)
		return;
	log_info("NATS stream %s: keeps the federation's dumplings for %.0f s, up to %lld bytes, "
		 "in %lld cop%s%s", cfg->nats_stream, (double)c->MaxAge / 1e9,
		 (long long)c->MaxBytes, (long long)c->Replicas, c->Replicas == 1 ? "y" : "ies", how);
}

/* The stream's requests wait this long for JetStream's answer. */
static jsOptions link_js_options(void)
{
	jsOptions jo;

	jsOptions_Init(&jo);
	jo.Wait = LINK_STREAM_WAIT_MS;
	return jo;
}

/* Make the stream; one that is there already is taken as it is, unless
 * this hub was told --retain or --nats-replicas, which it then sets for
 * every hub. 0, or -1 with why. */
static int link_stream_make(struct hub_link *l, char *why, size_t size)
{
	const struct hub_config *cfg = &l->hub->cfg;
	const char *subjects[1], *how = "", *detail;
	jsStreamConfig sc;
	jsStreamInfo *si = NULL;
	jsOptions jo = link_js_options();
	jsErrCode jerr = 0;
	natsStatus s;

	if (!l->js && (s = natsConnection_JetStream(&l->js, l->nc, &jo)) != NATS_OK)
		return snprintf(why, size, "%s", natsStatus_GetText(s)), -1;
	link_stream_config(cfg, &sc, subjects);
	s = js_AddStream(&si, l->js, &sc, &jo, &jerr);
	if (s != NATS_OK && jerr == JSStreamNameExistErr && (cfg->retain_given || cfg->replicas_given)) {
		s = js_UpdateStream(&si, l->js, &sc, &jo, &jerr);
		how = " (as this hub set it)";
	} else if (s != NATS_OK && jerr == JSStreamNameExistErr) {
		s = js_GetStreamInfo(&si, l->js, cfg->nats_stream, &jo, &jerr);
		how = " (as it was)";
	}
	if (s == NATS_OK)
		link_stream_said(cfg, si, how);
	jsStreamInfo_Destroy(si);
	if (s == NATS_OK)
		return 0;
	detail = nats_GetLastError(NULL);
	if (s == NATS_NO_RESPONDERS)
		snprintf(why, size, "the NATS server has no JetStream (nats-server -js)");
	else
		snprintf(why, size, "%s (%s)", natsStatus_GetText(s), detail ? detail : "");
	return -1;
}

static int link_stopping(struct hub_link *l)
{
	int stop;

	pthread_mutex_lock(&l->lock);
	stop = l->stop;
	pthread_mutex_unlock(&l->lock);
	return stop;
}

/* Whether the stream is still there: 1, 0 when the server says it is
 * not, -1 when there was no answer. */
static int link_stream_there(struct hub_link *l)
{
	jsStreamInfo *si = NULL;
	jsOptions jo = link_js_options();
	jsErrCode jerr = 0;
	natsStatus s = js_GetStreamInfo(&si, l->js, l->hub->cfg.nats_stream, &jo, &jerr);
	jsStreamInfo_Destroy(si);
	if (s == NATS_OK)
		return 1;
	return jerr == JSStreamNotFoundErr ? 0 : -1;
}

/* A thread of its own makes sure of the stream, every LINK_STREAM_RETRY
 * seconds while connected: a JetStream that does not answer must not hold
 * up the publisher. Once there, it is looked for at the same pace, and
 * made again when gone (a NATS server restarted without its store, a
 * stream deleted by hand), so that history is not lost in silence. */
static void *link_stream_keeper(void *arg)
{
	struct hub_link *l = arg;
	const struct hub_config *cfg = &l->hub->cfg;
	char why[256];
	int ready = 0;

	while (!link_stopping(l)) {
		if (natsConnection_Status(l->nc) == NATS_CONN_STATUS_CONNECTED) {
			if (ready && link_stream_there(l) == 0) {
				log_error("NATS stream %s: gone from the NATS server; making it again",
					  cfg->nats_stream);
				link_stream_state(l, 0, "gone from the NATS server");
				ready = 0;
			}
			if (!ready) {
				ready = link_stream_make(l, why, sizeof why) == 0;
				if (!ready)
					log_error("NATS stream %s: %s; no history until it is there",
						  cfg->nats_stream, why);
				link_stream_state(l, ready, ready ? NULL : why);
			}
		}
		for (int i = 0; i < LINK_STREAM_RETRY * 10 && !link_stopping(l); i++)
			usleep(100000);
	}
	nats_ReleaseThreadMemory();
	return NULL;
}

jsCtx *hub_link_stream(struct hub *hub, char *why, size_t size)
{
	struct hub_link *l = hub->link;
	jsCtx *js = NULL;

	if (!l)
		return NULL;
	pthread_mutex_lock(&l->lock);
	if (l->stream_ready)
		js = l->js;
	else
		snprintf(why, size, "%s", l->stream_why[0] ? l->stream_why : "not found yet");
	pthread_mutex_unlock(&l->lock);
	return js;
}

int hub_link_outbox_empty(struct hub *hub)
{
	struct hub_link *l = hub->link;
	int empty;

	if (!l)
		return 1;
	pthread_mutex_lock(&l->lock);
	empty = !l->head;
	pthread_mutex_unlock(&l->lock);
	return empty;
}

/* The publisher thread: the outbox into cnats, cnats' numbers sampled
 * after each batch and every LINK_SAMPLE_SECONDS. */
static void *link_publisher(void *arg)
{
	struct hub_link *l = arg;
	struct timespec until;
	struct link_item *batch;
	unsigned long failed;

	pthread_mutex_lock(&l->lock);
	while (!l->stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += LINK_SAMPLE_SECONDS;
		if (!l->head)
			pthread_cond_timedwait(&l->more, &l->lock, &until);
		batch = l->head;
		l->head = l->tail = NULL;
		l->n = l->bytes = 0;
		pthread_mutex_unlock(&l->lock);
		failed = link_publish(l, batch);
		if (batch)
			link_flush(l);
		link_sample(l);
		pthread_mutex_lock(&l->lock);
		l->publish_failed += failed;
	}
	/* told to stop: what is still queued goes out too, once */
	batch = l->head;
	l->head = l->tail = NULL;
	l->n = l->bytes = 0;
	pthread_mutex_unlock(&l->lock);
	if (batch) {
		failed = link_publish(l, batch);
		pthread_mutex_lock(&l->lock);
		l->publish_failed += failed;
		pthread_mutex_unlock(&l->lock);
	}
	return NULL;
}

/* ---- in: NATS to the inbox -------------------------------------------------- */

/* Under lock: a dumpling from the kitchen the subject names. */
static void link_note_remote(struct hub_link *l, const char *subject)
{
	const char *k = subject + sizeof LINK_SUBJECT_PREFIX - 1, *dot = strchr(k, '.');
	char name[LINK_NAME_MAX];
	struct link_remote *r;
	size_t len;

	if (!dot)
		return;
	len = (size_t)(dot - k);
	for (int i = 0; i < l->nremote; i++)
		if (l->remote[i].len == len && !memcmp(l->remote[i].token, k, len)) {
			l->remote[i].in++;
			return;
		}
	if (len > sizeof r->token || hub_link_unsubject(k, len, name, sizeof name) < 0)
		return;		/* not a subject a hub makes */
	if (l->nremote == LINK_REMOTE_KITCHENS) {
		l->remote_unlisted++;
		return;
	}
	r = &l->remote[l->nremote++];
	memcpy(r->token, k, len);
	r->len = len;
	r->in = 1;
}

/* A remote kitchen's name, from its token (checked when it was noted). */
static const char *link_remote_name(const struct link_remote *r, char *name, size_t size)
{
	if (hub_link_unsubject(r->token, r->len, name, size) < 0)
		name[0] = '\0';
	return name;
}

static void link_msg_release(void *msg)
{
	natsMsg_Destroy(msg);
}

/* On a cnats thread. The message itself goes to the inbox, not a copy:
 * cnats made it, NUL-terminated, and the hub's thread frees it. */
static void link_on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *arg)
{
	struct hub_link *l = arg;
	const char *subject = natsMsg_GetSubject(msg);

	if (natsMsg_GetDataLength(msg) < 0 ||
	    (size_t)natsMsg_GetDataLength(msg) > l->hub->cfg.max_message) {
		/* a kitchen of ours could not send it either (the hub's
		 * config is only read, by every thread) */
		pthread_mutex_lock(&l->lock);
		l->oversized++;
		pthread_mutex_unlock(&l->lock);
	} else if (!strncmp(subject, LINK_SUBJECT_PREFIX, sizeof LINK_SUBJECT_PREFIX - 1)) {
		/* under the lock, so that once the hub is closing the link,
		 * nothing more of the NATS client's enters the inbox (what is
		 * there goes back before the library does) */
		pthread_mutex_lock(&l->lock);
		if (!l->closing) {
			link_note_remote(l, subject);
			/* refused when full: counted by the inbox, a gap in the books */
			hub_inbox_push_owned(&l->hub->inbox, &l->src, natsMsg_GetData(msg),
					     (size_t)natsMsg_GetDataLength(msg), link_msg_release, msg);
			msg = NULL;
		}
		pthread_mutex_unlock(&l->lock);
	}
	natsMsg_Destroy(msg);
}

static void link_url(natsConnection *nc, char *buf, size_t size)
{
	if (natsConnection_GetConnectedUrl(nc, buf, size) != NATS_OK || !*buf)
		snprintf(buf, size, "(no server)");
}

static void link_on_connected(natsConnection *nc, void *arg)
{
	char url[256];

	link_url(nc, url, sizeof url);
	log_info("NATS link: connected to %s", url);
}

static void link_on_disconnected(natsConnection *nc, void *arg)
{
	struct hub_link *l = arg;

	if (natsConnection_IsClosed(nc))
		return;		/* the hub is closing it */
	pthread_mutex_lock(&l->lock);
	l->disconnects++;
	pthread_mutex_unlock(&l->lock);
	log_warn("NATS link: disconnected; reconnecting");
}

static void link_on_closed(natsConnection *nc, void *arg)
{
	log_debug("NATS link: closed");
}

/* cnats reports a slow consumer on every message it drops: say so at most
 * once a second (the count is in the status). */
static void link_on_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *arg)
{
	struct hub_link *l = arg;
	time_t now = time(NULL);
	int say;

	pthread_mutex_lock(&l->lock);
	say = now != l->slow_logged;
	if (say)
		l->slow_logged = now;
	pthread_mutex_unlock(&l->lock);
	if (say)
		log_warn("NATS link: %s", natsStatus_GetText(err));
}

/* ---- what the link subscribes to ----------------------------------------------- */

/* A queue group of this hub's alone: every other hub has its own, and so
 * its own copy of each dumpling. */
static void link_queue_name(struct hub_link *l)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(l->queue, sizeof l->queue, "dumplings-hub-%ld-%lx-%lx", (long)getpid(),
		 (unsigned long)ts.tv_sec, (unsigned long)ts.tv_nsec);
}

/* Each of n subscriptions may hold its share of the pending limits. */
static natsStatus link_share_limits(struct link_sub *ls, int n)
{
	if (n < 1)
		n = 1;
	return natsSubscription_SetPendingLimits(ls->sub, LINK_PENDING_DUMPLINGS / n,
						 LINK_PENDING_BYTES / n);
}

/* On cnats' delivery thread, once the last message of a closed
 * subscription has been handed over (or thrown away). */
static void link_sub_done(void *arg)
{
	struct hub_link *l = arg;

	pthread_mutex_lock(&l->lock);
	l->subs_live--;
	pthread_cond_broadcast(&l->subs_done);
	pthread_mutex_unlock(&l->lock);
}

/* Why closing waits for it: cnats' delivery thread throws away what a
 * closed subscription still had by giving it to the library's collector
 * thread, and at nats_CloseAndWait() that thread may end first, leaving
 * those messages to no one. */
static void link_subs_wait(struct hub_link *l)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)LINK_SUBS_DONE_WAIT;
	pthread_mutex_lock(&l->lock);
	while (l->subs_live > 0 &&
	       pthread_cond_timedwait(&l->subs_done, &l->lock, &until) == 0)
		;
	pthread_mutex_unlock(&l->lock);
}

/* Subscribe to one kitchen's dumplings, or to all with kitchen NULL. */
static natsStatus link_subscribe(struct hub_link *l, const char *kitchen, int n,
				 struct link_sub *out)
{
	char subject[LINK_SUBJECT_MAX];
	natsStatus s;

	if (kitchen) {
		if (!hub_link_pattern(subject, sizeof subject, kitchen, NULL))
			return NATS_INVALID_ARG;
	} else {
		snprintf(subject, sizeof subject, "%s", LINK_SUBSCRIPTION);
	}
	s = natsConnection_QueueSubscribe(&out->sub, l->nc, subject, l->queue, link_on_msg, l);
	if (s != NATS_OK)
		return s;
	if (natsSubscription_SetOnCompleteCB(out->sub, link_sub_done, l) == NATS_OK) {
		pthread_mutex_lock(&l->lock);
		l->subs_live++;
		pthread_mutex_unlock(&l->lock);
	}
	out->kitchen = kitchen ? xstrdup(kitchen) : NULL;
	if ((s = link_share_limits(out, n)) != NATS_OK) {
		natsSubscription_Destroy(out->sub);
		free(out->kitchen);
	}
	return s;
}

static int name_in(const char *const *v, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(v[i], name))
			return 1;
	return 0;
}

/* The kitchens the eaters name, when each names some and together no more
 * than max; -1 when the link must take them all (an eater with no kitchen
 * filter, or none at all: the books, the health reports and the latest
 * of every kitchen are kept for whoever comes). */
static int scope_wanted(struct hub *hub, const char **names, int max)
{
	int n = 0;

	for (struct hub_conn *c = hub->eaters; c; c = c->next) {
		if (!c->greeted || c->closing)
			continue;
		if (!c->sub.kitchens.n)
			return -1;
		for (int i = 0; i < c->sub.kitchens.n; i++) {
			if (name_in(names, n, c->sub.kitchens.v[i]))
				continue;
			if (n == max)
				return -1;
			names[n++] = c->sub.kitchens.v[i];
		}
	}
	return n ? n : -1;
}

static int scope_is(const struct hub_link *l, const char *const *names, int n)
{
	if (n < 0)
		return !l->narrow;
	if (!l->narrow || l->nsubs != n)
		return 0;
	for (int i = 0; i < n; i++)
		if (!name_in(names, n, l->subs[i].kitchen))
			return 0;
	return 1;
}

static int scope_has(const struct hub_link *l, const char *kitchen)
{
	if (!l->narrow)
		return 1;
	for (int i = 0; i < l->nsubs; i++)
		if (!strcmp(l->subs[i].kitchen, kitchen))
			return 1;
	return 0;
}

static int local_kitchen(struct hub *hub, const char *name)
{
	for (struct hub_conn *c = hub->kitchens; c; c = c->next)
		if (c->greeted && c->name && !strcmp(c->name, name))
			return 1;
	return 0;
}

/* A kitchen of another hub that the link did not take for a while comes
 * back (into names, or all of them with n < 0): its runs' books start
 * again, since what it sent meanwhile was not lost. Not the books of this
 * hub's own kitchens, which the link never brought. */
static void scope_forget(struct hub_link *l, const char *const *names, int n)
{
	char name[LINK_NAME_MAX];

	pthread_mutex_lock(&l->lock);
	for (int i = 0; i < l->nremote; i++) {
		link_remote_name(&l->remote[i], name, sizeof name);
		if (!scope_has(l, name) && (n < 0 || name_in(names, n, name)) &&
		    !local_kitchen(l->hub, name))
			seq_book_forget(&l->hub->seq, name);
	}
	pthread_mutex_unlock(&l->lock);
}

/* Subscriptions whose drain is over go; the list is bounded. */
static void scope_reap(struct hub_link *l)
{
	int kept = 0;

	for (int i = 0; i < l->ndraining; i++) {
		natsSubscription *sub = l->draining[i];

		if (natsSubscription_IsValid(sub) && l->ndraining < LINK_DRAINING_MAX) {
			l->draining[kept++] = sub;
			continue;
		}
		if (natsSubscription_IsValid(sub))
			natsSubscription_Unsubscribe(sub);	/* too many at once */
		natsSubscription_Destroy(sub);
	}
	l->ndraining = kept;
}

/* A subscription no longer wanted takes what it holds to the hub, then
 * goes. Under subs_lock. */
static void scope_drop(struct hub_link *l, struct link_sub *old)
{
	int64_t dropped = 0;

	natsSubscription_GetDropped(old->sub, &dropped);
	l->dropped_gone += dropped;
	if (natsSubscription_Drain(old->sub) != NATS_OK || l->ndraining == LINK_DRAINING_MAX)
		natsSubscription_Destroy(old->sub);
	else
		l->draining[l->ndraining++] = old->sub;
	free(old->kitchen);
}

static void scope_log(const struct hub_link *l)
{
	char list[512];
	size_t at = 0;

	if (!l->narrow) {
		log_info("NATS link: takes every kitchen's dumplings");
		return;
	}
	list[0] = '\0';
	for (int i = 0; i < l->nsubs && at < sizeof list; i++)
		at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", i ? ", " : "",
				       l->subs[i].kitchen);
	log_info("NATS link: takes only the dumplings of %s, which its eaters name", list);
}

/* The new subscriptions first, then the old ones drain: nothing of a
 * kitchen still wanted is missed in between, and the queue group keeps
 * what both match from coming twice. */
static void link_rescope(lws_sorted_usec_list_t *sul)
{
	struct hub_link *l = lws_container_of(sul, struct hub_link, rescope);
	const char *names[LINK_SCOPE_MAX];
	struct link_sub next[LINK_SCOPE_MAX];
	int n = scope_wanted(l->hub, names, LINK_SCOPE_MAX), nnext = 0, keep[LINK_SCOPE_MAX];

	scope_reap(l);
	if (scope_is(l, names, n))
		return;
	scope_forget(l, names, n);
	for (int i = 0; i < l->nsubs; i++)
		keep[i] = n >= 0 && l->narrow && name_in(names, n, l->subs[i].kitchen);
	for (int i = 0; i < (n < 0 ? 1 : n); i++) {
		int j;

		for (j = 0; j < l->nsubs && !(keep[j] && !strcmp(l->subs[j].kitchen, names[i])); j++)
			;
		if (j < l->nsubs) {
			next[nnext] = l->subs[j];
			link_share_limits(&next[nnext++], n);
		} else if (link_subscribe(l, n < 0 ? NULL : names[i], n < 0 ? 1 : n,
					  &next[nnext]) == NATS_OK) {
			nnext++;
		} else if (n < 0) {
			/* all, or the old ones stay: never nothing */
			log_warn("NATS link: cannot subscribe to " LINK_SUBSCRIPTION "; trying again");
			lws_sul_schedule(l->hub->ctx, 0, &l->rescope, link_rescope, LINK_RESCOPE_US);
			return;
		} else {
			log_warn("NATS link: cannot subscribe for kitchen %s", names[i]);
		}
	}
	if (!nnext) {
		lws_sul_schedule(l->hub->ctx, 0, &l->rescope, link_rescope, LINK_RESCOPE_US);
		return;
	}
	pthread_mutex_lock(&l->subs_lock);
	for (int i = 0; i < l->nsubs; i++)
		if (!keep[i])
			scope_drop(l, &l->subs[i]);
	memcpy(l->subs, next, (size_t)nnext * sizeof *next);
	l->nsubs = nnext;
	l->narrow = n >= 0;
	pthread_mutex_unlock(&l->subs_lock);
	scope_log(l);
}

void hub_link_rescope(struct hub *hub)
{
	/* once: eaters that keep coming must not put it off for ever */
	if (hub->link && !lws_dll2_is_detached(&hub->link->rescope.list))
		return;
	if (hub->link)
		lws_sul_schedule(hub->ctx, 0, &hub->link->rescope, link_rescope, LINK_RESCOPE_US);
}

static void link_free_subs(struct hub_link *l)
{
	for (int i = 0; i < l->nsubs; i++) {
		natsSubscription_Destroy(l->subs[i].sub);
		free(l->subs[i].kitchen);
	}
	l->nsubs = 0;
	for (int i = 0; i < l->ndraining; i++)
		natsSubscription_Destroy(l->draining[i]);
	l->ndraining = 0;
}

/* ---- opening and closing ---------------------------------------------------- */

static int link_fail(const char *what, natsStatus s)
{
	const char *detail = nats_GetLastError(NULL);

	if (detail && *detail)
		log_error("NATS link: %s: %s (%s)", what, natsStatus_GetText(s), detail);
	else
		log_error("NATS link: %s: %s", what, natsStatus_GetText(s));
	return -1;
}

/* --nats URL[,URL...] as cnats' server list. */
static natsStatus link_servers(natsOptions *o, const char *list)
{
	char *copy = xstrdup(list), *save = NULL;
	const char **v = NULL;
	int n = 0;
	natsStatus s;

	for (char *u = strtok_r(copy, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
		v = xrealloc(v, (n + 1) * sizeof *v);
		v[n++] = u;
	}
	s = n ? natsOptions_SetServers(o, v, n) : NATS_INVALID_ARG;
	free(v);
	free(copy);
	return s;
}

static natsStatus link_auth(struct hub_link *l, natsOptions *o)
{
	const struct hub_config *cfg = &l->hub->cfg;
	natsStatus s = NATS_OK;
	char *token = NULL;

	/* cnats reads the file only when it connects, and then again at
	 * every reconnection: a file that is not there is said now */
	if (cfg->nats_creds && access(cfg->nats_creds, R_OK) < 0) {
		log_error("NATS link: --nats-creds %s: %s", cfg->nats_creds, strerror(errno));
		return NATS_INVALID_ARG;
	}
	if (cfg->nats_creds)
		s = natsOptions_SetUserCredentialsFromFiles(o, cfg->nats_creds, NULL);
	if (s == NATS_OK && cfg->nats_token_file) {
		if (token_load(cfg->nats_token_file, NULL, &token) <= 0)
			return NATS_INVALID_ARG;
		s = natsOptions_SetToken(o, token);
		free(token);
	}
	if (s == NATS_OK && cfg->nats_ca)
		s = natsOptions_SetSecure(o, true);
	if (s == NATS_OK && cfg->nats_ca)
		s = natsOptions_LoadCATrustedCertificates(o, cfg->nats_ca);
	if (s == NATS_OK && cfg->nats_cert)
		s = natsOptions_LoadCertificatesChain(o, cfg->nats_cert, cfg->nats_key);
	return s;
}

static natsStatus link_options(struct hub_link *l, natsOptions *o)
{
	natsStatus s = link_servers(o, l->hub->cfg.nats);

	if (s == NATS_OK) s = natsOptions_SetName(o, "dumplings hub");
	if (s == NATS_OK) s = natsOptions_SetIOBufSize(o, LINK_IO_BUF);
	/* one delivery thread for every subscription, in the order they came
	 * off the socket: a kitchen's dumplings stay in order while one
	 * subscription replaces another */
	if (s == NATS_OK) s = nats_SetMessageDeliveryPoolSize(1);
	if (s == NATS_OK) s = natsOptions_UseGlobalMessageDelivery(o, true);
	if (s == NATS_OK) s = natsOptions_SetNoEcho(o, true);
	if (s == NATS_OK) s = natsOptions_SetMaxReconnect(o, -1);
	if (s == NATS_OK) s = natsOptions_SetReconnectWait(o, LINK_RECONNECT_WAIT_MS);
	if (s == NATS_OK) s = natsOptions_SetReconnectJitter(o, LINK_RECONNECT_JITTER_MS,
							      LINK_RECONNECT_JITTER_MS);
	if (s == NATS_OK) s = natsOptions_SetReconnectBufSize(o, LINK_RECONNECT_BUF);
	if (s == NATS_OK) s = natsOptions_SetWriteDeadline(o, LINK_WRITE_DEADLINE_MS);
	if (s == NATS_OK) s = natsOptions_SetPingInterval(o, LINK_PING_MS);
	if (s == NATS_OK) s = natsOptions_SetMaxPendingMsgs(o, LINK_PENDING_DUMPLINGS);
	if (s == NATS_OK) s = natsOptions_SetRetryOnFailedConnect(o, true, link_on_connected, l);
	if (s == NATS_OK) s = natsOptions_SetReconnectedCB(o, link_on_connected, l);
	if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(o, link_on_disconnected, l);
	if (s == NATS_OK) s = natsOptions_SetClosedCB(o, link_on_closed, l);
	if (s == NATS_OK) s = natsOptions_SetErrorHandler(o, link_on_error, l);
	if (s == NATS_OK) s = link_auth(l, o);
	return s;
}

static int link_connect(struct hub_link *l)
{
	natsStatus s = natsOptions_Create(&l->opts);

	if (s != NATS_OK)
		return link_fail("cannot create options", s);
	if ((s = link_options(l, l->opts)) != NATS_OK)
		return link_fail("bad options", s);
	if ((s = natsStatistics_Create(&l->stats)) != NATS_OK)
		return link_fail("cannot create statistics", s);
	/* with a connected callback, cnats connects in the background */
	s = natsConnection_Connect(&l->nc, l->opts);
	if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED)
		return link_fail(l->hub->cfg.nats, s);
	if (s == NATS_OK)	/* at once: cnats calls back only for a later connect */
		link_on_connected(l->nc, l);
	else
		log_warn("NATS link: no server at %s answers yet; trying on", l->hub->cfg.nats);
	if ((s = link_subscribe(l, NULL, 1, &l->subs[0])) != NATS_OK)
		return link_fail("cannot subscribe to " LINK_SUBSCRIPTION, s);
	l->nsubs = 1;
	return 0;
}

int hub_link_open(struct hub *hub)
{
	struct hub_link *l;

	if (!hub->cfg.nats)
		return 0;
	l = xcalloc(1, sizeof *l);
	hub->link = l;
	l->hub = hub;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->more, NULL);
	pthread_cond_init(&l->subs_done, NULL);
	pthread_mutex_init(&l->subs_lock, NULL);
	link_queue_name(l);
	l->fan.ops = &link_ops;
	snprintf(l->fan.label, sizeof l->fan.label, "NATS link");
	if (link_connect(l) < 0)
		return -1;
	if (pthread_create(&l->publisher, NULL, link_publisher, l) != 0) {
		log_error("NATS link: cannot start the publisher thread");
		return -1;
	}
	l->publisher_started = 1;
	if (hub->cfg.nats_stream) {
		if (start_thread(&l->keeper, link_stream_keeper, l) != 0) {
			log_error("NATS link: cannot start the thread that makes sure of the stream");
			return -1;
		}
		l->keeper_started = 1;
	}
	hub_fanout_join(hub, &l->fan);
	return 0;
}

static void link_free_outbox(struct hub_link *l)
{
	for (struct link_item *it = l->head, *next; it; it = next) {
		next = it->next;
		free(it);
	}
	l->head = l->tail = NULL;
}

void hub_link_close(struct hub *hub)
{
	struct hub_link *l = hub->link;

	if (!l)
		return;
	lws_sul_cancel(&l->drain);
	lws_sul_cancel(&l->rescope);
	hub_replay_stop_all(hub);
	hub_fanout_leave(hub, &l->fan);
	pthread_mutex_lock(&l->lock);
	l->stop = 1;
	pthread_cond_signal(&l->more);
	pthread_mutex_unlock(&l->lock);
	if (l->publisher_started)
		pthread_join(l->publisher, NULL);
	pthread_mutex_lock(&l->lock);
	l->closing = 1;
	pthread_mutex_unlock(&l->lock);
	if (l->nc) {
		if (natsConnection_Status(l->nc) == NATS_CONN_STATUS_CONNECTED)
			natsConnection_FlushTimeout(l->nc, LINK_CLOSE_FLUSH_MS);
		natsConnection_Close(l->nc);
		link_subs_wait(l);
	}
	if (l->keeper_started)	/* what it asked JetStream fails now */
		pthread_join(l->keeper, NULL);
	if (hub_replay_wait_all(LINK_REPLAYS_WAIT) < 0) {
		hub->link = NULL;
		return;
	}
	link_free_subs(l);
	jsCtx_Destroy(l->js);
	natsConnection_Destroy(l->nc);
	natsOptions_Destroy(l->opts);
	natsStatistics_Destroy(l->stats);
	/* the messages still in the inbox are cnats': back to it while it
	 * is there */
	hub_inbox_clear(&hub->inbox);
	/* cnats' threads end before what they were handed goes; if they
	 * do not in time, l is left to them (the hub is exiting anyway) */
	if (nats_CloseAndWait(2000) != NATS_OK) {
		log_warn("the NATS client did not stop in time; leaving it be");
		hub->link = NULL;
		return;
	}
	link_free_outbox(l);
	pthread_cond_destroy(&l->more);
	pthread_cond_destroy(&l->subs_done);
	pthread_mutex_destroy(&l->lock);
	pthread_mutex_destroy(&l->subs_lock);
	free(l);
	hub->link = NULL;
}

int hub_link_subscribers(struct hub *hub)
{
	return hub->link && hub->link->fan.fed;
}

/* ---- numbers ------------------------------------------------------------------ */

/* What the numbers say at one moment, copied under the lock. */
struct link_numbers {
	struct link_sample s;
	unsigned long outbox_dropped, publish_failed, disconnects;
	unsigned long unpublishable, oversized;
	size_t outbox_n, outbox_bytes;
	unsigned long inbox_refused, in, invalid, out, skipped;
};

static void link_numbers(struct hub_link *l, struct link_numbers *n)
{
	pthread_mutex_lock(&l->lock);
	n->s = l->sample;
	n->outbox_dropped = l->outbox_dropped;
	n->unpublishable = l->unpublishable;
	n->oversized = l->oversized;
	n->publish_failed = l->publish_failed;
	n->disconnects = l->disconnects;
	n->outbox_n = l->n;
	n->outbox_bytes = l->bytes;
	pthread_mutex_unlock(&l->lock);
	n->inbox_refused = hub_inbox_refused(&l->hub->inbox);
	n->in = l->src.in;
	n->invalid = l->src.invalid;
	n->out = l->fan.out;
	n->skipped = l->fan.dropped;
}

/* The link's numbers, each listed once: X(name, status key, metric name
 * after dumplings_hub_nats_ (NULL: the status only), type, help, value). */
#define LINK_STATS(X) \
	X(reconnects, "reconnects", "reconnects_total", "counter", \
	  "Times the link connected to a NATS server again.", n->s.reconnects) \
	X(disconnects, "disconnects", "disconnects_total", "counter", \
	  "Times the link lost its NATS server.", n->disconnects) \
	X(messages_in, "messages_in", "messages_in_total", "counter", \
	  "Messages received from NATS.", n->s.in_msgs) \
	X(messages_out, "messages_out", "messages_out_total", "counter", \
	  "Messages published to NATS.", n->s.out_msgs) \
	X(bytes_in, "bytes_in", NULL, NULL, NULL, n->s.in_bytes) \
	X(bytes_out, "bytes_out", NULL, NULL, NULL, n->s.out_bytes) \
	X(in, "dumplings_in", "dumplings_in_total", "counter", \
	  "Valid dumplings taken from NATS, made by other hubs' kitchens.", n->in) \
	X(invalid, "dumplings_invalid", "dumplings_invalid_total", "counter", \
	  "Messages from NATS dropped as invalid dumplings.", n->invalid) \
	X(out, "dumplings_out", "dumplings_out_total", "counter", \
	  "Dumplings of this hub's kitchens queued for NATS.", n->out) \
	X(skipped, "dumplings_skipped", "dumplings_skipped_total", "counter", \
	  "Dumplings of this hub's kitchens the link missed, a full queue behind.", n->skipped) \
	X(slow, "slow_consumer_dropped", "slow_consumer_dropped_total", "counter", \
	  "Messages the NATS client dropped past its pending limits (slow consumer).", \
	  n->s.slow_dropped) \
	X(inbox_refused, "inbox_refused", "inbox_refused_total", "counter", \
	  "Dumplings from NATS refused by the hub's full inbox.", n->inbox_refused) \
	X(outbox_dropped, "outbox_dropped", "outbox_dropped_total", "counter", \
	  "Dumplings for NATS dropped because the link's outbox was full.", n->outbox_dropped) \
	X(unpublishable, "unpublishable", "unpublishable_total", "counter", \
	  "Dumplings not published: their kitchen and chef names make too long a subject.", \
	  n->unpublishable) \
	X(oversized, "oversized", "oversized_total", "counter", \
	  "Messages from NATS dropped for being over --max-message.", n->oversized) \
	X(publish_failed, "publish_failed", "publish_failed_total", "counter", \
	  "Publishes the NATS client refused (its reconnect buffer full, or closed).", \
	  n->publish_failed) \
	X(pending_in_n, "pending_in_dumplings", NULL, NULL, NULL, n->s.pending_msgs) \
	X(pending_in, "pending_in_bytes", "pending_in_bytes", "gauge", \
	  "Bytes received from NATS not yet handed to the hub.", n->s.pending_bytes) \
	X(pending_out_n, "pending_out_dumplings", NULL, NULL, NULL, n->outbox_n) \
	X(pending_out, "pending_out_bytes", "pending_out_bytes", "gauge", \
	  "Bytes for NATS not yet written to its socket.", n->outbox_bytes + n->s.buffered)

#define LINK_STAT_VALUE(id, key, metric, type, help, expr) \
	static double link_stat_##id(const struct link_numbers *n) { return (double)(expr); }
LINK_STATS(LINK_STAT_VALUE)
#undef LINK_STAT_VALUE

static const struct {
	const char *key, *metric, *type, *help;
	double (*value)(const struct link_numbers *n);
} link_stats[] = {
#define LINK_STAT_ROW(id, key, metric, type, help, expr) { key, metric, type, help, link_stat_##id },
	LINK_STATS(LINK_STAT_ROW)
#undef LINK_STAT_ROW
};

/* what a remote kitchen's entry takes beside its name */
#define LINK_REMOTE_ENTRY_SIZE 48

void hub_link_remote_status(struct hub *hub, cJSON *p, size_t budget)
{
	struct hub_link *l = hub->link;
	cJSON *a;
	char name[LINK_NAME_MAX];
	unsigned long unlisted;
	size_t used = 0;

	if (!l)
		return;
	a = cJSON_AddArrayToObject(p, "remote_kitchens");
	pthread_mutex_lock(&l->lock);
	unlisted = l->remote_unlisted;
	for (int i = 0; i < l->nremote; i++) {
		cJSON *o;

		if (used + l->remote[i].len + LINK_REMOTE_ENTRY_SIZE > budget) {
			unlisted++;
			continue;
		}
		used += l->remote[i].len + LINK_REMOTE_ENTRY_SIZE;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "kitchen", link_remote_name(&l->remote[i], name, sizeof name));
		cJSON_AddNumberToObject(o, "dumplings_in", (double)l->remote[i].in);
		cJSON_AddItemToArray(a, o);
	}
	pthread_mutex_unlock(&l->lock);
	cJSON_AddNumberToObject(p, "remote_kitchens_unlisted", (double)unlisted);
}

static void link_stream_status(struct hub_link *l, cJSON *o)
{
	cJSON *st;

	if (!l->hub->cfg.nats_stream)
		return;
	st = cJSON_AddObjectToObject(o, "stream");
	cJSON_AddStringToObject(st, "name", l->hub->cfg.nats_stream);
	pthread_mutex_lock(&l->lock);
	cJSON_AddBoolToObject(st, "ready", l->stream_ready);
	if (!l->stream_ready)
		cJSON_AddStringToObject(st, "why", l->stream_why[0] ? l->stream_why : "not found yet");
	pthread_mutex_unlock(&l->lock);
}

void hub_link_status(struct hub *hub, cJSON *p)
{
	struct hub_link *l = hub->link;
	struct link_numbers n;
	cJSON *o;

	if (!l)
		return;
	link_numbers(l, &n);
	o = cJSON_AddObjectToObject(p, "nats");
	cJSON_AddBoolToObject(o, "connected", n.s.connected);
	if (n.s.connected)
		cJSON_AddStringToObject(o, "server", n.s.server);
	else
		cJSON_AddNullToObject(o, "server");
	for (size_t i = 0; i < sizeof link_stats / sizeof *link_stats; i++)
		cJSON_AddNumberToObject(o, link_stats[i].key, link_stats[i].value(&n));
	link_stream_status(l, o);
}

static void link_metric(FILE *f, const char *name, const char *type, const char *help, double v)
{
	fprintf(f, "# HELP dumplings_hub_nats_%s %s\n# TYPE dumplings_hub_nats_%s %s\n"
		"dumplings_hub_nats_%s %.15g\n", name, help, name, type, name, v);
}

static void link_remote_metrics(FILE *f, struct hub_link *l)
{
	char name[LINK_NAME_MAX];

	fputs("# HELP dumplings_hub_nats_kitchen_dumplings_in_total Dumplings received "
	      "over NATS, by the kitchen that made them.\n"
	      "# TYPE dumplings_hub_nats_kitchen_dumplings_in_total counter\n", f);
	pthread_mutex_lock(&l->lock);
	for (int i = 0; i < l->nremote; i++) {
		fputs("dumplings_hub_nats_kitchen_dumplings_in_total{kitchen=\"", f);
		hub_metrics_label(f, link_remote_name(&l->remote[i], name, sizeof name));
		fprintf(f, "\"} %lu\n", l->remote[i].in);
	}
	pthread_mutex_unlock(&l->lock);
}

void hub_link_metrics(struct hub *hub, FILE *f)
{
	struct hub_link *l = hub->link;
	struct link_numbers n;
	int ready;

	if (!l)
		return;
	link_numbers(l, &n);
	fputs("# HELP dumplings_hub_nats_connected 1 while connected to a NATS server, "
	      "labelled with its address.\n# TYPE dumplings_hub_nats_connected gauge\n", f);
	fputs("dumplings_hub_nats_connected{server=\"", f);
	hub_metrics_label(f, n.s.connected ? n.s.server : "");
	fprintf(f, "\"} %d\n", n.s.connected);
	for (size_t i = 0; i < sizeof link_stats / sizeof *link_stats; i++)
		if (link_stats[i].metric)
			link_metric(f, link_stats[i].metric, link_stats[i].type, link_stats[i].help,
				    link_stats[i].value(&n));
	if (hub->cfg.nats_stream) {
		pthread_mutex_lock(&l->lock);
		ready = l->stream_ready;
		pthread_mutex_unlock(&l->lock);
		link_metric(f, "stream_ready", "gauge", "1 once the link has made sure of the "
			    "--nats-stream stream.", ready);
	}
	link_remote_metrics(f, l);
}
