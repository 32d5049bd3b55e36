/* Fuzz target: Lua values to JSON (src/kitchen/serialize.c).
 *
 * The input is a little program for a stack machine that builds Lua values
 * with the C API: nested tables with mixed keys and holes, strings of any
 * bytes, numbers of every awkward kind (NaN, infinities, huge, tiny,
 * integral beyond 2^53), booleans, dumplings.null, other light userdata,
 * functions, shared tables and cycles, deep nesting, the array marker and
 * lazy tables whose __dumplings_fill succeeds or fails (run, as the
 * kitchen does, when the serializer stops at such a table, before it walks
 * again). The first value
 * built is serialized alone and as a dumpling payload: both must agree,
 * every success must be one valid JSON document in valid UTF-8 with no raw
 * C1 or bidirectional control, and the root must read back as what it was
 * (see check_root()). */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "kitchen/emit.h"
#include "kitchen/serialize.h"

#ifndef FUZZ_REPLAY
#define FUZZ_REPLAY 0
#endif

enum { MAX_VALUES = 64, MAX_OPS = 4096 };

struct program {
	const uint8_t *data;
	size_t size, pos;
};

static lua_State *L;
static int ref_array_mt, ref_fill_ok_mt, ref_fill_err_mt;

static unsigned next_byte(struct program *p)
{
	return p->pos < p->size ? p->data[p->pos++] : 0;
}

static uint64_t next_u64(struct program *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | next_byte(p);
	return v;
}

static double next_double(struct program *p)
{
	uint64_t bits = next_u64(p);
	double d;

	memcpy(&d, &bits, sizeof d);
	return d;
}

/* Numbers at the edges of the formatter's fast paths. */
static double special_number(unsigned i)
{
	static const double v[] = {
		0.0, -0.0, 1, -1, 0.1, 1.0 / 3, 1e15, 1e15 + 1, 1e16, 1e21,
		9007199254740992.0, 9007199254740993.0, 4503599627370495.5,
		-9223372036854775808.0, 9223372036854775808.0, 18446744073709551616.0,
		1e300, -1e300, 5e-324, 2.2250738585072014e-308, 1e-7, 1e-10,
		1591780794.740081, 1515990765.925951, 999999999999999.9,
		123456789.123456789, 0.000001, 1e9, 1.5e-9, 2.5, -2.5,
	};

	switch (i % 34) {
	case 31: return HUGE_VAL;
	case 32: return -HUGE_VAL;
	case 33: return NAN;
	default: return v[i % 34];
	}
}

static int c_function(lua_State *l)
{
	return 0;
}

static int new_metatable(const char *code)
{
	if (luaL_loadstring(L, code) || lua_pcall(L, 0, 1, 0))
		fuzz_fail(__FILE__, __LINE__, lua_tostring(L, -1));
	return luaL_ref(L, LUA_REGISTRYINDEX);
}

static void setup(void)
{
	L = luaL_newstate();
	fuzz_assert(L != NULL, "Lua state");
	luaL_openlibs(L);
	ref_array_mt = new_metatable("return { __jsontype = 'array' }");
	ref_fill_ok_mt = new_metatable(
		"return { __dumplings_fill = function(t) rawset(t, 'filled', true) end }");
	ref_fill_err_mt = new_metatable(
		"return { __dumplings_fill = function(t) error('cannot fill') end }");
}

static int is_table(int idx)
{
	return lua_type(L, idx) == LUA_TTABLE;
}

/* t[k] = v with t, k, v the top three values; pops k and v. A nil or NaN
 * key is something Lua itself refuses, so it is skipped. */
static void op_set(void)
{
	int bad_key = lua_isnil(L, -2) ||
		      (lua_type(L, -2) == LUA_TNUMBER && isnan(lua_tonumber(L, -2)));

	if (lua_gettop(L) < 3 || !is_table(-3) || bad_key) {
		lua_pop(L, 1);
		return;
	}
	lua_rawset(L, -3);
}

static void op_seti(int i)
{
	if (lua_gettop(L) < 2 || !is_table(-2)) {
		lua_pop(L, 1);
		return;
	}
	if (i == 0)
		i = (int)lua_objlen(L, -2) + 1;
	lua_rawseti(L, -2, i);
}

static void op_metatable(int ref)
{
	if (!is_table(-1))
		return;
	lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
	lua_setmetatable(L, -2);
}

/* Wrap the top value in n one-element tables. */
static void op_wrap(unsigned n)
{
	while (n--) {
		lua_createtable(L, 1, 0);
		lua_insert(L, -2);
		lua_rawseti(L, -2, 1);
	}
}

