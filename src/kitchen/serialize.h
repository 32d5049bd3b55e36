#ifndef SERIALIZE_H
#define SERIALIZE_H

#include <stddef.h>

#include <lua.h>

/* Lua values to JSON dumplings. This is the one place that sees both Lua
 * and cJSON: it walks a Lua value and builds the cJSON tree directly. */

struct dumpling_meta {
	const char *chef;	/* as JSON strings, quotes included */
	const char *kitchen;
	const char *driver;
	const char *chef_rev;	/* hex, or NULL */
	char creation_time[32];	/* already spelled as a JSON number */
	/* Where it stands among all the kitchen run's dumplings: seq counts
	 * 1, 2, 3 ... with no gaps; run (hex, or NULL for none) changes
	 * with every start of the kitchen. */
	unsigned long long seq;
	const char *run;
};

struct json_buf {
	char *data;
	size_t cap;
};

/* Memory for cJSON trees: blocks that are emptied all at once. */
struct json_arena {
	struct arena_block *blocks;	/* newest first */
	char *next, *end, *last;
};

/* n bytes, 16-byte aligned, until the arena is reset; like xmalloc, it
 * ends the process when memory runs out. */
void *json_arena_alloc(struct json_arena *a, size_t n);
void json_arena_reset(struct json_arena *a);
void json_arena_free(struct json_arena *a);

/* Where an arena stands, to give back everything allocated after it. */
struct json_mark {
	struct arena_block *block;
	char *next;
};
struct json_mark json_arena_mark(const struct json_arena *a);
void json_arena_rollback(struct json_arena *a, struct json_mark m);

/* The tables whose __dumplings_fill the caller has run for one value: the
 * walk goes into them as they are. */
struct fill_list {
	const void **tables;	/* lua_topointer() of each */
	int n, cap;
};
int fill_list_has(const struct fill_list *l, const void *table);
void fill_list_add(struct fill_list *l, const void *table);
void fill_list_free(struct fill_list *l);

struct cJSON;

/* The tree of the value at idx, built in the arena, with copies of every
 * string: it stays valid, whatever becomes of the Lua value, until the
 * arena is reset. Its strings, numbers and keys are already spelled as
 * JSON (a key is a quoted literal), so it is for serialize_print() only.
 * On failure returns NULL and sets *why to a static reason. No Lua code
 * runs: a table whose metatable has a __dumplings_fill function, and that
 * is not in filled (which may be NULL), stops the walk; then NULL is
 * returned with *why NULL and that table pushed, for the caller to run its
 * fill, add it to filled, and call again. */
struct cJSON *serialize_tree(lua_State *L, int idx, struct json_arena *a,
			     const struct fill_list *filled, const char **why);

/* A payload that is JSON text already (valid, and escaped as
 * serialize_tree() would), as a tree in the arena. */
struct cJSON *serialize_raw(struct json_arena *a, const char *json);

/* The envelope with payload inside, into buf. On success returns the
 * NUL-terminated JSON (owned by buf) and sets *len; on failure returns NULL
 * and sets *why to a static reason. Touches no Lua state. */
const char *serialize_print(const struct cJSON *payload, const struct dumpling_meta *meta,
			    struct json_buf *buf, size_t *len, const char **why);

/* Serialize just the value at idx (no envelope): for tests and tools.
 * Fails as serialize_tree() does, an unfilled table pushed. */
const char *serialize_value(lua_State *L, int idx, struct json_buf *buf,
			    const struct fill_list *filled, size_t *len, const char **why);

void json_buf_free(struct json_buf *buf);

/* s as a JSON string literal (malloc'd), escaped as string values are. */
char *serialize_quoted(const char *s);


#endif
