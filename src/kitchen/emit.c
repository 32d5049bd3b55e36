/* The printer thread (see printer.h). Two jobs take turns: the kitchen
 * thread fills one with the trees of a batch while this thread prints the
 * other. Printing is about a fifth of the work per dumpling, and the
 * kitchen thread, which runs the chefs, is the one that sets the pace. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "base/jsonnum.h"
#include "base/log.h"
#include "emit.h"
#include "sink.h"
#include "base/util.h"

enum { JOBS = 2 };

struct print_item {
	const struct cJSON *payload;
	const char *name;		/* the chef's, for the log */
	struct dumpling_meta meta;
};

enum job_state { JOB_FREE, JOB_FILLING, JOB_QUEUED };

struct printer {
	struct sink *sink;
	size_t max_len;
	char run[17];			/* this kitchen run's id, in hex */
	unsigned long long next_seq;	/* the printer thread's */
	struct json_buf text;		/* the printer thread's */
	struct log_limit fail_log;	/* the printer thread's */
	pthread_t thread;
	int threadless;			/* no thread: print on submit */

	pthread_mutex_t mu;
	pthread_cond_t queued;		/* a job was queued, or stop */
	pthread_cond_t printed_one;	/* a job went back to free */
	struct print_job jobs[JOBS];
	enum job_state state[JOBS];
	int fill;			/* the job the kitchen fills next */
	int next;			/* the job the printer prints next */
	int stopping;
	unsigned long printed, failed;
	unsigned long long last_seq;	/* of the last job printed */
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

static void print_failed(struct printer *p, const struct print_item *it, const char *why)
{
	unsigned long suppressed;

	if (!log_allow(&p->fail_log, &suppressed))
		return;
	if (suppressed)
		log_error("chef %s: dumpling skipped: %s (%lu similar errors not shown)",
			  it->name, why, suppressed);
	else
		log_error("chef %s: dumpling skipped: %s", it->name, why);
}

/* Print job i and give it back. The printing runs without the lock: the
 * job is the printer's until it is freed. */
static void print_job(struct printer *p, int i)
{
	struct print_job *job = &p->jobs[i];
	unsigned long printed = 0, failed = 0;
	char too_big[80];

	for (int k = 0; k < job->n; k++) {
		struct print_item *it = &job->items[k];
		const char *json, *why;
		size_t len;

		/* Numbered as they go out: what is refused takes no number, so
		 * the numbers have no gaps at the source. */
		it->meta.seq = p->next_seq;
		it->meta.run = p->run;
		json = emit_envelope(it->payload, &it->meta, &p->text, &len, &why);
		if (json && p->max_len && len > p->max_len) {
			snprintf(too_big, sizeof too_big, "%zu bytes, over --max-dumpling %zu",
				 len, p->max_len);
			json = NULL;
			why = too_big;
		}
		if (!json) {
			failed++;
			print_failed(p, it, why);
			continue;
		}
		printed++;
		p->next_seq++;
		p->sink->emit(p->sink, json, len);
	}
	p->sink->flush(p->sink);
	pthread_mutex_lock(&p->mu);
	p->printed += printed;
	p->failed += failed;
	p->last_seq = p->next_seq - 1;
	p->gone = p->sink->gone;
	p->state[i] = JOB_FREE;
	p->next = (i + 1) % JOBS;
	pthread_cond_broadcast(&p->printed_one);
	pthread_mutex_unlock(&p->mu);
}

static void *printer_main(void *arg)
{
	struct printer *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		int i = p->next;

		while (p->state[i] != JOB_QUEUED && !p->stopping)
			pthread_cond_wait(&p->queued, &p->mu);
		if (p->state[i] != JOB_QUEUED)
			break;
		pthread_mutex_unlock(&p->mu);
		print_job(p, i);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* 64 random bits: a restarted kitchen is a new run, not a gap. */
static void make_run_id(char run[17])
{
	unsigned long long id = 0;

	if (getrandom(&id, sizeof id, 0) != sizeof id)
		id = (unsigned long long)time(NULL) << 20 ^ (unsigned long long)getpid();
	snprintf(run, 17, "%016llx", id);
}

struct printer *printer_start(struct sink *sink, size_t max_len)
{
	struct printer *p = xcalloc(1, sizeof *p);
	int err;

	p->sink = sink;
	p->max_len = max_len;
	p->next_seq = 1;
	make_run_id(p->run);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->queued, NULL);
	pthread_cond_init(&p->printed_one, NULL);
	err = pthread_create(&p->thread, NULL, printer_main, p);
	if (err) {
		log_warn("cannot start the printer thread (%s): printing in turn", strerror(err));
		p->threadless = 1;
	}
	return p;
}

struct print_job *printer_job(struct printer *p)
{
	struct print_job *job;

