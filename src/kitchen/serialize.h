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

struct cJSON;

/* The tree of the value at idx, built in the arena, with copies of every
 * string: it stays valid, whatever becomes of the Lua value, until the
 * arena is reset. On failure returns NULL and sets *why to a reason that
 * lives as long as the next call. */
struct cJSON *serialize_tree(lua_State *L, int idx, struct json_arena *a,
			     const char **why);

/* The envelope with payload inside, into buf. On success returns the
 * NUL-terminated JSON (owned by buf) and sets *len; on failure returns NULL
 * and sets *why to a static reason. Touches no Lua state. */
const char *serialize_print(const struct cJSON *payload, const struct dumpling_meta *meta,
			    struct json_buf *buf, size_t *len, const char **why);

/* Serialize just the value at idx (no envelope): for tests and tools. */
const char *serialize_value(lua_State *L, int idx, struct json_buf *buf,
			    size_t *len, const char **why);

void json_buf_free(struct json_buf *buf);

/* s as a JSON string literal (malloc'd), escaped as payload strings are. */
char *serialize_quoted(const char *s);


#endif
