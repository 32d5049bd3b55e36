/* Lua values to JSON, following the dumpling rules: a table whose keys are
 * exactly 1..n is an array, any other table an object (the empty table is
 * {}); integral numbers print without a fraction; strings that are not valid
 * UTF-8 still give valid JSON (each byte that is not part of a valid UTF-8
 * sequence becomes the code point of the same value, as in Latin-1, so no
 * byte is lost); C1 and bidirectional controls are written as \uXXXX
 * escapes, so the text is safe on a terminal and parses to the same code
 * points; cycles, functions, NaN/Inf and nesting deeper than
 * MAX_DEPTH are errors. dumplings.null (a NULL light userdata) is JSON null,
 * and an empty table whose metatable has __jsontype = "array" is [].
 * A table whose metatable has __dumplings_fill (a DNS layer, which decodes
 * parts of itself on first read) is not complete yet: the walk stops there
 * and hands it back, for the caller to complete it and walk again. The
 * walk itself runs no Lua code.
 *
 * A tree is built in an arena and holds copies of every string and key, so
 * it refers to nothing in Lua: the kitchen prints it on another thread
 * while the chefs run on. Strings, numbers and keys are spelled as JSON
 * while the tree is built, and the tree is printed here, not by cJSON. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>
#include <lauxlib.h>

#include "base/jsonnum.h"
#include "serialize.h"
#include "base/utf8.h"
#include "base/util.h"

/* MAX_VALUES bounds the work per dumpling: a table may appear in its
 * parent many times without being a cycle, so a few dozen levels of
 * {t, t} would otherwise ask for more values than memory holds. */
enum { MAX_DEPTH = 64, MAX_VALUES = 1 << 20, ARENA_BLOCK = 64 * 1024 };

/* While a tree is built, every cJSON allocation of this thread comes from
 * its arena, and frees are no-ops: the arena is emptied all at once, so a
 * tree is never freed node by node, not even when it is abandoned halfway.
 * Other threads, and this one outside serialization, use malloc as usual.
 * Like xmalloc, the arena gives up the process when memory runs out, so
 * building a tree cannot fail for want of memory. */
static __thread struct json_arena *active;

struct arena_block {
	struct arena_block *next;
	size_t size;
	/* 16-byte aligned memory follows */
};

static size_t round16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

void *json_arena_alloc(struct json_arena *a, size_t n)
{
	struct arena_block *b;
	size_t size;

	n = round16(n);
	if ((size_t)(a->end - a->next) < n) {
		size = n + sizeof *b > ARENA_BLOCK ? round16(n + sizeof *b) : ARENA_BLOCK;
		b = xmalloc(size);
		b->next = a->blocks;
		b->size = size;
		a->blocks = b;
		a->next = (char *)b + round16(sizeof *b);
		a->end = (char *)b + size;
	}
	a->last = a->next;
	a->next += n;
	return a->last;
}

/* Give back the tail of the latest allocation, past end. */
static void arena_trim(struct json_arena *a, char *p, const char *end)
{
	if (p == a->last)
		a->next = a->last + round16((size_t)(end - p));
}

static void *hook_alloc(size_t n)
{
	return active ? json_arena_alloc(active, n) : malloc(n);
}

static void hook_free(void *p)
{
	if (!active)
		free(p);
}

/* One block of the usual size is kept for the next tree. */
void json_arena_reset(struct json_arena *a)
{
	struct arena_block *keep = NULL, *b = a->blocks;

	while (b) {
		struct arena_block *next = b->next;

		if (!keep && b->size == ARENA_BLOCK) {
			keep = b;
			keep->next = NULL;
		} else {
			free(b);
		}
		b = next;
	}
	a->blocks = keep;
	a->next = keep ? (char *)keep + round16(sizeof *keep) : NULL;
	a->end = keep ? (char *)keep + ARENA_BLOCK : NULL;
	a->last = NULL;
}

void json_arena_free(struct json_arena *a)
{
	json_arena_reset(a);
	free(a->blocks);
	memset(a, 0, sizeof *a);
}

