/* Captures that chefs ask for, and the look-back ring behind them.
 *
 * The ring is one block of bytes holding the latest packets whole, oldest
 * first, with a record per packet of what a capture matches on; a packet
 * older than the look-back by packet time, or one in the way of a new
 * one, goes (by time only once the chefs have seen the packets that made
 * it old, so that the ring reaches back the whole look-back from any packet
 * of a batch). Every packet gets a number as it is fed, so that a capture
 * started at packet k takes from the ring the packets up to k (the ring
 * already holds the rest of the batch, fed before the chefs ran) and
 * records the packets after k as flowcap_packets() goes over them.
 *
 * A ring far larger than the batches in flight is fed by the decode
 * stage, each batch as it is handed over, and read by the cook stage, so
 * it has a lock of its own: copying the packets in, and the kernel's
 * clearing of the ring's fresh pages, fall on the thread that waits for
 * the chefs rather than on the chefs'. The decode stage numbers the
 * packets in the order the cook stage sees them, so the numbers agree;
 * the ring may already hold packets of the next batches, and a capture
 * takes none past the packet that asked. A smaller ring is fed by the
 * cook stage, a range at a time, so that the packets ahead never push
 * out the ones behind the packet at hand.
 *
 * Time is packet time throughout, so that a file read behaves as live
 * capture would. Files are written with microsecond stamps, made back
 * from the packets' times (exact for microsecond sources). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "flowcap.h"
#include "pcapng.h"

enum {
	MAX_OPEN = 64,		/* captures in progress at once */
	NAME_MAX_CHARS = 64,	/* of the name a chef gives */
	EPB_OVERHEAD = 32,	/* a packet block around its (padded) bytes */
	NAME_TRIES = 1000,	/* sequence numbers tried past an existing file */
};

/* What a capture matches on, of a packet or a ring record. */
struct match_key {
	double flow_id;
	uint8_t family;
	const uint8_t *orig, *resp;
};

/* A packet in the ring: this header, then its bytes, padded to 8. */
struct ring_rec {
	double time, flow_id;
	uint64_t number;
	uint32_t caplen, wirelen;
	uint16_t source;
	uint8_t family;
	uint8_t orig[16], resp[16];	/* when flow_id is not 0 */
};

enum { RING_HEAD = (sizeof(struct ring_rec) + 15) & ~(size_t)15 };

/* Where each packet of the ring is, oldest first, in an array of their
 * own: what making room and expiring read, packet after packet, lies
 * together there rather than a packet's length apart in memory that has
 * long left the caches. */
struct ring_slot {
	double time;
	uint32_t off, caplen;
};

/* At most one packet per RING_SLOT_BYTES of the ring (rounded up to a
 * power of two). The slot array starts small and doubles as the ring
 * holds more packets, so that only the slots in use are ever touched. */
enum { RING_SLOT_BYTES = 128, RING_FIRST_SLOTS = 1024 };

/* The ring's bytes are reserved to the bound (cap) but used only as far
 * as they have been needed (end): the kernel hands a page over, cleared,
 * only when it is first written, so a ring whose look-back by time holds
 * less than the bound never pays for the rest. end moves on by at least
 * RING_GROW bytes or an eighth at a time. */
enum { RING_GROW = 1 << 20 };

/* The decode stage feeds a ring this many times the bytes it may be
 * ahead by, or more: at its bound the ring then reaches back at most an
 * eighth less far. */
enum { RING_AHEAD_SHARE = 8 };

/* used counts the bytes from tail (the oldest) to head (the next free),
 * those left unused at the end before a wrap included; wrap_at is where
 * the packets before the front stop while the ring is wrapped. */
struct ring {
	uint8_t *buf;
	size_t cap, end, head, tail, used, wrap_at;
	struct ring_slot *slots;
	size_t nslots, max_slots, first, n;	/* nslots: a power of two */
	double seconds;
	unsigned long too_large;	/* packets bigger than the whole ring */
	unsigned long pushed_out;	/* gone at the bound, younger than seconds */
};

struct capture {
	struct pcapng *w;
	char *path;
	enum flowcap_kind kind;
	double flow_id;
	uint8_t family, addr[16];
	uint64_t next_number;	/* the first packet it has not seen */
	double end;
	uint64_t bytes;
};

struct closed_file {
	char *path;
	uint64_t bytes;
};

