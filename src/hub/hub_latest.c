/* The latest dumpling of every (kitchen, chef) (see hub_latest.h): a hash
 * table (keyed, base/keyhash.h) of entries, also kept in order of when each was last replaced, so
 * that the bound lets go of the one heard from least recently. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "hub_fanout.h"
#include "hub_latest.h"
#include "base/keyhash.h"
#include "base/util.h"

/* One dumpling's text, shared by the store and the eaters being sent it. */
struct latest_blob {
	int refs;
	size_t len, cap;
	unsigned char buf[];	/* LWS_PRE bytes, then the JSON text */
};

struct latest_entry {
	struct latest_entry *hnext;		/* in its bucket */
	struct latest_entry *newer, *older;	/* by when last replaced */
	uint64_t hash;
	char *chef, *kitchen, *driver;		/* kitchen, driver may be NULL */
	struct latest_blob *blob;
	size_t cost;				/* what it counts against the bound */
};

/* A blob is used again for a dumpling up to this much smaller, so that
 * what is counted stays close to what is kept. */
enum { BLOB_SLACK = 256 };

/* What an entry costs beyond its text: its names and bookkeeping. */
enum { ENTRY_OVERHEAD = sizeof(struct latest_entry) + sizeof(struct latest_blob) + LWS_PRE };

static void blob_drop(struct latest_blob *b)
{
	if (b && --b->refs == 0)
		free(b);
}