struct json_mark json_arena_mark(const struct json_arena *a)
{
	return (struct json_mark){ a->blocks, a->next };
}

void json_arena_rollback(struct json_arena *a, struct json_mark m)
{
	while (a->blocks != m.block) {
		struct arena_block *b = a->blocks;

		a->blocks = b->next;
		free(b);
	}
	a->next = m.next;
	a->end = m.block ? (char *)m.block + m.block->size : NULL;
	a->last = NULL;
}

static void arena_begin(struct json_arena *a)
{
	static int hooked;

	if (!hooked) {
		cJSON_Hooks hooks = { hook_alloc, hook_free };

		cJSON_InitHooks(&hooks);
		hooked = 1;
	}
	active = a;
}

static void arena_end(void)
{
	active = NULL;
}

struct walk {
	lua_State *L;
	const void *path[MAX_DEPTH];	/* tables from the root to here */
	long values;			/* converted so far */
	const char *why;
	const struct fill_list *filled;
	int slot;			/* where an unfilled table goes */
	int unfilled;			/* the walk stopped at one */
};

static cJSON *value_to_json(struct walk *w, int idx, int depth);

static int absolute_index(lua_State *L, int idx)
{
	return idx > 0 ? idx : lua_gettop(L) + idx + 1;
}

static char *put_escape(char *o, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	*o++ = '\\';
	switch (c) {
	case '"':
	case '\\':
		*o++ = (char)c;
		break;
	case '\b':
		*o++ = 'b';
		break;
	case '\f':
		*o++ = 'f';
		break;
	case '\n':
		*o++ = 'n';
		break;
	case '\r':
		*o++ = 'r';
		break;
	case '\t':
		*o++ = 't';
		break;
	default:
		memcpy(o, "u00", 3);
		o[3] = hex[c >> 4];
		o[4] = hex[c & 15];
		o += 5;
	}
	return o;
}

/* Copy n bytes to o as the content of a JSON string: the quote, the
 * backslash and control characters (NUL too) escaped as cJSON escapes
 * them, valid UTF-8 kept but for the C1 and bidirectional controls, which
 * are escaped so that no terminal acts on them, and every stray byte
 * taken as U+0080..U+00FF, so no byte is lost. Plain ASCII costs one
 * test a byte, as before. o needs room for 6 bytes per input byte.
 * Returns the end of the output. */
static char *put_text(const unsigned char *u, size_t n, char *o)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = u[i];
		size_t used;

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			*o++ = (char)c;
			i++;
		} else if (c < 0x80) {
			o = put_escape(o, c);
			i++;
		} else {
			o = utf8_put_json(o, u + i, n - i, &used);
			i += used;
		}
	}
	return o;
}

/* An item that cJSON prints as the JSON text given, already in the arena. */
static cJSON *raw_json(char *text)
{
	cJSON *item = cJSON_CreateNull();

	item->type = cJSON_Raw;
	item->valuestring = text;
	return item;
}

cJSON *serialize_raw(struct json_arena *a, const char *json)
{
	size_t n = strlen(json) + 1;
	cJSON *item;

	arena_begin(a);
	item = raw_json(memcpy(json_arena_alloc(a, n), json, n));
	arena_end();
	return item;
}

/* s as a JSON string literal, quoted in one pass into the arena. */
static char *quote_in_arena(const char *s, size_t n)
{
	char *literal = json_arena_alloc(active, n * 6 + 3), *end;

	literal[0] = '"';
	end = put_text((const unsigned char *)s, n, literal + 1);
	*end++ = '"';
	*end++ = '\0';
	arena_trim(active, literal, end);
	return literal;
}

/* A string is quoted here and handed to cJSON as raw JSON: cJSON would
 * take two more passes over it to print it, and it would need the same
 * checks first for bytes that are not UTF-8. */
static cJSON *string_to_json(struct walk *w, int idx)
{
	size_t n;
	const char *s = lua_tolstring(w->L, idx, &n);

	return raw_json(quote_in_arena(s, n));
}