struct flowcap {
	struct flowcap_config cfg;
	struct flowcap_source *sources;
	int snaplen;
	struct ring ring;	/* buf NULL: no look-back */
	pthread_mutex_t ring_lock;	/* ring's contents, fed and read */
	int fed_ahead;		/* by the decode stage, not flowcap_feed() */
	uint64_t pushed;	/* packets numbered as they go in */
	struct capture open[MAX_OPEN];
	int nopen;
	struct closed_file *closed;	/* with a bound, oldest first */
	size_t nclosed, closed_first, closed_cap;
	uint64_t disk_bytes;
	const struct dpl_packet *cur;	/* the range being cooked */
	int cur_n;
	uint64_t base, fed;	/* number of cur[0]; packets fed in all */
	double last_time;
	unsigned long seq;
	int told_no_lookback;
	struct flowcap_stats st;
};

/* ------------------------------------------------------------ the ring */

static size_t pow2_at_least(size_t n)
{
	size_t p = 1;

	while (p < n)
		p *= 2;
	return p;
}

/* A ring written through over and over, in huge pages where the kernel
 * has them: far fewer page faults on the way. */
static void ring_init(struct ring *r, size_t bytes, double seconds)
{
	void *p;

	r->cap = bytes < 4 * RING_HEAD ? 4 * RING_HEAD : bytes & ~(size_t)7;
	if (posix_memalign(&p, 2 << 20, r->cap) != 0) {
		log_error("--lookback-bytes: no memory for %zu bytes", r->cap);
		exit(1);
	}
#ifdef MADV_HUGEPAGE
	madvise(p, r->cap, MADV_HUGEPAGE);
#endif
	r->buf = p;
	r->end = r->cap < RING_GROW ? r->cap : RING_GROW;
	r->max_slots = pow2_at_least(r->cap / RING_SLOT_BYTES + 1);
	r->nslots = r->max_slots < RING_FIRST_SLOTS ? r->max_slots : RING_FIRST_SLOTS;
	r->slots = xcalloc(r->nslots, sizeof *r->slots);
	r->seconds = seconds;
}

static size_t rec_size(uint32_t caplen)
{
	return RING_HEAD + ((caplen + 15) & ~(size_t)15);
}

static const struct ring_slot *ring_slot(const struct ring *r, size_t i)
{
	return &r->slots[(r->first + i) & (r->nslots - 1)];
}

static int ring_wrapped(const struct ring *r)
{
	return r->n && r->head <= r->tail;
}

static void ring_drop_oldest(struct ring *r)
{
	const struct ring_slot *s = ring_slot(r, 0);
	size_t size = rec_size(s->caplen);

	r->used -= (s->off == r->tail ? 0 : r->end - r->tail) + size;
	r->tail = s->off + size;
	r->first = (r->first + 1) & (r->nslots - 1);
	if (--r->n == 0)
		r->head = r->tail = r->used = 0;
}

/* Packets older than the look-back go once the chefs have seen the range
 * that made them old: a capture asked for mid-batch still finds them. */
static void ring_expire(struct ring *r, double now)
{
	while (r->n && ring_slot(r, 0)->time < now - r->seconds)
		ring_drop_oldest(r);
}

static size_t round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

static int ring_grow_slots(struct ring *r)
{
	struct ring_slot *s;

	if (r->nslots == r->max_slots)
		return 0;
	s = xcalloc(r->nslots * 2, sizeof *s);
	for (size_t i = 0; i < r->n; i++)
		s[i] = *ring_slot(r, i);
	free(r->slots);
	r->slots = s;
	r->nslots *= 2;
	r->first = 0;
	return 1;
}

/* A wrapped ring grows by moving its oldest packets, from tail to where
 * they stop before the front, up against the new end: the room between
 * head and tail widens by as much, and no packet is lost. */
static void ring_move_oldest_up(struct ring *r, size_t end)
{
	size_t len = r->wrap_at - r->tail, by = end - r->wrap_at;

	memmove(r->buf + r->tail + by, r->buf + r->tail, len);
	for (size_t i = 0; i < r->n && ring_slot(r, i)->off >= r->tail; i++)
		r->slots[(r->first + i) & (r->nslots - 1)].off += (uint32_t)by;
	r->tail += by;
	r->end = r->wrap_at = end;
	r->used = r->end - r->tail + r->head;
}

/* Room for size more bytes by moving end on, within the bound. */
static int ring_grow(struct ring *r, size_t size)
{
	size_t step = r->end / 8 > RING_GROW ? r->end / 8 : RING_GROW;
	size_t end = round_up(r->end + step, 16);

	if (r->end == r->cap)
		return 0;
	if (end > r->cap)
		end = r->cap;
	if (ring_wrapped(r))
		ring_move_oldest_up(r, end);
	else
		r->end = end;
	return 1;
}

