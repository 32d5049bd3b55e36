/* IP fragment reassembly. Each datagram in progress keeps a buffer and a
 * bitmap of the bytes it holds, both grown as its fragments reach further,
 * so that a datagram costs what its fragments brought, not 64 KiB. They
 * sit in a hash table and in one age list per IP version (their timeouts
 * differ, and each list is then in the order they expire). The table is
 * bounded twice: in bytes, and in datagrams (one per IPFRAG_SLOT_BYTES of
 * the bound); when either is reached the oldest datagram goes first. */
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "ipfrag.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define unpoison(p, n) ((void)(p), (void)(n))
#endif

enum { MIN_LIMIT = 1 << 20, GROW_STEP = 2048 };

struct datagram {
	struct ipfrag_key key;
	struct datagram *chain;		/* next in its hash bucket */
	struct datagram *older, *newer;	/* its age list */
	unsigned long long serial;	/* creation order, across both lists */
	double expires;
	uint8_t *bytes, *held;		/* held: one bit a byte */
	uint32_t cap, nheld, high, end;
	uint16_t frags;
	uint8_t has_end, flags;
};

struct age_list {
	struct datagram *oldest, *newest;
};

struct ipfrag {
	size_t limit, memory;
	unsigned count, max;
	unsigned nbuckets;		/* a power of two */
	struct datagram **buckets;
	struct age_list age[2];		/* IPv4, IPv6 */
	unsigned long long serial;
	struct ipfrag_stats st;
};

struct ipfrag *ipfrag_new(size_t limit)
{
	struct ipfrag *f = xcalloc(1, sizeof *f);

	f->limit = limit < MIN_LIMIT ? MIN_LIMIT : limit;
	f->max = (unsigned)(f->limit / IPFRAG_SLOT_BYTES);
	f->nbuckets = 1;
	while (f->nbuckets < 2 * f->max)
		f->nbuckets *= 2;
	f->buckets = xcalloc(f->nbuckets, sizeof *f->buckets);
	return f;
}