/* Numbers are spelled here, not by cJSON, whose printing goes through
 * sprintf (and sscanf to check) and whose 15 digits can drop precision. */
static cJSON *number_to_json(struct walk *w, int idx)
{
	double d = lua_tonumber(w->L, idx);
	char *digits;

	if (!isfinite(d)) {
		w->why = "NaN or infinite number";
		return NULL;
	}
	digits = json_arena_alloc(active, 32);
	arena_trim(active, digits, digits + json_number(d, digits) + 1);
	return raw_json(digits);
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

/* What a table's metatable asks of the serializer: to be filled in first
 * (__dumplings_fill, for DNS layers decoded on demand), and whether it is
 * an array even when empty (__jsontype = "array"). Most tables have no
 * metatable, so this costs one call for them. Returns -1 when the table
 * waits to be filled (it is put in w->slot), else whether it is marked as
 * an array. */
static int apply_metatable(struct walk *w, int idx)
{
	lua_State *L = w->L;
	int marked;

	if (!lua_getmetatable(L, idx))
		return 0;
	/* Raw reads: the metatable may have a metatable of its own, whose
	 * __index would be Lua code. */
	lua_pushliteral(L, "__dumplings_fill");
	lua_rawget(L, -2);
	if (lua_isfunction(L, -1) && !fill_list_has(w->filled, lua_topointer(L, idx))) {
		lua_pop(L, 2);
		lua_pushvalue(L, idx);
		lua_replace(L, w->slot);
		w->unfilled = 1;
		return -1;
	}
	lua_pop(L, 1);
	lua_pushliteral(L, "__jsontype");
	lua_rawget(L, -2);
	marked = lua_isstring(L, -1) && !strcmp(lua_tostring(L, -1), "array");
	lua_pop(L, 2);
	return marked;
}

static int is_empty(lua_State *L, int idx)
{
	lua_pushnil(L);
	if (lua_next(L, idx)) {
		lua_pop(L, 2);
		return 0;
	}
	return 1;
}

static cJSON *array_to_json(struct walk *w, int idx, size_t n, int depth)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 1; i <= n; i++) {
		cJSON *item;

		lua_rawgeti(w->L, idx, (int)i);
		item = value_to_json(w, lua_gettop(w->L), depth + 1);
		lua_pop(w->L, 1);
		if (!item)
			return NULL;
		cJSON_AddItemToArray(arr, item);
	}
	return arr;
}

/* The key at the top of the stack (left in place) as a JSON string
 * literal, or NULL. */
static const char *key_literal(struct walk *w)
{
	lua_State *L = w->L;
	char num[32];
	const char *key;
	size_t n;
	double d;

	switch (lua_type(L, -1)) {
	case LUA_TSTRING:
		key = lua_tolstring(L, -1, &n);
		return quote_in_arena(key, n);
	case LUA_TNUMBER:
		d = lua_tonumber(L, -1);
		if (!isfinite(d)) {
			w->why = "NaN or infinite table key";
			return NULL;
		}
		if (d == floor(d) && fabs(d) < 1e15)
			snprintf(num, sizeof num, "%.0f", d);
		else
			snprintf(num, sizeof num, "%.17g", d);
		return quote_in_arena(num, strlen(num));
	default:
		w->why = "table key that is neither a string nor a number";
		return NULL;
	}
}

/* Add item under the key at the top of the stack (left in place). Keys
 * are kept as literals, quoted and escaped as strings are, since cJSON
 * would end a key at its first NUL: the tree is printed by print_value(),
 * never by cJSON. */
static int add_member(struct walk *w, cJSON *obj, cJSON *item)
{
	const char *literal = key_literal(w);

	if (!literal)
		return -1;
	cJSON_AddItemToObjectCS(obj, literal, item);
	return 0;
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
	int marked;

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
	marked = apply_metatable(w, idx);
	if (marked < 0)
		return NULL;
	if (is_array(w->L, idx, &n))
		return array_to_json(w, idx, n, depth);
	if (marked && is_empty(w->L, idx))
		return cJSON_CreateArray();
	return object_to_json(w, idx, depth);
}