static void op_string(struct program *p)
{
	size_t n = next_byte(p);

	if (n > p->size - p->pos)
		n = p->size - p->pos;
	lua_pushlstring(L, (const char *)p->data + p->pos, n);
	p->pos += n;
}

/* One instruction; ops that need more values than the stack holds do
 * nothing. */
static void step(struct program *p)
{
	unsigned op = next_byte(p), top = (unsigned)lua_gettop(L);

	if (top >= MAX_VALUES && op % 24 < 16)
		op = 17;	/* a pop: keep the stack bounded */
	switch (op % 24) {
	case 0: lua_pushnil(L); break;
	case 1: lua_pushboolean(L, next_byte(p) & 1); break;
	case 2: lua_pushnumber(L, (int8_t)next_byte(p)); break;
	case 3: lua_pushnumber(L, next_double(p)); break;
	case 4: lua_pushnumber(L, special_number(next_byte(p))); break;
	case 5: lua_pushnumber(L, (double)(int64_t)next_u64(p)); break;
	case 6: op_string(p); break;
	case 7: lua_newtable(L); break;
	case 8: lua_pushlightuserdata(L, NULL); break;
	case 9: lua_pushlightuserdata(L, &L); break;
	case 10: lua_pushcfunction(L, c_function); break;
	case 11: lua_newuserdata(L, 1); break;
	case 12: if (top) lua_pushvalue(L, (int)(1 + next_byte(p) % top)); break;
	case 13: lua_pushstring(L, "metadata"); break;
	case 14: lua_pushnumber(L, next_byte(p) % 8 + 1); break;
	case 15: lua_newthread(L); break;
	case 16: if (top) op_wrap(next_byte(p) % 80); break;
	case 17: if (top) lua_pop(L, 1); break;
	case 18: if (top >= 3) op_set(); break;
	case 19: if (top >= 2) op_seti(0); break;
	case 20: if (top >= 2) op_seti((int8_t)next_byte(p)); break;
	case 21: if (top) op_metatable(ref_array_mt); break;
	case 22: if (top) op_metatable(ref_fill_ok_mt); break;
	case 23: if (top) op_metatable(ref_fill_err_mt); break;
	}
}

/* How many values the serializer would visit at most, counting a shared
 * table each time it appears, stopping once past budget. A few dozen
 * levels of {t, t} make billions; the serializer refuses those after a
 * million values (fuzz/regressions/serialize has one), which takes
 * seconds, so the fuzzer leaves values of more than ten thousand to the
 * replayer (built with FUZZ_REPLAY), which skips nothing. */
static long count_values(int idx, int depth, long budget)
{
	long n = 1;

	if (lua_type(L, idx) != LUA_TTABLE || depth > 64)
		return n;
	fuzz_assert(lua_checkstack(L, 4), "Lua stack");
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		n += count_values(lua_gettop(L), depth + 1, budget - n);
		lua_pop(L, 1);
		if (n > budget) {
			lua_pop(L, 1);	/* the key */
			break;
		}
	}
	return n;
}

/* Whether the table at idx has exactly the keys 1..n, n > 0; sets *count
 * to its number of keys. */
static int keys_one_to_n(int idx, int *count)
{
	int n = 0, seq = 1;

	lua_pushnil(L);
	while (lua_next(L, idx)) {
		double k = lua_type(L, -2) == LUA_TNUMBER ? lua_tonumber(L, -2) : 0;

		lua_pop(L, 1);
		seq = seq && k >= 1 && k <= INT_MAX && k == floor(k);
		n++;
	}
	/* distinct integral keys >= 1, as many as the largest: 1..n */
	if (seq && n) {
		lua_rawgeti(L, idx, n);
		seq = !lua_isnil(L, -1);
		lua_pop(L, 1);
		for (int i = 1; seq && i < n; i++) {
			lua_rawgeti(L, idx, i);
			seq = !lua_isnil(L, -1);
			lua_pop(L, 1);
		}
	}
	*count = n;
	return seq && n;
}

/* The root value against what came out: numbers read back exactly,
 * strings in valid UTF-8 come back unchanged, a table with keys 1..n is an
 * array of n and any other table an object with a member per key. */
