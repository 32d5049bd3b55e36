/* The decode stage: every source, live interfaces and capture files alike,
 * is read on a thread of its own, and each packet is copied into a batch
 * and decoded there, DNS questions included, while the chefs cook the
 * batch before. Batches go round a small ring: the reader fills a free
 * one and queues it; the kitchen takes it, cooks it and gives it back
 * (batch.h). The reader waits for a free batch, so packets are read no
 * faster than they are cooked: a file loses nothing, and a live interface
 * that outruns the chefs fills the kernel's buffer, whose drops libpcap
 * counts.
 *
 * Only this thread touches the sources' pcap handles while it runs, so
 * libpcap's counts are read here too, and kept for the kitchen.
 *
 * The flow table is this stage's too: each packet joins its flow as it is
 * decoded, and the flows that end (closed, idle by packet time or, live,
 * by the clock, evicted, or left when the files are read) go into the
 * batch in order with its packets, for the chefs' flow_end. So do the
 * TCP streams of the flows that began while some chef asked for them
 * (reader_want_streams()): their bytes are copied into the batch's stream
 * bytes, and when a batch has no room left for them it is handed over
 * and the rest goes into the next (a spill, flow.h), so nothing is lost
 * or reordered.
 *
 * This thread is also the one writer of -w's capture file: each packet
 * is written as it goes into its batch, after the filter, and no more
 * are read once --count are. And it feeds a large look-back ring
 * (flowcap.h), a batch at a time as it hands it over: the chefs are the
 * slower stage, and this one has the time to copy. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "decode/ipfrag.h"
#include "reader.h"

enum { NBATCHES = 4 };

/* Live, libpcap's counts are read at most this often: on an interface in
 * promiscuous mode each reading opens files in /sys. */
#define COUNTS_EVERY 0.25

struct reader {
	struct capture_source *sources;
	int nsources;
	int live;
	double speed;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t freed;
	struct batch *batches[NBATCHES];
	struct batch *free[NBATCHES];
	int nfree;
	int starved;			/* waiting for free batches */
	struct batch *ready[NBATCHES];	/* in order */
	int nready;
	int done, failed;
	struct capture_counts *counts;	/* per source, as last read */
	struct ipfrag_stats frag_stats;	/* the reassembler's, as last read */
	struct flow_stats flow_stats;	/* as last noted */
	struct tcpreasm_pool stream_pool;	/* the streams' counts, as last noted */
	_Atomic int want_streams;	/* set by the kitchen thread */
	_Atomic int stop;		/* also read without the lock, between packets */
	int wake_fd;			/* readable when a batch is ready */
	int stop_fd;			/* readable once told to stop */
	/* the reader thread's */
	/* packets read, and (from files) those that passed the filter, per
	 * source: counts the kitchen reads as they go (reader_counts), so
	 * stored atomically */
	unsigned long *read, *passed;
	double counted;			/* when counts were last read */
	struct dpl_dns dns;
	struct ipfrag *frags;		/* NULL: fragments left as they are */
	double last_time;		/* of the last packet read */
	double quiet_since;		/* live: when a round last read packets */
	struct flow_table *flows;
	struct batch *cur;		/* the batch being filled */
	unsigned long left;		/* packets still to read (--count) */
	struct pcapng *out;		/* -w, or NULL */
	struct flowcap *ring;		/* the look-back ring's feed, or NULL */
};

/* Pacing a file (--speed): when its first packet was read, by the wall
 * clock and by the packets' own. */
struct pace {
	double wall0, time0;
};

static void signal_fd(int fd, const char *what)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof one) < 0 && errno != EAGAIN)
		log_warn("%s: %s", what, strerror(errno));
}