static cJSON *value_to_json(struct walk *w, int idx, int depth)
{
	if (++w->values > MAX_VALUES) {
		w->why = "more than 1048576 values (a table counts each time it appears)";
		return NULL;
	}
	switch (lua_type(w->L, idx)) {
	case LUA_TSTRING:
		return string_to_json(w, idx);
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

static void reserve(struct json_buf *buf, size_t need)
{
	if (buf->cap >= need)
		return;
	while (buf->cap < need)
		buf->cap = buf->cap ? buf->cap * 2 : 1 << 16;
	free(buf->data);
	buf->data = xmalloc(buf->cap);
}

/* ---- printing a tree --------------------------------------------------- */

enum { MAX_TEXT = 1 << 30 };

/* Where a tree is being printed: buf->data up to len so far. */
struct out {
	struct json_buf *buf;
	size_t len;
	int too_big;
};

/* Room for n more bytes and a NUL, keeping what is there. */
static int out_room(struct out *o, size_t n)
{
	struct json_buf *buf = o->buf;

	if (o->len + n + 1 <= buf->cap)
		return 0;
	if (o->len + n + 1 > MAX_TEXT) {
		o->too_big = 1;
		return -1;
	}
	while (buf->cap < o->len + n + 1)
		buf->cap = buf->cap ? buf->cap * 2 : 1 << 16;
	buf->data = xrealloc(buf->data, buf->cap);
	return 0;
}

static void out_put(struct out *o, const char *s, size_t n)
{
	if (out_room(o, n) < 0)
		return;
	memcpy(o->buf->data + o->len, s, n);
	o->len += n;
}

static void out_char(struct out *o, char c)
{
	if (out_room(o, 1) < 0)
		return;
	o->buf->data[o->len++] = c;
}

/* The trees serialize_tree() builds hold objects, arrays, booleans, null
 * and raw text: strings and numbers already spelled, keys already quoted.
 * Nesting is bounded by MAX_DEPTH, so recursion is safe. */
static void print_value(struct out *o, const cJSON *v)
{
	const cJSON *c;

	switch (v->type & 0xff) {
	case cJSON_Raw:
		out_put(o, v->valuestring, strlen(v->valuestring));
		return;
	case cJSON_True:
		out_put(o, "true", 4);
		return;
	case cJSON_False:
		out_put(o, "false", 5);
		return;
	case cJSON_Array:
		out_char(o, '[');
		for (c = v->child; c && !o->too_big; c = c->next) {
			print_value(o, c);
			if (c->next)
				out_char(o, ',');
		}
		out_char(o, ']');
		return;
	case cJSON_Object:
		out_char(o, '{');
		for (c = v->child; c && !o->too_big; c = c->next) {
			out_put(o, c->string, strlen(c->string));
			out_char(o, ':');
			print_value(o, c);
			if (c->next)
				out_char(o, ',');
		}
		out_char(o, '}');
		return;
	default:
		out_put(o, "null", 4);
		return;
	}
}

/* Print root at offset `at` of buf, NUL-terminated with room for one
 * more byte; returns the total length, or 0 when the text would pass
 * MAX_TEXT. */
static size_t print_at(const cJSON *root, struct json_buf *buf, size_t at)
{
	struct out o = { buf, at, 0 };

	print_value(&o, root);
	if (o.too_big || out_room(&o, 1) < 0)
		return 0;
	buf->data[o.len] = '\0';
	return o.len;
}

int fill_list_has(const struct fill_list *l, const void *table)
{
	for (int i = 0; l && i < l->n; i++)
		if (l->tables[i] == table)
			return 1;
	return 0;
}

void fill_list_add(struct fill_list *l, const void *table)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->tables = xrealloc(l->tables, (size_t)l->cap * sizeof *l->tables);
	}
	l->tables[l->n++] = table;
}

