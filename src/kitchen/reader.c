/* Reading capture files in a thread of their own: while the chefs cook one
 * batch, the next is read and decoded on the other core, DNS questions
 * included. Batches go round a small ring: the reader fills a free one
 * and queues it; the kitchen takes it, cooks it and gives it back. The
 * reader waits for a free batch, so files are read no faster than they
 * are cooked: nothing is dropped. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"
#include "reader.h"
#include "base/util.h"

enum { NBATCHES = 4 };

struct reader {
	struct capture_source *sources;
	int nsources;
	double speed;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t freed;
	struct batch *batches[NBATCHES];
	struct batch *free[NBATCHES];
	int nfree;
	struct batch *ready[NBATCHES];	/* in order */
	int nready;
	int done, failed;
	_Atomic int stop;		/* also read without the lock, between packets */
	int wake_fd;			/* readable when a batch is ready */
	struct dpl_dns dns;		/* the reader thread's DNS scratch */
};

static void signal_ready(struct reader *r)
{
	uint64_t one = 1;

	if (write(r->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
		log_warn("waking the kitchen: %s", strerror(errno));
}

/* Queue a filled batch; returns an empty one, or NULL when told to stop. */
static struct batch *hand_over(struct reader *r, struct batch *b)
{
	batch_decode_questions(b, &r->dns);
	pthread_mutex_lock(&r->lock);
	r->ready[r->nready++] = b;
	while (!r->nfree && !r->stop)
		pthread_cond_wait(&r->freed, &r->lock);
	b = r->stop ? NULL : r->free[--r->nfree];
	pthread_mutex_unlock(&r->lock);
	signal_ready(r);
	return b;
}

/* --speed: sleep until the wall clock reaches this packet's place, after
 * handing over what was read so far so that it is cooked meanwhile. */
static struct batch *pace(struct reader *r, struct batch *b, double *wall0, double *time0,
			  double packet_time)
{
	double due, now;

	if (*wall0 == 0) {
		*wall0 = monotonic_seconds();
		*time0 = packet_time;
	}
	due = *wall0 + (packet_time - *time0) / r->speed;
	if (due <= monotonic_seconds())
		return b;
	if (b->n)
		b = hand_over(r, b);
	while (b && (now = monotonic_seconds()) < due && !r->stop) {
		double wait = due - now;

		usleep(wait > 0.05 ? 50000 : (useconds_t)(wait * 1e6) + 1);
	}
	return b;
}

static struct batch *read_file(struct reader *r, int i, struct batch *b,
			       double *wall0, double *time0)
{
	struct capture_source *src = &r->sources[i];
	struct pcap_pkthdr *h;
	const u_char *bytes;
	int rc;

	while (b && !r->stop && (rc = pcap_next_ex(src->pcap, &h, &bytes)) == 1) {
		if (r->speed)
			b = pace(r, b, wall0, time0, h->ts.tv_sec + h->ts.tv_usec * src->tick);
		if (b && !batch_has_room(b, h->caplen))
			b = hand_over(r, b);
		if (b)
			batch_add(b, src, i, h, bytes);
	}
	if (b && !r->stop && rc == PCAP_ERROR) {
		log_error("reading %s: %s", src->name, pcap_geterr(src->pcap));
		r->failed = 1;
	}
	return b;
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	struct batch *b;
	double wall0 = 0, time0 = 0;

	pthread_mutex_lock(&r->lock);
	b = r->free[--r->nfree];
	pthread_mutex_unlock(&r->lock);
	/* Each file is paced from its own start: a second file's clock may
	 * be years before or after the first's. */
	for (int i = 0; i < r->nsources && b; i++, wall0 = 0)
		b = read_file(r, i, b, &wall0, &time0);
	if (b && b->n)
		batch_decode_questions(b, &r->dns);
	pthread_mutex_lock(&r->lock);
	if (b && b->n)
		r->ready[r->nready++] = b;
	else if (b)
		r->free[r->nfree++] = b;
	r->done = 1;
	pthread_mutex_unlock(&r->lock);
	signal_ready(r);
	return NULL;
}

static void reader_free(struct reader *r)
{
	if (r->wake_fd >= 0)
		close(r->wake_fd);
	for (int i = 0; i < NBATCHES; i++)
		batch_free(r->batches[i]);
	dns_free(&r->dns);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->freed);
	free(r);
}

struct reader *reader_start(struct capture_source *sources, int nsources, double speed)
{
	struct reader *r = xcalloc(1, sizeof *r);

	r->sources = sources;
	r->nsources = nsources;
	r->speed = speed;
	for (int i = 0; i < NBATCHES; i++)
		r->free[r->nfree++] = r->batches[i] = batch_new();
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->freed, NULL);
	r->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->wake_fd < 0 || pthread_create(&r->thread, NULL, reader_main, r)) {
		log_error("cannot start reading the capture files: %s", strerror(errno));
		reader_free(r);
		return NULL;
	}
	return r;
}

int reader_fd(const struct reader *r)
{
	return r->wake_fd;
}

struct batch *reader_next(struct reader *r, int *done)
{
	struct batch *b = NULL;
	uint64_t n;

	if (read(r->wake_fd, &n, sizeof n) < 0 && errno != EAGAIN)
		log_warn("reading the reader's signal: %s", strerror(errno));
	pthread_mutex_lock(&r->lock);
	if (r->nready) {
		b = r->ready[0];
		memmove(r->ready, r->ready + 1, --r->nready * sizeof *r->ready);
	}
	*done = !b && r->done;
	pthread_mutex_unlock(&r->lock);
	return b;
}

void reader_release(struct reader *r, struct batch *b)
{
	batch_clear(b);
	pthread_mutex_lock(&r->lock);
	r->free[r->nfree++] = b;
	pthread_cond_signal(&r->freed);
	pthread_mutex_unlock(&r->lock);
}

int reader_stop(struct reader *r)
{
	int failed;

	pthread_mutex_lock(&r->lock);
	r->stop = 1;
	pthread_cond_signal(&r->freed);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	failed = r->failed;
	reader_free(r);
	return failed;
}
