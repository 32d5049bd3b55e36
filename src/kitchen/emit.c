/* The emit stage (see emit.h): every dumpling the chefs made is put in
 * its envelope, numbered, printed and handed to the sink on a thread of
 * its own, the printer thread. Plates take turns: the kitchen thread fills
 * one while this thread prints those sent before, in order, each followed
 * by a flush of the sink. Printing is about a fifth of the work per
 * dumpling, and the kitchen thread, which runs the chefs, sets the pace. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "emit.h"
#include "sink.h"

/* Three: while the chefs fill one, two can wait to be printed, so that a
 * slow flush does not hold the chefs up at once. */
enum { PLATES = 3 };

enum plate_state { PLATE_FREE, PLATE_FILLING, PLATE_QUEUED };

struct emit {
	struct sink *sink;
	size_t max_len;
	const _Atomic int *stop;	/* the kitchen's */
	char *kitchen;			/* the kitchen's name, quoted */
	char run[17];			/* this kitchen run's id, in hex */
	pthread_t thread;
	int threadless;			/* no thread: print on send */

	/* the printer thread's */
	unsigned long long next_seq;
	struct json_buf text;
	struct log_limit fail_log;
	char *chef, *chef_quoted;	/* the last chef printed, and its name quoted */

	pthread_mutex_t mu;
	pthread_cond_t queued;		/* a plate was queued, or stop */
	pthread_cond_t printed_one;	/* a plate went back to free */
	struct plate plates[PLATES];
	enum plate_state state[PLATES];
	int fill;			/* the plate the kitchen fills next */
	int next;			/* the plate the printer prints next */
	int stopping, closed;
	unsigned long printed, failed;
	unsigned long long last_seq;	/* of the last plate printed */
	int gone;
};

/* ---- the envelope ------------------------------------------------------ */

static size_t append(char *dst, size_t at, const char *s)
{
	size_t n = strlen(s);

	memcpy(dst + at, s, n);
	return at + n;
}

static size_t append_unsigned(char *dst, size_t at, unsigned long long v)
{
	char digits[24];
	int n = 0;

	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (n)
		dst[at++] = digits[--n];
	return at;
}

/* The envelope is the same for every dumpling but for the time and the
 * seq, so it is written from a template; only the payload is a tree. */
const char *emit_envelope(const struct cJSON *payload, const struct dumpling_meta *meta,
			  struct json_buf *buf, size_t *len, const char **why)
{
	size_t head;

	json_buf_reserve(buf, 4096 + strlen(meta->chef) + strlen(meta->kitchen));
	head = append(buf->data, 0, "{\"metadata\":{\"chef\":");
	head = append(buf->data, head, meta->chef);
	head = append(buf->data, head, ",\"kitchen\":");
	head = append(buf->data, head, meta->kitchen);
	head = append(buf->data, head, ",\"creation_time\":");
	head = append(buf->data, head, meta->creation_time);
	head = append(buf->data, head, ",\"driver\":\"");
	head = append(buf->data, head, meta->driver);
	if (meta->chef_rev) {
		head = append(buf->data, head, "\",\"chef_rev\":\"");
		head = append(buf->data, head, meta->chef_rev);
	}
	if (meta->run) {
		head = append(buf->data, head, "\",\"run\":\"");
		head = append(buf->data, head, meta->run);
		head = append(buf->data, head, "\",\"seq\":");
		head = append_unsigned(buf->data, head, meta->seq);
		head = append(buf->data, head, "},\"payload\":");
	} else {
		head = append(buf->data, head, "\"},\"payload\":");
	}
	*len = json_tree_print(payload, buf, head);
	if (!*len) {
		*why = "dumpling larger than 1 GiB";
		return NULL;
	}
	buf->data[(*len)++] = '}';
	buf->data[*len] = '\0';
	return buf->data;
}


/* ---- the printer thread -------------------------------------------------- */

static void print_failed(struct emit *e, const struct plate_item *it, const char *why)
{
	unsigned long suppressed;

	if (!log_allow(&e->fail_log, &suppressed))
		return;
	if (suppressed)
		log_error("chef %s: dumpling skipped: %s (%lu similar errors not shown)",
			  it->chef, why, suppressed);
	else
		log_error("chef %s: dumpling skipped: %s", it->chef, why);
}

