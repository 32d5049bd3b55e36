#ifndef JSONTREE_H
#define JSONTREE_H

#include <stddef.h>

/* JSON trees in arenas (see jsontree.c): what the serializer builds from
 * Lua values and the emit stage prints. No Lua here. */

struct cJSON;

/* Memory for cJSON trees: blocks that are emptied all at once. */
struct json_arena {
	struct arena_block *blocks;	/* newest first */
	char *next, *end, *last;
};

void *json_arena_grow(struct json_arena *a, size_t n);

/* n bytes, 16-byte aligned, until the arena is reset; like xmalloc, it
 * ends the process when memory runs out. Inline, as is trimming: the
 * serializer takes memory for every value it meets. */
static inline void *json_arena_alloc(struct json_arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if ((size_t)(a->end - a->next) < n)
		return json_arena_grow(a, n);
	a->last = a->next;
	a->next += n;
	return a->last;
}

/* Give back the tail of the latest allocation p, past end. */
static inline void json_arena_trim(struct json_arena *a, char *p, const char *end)
{
	if (p == a->last)
		a->next = a->last + (((size_t)(end - p) + 15) & ~(size_t)15);
}
void json_arena_reset(struct json_arena *a);
void json_arena_free(struct json_arena *a);

/* Where an arena stands, to give back everything allocated after it. */
struct json_mark {
	struct arena_block *block;
	char *next;
};
struct json_mark json_arena_mark(const struct json_arena *a);
void json_arena_rollback(struct json_arena *a, struct json_mark m);

/* Between these two, this thread's cJSON nodes come from a (and freeing
 * one does nothing). */
void json_arena_begin(struct json_arena *a);
void json_arena_end(void);

/* A node that prints as text, JSON already (in the arena, or as lasting). */
struct cJSON *json_raw(char *text);

/* A payload that is JSON text already (valid, and escaped as the
 * serializer would), as a tree in the arena. */
struct cJSON *json_tree_raw(struct json_arena *a, const char *json);

/* Copy n bytes to o as the content of a JSON string (see jsontree.c for
 * what is escaped); o needs room for 6 bytes per input byte. Returns the
 * end of the output. */
char *json_put_text(const unsigned char *u, size_t n, char *o);

/* s as a JSON string literal (malloc'd), escaped as string values are. */
char *json_quote(const char *s);

struct json_buf {
	char *data;
	size_t cap;
};

/* Room for need bytes, not keeping what was there. */
void json_buf_reserve(struct json_buf *buf, size_t need);
void json_buf_free(struct json_buf *buf);

/* Print a tree built in an arena at offset at of buf, NUL-terminated with
 * room for one more byte; returns the total length, or 0 when the text
 * would pass 1 GiB. */
size_t json_tree_print(const struct cJSON *root, struct json_buf *buf, size_t at);

#endif
