#ifndef HUB_LATEST_H
#define HUB_LATEST_H

/* The latest dumpling of every (kitchen, chef) (hub_latest.c), for eaters
 * that ask for them when they join ("latest": true in the hello, `eat
 * --latest`): they are sent those that their filters take, oldest first,
 * after a notice saying how many, then the live stream.
 *
 * Bounded by --latest-memory: past it, the (kitchen, chef) heard from
 * least recently goes, and is counted. A dumpling handed to a joining
 * eater is shared with the store, and lives until both are done. */

#include <stddef.h>

struct hub_subscriber;
struct latest_entry;
struct latest_blob;

struct hub_latest {
	struct latest_entry **buckets;
	size_t nbuckets;
	struct latest_entry *newest, *oldest;	/* by when last replaced */
	size_t n, bytes, max_bytes;
	unsigned long evicted;		/* entries let go for the bound */
};

/* What one joining eater is to be sent, in order. */
struct latest_batch {
	struct latest_blob **v;
	size_t n, next;
};

/* max_bytes 0: nothing kept (and --latest answers with none). */
void hub_latest_init(struct hub_latest *l, size_t max_bytes);
void hub_latest_free(struct hub_latest *l);

/* A dumpling taken by ingest becomes the latest of its (kitchen, chef). */
void hub_latest_note(struct hub_latest *l, const char *json, size_t len,
		     const char *chef, const char *kitchen, const char *driver);

/* The latest dumplings s's filters take, oldest first; NULL if none. */
struct latest_batch *hub_latest_for(struct hub_latest *l, const struct hub_subscriber *s);

/* The next dumpling of b, with LWS_PRE bytes of headroom before *json;
 * 0 once all are sent. */
int latest_batch_peek(const struct latest_batch *b, unsigned char **json, size_t *len);
void latest_batch_pop(struct latest_batch *b);
void latest_batch_free(struct latest_batch *b);

#endif