/* Whether size bytes fit at head, or at the front (*wrap). */
static int ring_fits(const struct ring *r, size_t size, int *wrap)
{
	*wrap = r->end - r->head < size;
	return r->used + (*wrap ? r->end - r->head : 0) + size <= r->end;
}

/* Make room for size bytes; returns whether they go at the front. A wrap
 * that would leave less than an eighth of the ring between head and the
 * oldest packet grows the ring instead, while it may, so that it wraps
 * with room to spare; the oldest packets go only once it is at its
 * bound. */
static int ring_make_room(struct ring *r, size_t size, double now)
{
	int wrap;

	for (;;) {
		if (r->n == r->nslots && ring_grow_slots(r))
			continue;
		if (r->n < r->nslots && ring_fits(r, size, &wrap)) {
			if (wrap && r->tail < size + r->end / 8 && ring_grow(r, size))
				continue;
			return wrap;
		}
		if (r->n == r->nslots || !ring_grow(r, size)) {
			if (ring_slot(r, 0)->time >= now - r->seconds)
				r->pushed_out++;
			ring_drop_oldest(r);	/* the ring empty, everything fits */
		}
	}
}

/* The record is written where it goes, field by field: built on the
 * stack and copied, it was read back before its stores had landed, a
 * stall that cost more than copying the packet. Its addresses are left
 * as they were when it has no flow: nothing reads them then. */
static void ring_push(struct ring *r, const struct dpl_packet *p, uint64_t number)
{
	size_t size = rec_size(p->caplen);
	struct ring_rec *rec;

	if (size > r->cap) {
		r->too_large++;
		return;
	}
	if (ring_make_room(r, size, p->time)) {
		r->used += r->end - r->head;
		r->wrap_at = r->head;
		r->head = 0;
	}
	rec = (struct ring_rec *)(r->buf + r->head);
	rec->time = p->time;
	rec->flow_id = p->flow.id;
	rec->number = number;
	rec->caplen = p->caplen;
	rec->wirelen = p->wirelen;
	rec->source = p->source;
	rec->family = p->flow.family;
	if (p->flow.id != 0) {
		memcpy(rec->orig, p->flow.orig_h, 16);
		memcpy(rec->resp, p->flow.resp_h, 16);
	}
	memcpy(r->buf + r->head + RING_HEAD, p->data, p->caplen);
	r->slots[(r->first + r->n) & (r->nslots - 1)] =
		(struct ring_slot){ p->time, (uint32_t)r->head, p->caplen };
	r->head += size;
	r->used += size;
	r->n++;
}

/* ---------------------------------------------------------- matching */

static int same_addr(const uint8_t *a, const uint8_t *b, uint8_t family)
{
	return !memcmp(a, b, family == 6 ? 16 : 4);
}

static int matches(const struct capture *c, const struct match_key *k)
{
	switch (c->kind) {
	case FLOWCAP_FLOW:
		return k->flow_id == c->flow_id;
	case FLOWCAP_HOST:
		return k->flow_id != 0 && k->family == c->family &&
		       (same_addr(k->orig, c->addr, c->family) ||
			same_addr(k->resp, c->addr, c->family));
	default:
		return 0;
	}
}

static struct match_key packet_key(const struct dpl_packet *p)
{
	return (struct match_key){ p->flow.id, p->flow.family, p->flow.orig_h, p->flow.resp_h };
}

static struct match_key rec_key(const struct ring_rec *r)
{
	return (struct match_key){ r->flow_id, r->family, r->orig, r->resp };
}

/* ------------------------------------------------------ the disk bound */

static void remember_closed(struct flowcap *fc, char *path, uint64_t bytes)
{
	if (fc->nclosed == fc->closed_cap) {
		size_t cap = fc->closed_cap ? fc->closed_cap * 2 : 16;
		struct closed_file *c = xcalloc(cap, sizeof *c);

		for (size_t i = 0; i < fc->nclosed; i++)
			c[i] = fc->closed[(fc->closed_first + i) % fc->closed_cap];
		free(fc->closed);
		fc->closed = c;
		fc->closed_cap = cap;
		fc->closed_first = 0;
	}
	fc->closed[(fc->closed_first + fc->nclosed++) % fc->closed_cap] =
		(struct closed_file){ path, bytes };
}