/* Chefs are few, and a plate mostly holds one chef's dumplings after
 * another's: the last name quoted is kept. */
static const char *quoted_chef(struct emit *e, const char *chef)
{
	if (!e->chef || strcmp(e->chef, chef)) {
		free(e->chef);
		free(e->chef_quoted);
		e->chef = xstrdup(chef);
		e->chef_quoted = json_quote(chef);
	}
	return e->chef_quoted;
}

/* Put one dumpling in its envelope and hand it to the sink; returns
 * whether it went. Numbered as they go out: what is refused takes no
 * number, so the numbers have no gaps at the source. */
static int print_item(struct emit *e, const struct plate_item *it)
{
	struct dumpling_meta meta = {
		.chef = quoted_chef(e, it->chef), .kitchen = e->kitchen, .driver = it->driver,
		.chef_rev = it->rev, .creation_time = it->creation_time,
		.seq = e->next_seq,
#ifdef DUMPLINGS_NO_SEQ		/* bench/run's reference, to price the numbers */
		.run = NULL,
#else
		.run = e->run,
#endif
	};
	const char *json, *why;
	char too_big[80];
	size_t len;

	json = emit_envelope(it->payload, &meta, &e->text, &len, &why);
	if (json && e->max_len && len > e->max_len) {
		snprintf(too_big, sizeof too_big, "%zu bytes, over --max-dumpling %zu",
			 len, e->max_len);
		json = NULL;
		why = too_big;
	}
	if (!json) {
		print_failed(e, it, why);
		return 0;
	}
	e->sink->emit(e->sink, json, len, e->next_seq++);
	return 1;
}

/* Print plate i and give it back. The printing runs without the lock:
 * the plate is the printer's until it is freed. */
static void print_plate(struct emit *e, int i)
{
	struct plate *p = &e->plates[i];
	unsigned long printed = 0;

	for (int k = 0; k < p->n; k++)
		printed += print_item(e, &p->items[k]);
	e->sink->flush(e->sink);
	pthread_mutex_lock(&e->mu);
	e->printed += printed;
	e->failed += (unsigned long)p->n - printed;
	e->last_seq = e->next_seq - 1;
	e->gone = e->sink->gone;
	e->state[i] = PLATE_FREE;
	e->next = (i + 1) % PLATES;
	pthread_cond_broadcast(&e->printed_one);
	pthread_mutex_unlock(&e->mu);
}

