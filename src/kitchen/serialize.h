#ifndef SERIALIZE_H
#define SERIALIZE_H

#include <stddef.h>

#include <lua.h>

#include "jsontree.h"

/* Lua values to JSON trees (jsontree.h), by the dumpling rules. This is
 * the one place that sees both Lua and cJSON: it walks a Lua value and
 * builds the cJSON tree directly. */

/* The tables whose __dumplings_fill the caller has run for one value: the
 * walk goes into them as they are. */
struct fill_list {
	const void **tables;	/* lua_topointer() of each */
	int n, cap;
};
int fill_list_has(const struct fill_list *l, const void *table);
void fill_list_add(struct fill_list *l, const void *table);
void fill_list_free(struct fill_list *l);

/* Run the __dumplings_fill of the table a walk stopped at, on top of the
 * stack, note it in filled and pop it: the caller then walks again.
 * Returns lua_pcall's status; on an error the error value is on top. */
int fill_list_run(lua_State *L, struct fill_list *filled);

struct cJSON;

/* The tree of the value at idx, built in the arena, with copies of every
 * string: it stays valid, whatever becomes of the Lua value, until the
 * arena is reset. Its strings, numbers and keys are already spelled as
 * JSON (a key is a quoted literal), so it is for json_tree_print() only.
 * On failure returns NULL and sets *why to a static reason. No Lua code
 * runs: a table whose metatable has a __dumplings_fill function, and that
 * is not in filled (which may be NULL), stops the walk; then NULL is
 * returned with *why NULL and that table pushed, for the caller to run its
 * fill, add it to filled, and call again. */
struct cJSON *serialize_tree(lua_State *L, int idx, struct json_arena *a,
			     const struct fill_list *filled, const char **why);

/* Serialize just the value at idx (no envelope): for tests and tools.
 * Fails as serialize_tree() does, an unfilled table pushed. */
const char *serialize_value(lua_State *L, int idx, struct json_buf *buf,
			    const struct fill_list *filled, size_t *len, const char **why);

#endif
