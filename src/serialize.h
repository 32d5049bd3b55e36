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

/* Serialize the envelope with the value at idx as payload. On success
 * returns the NUL-terminated JSON (owned by buf) and sets *len; on failure
 * returns NULL and sets *why to a static reason. */
const char *serialize_dumpling(lua_State *L, int idx, const struct dumpling_meta *meta,
			       struct json_buf *buf, size_t *len, const char **why);

/* Serialize just the value at idx (no envelope): for tests and tools. */
const char *serialize_value(lua_State *L, int idx, struct json_buf *buf,
			    size_t *len, const char **why);

void json_buf_free(struct json_buf *buf);

/* s as a JSON string literal (malloc'd), quoted and escaped by cJSON. */
char *serialize_quoted(const char *s);


#endif
