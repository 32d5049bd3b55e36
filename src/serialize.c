/* Lua values to JSON, following the dumpling rules: a table whose keys are
 * exactly 1..n is an array, any other table an object (the empty table is
 * {}); integral numbers print without a fraction; strings that are not valid
 * UTF-8 still give valid JSON (each byte that is not part of a valid UTF-8
 * sequence becomes the code point of the same value, as in Latin-1, so no
 * byte is lost); cycles, functions, NaN/Inf and nesting deeper than
 * MAX_DEPTH are errors. dumplings.null (a NULL light userdata) is JSON null,
 * and an empty table whose metatable has __jsontype = "array" is [].
 *
 * Strings and keys are handed to cJSON by reference: they belong to Lua
 * values that stay on the Lua stack until printing is done. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <lauxlib.h>

#include "serialize.h"
#include "util.h"

enum { MAX_DEPTH = 64 };

struct walk {
	lua_State *L;
	const void *path[MAX_DEPTH];	/* tables from the root to here */
	const char *why;
};

static cJSON *value_to_json(struct walk *w, int idx, int depth);

static int absolute_index(lua_State *L, int idx)
{
	return idx > 0 ? idx : lua_gettop(L) + idx + 1;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if none starts there.
 * NUL counts as invalid too, since cJSON treats strings as C strings. */
static int utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	int len;
	unsigned cp;

	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if ((size_t)len > n)
		return 0;
	for (int i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static int is_clean_utf8(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		if (u[i] >= 0x01 && u[i] < 0x80) {
			i++;
			continue;
		}
		int len = utf8_seq(u + i, n - i);
		if (len == 0)
			return 0;
		i += len;
	}
	return 1;
}

/* A JSON string literal for any bytes: valid UTF-8 is kept, NUL becomes
 * \u0000, and every other stray byte becomes U+0080..U+00FF. */
static char *quote_any_bytes(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	char *out = xmalloc(n * 6 + 3), *o = out;

	*o++ = '"';
	for (size_t i = 0; i < n;) {
		int len = utf8_seq(u + i, n - i);

		if (len > 1) {
			memcpy(o, u + i, len);
			o += len;
			i += len;
		} else if (len == 1 && u[i] >= 0x20 && u[i] != '"' && u[i] != '\\') {
			*o++ = (char)u[i++];
		} else if (len == 1 || u[i] == 0) {
			o += sprintf(o, "\\u%04x", u[i++]);
		} else {
			*o++ = (char)(0xc0 | u[i] >> 6);
			*o++ = (char)(0x80 | (u[i++] & 0x3f));
		}
	}
	*o++ = '"';
	*o = '\0';
	return out;
}

static cJSON *string_to_json(lua_State *L, int idx)
{
	size_t n;
	const char *s = lua_tolstring(L, idx, &n);
	cJSON *item;
	char *quoted;

	if (is_clean_utf8(s, n))
		return cJSON_CreateStringReference(s);
	quoted = quote_any_bytes(s, n);
	item = cJSON_CreateRaw(quoted);
	free(quoted);
	return item;
}

static cJSON *number_to_json(struct walk *w, int idx)
{
	double d = lua_tonumber(w->L, idx);
	char digits[32];

	if (!isfinite(d)) {
		w->why = "NaN or infinite number";
		return NULL;
	}
	/* cJSON prints integers exactly only within int range; beyond it its
	 * 15-digit form can drop digits, so larger integers are spelled out. */
	if (d == floor(d) && fabs(d) > 2147483647.0 && fabs(d) < 1e18) {
		snprintf(digits, sizeof digits, "%.0f", d);
		return cJSON_CreateRaw(digits);
	}
	return cJSON_CreateNumber(d);
}

/* Keys exactly 1..n, n > 0. lua_objlen alone is not enough: with holes it
 * may return any border, so every key is checked. */
static int is_array(lua_State *L, int idx, size_t *n)
{
	size_t len = lua_objlen(L, idx), count = 0;

	if (len == 0)
		return 0;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		double k;

		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TNUMBER)
			goto no;
		k = lua_tonumber(L, -1);
		if (k < 1 || k > (double)len || k != floor(k))
			goto no;
		count++;
	}
	*n = len;
	return count == len;
no:
	lua_pop(L, 1);
	return 0;
}

/* An empty table marked by dumplings.array(). */
static int is_marked_array(lua_State *L, int idx)
{
	int marked;

	lua_pushnil(L);
	if (lua_next(L, idx)) {
		lua_pop(L, 2);
		return 0;
	}
	if (!lua_getmetatable(L, idx))
		return 0;
	lua_getfield(L, -1, "__jsontype");
	marked = lua_isstring(L, -1) && !strcmp(lua_tostring(L, -1), "array");
	lua_pop(L, 2);
	return marked;
}

static cJSON *array_to_json(struct walk *w, int idx, size_t n, int depth)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 1; i <= n; i++) {
		cJSON *item;

		lua_rawgeti(w->L, idx, (int)i);
		item = value_to_json(w, lua_gettop(w->L), depth + 1);
		lua_pop(w->L, 1);
		if (!item) {
			cJSON_Delete(arr);
			return NULL;
		}
		cJSON_AddItemToArray(arr, item);
	}
	return arr;
}

