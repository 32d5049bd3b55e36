/* Lua values to JSON, following the dumpling rules: a table whose keys are
 * exactly 1..n is an array, any other table an object (the empty table is
 * {}); integral numbers print without a fraction; strings that are not valid
 * UTF-8 still give valid JSON (each byte that is not part of a valid UTF-8
 * sequence becomes the code point of the same value, as in Latin-1, so no
 * byte is lost); C1 and bidirectional controls are written as \uXXXX
 * escapes, so the text is safe on a terminal and parses to the same code
 * points; cycles, functions, NaN/Inf and nesting deeper than
 * MAX_DEPTH are errors. dumplings.null (a NULL light userdata) is JSON null,
 * an empty table whose metatable has __jsontype = "array" is [], and a
 * table whose metatable has __jsontype = "object" is an object even when
 * empty or keyed 1..n.
 * A table whose metatable has __dumplings_fill (a DNS layer, which decodes
 * parts of itself on first read) is not complete yet: the walk stops there
 * and hands it back, for the caller to complete it and walk again. The
 * walk itself runs no Lua code.
 *
 * A tree is built in an arena (jsontree.h) and holds copies of every
 * string and key, so it refers to nothing in Lua: the emit stage prints it
 * on another thread while the chefs run on. Strings, numbers and keys are
 * spelled as JSON while the tree is built, and an object's members are
 * sorted by key, so that the same input gives the same text. */
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <lauxlib.h>

#include "base/jsonnum.h"
#include "base/util.h"
#include "serialize.h"

/* MAX_VALUES bounds the work per dumpling: a table may appear in its
 * parent many times without being a cycle, so a few dozen levels of
 * {t, t} would otherwise ask for more values than memory holds. */
enum { MAX_DEPTH = 64, MAX_VALUES = 1 << 20, SORT_ON_STACK = 32 };

struct walk {
	lua_State *L;
	struct json_arena *arena;
	const void *path[MAX_DEPTH];	/* tables from the root to here */
	long values;			/* converted so far */
	const char *why;
	const struct fill_list *filled;
	int unfilled;			/* the walk stopped at one */
};

/* Where the table the walk stopped at waits in the registry while the
 * walk unwinds: off the stack, so that a walk that does not stop touches
 * nothing but the value. */
static const char unfilled_key;

static cJSON *value_to_json(struct walk *w, int idx, int depth);

static int absolute_index(lua_State *L, int idx)
{
	return idx > 0 ? idx : lua_gettop(L) + idx + 1;
}

/* s as a JSON string literal, quoted in one pass into the arena. */
static char *quote_in_arena(struct walk *w, const char *s, size_t n)
{
	char *literal = json_arena_alloc(w->arena, n * 6 + 3), *end;

	literal[0] = '"';
	end = json_put_text((const unsigned char *)s, n, literal + 1);
	*end++ = '"';
	*end++ = '\0';
	json_arena_trim(w->arena, literal, end);
	return literal;
}

/* A string is quoted here and handed to cJSON as raw JSON: cJSON would
 * take two more passes over it to print it, and it would need the same
 * checks first for bytes that are not UTF-8. */
static cJSON *string_to_json(struct walk *w, int idx)
{
	size_t n;
	const char *s = lua_tolstring(w->L, idx, &n);

	return json_raw(quote_in_arena(w, s, n));
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
	digits = json_arena_alloc(w->arena, 32);
	json_arena_trim(w->arena, digits, digits + json_number(d, digits) + 1);
	return json_raw(digits);
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

/* What __jsontype in a table's metatable asks for. */
enum { MARK_NONE, MARK_ARRAY, MARK_OBJECT };

/* What a table's metatable asks of the serializer: to be filled in first
 * (__dumplings_fill, for DNS layers decoded on demand), and what JSON type
 * it is whatever its keys (__jsontype = "array" or "object"). Most tables
 * have no metatable, so this costs one call for them. Returns -1 when the
 * table waits to be filled (it is put aside, at unfilled_key), else its
 * MARK_. */
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
		lua_pushlightuserdata(L, (void *)&unfilled_key);
		lua_pushvalue(L, idx);
		lua_rawset(L, LUA_REGISTRYINDEX);
		w->unfilled = 1;
		return -1;
	}
	lua_pop(L, 1);
	lua_pushliteral(L, "__jsontype");
	lua_rawget(L, -2);
	marked = MARK_NONE;
	if (lua_type(L, -1) == LUA_TSTRING) {
		const char *type = lua_tostring(L, -1);

		if (!strcmp(type, "array"))
			marked = MARK_ARRAY;
		else if (!strcmp(type, "object"))
			marked = MARK_OBJECT;
	}
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
		return quote_in_arena(w, key, n);
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
		return quote_in_arena(w, num, strlen(num));
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