/* Note libpcap's counts for the kitchen. Files count what was read. */
static void note_counts(struct reader *r)
{
	struct ipfrag_stats frag = { 0 };
	struct flow_stats flow;

	if (r->frags)
		ipfrag_stats(r->frags, &frag);
	flow_table_stats(r->flows, &flow);
	pthread_mutex_lock(&r->lock);
	r->frag_stats = frag;
	r->flow_stats = flow;
	r->stream_pool = *flow_stream_pool(r->flows);
	pthread_mutex_unlock(&r->lock);
	for (int i = 0; i < r->nsources; i++) {
		struct capture_counts c = { r->read[i], r->passed[i], 0, 0 };

		if (r->live)
			capture_counts(&r->sources[i], &c);
		pthread_mutex_lock(&r->lock);
		r->counts[i] = c;
		pthread_mutex_unlock(&r->lock);
	}
	r->counted = monotonic_seconds();
}

/* The work on a batch that waits until it is full: its DNS questions
 * decoded ahead, and its packets into the look-back ring. */
static void finish_batch(struct reader *r, struct batch *b)
{
	batch_decode_questions(b, &r->dns);
	if (r->ring)
		flowcap_ring_feed(r->ring, b->pkts, b->n);
}

/* Queue a filled batch for the kitchen. */
static void queue_batch(struct reader *r, struct batch *b)
{
	/* files too: a long read reports its progress as it goes */
	if (r->frags)		/* so that what never completes is counted */
		ipfrag_expire(r->frags, r->last_time);
	if (monotonic_seconds() - r->counted >= COUNTS_EVERY)
		note_counts(r);
	finish_batch(r, b);
	pthread_mutex_lock(&r->lock);
	r->ready[r->nready++] = b;
	pthread_mutex_unlock(&r->lock);
	signal_fd(r->wake_fd, "waking the kitchen");
}

/* An empty batch, once one is free, or NULL when told to stop. Waiting
 * while holding one that is not queued is safe: the others are all with
 * the kitchen, which gives them back, one by one as it cooks them. A
 * reader that ran out waits for half of them, not one: when the chefs are
 * the slower stage, a wake-up per batch (two context switches) was a
 * tenth of what the kitchen's thread spent outside the chefs. */
static struct batch *take_free(struct reader *r)
{
	struct batch *b;

	pthread_mutex_lock(&r->lock);
	if (!r->nfree) {
		r->starved = 1;
		while (r->nfree < NBATCHES / 2 && !r->stop)
			pthread_cond_wait(&r->freed, &r->lock);
		r->starved = 0;
	}
	b = r->stop ? NULL : r->free[--r->nfree];
	pthread_mutex_unlock(&r->lock);
	return b;
}

/* Queue a filled batch; returns an empty one, or NULL when told to stop. */
static struct batch *hand_over(struct reader *r, struct batch *b)
{
	queue_batch(r, b);
	r->cur = take_free(r);
	return r->cur;
}

static struct flow_events *events_of(struct reader *r, struct batch *b);

/* The flow table filled the batch with stream events (flow.h): the
 * next one takes the rest, and the packet still being joined to its
 * flow, if any, so that the batch handed over is never written again. */
static struct flow_events *spill_events(void *ctx, struct dpl_packet **pending)
{
	struct reader *r = ctx;
	struct batch *old = r->cur, *b = take_free(r);

	if (!b)
		return NULL;
	if (*pending)
		*pending = batch_move_last(old, b);
	queue_batch(r, old);
	r->cur = b;
	return events_of(r, b);
}

/* --speed: sleep until the wall clock reaches this packet's place, after
 * handing over what was read so far so that it is cooked meanwhile. */
static struct batch *pace(struct reader *r, struct batch *b, struct pace *pc,
			  double packet_time)
{
	double due, now;

	if (pc->wall0 == 0) {
		pc->wall0 = monotonic_seconds();
		pc->time0 = packet_time;
	}
	due = pc->wall0 + (packet_time - pc->time0) / r->speed;
	now = monotonic_seconds();
	/* behind its schedule, a paced file hands over no batch until one is
	 * full, and the flow and fragment counts would wait for it */
	if (now - r->counted >= COUNTS_EVERY)
		note_counts(r);
	if (due <= now)
		return b;
	if (b->n)
		b = hand_over(r, b);
	while (b && (now = monotonic_seconds()) < due && !r->stop) {
		double wait = due - now;

		usleep(wait > 0.05 ? 50000 : (useconds_t)(wait * 1e6) + 1);
	}
	return b;
}