static int delete_oldest_closed(struct flowcap *fc)
{
	struct closed_file *c;

	if (!fc->nclosed)
		return -1;
	c = &fc->closed[fc->closed_first];
	if (unlink(c->path) < 0 && errno != ENOENT)
		log_error("capture: cannot delete %s: %s", c->path, strerror(errno));
	fc->disk_bytes -= c->bytes;
	fc->st.deleted++;
	free(c->path);
	fc->closed_first = (fc->closed_first + 1) % fc->closed_cap;
	fc->nclosed--;
	return 0;
}

/* Whether need more bytes fit within the bound, once the oldest finished
 * captures are deleted. */
static int make_room(struct flowcap *fc, uint64_t need)
{
	if (!fc->cfg.max_bytes)
		return 1;
	while (fc->disk_bytes + need > fc->cfg.max_bytes)
		if (delete_oldest_closed(fc) < 0)
			return 0;
	return 1;
}

/* --------------------------------------------------------- captures */

static struct pcap_pkthdr header_of(double time, uint32_t caplen, uint32_t wirelen)
{
	struct pcap_pkthdr h = { .caplen = caplen, .len = wirelen };
	double sec = floor(time);
	long usec = lround((time - sec) * 1e6);

	if (usec >= 1000000) {
		sec += 1;
		usec -= 1000000;
	}
	h.ts.tv_sec = (time_t)sec;
	h.ts.tv_usec = usec;
	return h;
}

static void finish(struct flowcap *fc, struct capture *c)
{
	if (pcapng_close(c->w) < 0)
		fc->st.failed++;
	if (fc->cfg.max_bytes)
		remember_closed(fc, c->path, c->bytes);
	else
		free(c->path);
	*c = fc->open[--fc->nopen];
}

/* One packet into a capture, within the bound; a capture that would pass
 * it with no finished one left to delete ends there, cut short. Returns
 * 0, or -1 when c was cut (and its slot now holds another capture). */
static int record(struct flowcap *fc, struct capture *c, double time, uint16_t source,
		  uint32_t caplen, uint32_t wirelen, const uint8_t *bytes)
{
	uint64_t need = EPB_OVERHEAD + round_up(caplen, 4);
	struct pcap_pkthdr h = header_of(time, caplen, wirelen);

	if (!make_room(fc, need)) {
		log_info("capture %s cut short: --capture-max reached", c->path);
		fc->st.cut++;
		finish(fc, c);
		return -1;
	}
	pcapng_write(c->w, source, &h, bytes);
	c->bytes += need;
	fc->disk_bytes += need;
	fc->st.packets++;
	return 0;
}