void fill_list_free(struct fill_list *l)
{
	free(l->tables);
	memset(l, 0, sizeof *l);
}

cJSON *serialize_tree(lua_State *L, int idx, struct json_arena *a,
		      const struct fill_list *filled, const char **why)
{
	struct walk w;
	cJSON *root;

	/* not zeroed as a whole: path[] is written before it is read */
	w.L = L;
	w.values = 0;
	w.why = NULL;
	w.filled = filled;
	w.unfilled = 0;
	idx = absolute_index(L, idx);
	if (!lua_checkstack(L, 8)) {
		*why = "Lua stack exhausted";
		return NULL;
	}
	lua_pushnil(L);
	w.slot = lua_gettop(L);
	arena_begin(a);
	root = value_to_json(&w, idx, 0);
	arena_end();
	if (!w.unfilled)
		lua_pop(L, 1);
	if (!root)
		*why = w.unfilled ? NULL : w.why;
	return root;
}

const char *serialize_value(lua_State *L, int idx, struct json_buf *buf,
			    const struct fill_list *filled, size_t *len, const char **why)
{
	static __thread struct json_arena arena;
	cJSON *root = serialize_tree(L, idx, &arena, filled, why);

	*len = root ? print_at(root, buf, 0) : 0;
	json_arena_reset(&arena);
	if (root && !*len)
		*why = "dumpling larger than 1 GiB";
	return *len ? buf->data : NULL;
}

static size_t append(char *dst, size_t at, const char *s)
{
	size_t n = strlen(s);

	memcpy(dst + at, s, n);
	return at + n;
}

static size_t append_unsigned(char *dst, size_t at, unsigned long long v)
{
	char digits[24];
	int n = 0;

	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (n)
		dst[at++] = digits[--n];
	return at;
}

/* The envelope is the same for every dumpling but for the time, so it is
 * written from a template; only the payload goes through cJSON. */
const char *serialize_print(const cJSON *payload, const struct dumpling_meta *meta,
			    struct json_buf *buf, size_t *len, const char **why)
{
	size_t head;

	reserve(buf, 4096 + strlen(meta->chef) + strlen(meta->kitchen));
	head = append(buf->data, 0, "{\"metadata\":{\"chef\":");
	head = append(buf->data, head, meta->chef);
	head = append(buf->data, head, ",\"kitchen\":");
	head = append(buf->data, head, meta->kitchen);
	head = append(buf->data, head, ",\"creation_time\":");
	head = append(buf->data, head, meta->creation_time);
	head = append(buf->data, head, ",\"driver\":\"");
	head = append(buf->data, head, meta->driver);
	if (meta->chef_rev) {
		head = append(buf->data, head, "\",\"chef_rev\":\"");
		head = append(buf->data, head, meta->chef_rev);
	}
	if (meta->run) {
		head = append(buf->data, head, "\",\"run\":\"");
		head = append(buf->data, head, meta->run);
		head = append(buf->data, head, "\",\"seq\":");
		head = append_unsigned(buf->data, head, meta->seq);
		head = append(buf->data, head, "},\"payload\":");
	} else {
		head = append(buf->data, head, "\"},\"payload\":");
	}
	*len = print_at(payload, buf, head);
	if (!*len) {
		*why = "dumpling larger than 1 GiB";
		return NULL;
	}
	buf->data[(*len)++] = '}';
	buf->data[*len] = '\0';
	return buf->data;
}

/* Chef and kitchen names go through put_text() too: cJSON would let C1
 * and bidirectional controls through, and copy stray bytes as they are,
 * which is not UTF-8. */
char *serialize_quoted(const char *s)
{
	size_t n = strlen(s);
	char *literal = xmalloc(n * 6 + 3), *end;

	literal[0] = '"';
	end = put_text((const unsigned char *)s, n, literal + 1);
	*end++ = '"';
	*end = '\0';
	return literal;
}

void json_buf_free(struct json_buf *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->cap = 0;
}