static void read_failed(struct reader *r, const struct capture_source *src)
{
	if (src->is_file)
		log_error("reading %s: %s", src->name, pcap_geterr(src->pcap));
	else
		log_error("capturing on %s: %s", src->name, pcap_geterr(src->pcap));
	r->failed = 1;
}

/* Room after the last packet of the batch being filled. */
static uint8_t *room_after(void *ctx, uint32_t len)
{
	struct reader *r = ctx;

	return batch_reserve(r->cur, len);
}

/* The events of the batch being filled, spilling into the next. */
static struct flow_events *events_of(struct reader *r, struct batch *b)
{
	b->events.spill = spill_events;
	b->events.spill_ctx = r;
	b->events.room = room_after;
	return &b->events;
}

/* Flows idle by a packet's time end before it, a few at a time
 * (batch_has_room() keeps room for them). Returns the batch to add it
 * to. */
static struct batch *expire_before(struct reader *r, struct batch *b, double time)
{
	flow_expire(r->flows, time, (uint32_t)b->n, FLOW_EXPIRE_STEP, events_of(r, b));
	return r->cur;
}

/* The packet just added joins its flow; what its stream delivers goes
 * after it. Returns the batch being filled. */
static struct batch *track_flow(struct reader *r, struct batch *b)
{
	flow_want_streams(r->flows, atomic_load_explicit(&r->want_streams, memory_order_relaxed));
	flow_track(r->flows, &b->pkts[b->n - 1], (uint32_t)b->n - 1, events_of(r, b));
	return r->cur;
}

/* Live, flows go idle by the clock too, when no packet comes: by the
 * packets' clock carried on from the last packet by the monotonic one,
 * since a kitchen behind its kernel buffer, or an adapter's own time
 * stamps, would make the wall clock end flows whose packets are queued. */
static struct batch *expire_by_clock(struct reader *r, struct batch *b)
{
	if (!r->quiet_since)
		return b;	/* no packet yet */
	flow_expire(r->flows, r->last_time + (monotonic_seconds() - r->quiet_since),
		    (uint32_t)b->n, FLOW_EXPIRE_STEP, events_of(r, b));
	b = r->cur;
	return b && b->events.n ? hand_over(r, b) : b;
}

/* The sources are done: every flow left ends, in as many batches as it
 * takes. */
static struct batch *drain_flows(struct reader *r, struct batch *b)
{
	while (b && flow_drain(r->flows, (uint32_t)b->n, events_of(r, b)))
		b = hand_over(r, r->cur);
	return r->cur;
}

/* A pcap file holds its seconds unsigned in 32 bits, to 2106, as tshark
 * reads them; libpcap reads them signed, so that a stamp after 2038
 * would arrive before 1970. */
static void unsigned_seconds(struct pcap_pkthdr *h)
{
	if (h->ts.tv_sec < 0 && h->ts.tv_sec >= INT32_MIN)
		h->ts.tv_sec += (time_t)1 << 32;
}

/* Read up to max packets (-1: no limit) of source i into batches: a file
 * to its end, a live source until libpcap holds nothing more. Every packet
 * goes the same way, whatever its source: copied and decoded by
 * batch_add(), its DNS question decoded when its batch is handed over. */