/* The name a chef gave, made safe: [A-Za-z0-9._-] and no leading dot. */
static void sanitise(const char *name, char *out, size_t len)
{
	size_t n = 0;

	if (!name || !*name)
		name = "capture";
	for (; name[n] && n < len - 1; n++) {
		char ch = name[n];
		int keep = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			   (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
			   (ch == '.' && n > 0);

		out[n] = keep ? ch : '_';
	}
	out[n] = '\0';
}

/* The file: time of the packet that asked, the run's sequence number and
 * the name; a number already taken (another run) moves on. */
static int create_file(struct flowcap *fc, double when, const char *name,
		       char *file, size_t file_len, char *why, size_t why_len)
{
	char safe[NAME_MAX_CHARS + 1], stamp[32];
	struct pcap_pkthdr h = header_of(when, 0, 0);
	time_t sec = h.ts.tv_sec;
	struct tm tm;

	sanitise(name, safe, sizeof safe);
	gmtime_r(&sec, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
	for (int tries = 0; tries < NAME_TRIES; tries++) {
		char path[4096];
		int fd;

		snprintf(file, file_len, "%s.%06ldZ-%lu-%s.pcapng", stamp, (long)h.ts.tv_usec,
			 ++fc->seq, safe);
		snprintf(path, sizeof path, "%s/%s", fc->cfg.dir, file);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (errno != EEXIST) {
			snprintf(why, why_len, "cannot create %s: %s", path, strerror(errno));
			return -1;
		}
	}
	snprintf(why, why_len, "no free file name in %s", fc->cfg.dir);
	return -1;
}

static int open_writer(struct flowcap *fc, struct capture *c, const char *file,
		       char *why, size_t why_len)
{
	size_t len = strlen(fc->cfg.dir) + strlen(file) + 2;
	uint64_t head;

	c->path = xmalloc(len);
	snprintf(c->path, len, "%s/%s", fc->cfg.dir, file);
	c->w = pcapng_open(c->path, 0);
	for (int i = 0; c->w && i < fc->cfg.nsources; i++) {
		struct pcapng_interface ifc = {
			.linktype = fc->sources[i].linktype, .snaplen = fc->snaplen,
			.name = fc->sources[i].name,
		};

		pcapng_add_interface(c->w, &ifc);
	}
	head = c->w ? pcapng_bytes(c->w) : 0;
	if (c->w && make_room(fc, head)) {
		c->bytes = head;
		fc->disk_bytes += head;
		return 0;
	}
	snprintf(why, why_len, c->w ? "--capture-max is taken by captures in progress"
				    : "cannot write %s", c->path);
	pcapng_close(c->w);
	unlink(c->path);
	free(c->path);
	return -1;
}

static int packet_number(const struct flowcap *fc, const struct dpl_packet *p, uint64_t *n)
{
	if (!p || p < fc->cur || p >= fc->cur + fc->cur_n)
		return 0;
	*n = fc->base + (uint64_t)(p - fc->cur);
	return 1;
}

/* The ring's packets from time from up to number last that c takes.
 * Returns -1 if c was cut. */
static int ring_before(struct flowcap *fc, struct capture *c, double from, uint64_t last)
{
	const struct ring *r = &fc->ring;
	int rc = 0;

	pthread_mutex_lock(&fc->ring_lock);
	for (size_t i = 0; i < r->n && rc == 0; i++) {
		const struct ring_rec *rec = (const void *)(r->buf + ring_slot(r, i)->off);
		struct match_key k = rec_key(rec);

		if (rec->number > last)
			break;
		if (rec->time >= from && matches(c, &k))
			rc = record(fc, c, rec->time, rec->source, rec->caplen, rec->wirelen,
				    (const uint8_t *)rec + RING_HEAD);
	}
	pthread_mutex_unlock(&fc->ring_lock);
	return rc < 0 ? -1 : 0;
}

/* What came before: the ring's packets up to the one that asked (last),
 * or without a ring that packet alone. Returns -1 if c was cut. */
static int record_before(struct flowcap *fc, struct capture *c, const struct flowcap_request *req,
			 double from, uint64_t last, int have_last)
{
	if (req->kind == FLOWCAP_PACKET || !fc->ring.buf) {
		struct match_key k;

		if (!have_last)
			return 0;
		k = packet_key(req->at);
		if (req->kind != FLOWCAP_PACKET && !matches(c, &k))
			return 0;
		return record(fc, c, req->at->time, req->at->source, req->at->caplen,
			      req->at->wirelen, req->at->data);
	}
	return ring_before(fc, c, from, last);
}

int flowcap_start(struct flowcap *fc, const struct flowcap_request *req,
		  char *name, size_t name_len, char *why, size_t why_len)
{
	struct capture *c;
	double when, from;
	uint64_t last = fc->fed ? fc->fed - 1 : 0;
	int have_last = packet_number(fc, req->at, &last);

	if (fc->nopen == MAX_OPEN) {
		snprintf(why, why_len, "%d captures in progress already", MAX_OPEN);
		return -1;
	}
	if (req->kind == FLOWCAP_PACKET && !have_last) {
		snprintf(why, why_len, "that packet is no longer at hand");
		return -1;
	}
	when = have_last ? req->at->time : fc->last_time;
	if (create_file(fc, when, req->name, name, name_len, why, why_len) < 0)
		return -1;
	c = &fc->open[fc->nopen];
	*c = (struct capture){ .kind = req->kind, .flow_id = req->flow_id,
			       .family = req->family, .end = when + req->after };
	memcpy(c->addr, req->addr, sizeof c->addr);
	if (open_writer(fc, c, name, why, why_len) < 0)
		return -1;
	fc->nopen++;
	fc->st.made++;
	if (!fc->ring.buf && !fc->told_no_lookback && req->kind != FLOWCAP_PACKET) {
		log_info("capture: --lookback is off, so a capture starts at the packet that asked");
		fc->told_no_lookback = 1;
	}
	c->next_number = have_last ? last + 1 : fc->fed;
	from = when - (fc->ring.buf && req->before > fc->cfg.lookback ? fc->cfg.lookback
								      : req->before);
	if (fc->fed && record_before(fc, c, req, from, last, have_last) < 0)
		return 0;	/* made, and cut short already */
	if (req->kind == FLOWCAP_PACKET)
		finish(fc, c);
	return 0;
}

/* Every packet is numbered, even one too large for the ring. */
static void ring_feed(struct flowcap *fc, const struct dpl_packet *pkts, int n)
{
	pthread_mutex_lock(&fc->ring_lock);
	for (int i = 0; i < n; i++)
		ring_push(&fc->ring, &pkts[i], fc->pushed + (uint64_t)i);
	fc->pushed += (uint64_t)n;
	pthread_mutex_unlock(&fc->ring_lock);
}

void flowcap_feed(struct flowcap *fc, const struct dpl_packet *pkts, int n)
{
	fc->cur = pkts;
	fc->cur_n = n;
	fc->base = fc->fed;
	if (fc->ring.buf && !fc->fed_ahead)
		ring_feed(fc, pkts, n);
	fc->fed += (uint64_t)n;
	if (n > 0)
		fc->last_time = pkts[n - 1].time;
}

static void packet_into_captures(struct flowcap *fc, const struct dpl_packet *p, uint64_t number)
{
	struct match_key k = packet_key(p);

	for (int j = 0; j < fc->nopen;) {
		struct capture *c = &fc->open[j];

		if (p->time > c->end) {
			finish(fc, c);
			continue;
		}
		if (number >= c->next_number && matches(c, &k) &&
		    record(fc, c, p->time, p->source, p->caplen, p->wirelen, p->data) < 0)
			continue;
		j++;
	}
}

void flowcap_ring_feed(struct flowcap *fc, const struct dpl_packet *pkts, int n)
{
	if (fc->fed_ahead && n > 0)
		ring_feed(fc, pkts, n);
}

void flowcap_packets(struct flowcap *fc, const struct dpl_packet *pkts, int n)
{
	for (int i = 0; fc->nopen && i < n; i++)
		packet_into_captures(fc, &pkts[i], fc->base + (uint64_t)i);
	if (fc->ring.buf && n > 0) {
		pthread_mutex_lock(&fc->ring_lock);
		ring_expire(&fc->ring, pkts[n - 1].time);
		pthread_mutex_unlock(&fc->ring_lock);
	}
	fc->cur = NULL;
	fc->cur_n = 0;
}

/* ------------------------------------------------------ life and stats */

struct flowcap *flowcap_new(const struct flowcap_config *cfg)
{
	struct flowcap *fc;
	struct stat sb;

	if (mkdir(cfg->dir, 0777) < 0 && errno != EEXIST) {
		log_error("--capture-dir %s: %s", cfg->dir, strerror(errno));
		return NULL;
	}
	if (stat(cfg->dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		log_error("--capture-dir %s: not a directory", cfg->dir);
		return NULL;
	}
	fc = xcalloc(1, sizeof *fc);
	fc->cfg = *cfg;
	pthread_mutex_init(&fc->ring_lock, NULL);
	fc->sources = xcalloc(cfg->nsources ? (size_t)cfg->nsources : 1, sizeof *fc->sources);
	for (int i = 0; i < cfg->nsources; i++) {
		fc->sources[i] = cfg->sources[i];
		if (cfg->sources[i].snaplen > fc->snaplen)
			fc->snaplen = cfg->sources[i].snaplen;
	}
	if (cfg->lookback > 0)
		ring_init(&fc->ring, cfg->lookback_bytes, cfg->lookback);
	fc->fed_ahead = fc->ring.buf && cfg->decode_ahead &&
			fc->ring.cap / RING_AHEAD_SHARE >= cfg->decode_ahead;
	return fc;
}

void flowcap_close_all(struct flowcap *fc)
{
	while (fc && fc->nopen)
		finish(fc, &fc->open[0]);
}

void flowcap_free(struct flowcap *fc)
{
	if (!fc)
		return;
	flowcap_close_all(fc);
	for (size_t i = 0; i < fc->nclosed; i++)
		free(fc->closed[(fc->closed_first + i) % fc->closed_cap].path);
	free(fc->closed);
	free(fc->ring.buf);
	free(fc->ring.slots);
	pthread_mutex_destroy(&fc->ring_lock);
	free(fc->sources);
	free(fc);
}

void flowcap_stats(struct flowcap *fc, struct flowcap_stats *st)
{
	*st = fc->st;
	st->open = (unsigned long)fc->nopen;
	st->bytes = fc->disk_bytes;
	pthread_mutex_lock(&fc->ring_lock);
	st->ring_packets = fc->ring.n;
	st->ring_bytes = fc->ring.used;
	st->ring_too_large = fc->ring.too_large;
	st->ring_pushed_out = fc->ring.pushed_out;
	pthread_mutex_unlock(&fc->ring_lock);
}