/* Add item under the key at the top of the stack (left in place). */
static int add_member(struct walk *w, cJSON *obj, cJSON *item)
{
	lua_State *L = w->L;
	char num[32];
	size_t n;
	const char *key;
	char *quoted;

	switch (lua_type(L, -1)) {
	case LUA_TSTRING:
		key = lua_tolstring(L, -1, &n);
		if (memchr(key, 0, n)) {
			w->why = "object key contains a NUL byte";
			return -1;
		}
		if (is_clean_utf8(key, n)) {
			cJSON_AddItemToObjectCS(obj, key, item);
			return 0;
		}
		/* Re-encode the stray bytes, minus the quotes. */
		quoted = quote_any_bytes(key, n);
		quoted[strlen(quoted) - 1] = '\0';
		cJSON_AddItemToObject(obj, quoted + 1, item);
		free(quoted);
		return 0;
	case LUA_TNUMBER: {
		double d = lua_tonumber(L, -1);

		if (!isfinite(d)) {
			w->why = "NaN or infinite table key";
			return -1;
		}
		if (d == floor(d) && fabs(d) < 1e15)
			snprintf(num, sizeof num, "%.0f", d);
		else
			snprintf(num, sizeof num, "%.17g", d);
		cJSON_AddItemToObject(obj, num, item);
		return 0;
	}
	default:
		w->why = "table key that is neither a string nor a number";
		return -1;
	}
}

static cJSON *object_to_json(struct walk *w, int idx, int depth)
{
	lua_State *L = w->L;
	cJSON *obj = cJSON_CreateObject();

	lua_pushnil(L);
	while (lua_next(L, idx)) {
		cJSON *item = value_to_json(w, lua_gettop(L), depth + 1);

		lua_pop(L, 1);
		if (!item || add_member(w, obj, item) < 0) {
			cJSON_Delete(item);
			cJSON_Delete(obj);
			lua_pop(L, 1);
			return NULL;
		}
	}
	return obj;
}

static cJSON *table_to_json(struct walk *w, int idx, int depth)
{
	const void *self = lua_topointer(w->L, idx);
	size_t n;

	if (depth >= MAX_DEPTH) {
		w->why = "tables nested more than 64 deep";
		return NULL;
	}
	for (int i = 0; i < depth; i++) {
		if (w->path[i] == self) {
			w->why = "table contains itself (a cycle)";
			return NULL;
		}
	}
	if (!lua_checkstack(w->L, 8)) {
		w->why = "Lua stack exhausted";
		return NULL;
	}
	w->path[depth] = self;
	if (is_array(w->L, idx, &n))
		return array_to_json(w, idx, n, depth);
	if (is_marked_array(w->L, idx))
		return cJSON_CreateArray();
	return object_to_json(w, idx, depth);
}

static cJSON *value_to_json(struct walk *w, int idx, int depth)
{
	switch (lua_type(w->L, idx)) {
	case LUA_TSTRING:
		return string_to_json(w->L, idx);
	case LUA_TNUMBER:
		return number_to_json(w, idx);
	case LUA_TBOOLEAN:
		return cJSON_CreateBool(lua_toboolean(w->L, idx));
	case LUA_TTABLE:
		return table_to_json(w, idx, depth);
	case LUA_TNIL:
		return cJSON_CreateNull();
	case LUA_TLIGHTUSERDATA:
		if (lua_touserdata(w->L, idx) == NULL)
			return cJSON_CreateNull();
		w->why = "only tables, strings, numbers and booleans can be serialized";
		return NULL;
	case LUA_TFUNCTION:
		w->why = "a function cannot be serialized";
		return NULL;
	default:
		w->why = "only tables, strings, numbers and booleans can be serialized";
		return NULL;
	}
}

static const char *print_json(cJSON *root, struct json_buf *buf, size_t *len)
{
	if (!buf->data) {
		buf->cap = 1 << 16;
		buf->data = xmalloc(buf->cap);
	}
	/* cJSON wants some slack beyond the printed length. */
	while (!cJSON_PrintPreallocated(root, buf->data, (int)buf->cap, 0)) {
		if (buf->cap >= (size_t)1 << 30)
			return NULL;
		buf->cap *= 2;
		free(buf->data);
		buf->data = xmalloc(buf->cap);
	}
	*len = strlen(buf->data);
	return buf->data;
}

const char *serialize_value(lua_State *L, int idx, struct json_buf *buf,
			    size_t *len, const char **why)
{
	struct walk w = { .L = L };
	cJSON *root = value_to_json(&w, absolute_index(L, idx), 0);
	const char *s;

	if (!root) {
		*why = w.why;
		return NULL;
	}
	s = print_json(root, buf, len);
	cJSON_Delete(root);
	if (!s)
		*why = "dumpling larger than 1 GiB";
	return s;
}

const char *serialize_dumpling(lua_State *L, int idx, const struct dumpling_meta *meta,
			       struct json_buf *buf, size_t *len, const char **why)
{
	struct walk w = { .L = L };
	cJSON *payload = value_to_json(&w, absolute_index(L, idx), 0);
	cJSON *root, *md;
	const char *s;

	if (!payload) {
		*why = w.why;
		return NULL;
	}
	root = cJSON_CreateObject();
	md = cJSON_CreateObject();
	cJSON_AddItemToObjectCS(md, "chef", cJSON_CreateStringReference(meta->chef));
	cJSON_AddItemToObjectCS(md, "kitchen", cJSON_CreateStringReference(meta->kitchen));
	cJSON_AddItemToObjectCS(md, "creation_time", cJSON_CreateNumber(meta->creation_time));
	cJSON_AddItemToObjectCS(md, "driver", cJSON_CreateStringReference(meta->driver));
	cJSON_AddItemToObjectCS(root, "metadata", md);
	cJSON_AddItemToObjectCS(root, "payload", payload);
	s = print_json(root, buf, len);
	cJSON_Delete(root);
	if (!s)
		*why = "dumpling larger than 1 GiB";
	return s;
}

void json_buf_free(struct json_buf *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->cap = 0;
}