static int by_key(const void *a, const void *b)
{
	return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

/* Small objects, the most, sort faster without qsort's calls, and most
 * come in shapes seen before: a chef's table constructor gives the same
 * keys in the same walk order every time. So the order found for the
 * last object of n members is tried first; insertion sort on an input
 * already in order costs n - 1 comparisons, and sorts whatever else. */
struct sort_item {
	cJSON *member;
	uint8_t walked;		/* its place in Lua's walk of the table */
};

static __thread uint8_t last_order[SORT_ON_STACK + 1][SORT_ON_STACK];
static __thread uint64_t have_order;	/* bit n: last_order[n] is set */

static void insertion_sort(struct sort_item *v, int n)
{
	for (int i = 1; i < n; i++) {
		struct sort_item it = v[i];
		int j = i;

		for (; j > 0 && strcmp(v[j - 1].member->string, it.member->string) > 0; j--)
			v[j] = v[j - 1];
		v[j] = it;
	}
}

static void sort_small(cJSON **items, int n)
{
	struct sort_item v[SORT_ON_STACK];
	uint8_t *order = last_order[n];

	for (int i = 0; i < n; i++) {
		int from = have_order >> n & 1 ? order[i] : i;

		v[i] = (struct sort_item){ items[from], (uint8_t)from };
	}
	insertion_sort(v, n);
	for (int i = 0; i < n; i++) {
		items[i] = v[i].member;
		order[i] = v[i].walked;
	}
	have_order |= (uint64_t)1 << n;
}

/* An object's n members in the order of their keys' bytes (as JSON text),
 * so that the same values give the same dumpling whatever order Lua's
 * walk of the table took, run after run. */
static void sort_members(cJSON *obj, int n)
{
	cJSON *few[SORT_ON_STACK], **items, *it;
	int i = 0;

	if (n < 2)
		return;
	items = n <= SORT_ON_STACK ? few : xmalloc((size_t)n * sizeof *items);
	for (it = obj->child; it; it = it->next)
		items[i++] = it;
	if (n <= SORT_ON_STACK)
		sort_small(items, n);
	else
		qsort(items, (size_t)n, sizeof *items, by_key);
	for (i = 0; i < n; i++) {
		items[i]->prev = i ? items[i - 1] : items[n - 1];	/* cJSON: child->prev is the last */
		items[i]->next = i + 1 < n ? items[i + 1] : NULL;
	}
	obj->child = items[0];
	if (items != few)
		free(items);
}

static cJSON *object_to_json(struct walk *w, int idx, int depth)
{
	lua_State *L = w->L;
	cJSON *obj = cJSON_CreateObject();
	int n = 0;

	lua_pushnil(L);
	while (lua_next(L, idx)) {
		cJSON *item = value_to_json(w, lua_gettop(L), depth + 1);

		lua_pop(L, 1);
		if (!item || add_member(w, obj, item) < 0) {
			lua_pop(L, 1);
			return NULL;
		}
		n++;
	}
	sort_members(obj, n);
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
	if (marked == MARK_OBJECT)
		return object_to_json(w, idx, depth);
	if (is_array(w->L, idx, &n))
		return array_to_json(w, idx, n, depth);
	if (marked == MARK_ARRAY && is_empty(w->L, idx))
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

int fill_list_run(lua_State *L, struct fill_list *filled)
{
	fill_list_add(filled, lua_topointer(L, -1));
	lua_getmetatable(L, -1);
	lua_pushliteral(L, "__dumplings_fill");
	lua_rawget(L, -2);
	lua_replace(L, -2);	/* the fill function, under the table */
	lua_insert(L, -2);
	return lua_pcall(L, 1, 0, 0);
}

void fill_list_free(struct fill_list *l)
{
	free(l->tables);
	memset(l, 0, sizeof *l);
}

/* Push the table put aside, and let go of it there. */
static void push_unfilled(lua_State *L)
{
	lua_pushlightuserdata(L, (void *)&unfilled_key);
	lua_rawget(L, LUA_REGISTRYINDEX);
	lua_pushlightuserdata(L, (void *)&unfilled_key);
	lua_pushnil(L);
	lua_rawset(L, LUA_REGISTRYINDEX);
}

cJSON *serialize_tree(lua_State *L, int idx, struct json_arena *a,
		      const struct fill_list *filled, const char **why)
{
	struct walk w;
	cJSON *root;

	/* not zeroed as a whole: path[] is written before it is read */
	w.L = L;
	w.arena = a;
	w.values = 0;
	w.why = NULL;
	w.filled = filled;
	w.unfilled = 0;
	json_arena_begin(a);
	root = value_to_json(&w, absolute_index(L, idx), 0);
	json_arena_end();
	if (w.unfilled)
		push_unfilled(L);
	if (!root)
		*why = w.unfilled ? NULL : w.why;
	return root;
}

const char *serialize_value(lua_State *L, int idx, struct json_buf *buf,
			    const struct fill_list *filled, size_t *len, const char **why)
{
	static __thread struct json_arena arena;
	cJSON *root = serialize_tree(L, idx, &arena, filled, why);

	*len = root ? json_tree_print(root, buf, 0) : 0;
	json_arena_reset(&arena);
	if (root && !*len)
		*why = "dumpling larger than 1 GiB";
	return *len ? buf->data : NULL;
}