/* FNV-1a over the key, which the decoder fills with no stray bytes. */
static unsigned hash_key(const struct ipfrag_key *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof *k; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static struct datagram **bucket(struct ipfrag *f, const struct ipfrag_key *k)
{
	return &f->buckets[hash_key(k) & (f->nbuckets - 1)];
}

static struct age_list *age_of(struct ipfrag *f, const struct datagram *dg)
{
	return &f->age[dg->key.version == 6];
}

static size_t cost(uint32_t cap)
{
	return sizeof(struct datagram) + cap + (cap + 7) / 8;
}

static void drop(struct ipfrag *f, struct datagram *dg)
{
	struct datagram **pp = bucket(f, &dg->key);
	struct age_list *age = age_of(f, dg);

	while (*pp != dg)
		pp = &(*pp)->chain;
	*pp = dg->chain;
	if (dg->older)
		dg->older->newer = dg->newer;
	else
		age->oldest = dg->newer;
	if (dg->newer)
		dg->newer->older = dg->older;
	else
		age->newest = dg->older;
	f->memory -= cost(dg->cap);
	f->count--;
	free(dg->bytes);
	free(dg->held);
	free(dg);
}

/* The oldest datagram but keep (which is being added to), or NULL. */
static struct datagram *oldest(struct ipfrag *f, const struct datagram *keep)
{
	struct datagram *best = NULL;

	for (int v = 0; v < 2; v++) {
		struct datagram *dg = f->age[v].oldest;

		if (dg && dg == keep)
			dg = dg->newer;
		if (dg && (!best || dg->serial < best->serial))
			best = dg;
	}
	return best;
}

/* Evict the oldest datagrams until n more bytes fit. */
static void make_room(struct ipfrag *f, size_t n, const struct datagram *keep)
{
	struct datagram *dg;

	while (f->memory + n > f->limit && (dg = oldest(f, keep))) {
		drop(f, dg);
		f->st.evicted++;
	}
}

static struct datagram *find(struct ipfrag *f, const struct ipfrag_key *k)
{
	struct datagram *dg = *bucket(f, k);

	while (dg && memcmp(&dg->key, k, sizeof *k) != 0)
		dg = dg->chain;
	return dg;
}

static struct datagram *create(struct ipfrag *f, const struct ipfrag_key *k, double now)
{
	struct datagram *dg, **head;
	struct age_list *age;

	if (f->count >= f->max) {
		drop(f, oldest(f, NULL));
		f->st.evicted++;
	}
	make_room(f, cost(0), NULL);
	dg = xcalloc(1, sizeof *dg);
	dg->key = *k;
	dg->serial = ++f->serial;
	dg->expires = now + (k->version == 6 ? IPFRAG_TIMEOUT_V6 : IPFRAG_TIMEOUT_V4);
	head = bucket(f, k);
	dg->chain = *head;
	*head = dg;
	age = age_of(f, dg);
	dg->older = age->newest;
	if (age->newest)
		age->newest->newer = dg;
	else
		age->oldest = dg;
	age->newest = dg;
	f->memory += cost(0);
	f->count++;
	return dg;
}

/* Room in dg for bytes up to need (at most IPFRAG_MAX_DATAGRAM). */
static void grow(struct ipfrag *f, struct datagram *dg, uint32_t need)
{
	uint32_t cap, old_bits, new_bits;

	if (need <= dg->cap)
		return;
	cap = (need + GROW_STEP - 1) / GROW_STEP * GROW_STEP;
	if (cap > IPFRAG_MAX_DATAGRAM)
		cap = IPFRAG_MAX_DATAGRAM;
	make_room(f, cost(cap) - cost(dg->cap), dg);
	old_bits = (dg->cap + 7) / 8;
	new_bits = (cap + 7) / 8;
	dg->bytes = xrealloc(dg->bytes, cap);
	dg->held = xrealloc(dg->held, new_bits);
	memset(dg->held + old_bits, 0, new_bits - old_bits);
	f->memory += cost(cap) - cost(dg->cap);
	dg->cap = cap;
}

/* Copy in the bytes not held yet; those held stay (first arrival wins). */
static void place(struct ipfrag *f, struct datagram *dg, uint32_t at, const uint8_t *p,
		  uint32_t len)
{
	int overlap = 0, differ = 0;

	for (uint32_t i = 0; i < len; i++, at++) {
		uint8_t bit = (uint8_t)(1u << (at & 7));

		if (dg->held[at >> 3] & bit) {
			overlap = 1;
			differ |= dg->bytes[at] != p[i];
		} else {
			dg->held[at >> 3] |= bit;
			dg->bytes[at] = p[i];
			dg->nheld++;
		}
	}
	if (at > dg->high)
		dg->high = at;
	if (overlap) {
		f->st.overlaps++;
		dg->flags |= IPFRAG_OVERLAP;
	}
	if (differ) {
		f->st.overlaps_differing++;
		dg->flags |= IPFRAG_CONFLICT;
	}
}

/* Where this fragment's bytes stop in the datagram: a last fragment sets
 * the end, unless another one did first, or bytes already held lie past
 * it; bytes past the end are clipped. Either way it is counted. */
static uint32_t fragment_stop(struct ipfrag *f, struct datagram *dg,
			      const struct ipfrag_piece *piece)
{
	uint32_t stop = piece->offset + piece->len;
	int odd = 0;

	if (!piece->more) {
		if (dg->has_end ? stop != dg->end : stop < dg->high)
			odd = 1;
		else
			dg->has_end = 1, dg->end = stop;
	}
	if (dg->has_end && stop > dg->end) {
		odd = 1;
		stop = dg->end;
	}
	if (odd)
		f->st.inconsistent++;
	return stop;
}

static int complete(struct ipfrag *f, struct datagram *dg, uint8_t *out,
		    struct ipfrag_done *done)
{
	if (!dg->has_end || dg->nheld != dg->end)
		return 0;
	unpoison(out, dg->end);
	memcpy(out, dg->bytes, dg->end);
	done->len = dg->end;
	done->frags = dg->frags;
	done->flags = dg->flags;
	f->st.reassembled++;
	drop(f, dg);
	return 1;
}

int ipfrag_add(struct ipfrag *f, const struct ipfrag_piece *piece, uint8_t *out,
	       struct ipfrag_done *done)
{
	struct datagram *dg;
	uint32_t stop;

	f->st.fragments++;
	if (piece->truncated) {
		f->st.truncated++;
		return 0;
	}
	if ((uint64_t)piece->offset + piece->len > piece->max_end ||
	    piece->max_end > IPFRAG_MAX_DATAGRAM) {
		f->st.too_big++;
		return 0;
	}
	ipfrag_expire(f, piece->time);
	dg = find(f, &piece->key);
	if (!dg)
		dg = create(f, &piece->key, piece->time);
	if (dg->frags < UINT16_MAX)
		dg->frags++;
	stop = fragment_stop(f, dg, piece);
	if (stop > piece->offset) {
		grow(f, dg, stop);
		place(f, dg, piece->offset, piece->bytes, stop - piece->offset);
	}
	return complete(f, dg, out, done);
}

void ipfrag_expire(struct ipfrag *f, double now)
{
	for (int v = 0; v < 2; v++) {
		struct datagram *dg;

		while ((dg = f->age[v].oldest) && dg->expires <= now) {
			drop(f, dg);
			f->st.timed_out++;
		}
	}
}

void ipfrag_finish_source(struct ipfrag *f, uint16_t source)
{
	for (int v = 0; v < 2; v++) {
		struct datagram *dg = f->age[v].oldest, *next;

		for (; dg; dg = next) {
			next = dg->newer;
			if (dg->key.source == source) {
				drop(f, dg);
				f->st.unfinished++;
			}
		}
	}
}

void ipfrag_stats(const struct ipfrag *f, struct ipfrag_stats *out)
{
	*out = f->st;
	out->pending = f->count;
	out->memory = f->memory;
}

void ipfrag_free(struct ipfrag *f)
{
	if (!f)
		return;
	for (int v = 0; v < 2; v++)
		while (f->age[v].oldest)
			drop(f, f->age[v].oldest);
	free(f->buckets);
	free(f);
}