static int same_name(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

void hub_latest_init(struct hub_latest *l, size_t max_bytes)
{
	memset(l, 0, sizeof *l);
	l->max_bytes = max_bytes;
}

static void entry_free(struct latest_entry *e)
{
	blob_drop(e->blob);
	free(e->chef);
	free(e->kitchen);
	free(e->driver);
	free(e);
}

void hub_latest_free(struct hub_latest *l)
{
	struct latest_entry *e = l->newest;

	while (e) {
		struct latest_entry *older = e->older;

		entry_free(e);
		e = older;
	}
	free(l->buckets);
	memset(l, 0, sizeof *l);
}

static struct latest_entry **bucket_of(struct hub_latest *l, uint64_t hash)
{
	return &l->buckets[hash & (l->nbuckets - 1)];
}

/* Twice as many buckets once there are as many entries as buckets. */
static void grow(struct hub_latest *l)
{
	size_t old = l->nbuckets;
	struct latest_entry **was = l->buckets;

	if (l->n < old)
		return;
	l->nbuckets = old ? 2 * old : 64;
	l->buckets = xcalloc(l->nbuckets, sizeof *l->buckets);
	for (size_t i = 0; i < old; i++) {
		struct latest_entry *e = was[i];

		while (e) {
			struct latest_entry *next = e->hnext, **b = bucket_of(l, e->hash);

			e->hnext = *b;
			*b = e;
			e = next;
		}
	}
	free(was);
}

static void unlink_order(struct hub_latest *l, struct latest_entry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		l->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		l->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void link_newest(struct hub_latest *l, struct latest_entry *e)
{
	e->older = l->newest;
	e->newer = NULL;
	if (l->newest)
		l->newest->newer = e;
	l->newest = e;
	if (!l->oldest)
		l->oldest = e;
}

static void evict(struct hub_latest *l, struct latest_entry *e)
{
	struct latest_entry **p = bucket_of(l, e->hash);

	while (*p != e)
		p = &(*p)->hnext;
	*p = e->hnext;
	unlink_order(l, e);
	l->n--;
	l->bytes -= e->cost;
	entry_free(e);
}

static struct latest_entry *find(struct hub_latest *l, uint64_t hash,
				 const char *chef, const char *kitchen)
{
	struct latest_entry *e;

	if (!l->nbuckets)
		return NULL;
	for (e = *bucket_of(l, hash); e; e = e->hnext)
		if (e->hash == hash && same_name(e->chef, chef) && same_name(e->kitchen, kitchen))
			return e;
	return NULL;
}

static struct latest_blob *blob_new(const char *json, size_t len)
{
	struct latest_blob *b = xmalloc(sizeof *b + LWS_PRE + len);

	b->refs = 1;
	b->len = b->cap = len;
	memcpy(b->buf + LWS_PRE, json, len);
	return b;
}

/* Every dumpling the hub takes replaces one: in place when no eater holds
 * the old one and it is big enough, which is most of the time, so the
 * store costs a copy, not an allocation, per dumpling. */
static struct latest_blob *blob_replace(struct latest_blob *old, const char *json, size_t len)
{
	if (old->refs == 1 && old->cap >= len && old->cap - len <= BLOB_SLACK) {
		old->len = len;
		memcpy(old->buf + LWS_PRE, json, len);
		return old;
	}
	blob_drop(old);
	return blob_new(json, len);
}

static struct latest_entry *entry_new(struct hub_latest *l, uint64_t hash, const char *chef,
				      const char *kitchen, const char *driver)
{
	struct latest_entry *e = xcalloc(1, sizeof *e), **b;

	e->hash = hash;
	e->chef = xstrdup(chef);
	e->kitchen = kitchen ? xstrdup(kitchen) : NULL;
	e->driver = driver ? xstrdup(driver) : NULL;
	grow(l);
	b = bucket_of(l, hash);
	e->hnext = *b;
	*b = e;
	l->n++;
	return e;
}

void hub_latest_note(struct hub_latest *l, const char *json, size_t len,
		     const char *chef, const char *kitchen, const char *driver)
{
	/* keyed: kitchens name their chefs, and could choose names that
	 * share a bucket */
	uint64_t hash = keyhash_name(keyhash_name(0, chef), kitchen);
	size_t names = strlen(chef) + (kitchen ? strlen(kitchen) : 0) + (driver ? strlen(driver) : 0);
	struct latest_entry *e = find(l, hash, chef, kitchen);

	if (ENTRY_OVERHEAD + BLOB_SLACK + len + names > l->max_bytes) {
		/* too big to keep: what was kept is no longer the latest */
		if (e) {
			evict(l, e);
			l->evicted++;
		}
		return;
	}
	if (e) {
		unlink_order(l, e);
		l->bytes -= e->cost;
		if (!same_name(e->driver, driver)) {
			free(e->driver);
			e->driver = driver ? xstrdup(driver) : NULL;
		}
		e->blob = blob_replace(e->blob, json, len);
	} else {
		e = entry_new(l, hash, chef, kitchen, driver);
		e->blob = blob_new(json, len);
	}
	e->cost = ENTRY_OVERHEAD + e->blob->cap + names;
	l->bytes += e->cost;
	/* e is out of the order list until linked again: never its own victim */
	while (l->bytes > l->max_bytes && l->oldest) {
		evict(l, l->oldest);
		l->evicted++;
	}
	link_newest(l, e);
}

struct latest_batch *hub_latest_for(struct hub_latest *l, const struct hub_subscriber *s)
{
	struct latest_batch *b;
	struct latest_entry *e;

	if (!l->n)
		return NULL;
	b = xcalloc(1, sizeof *b);
	b->v = xmalloc(l->n * sizeof *b->v);
	for (e = l->oldest; e; e = e->newer) {
		struct hub_msg m = { .chef = e->chef, .kitchen = e->kitchen, .driver = e->driver };

		if (!hub_subscriber_wants(s, &m))
			continue;
		e->blob->refs++;
		b->v[b->n++] = e->blob;
	}
	if (!b->n) {
		latest_batch_free(b);
		return NULL;
	}
	return b;
}

int latest_batch_peek(const struct latest_batch *b, unsigned char **json, size_t *len)
{
	if (b->next >= b->n)
		return 0;
	*json = b->v[b->next]->buf + LWS_PRE;
	*len = b->v[b->next]->len;
	return 1;
}

void latest_batch_pop(struct latest_batch *b)
{
	blob_drop(b->v[b->next]);
	b->v[b->next++] = NULL;
}

void latest_batch_free(struct latest_batch *b)
{
	if (!b)
		return;
	while (b->next < b->n)
		latest_batch_pop(b);
	free(b->v);
	free(b);
}