static struct batch *read_source(struct reader *r, int i, struct batch *b, struct pace *pc,
				 int max)
{
	struct capture_source *src = &r->sources[i];
	struct pcap_pkthdr *h;
	const u_char *bytes;
	int rc = 0;

	while (b && !r->stop && r->left && max-- != 0 &&
	       (rc = pcap_next_ex(src->pcap, &h, &bytes)) == 1) {
		__atomic_store_n(&r->read[i], r->read[i] + 1, __ATOMIC_RELAXED);
		unsigned_seconds(h);
		if (!capture_file_passes(src, h, bytes))
			continue;
		__atomic_store_n(&r->passed[i], r->passed[i] + 1, __ATOMIC_RELAXED);
		r->left--;
		if (pc && r->speed)
			b = pace(r, b, pc, h->ts.tv_sec + h->ts.tv_usec * src->tick);
		if (b && !batch_has_room(b, h->caplen))
			b = hand_over(r, b);
		if (b)
			b = expire_before(r, b, batch_packet_time(src, &h->ts));
		if (b) {
			if (r->out)
				pcapng_write(r->out, i, h, bytes);
			batch_add(b, src, i, h, bytes, r->frags);
			r->last_time = b->pkts[b->n - 1].time;
			b = track_flow(r, b);
		}
	}
	if (b && !r->stop && rc == PCAP_ERROR)
		read_failed(r, src);
	return b;
}

/* Each file is paced from its own start: a second file's clock may be
 * years before or after the first's. */
static struct batch *read_files(struct reader *r, struct batch *b)
{
	for (int i = 0; i < r->nsources && b && r->left; i++) {
		struct pace pc = { 0, 0 };

		b = read_source(r, i, b, &pc, -1);
		if (r->frags) {	/* no fragment of its datagrams comes now */
			ipfrag_expire(r->frags, r->last_time);
			ipfrag_finish_source(r->frags, (uint16_t)i);
		}
	}
	return b;
}

/* Live, whatever arrived goes to the chefs at once, in a batch however
 * small; a source is read a batch's worth at a time, so that a busy one
 * does not starve the others. */
static struct batch *read_live(struct reader *r, struct batch *b)
{
	struct pollfd *fds = xcalloc(r->nsources + 1, sizeof *fds);

	for (int i = 0; i < r->nsources; i++)
		fds[i] = (struct pollfd){ pcap_get_selectable_fd(r->sources[i].pcap), POLLIN, 0 };
	fds[r->nsources] = (struct pollfd){ r->stop_fd, POLLIN, 0 };
	while (b && !r->stop && !r->failed && r->left) {
		if (poll(fds, r->nsources + 1, 1000) < 0 && errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			r->failed = 1;
			break;
		}
		int quiet = 1;

		for (int i = 0; i < r->nsources && b && !r->failed; i++)
			if (fds[i].revents) {
				unsigned long before = r->read[i];

				b = read_source(r, i, b, NULL, BATCH_PACKETS);
				quiet &= r->read[i] == before;
			}
		if (b && b->n)
			b = hand_over(r, b);
		if (!quiet)
			r->quiet_since = monotonic_seconds();
		else if (b)
			b = expire_by_clock(r, b);
		if (monotonic_seconds() - r->counted >= COUNTS_EVERY)
			note_counts(r);
	}
	free(fds);
	return b;
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	struct batch *b;

	pthread_mutex_lock(&r->lock);
	b = r->cur = r->free[--r->nfree];
	pthread_mutex_unlock(&r->lock);
	b = r->live ? read_live(r, b) : read_files(r, b);
	if (!r->stop)
		b = drain_flows(r, b);
	if (b && !batch_is_empty(b))
		finish_batch(r, b);
	for (int i = 0; i < r->nsources && r->frags && r->live; i++)
		ipfrag_finish_source(r->frags, (uint16_t)i);
	pthread_mutex_lock(&r->lock);
	if (b && !batch_is_empty(b))
		r->ready[r->nready++] = b;
	else if (b)
		r->free[r->nfree++] = b;
	r->done = 1;
	pthread_mutex_unlock(&r->lock);
	signal_fd(r->wake_fd, "waking the kitchen");
	return NULL;
}