	pthread_mutex_lock(&p->mu);
	while (p->state[p->fill] != JOB_FREE)
		pthread_cond_wait(&p->printed_one, &p->mu);
	p->state[p->fill] = JOB_FILLING;
	job = &p->jobs[p->fill];
	pthread_mutex_unlock(&p->mu);
	json_arena_reset(&job->arena);
	job->n = 0;
	return job;
}

static const char *copy(struct json_arena *a, const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(json_arena_alloc(a, n), s, n);
}

void printer_add(struct print_job *job, const struct cJSON *payload, const char *name,
		 const char *chef, const char *kitchen, const char *driver, const char *rev)
{
	struct print_item *it;

	if (job->n == job->cap) {
		job->cap = job->cap ? job->cap * 2 : 256;
		job->items = xrealloc(job->items, (size_t)job->cap * sizeof *job->items);
	}
	it = &job->items[job->n++];
	it->payload = payload;
	it->name = name;
	it->meta.chef = chef;
	it->meta.kitchen = kitchen;
	it->meta.driver = copy(&job->arena, driver);
	it->meta.chef_rev = rev ? copy(&job->arena, rev) : NULL;
	json_time_now(it->meta.creation_time);
}

void printer_submit(struct printer *p)
{
	int i;

	if (p->threadless) {
		print_job(p, p->fill);
		return;
	}
	pthread_mutex_lock(&p->mu);
	i = p->fill;
	if (p->jobs[i].n == 0) {
		p->state[i] = JOB_FREE;
	} else {
		p->state[i] = JOB_QUEUED;
		p->fill = (i + 1) % JOBS;
		pthread_cond_signal(&p->queued);
	}
	pthread_mutex_unlock(&p->mu);
}

static int busy(const struct printer *p)
{
	for (int i = 0; i < JOBS; i++)
		if (p->state[i] == JOB_QUEUED)
			return 1;
	return 0;
}

void printer_wait(struct printer *p)
{
	pthread_mutex_lock(&p->mu);
	while (busy(p))
		pthread_cond_wait(&p->printed_one, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

unsigned long long printer_last_seq(struct printer *p)
{
	unsigned long long seq;

	pthread_mutex_lock(&p->mu);
	seq = p->last_seq;
	pthread_mutex_unlock(&p->mu);
	return seq;
}

void printer_counts(struct printer *p, unsigned long *printed, unsigned long *failed)
{
	pthread_mutex_lock(&p->mu);
	*printed = p->printed;
	*failed = p->failed;
	pthread_mutex_unlock(&p->mu);
}

int printer_sink_gone(struct printer *p)
{
	int gone;

	pthread_mutex_lock(&p->mu);
	gone = p->gone;
	pthread_mutex_unlock(&p->mu);
	return gone;
}

void printer_stop(struct printer *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = 1;
	pthread_cond_signal(&p->queued);
	pthread_mutex_unlock(&p->mu);
	if (!p->threadless)
		pthread_join(p->thread, NULL);
	for (int i = 0; i < JOBS; i++) {
		json_arena_free(&p->jobs[i].arena);
		free(p->jobs[i].items);
	}
	json_buf_free(&p->text);
	pthread_cond_destroy(&p->queued);
	pthread_cond_destroy(&p->printed_one);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