static void *printer_main(void *arg)
{
	struct emit *e = arg;

	pthread_mutex_lock(&e->mu);
	for (;;) {
		int i = e->next;

		while (e->state[i] != PLATE_QUEUED && !e->stopping)
			pthread_cond_wait(&e->queued, &e->mu);
		if (e->state[i] != PLATE_QUEUED)
			break;
		pthread_mutex_unlock(&e->mu);
		print_plate(e, i);
		pthread_mutex_lock(&e->mu);
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

/* ---- the kitchen's side ---------------------------------------------------- */

/* 64 random bits: a restarted kitchen is a new run, not a gap. */
static void make_run_id(char run[17])
{
	unsigned long long id = 0;

	if (getrandom(&id, sizeof id, 0) != sizeof id)
		id = (unsigned long long)time(NULL) << 20 ^ (unsigned long long)getpid();
	snprintf(run, 17, "%016llx", id);
}

struct emit *emit_start(struct sink *sink, const char *kitchen, size_t max_len,
			const _Atomic int *stop)
{
	struct emit *e = xcalloc(1, sizeof *e);
	int err;

	e->sink = sink;
	e->max_len = max_len;
	e->stop = stop;
	e->kitchen = json_quote(kitchen);
	e->next_seq = 1;
	make_run_id(e->run);
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->queued, NULL);
	pthread_cond_init(&e->printed_one, NULL);
	err = start_thread(&e->thread, printer_main, e);
	if (err) {
		log_warn("cannot start the printer thread (%s): printing in turn", strerror(err));
		e->threadless = 1;
	}
	return e;
}

/* Once the kitchen is stopping, a sink that waits for room (a slow hub,
 * reading files) is told to drop instead, so that the printer, and the
 * kitchen waiting on it, are not held up. */
static void pass_on_stop(struct emit *e)
{
	if (e->stop && *e->stop && !e->sink->stop)
		e->sink->stop = 1;
}

/* Called with mu held. Signals do not end a wait on a condition, so the
 * wait ends every tenth of a second to see whether the kitchen is
 * stopping. */
static void wait_printed(struct emit *e)
{
	struct timespec until;

	pass_on_stop(e);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += 100 * 1000 * 1000;
	if (until.tv_nsec >= 1000 * 1000 * 1000) {
		until.tv_sec++;
		until.tv_nsec -= 1000 * 1000 * 1000;
	}
	pthread_cond_timedwait(&e->printed_one, &e->mu, &until);
}

struct plate *emit_plate(struct emit *e)
{
	struct plate *p;

	pthread_mutex_lock(&e->mu);
	pass_on_stop(e);
	while (e->state[e->fill] != PLATE_FREE && !e->closed)
		wait_printed(e);
	e->state[e->fill] = PLATE_FILLING;
	p = &e->plates[e->fill];
	pthread_mutex_unlock(&e->mu);
	plate_clear(p);
	return p;
}

void emit_send(struct emit *e, struct plate *p)
{
	int i = (int)(p - e->plates), print_now = 0;

	pthread_mutex_lock(&e->mu);
	if (p->n == 0 || e->closed) {
		e->state[i] = PLATE_FREE;
	} else {
		e->state[i] = PLATE_QUEUED;
		e->fill = (i + 1) % PLATES;
		pthread_cond_signal(&e->queued);
		print_now = e->threadless;
	}
	pthread_mutex_unlock(&e->mu);
	if (print_now)
		print_plate(e, i);
}

void emit_json(struct emit *e, const char *chef, const char *json)
{
	struct plate *p = emit_plate(e);

	plate_add(p, json_tree_raw(&p->arena, json), chef, "interval", NULL);
	emit_send(e, p);
}

static int busy(const struct emit *e)
{
	for (int i = 0; i < PLATES; i++)
		if (e->state[i] == PLATE_QUEUED)
			return 1;
	return 0;
}

void emit_wait(struct emit *e)
{
	pthread_mutex_lock(&e->mu);
	while (busy(e))
		wait_printed(e);
	pthread_mutex_unlock(&e->mu);
}

void emit_counts(struct emit *e, unsigned long *printed, unsigned long *failed)
{
	pthread_mutex_lock(&e->mu);
	*printed = e->printed;
	*failed = e->failed;
	pthread_mutex_unlock(&e->mu);
}

unsigned long long emit_last_seq(struct emit *e)
{
	unsigned long long seq;

	pthread_mutex_lock(&e->mu);
	seq = e->last_seq;
	pthread_mutex_unlock(&e->mu);
	return seq;
}

int emit_sink_gone(struct emit *e)
{
	int gone;

	pthread_mutex_lock(&e->mu);
	gone = e->gone;
	pthread_mutex_unlock(&e->mu);
	return gone;
}

void emit_describe(struct emit *e, const struct kitchen_info *info)
{
	if (e->sink->describe)
		e->sink->describe(e->sink, info);
}

int emit_sink_stats(struct emit *e, struct sink_stats *st)
{
	if (!e->sink->stats)
		return -1;
	e->sink->stats(e->sink, st);
	return 0;
}

int emit_close(struct emit *e)
{
	int closed;

	emit_wait(e);
	pthread_mutex_lock(&e->mu);
	closed = e->closed;
	e->stopping = 1;
	e->closed = 1;
	pthread_cond_signal(&e->queued);
	pthread_cond_broadcast(&e->printed_one);
	pthread_mutex_unlock(&e->mu);
	if (closed)
		return 0;
	if (!e->threadless)
		pthread_join(e->thread, NULL);
	return e->sink->close(e->sink);
}

void emit_free(struct emit *e)
{
	if (!e)
		return;
	for (int i = 0; i < PLATES; i++)
		plate_free(&e->plates[i]);
	json_buf_free(&e->text);
	free(e->kitchen);
	free(e->chef);
	free(e->chef_quoted);
	pthread_cond_destroy(&e->queued);
	pthread_cond_destroy(&e->printed_one);
	pthread_mutex_destroy(&e->mu);
	free(e);
}