static void check_root(const char *json)
{
	cJSON *doc = cJSON_Parse(json);
	size_t n;
	int count;
	const char *str;

	switch (lua_type(L, 1)) {
	case LUA_TNUMBER:
		fuzz_assert(cJSON_IsNumber(doc) && doc->valuedouble == lua_tonumber(L, 1),
			    "a number reads back as itself");
		break;
	case LUA_TSTRING:
		str = lua_tolstring(L, 1, &n);
		fuzz_assert(cJSON_IsString(doc), "a string stays a string");
		if (fuzz_utf8_valid(str, n) && !memchr(str, 0, n))
			fuzz_assert(!strcmp(doc->valuestring, str), "UTF-8 comes back unchanged");
		break;
	case LUA_TTABLE:
		if (keys_one_to_n(1, &count))
			fuzz_assert(cJSON_IsArray(doc) && cJSON_GetArraySize(doc) == count,
				    "a table with keys 1..n is an array of n");
		else if (count)
			fuzz_assert(cJSON_IsObject(doc) && cJSON_GetArraySize(doc) == count,
				    "any other table is an object, a member per key");
		else
			fuzz_assert((cJSON_IsObject(doc) || cJSON_IsArray(doc)) &&
				    !cJSON_GetArraySize(doc), "an empty table is {} or []");
		break;
	}
	cJSON_Delete(doc);
}

/* What the kitchen's cook stage does when the serializer stops at a table
 * to fill in (pushed on top): run its __dumplings_fill and pop it.
 * Returns 0, or -1 with *why set. */
static int fill_top(struct fill_list *filled, const char **why)
{
	static char error[256];

	if (fill_list_run(L, filled) == 0)
		return 0;
	snprintf(error, sizeof error, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "fill error");
	lua_pop(L, 1);
	*why = error;
	return -1;
}

static const char *value_filled(struct json_buf *buf, size_t *len, const char **why)
{
	static struct fill_list filled;
	const char *value;

	filled.n = 0;
	while (!(value = serialize_value(L, 1, buf, &filled, len, why)) && !*why)
		if (fill_top(&filled, why) < 0)
			break;
	return value;
}

static const struct cJSON *tree_filled(struct json_arena *arena, const char **why)
{
	static struct fill_list filled;
	const struct cJSON *tree;

	filled.n = 0;
	while (!(tree = serialize_tree(L, 1, arena, &filled, why)) && !*why) {
		json_arena_reset(arena);
		if (fill_top(&filled, why) < 0)
			break;
	}
	return tree;
}

static void serialize_both(void)
{
	static struct json_buf vbuf, dbuf;
	static struct json_arena arena;
	const struct cJSON *tree;
	static const struct dumpling_meta meta = {
		.chef = "\"FuzzChef\"", .kitchen = "\"fuzz\"", .driver = "packet",
		.creation_time = "1.5",
	};
	static const char key[] = "\"payload\":";
	const char *value, *dumpling, *why_v = NULL, *why_d = NULL;
	size_t vlen = 0, dlen = 0;
	int top = lua_gettop(L);

	value = value_filled(&vbuf, &vlen, &why_v);
	json_arena_reset(&arena);
	tree = tree_filled(&arena, &why_d);
	fuzz_assert(lua_gettop(L) == top, "the stack is as it was");
	dumpling = tree ? emit_envelope(tree, &meta, &dbuf, &dlen, &why_d) : NULL;
	fuzz_assert(!value == !dumpling, "value and dumpling agree on success");
	if (!value) {
		fuzz_assert(why_v && why_d && *why_v && *why_d, "a failure says why");
		return;
	}
	fuzz_assert(strlen(value) == vlen && strlen(dumpling) == dlen, "lengths are right");
	fuzz_check_json(value, vlen);
	fuzz_check_json(dumpling, dlen);
	fuzz_check_no_hidden_controls(dumpling, dlen);
	/* The payload is the envelope's last member. */
	fuzz_assert(dlen >= sizeof key + vlen && dumpling[dlen - 1] == '}' &&
		    !memcmp(dumpling + dlen - 1 - vlen, value, vlen) &&
		    !memcmp(dumpling + dlen - sizeof key - vlen, key, sizeof key - 1),
		    "the dumpling's payload is the value");
	check_root(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct program p = { data, size, 0 };

	if (!L)
		setup();
	fuzz_assert(lua_checkstack(L, MAX_VALUES + 16), "Lua stack");
	for (int i = 0; i < MAX_OPS && p.pos < p.size; i++)
		step(&p);
	if (lua_gettop(L) == 0)
		lua_pushnil(L);
	if (FUZZ_REPLAY || count_values(1, 0, 10000) <= 10000)
		serialize_both();
	lua_settop(L, 0);
	return 0;
}