void reader_free(struct reader *r)
{
	if (!r)
		return;
	if (r->wake_fd >= 0)
		close(r->wake_fd);
	if (r->stop_fd >= 0)
		close(r->stop_fd);
	for (int i = 0; i < NBATCHES; i++)
		batch_free(r->batches[i]);
	dns_free(&r->dns);
	ipfrag_free(r->frags);
	flow_table_free(r->flows);
	free(r->counts);
	free(r->read);
	free(r->passed);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->freed);
	free(r);
}

struct reader *reader_start(struct capture_source *sources, int nsources,
			    const struct reader_config *cfg)
{
	struct reader *r = xcalloc(1, sizeof *r);

	if (cfg->frag_memory)
		r->frags = ipfrag_new(cfg->frag_memory);
	r->flows = flow_table_new(cfg->flows);
	r->want_streams = cfg->flows->want_streams != 0;
	r->sources = sources;
	r->nsources = nsources;
	r->live = !sources[0].is_file;
	r->speed = cfg->speed;
	r->left = cfg->max_packets ? cfg->max_packets : ULONG_MAX;
	r->out = cfg->out;
	r->ring = cfg->ring;
	r->counts = xcalloc(nsources, sizeof *r->counts);
	r->read = xcalloc(nsources, sizeof *r->read);
	r->passed = xcalloc(nsources, sizeof *r->passed);
	for (int i = 0; i < NBATCHES; i++)
		r->free[r->nfree++] = r->batches[i] = batch_new();
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->freed, NULL);
	r->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	r->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	note_counts(r);
	if (r->wake_fd < 0 || r->stop_fd < 0 ||
	    start_thread(&r->thread, reader_main, r)) {
		log_error("cannot start reading the %s: %s", r->live ? "interfaces" : "capture files",
			  strerror(errno));
		reader_free(r);
		return NULL;
	}
	return r;
}

size_t reader_bytes_ahead(void)
{
	return (size_t)NBATCHES * BATCH_ARENA;
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
	if (r->starved && r->nfree >= NBATCHES / 2)
		pthread_cond_signal(&r->freed);
	pthread_mutex_unlock(&r->lock);
}

void reader_counts(struct reader *r, int i, struct capture_counts *c)
{
	pthread_mutex_lock(&r->lock);
	*c = r->counts[i];
	pthread_mutex_unlock(&r->lock);
	/* a file's counts as they are now rather than when noted */
	if (!r->live) {
		c->read = __atomic_load_n(&r->read[i], __ATOMIC_RELAXED);
		c->passed = __atomic_load_n(&r->passed[i], __ATOMIC_RELAXED);
	}
}

void reader_fragments(struct reader *r, struct ipfrag_stats *st)
{
	pthread_mutex_lock(&r->lock);
	*st = r->frag_stats;
	pthread_mutex_unlock(&r->lock);
}

void reader_flow_stats(struct reader *r, struct flow_stats *st)
{
	pthread_mutex_lock(&r->lock);
	*st = r->flow_stats;
	pthread_mutex_unlock(&r->lock);
}

void reader_stream_stats(struct reader *r, struct tcpreasm_pool *pool)
{
	pthread_mutex_lock(&r->lock);
	*pool = r->stream_pool;
	pthread_mutex_unlock(&r->lock);
}

void reader_want_streams(struct reader *r, int on)
{
	atomic_store_explicit(&r->want_streams, on != 0, memory_order_relaxed);
}

int reader_stop(struct reader *r)
{
	if (!r->stop) {
		pthread_mutex_lock(&r->lock);
		r->stop = 1;
		pthread_cond_signal(&r->freed);
		pthread_mutex_unlock(&r->lock);
		signal_fd(r->stop_fd, "stopping the reader");
		pthread_join(r->thread, NULL);
		note_counts(r);
	}
	return r->failed ? -1 : 0;
}
