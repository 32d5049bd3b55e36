/* The --lua eater: a script with any of on_connect(), on_dumpling(d) and
 * on_connection_lost(), defined as globals or as fields of a table the
 * script returns. It runs in its own lua_State; every call goes through
 * lua_pcall with a traceback, so an error in the script is reported
 * (rate-limited) and the eater carries on. Hooks are looked up once. */
#include <stdlib.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "eat.h"
#include "base/log.h"
#include "base/util.h"

enum { HOOK_CONNECT, HOOK_DUMPLING, HOOK_LOST, HOOK_COUNT };

static const char *const hook_names[HOOK_COUNT] = {
	"on_connect", "on_dumpling", "on_connection_lost"
};

struct eat_lua {
	lua_State *L;
	int hooks[HOOK_COUNT];	/* registry references, or LUA_NOREF */
	unsigned long errors;
	struct log_limit err_log;
};

static int lua_traceback(lua_State *L)
{
	luaL_traceback(L, L, lua_tostring(L, 1), 1);
	return 1;
}

/* Call the function under nargs arguments on the stack; log failures. */
static void lua_call_hook(struct eat_lua *e, const char *what, int nargs)
{
	lua_State *L = e->L;
	int base = lua_gettop(L) - nargs;
	unsigned long suppressed;

	lua_pushcfunction(L, lua_traceback);
	lua_insert(L, base);
	if (lua_pcall(L, nargs, 0, base) != 0) {
		e->errors++;
		if (log_allow(&e->err_log, &suppressed))
			log_error("lua eater %s: %s", what, lua_tostring(L, -1));
		lua_pop(L, 1);
	}
	lua_remove(L, base);
	lua_gc(L, LUA_GCSTEP, 0);
}

static void push_value(lua_State *L, struct eat_json *j, enum eat_token t, int depth);

/* An object's members, just opened. A null member is left out: nil
 * cannot be stored, and absence says it. */
static void push_object(lua_State *L, struct eat_json *j, int depth)
{
	enum eat_token t;

	lua_newtable(L);
	while ((t = eat_json_next(j)) != EAT_TOK_CLOSE && t != EAT_TOK_END) {
		if (t != EAT_TOK_STRING) {	/* not a key: cJSON would not have it */
			eat_json_skip(j, t);
			continue;
		}
		lua_pushlstring(L, j->str, j->len);
		push_value(L, j, eat_json_next(j), depth + 1);
		if (lua_isnil(L, -1))
			lua_pop(L, 2);
		else
			lua_rawset(L, -3);
	}
}

/* An array's items, just opened; nulls are left out as in objects. */
static void push_array(lua_State *L, struct eat_json *j, int depth)
{
	enum eat_token t;
	int i = 1;

	lua_newtable(L);
	while ((t = eat_json_next(j)) != EAT_TOK_CLOSE && t != EAT_TOK_END) {
		push_value(L, j, t, depth + 1);
		if (lua_isnil(L, -1))
			lua_pop(L, 1);
		else
			lua_rawseti(L, -2, i++);
	}
}

/* The value that starts with token t. Strings are pushed with their
 * length, so one with a NUL inside reaches the script whole. */
static void push_value(lua_State *L, struct eat_json *j, enum eat_token t, int depth)
{
	if (!lua_checkstack(L, 4) || depth > 200) {
		eat_json_skip(j, t);
		lua_pushnil(L);
		return;
	}
	switch (t) {
	case EAT_TOK_STRING: lua_pushlstring(L, j->str, j->len); break;
	case EAT_TOK_NUMBER: lua_pushnumber(L, j->number); break;
	case EAT_TOK_TRUE: lua_pushboolean(L, 1); break;
	case EAT_TOK_FALSE: lua_pushboolean(L, 0); break;
	case EAT_TOK_OBJECT: push_object(L, j, depth); break;
	case EAT_TOK_ARRAY: push_array(L, j, depth); break;
	default: lua_pushnil(L); break;
	}
}

/* Run the script; its result, if a table, holds the hooks, else globals. */
static int lua_load_script(struct eat_lua *e, const char *path)
{
	lua_State *L = e->L;

	lua_pushcfunction(L, lua_traceback);
	if (luaL_loadfile(L, path) != 0 || lua_pcall(L, 0, 1, -2) != 0) {
		log_error("lua eater %s: %s", path, lua_tostring(L, -1));
		return -1;
	}
	if (!lua_istable(L, -1)) {
		lua_pop(L, 1);
		lua_pushvalue(L, LUA_GLOBALSINDEX);
	}
	for (int i = 0; i < HOOK_COUNT; i++) {
		lua_getfield(L, -1, hook_names[i]);
		if (lua_isfunction(L, -1)) {
			e->hooks[i] = luaL_ref(L, LUA_REGISTRYINDEX);
		} else {
			e->hooks[i] = LUA_NOREF;
			lua_pop(L, 1);
		}
	}
	lua_settop(L, 0);
	if (e->hooks[HOOK_DUMPLING] == LUA_NOREF)
		log_warn("lua eater %s defines no on_dumpling", path);
	return 0;
}

struct eat_lua *eat_lua_open(const char *path)
{
	struct eat_lua *e = xcalloc(1, sizeof *e);

	e->L = luaL_newstate();
	if (!e->L) {
		log_error("cannot create a Lua state");
		free(e);
		return NULL;
	}
	luaL_openlibs(e->L);
	if (lua_load_script(e, path) < 0) {
		eat_lua_close(e);
		return NULL;
	}
	return e;
}

static int lua_push_hook(struct eat_lua *e, int hook)
{
	if (e->hooks[hook] == LUA_NOREF)
		return 0;
	lua_rawgeti(e->L, LUA_REGISTRYINDEX, e->hooks[hook]);
	return 1;
}

void eat_lua_connect(struct eat_lua *e)
{
	if (lua_push_hook(e, HOOK_CONNECT))
		lua_call_hook(e, "on_connect", 0);
}

void eat_lua_dumpling(struct eat_lua *e, const char *msg, size_t len)
{
	struct eat_json j;

	if (!lua_push_hook(e, HOOK_DUMPLING))
		return;
	eat_json_init(&j, msg, len);
	push_value(e->L, &j, eat_json_next(&j), 0);
	eat_json_free(&j);
	lua_call_hook(e, "on_dumpling", 1);
}

void eat_lua_lost(struct eat_lua *e)
{
	if (lua_push_hook(e, HOOK_LOST))
		lua_call_hook(e, "on_connection_lost", 0);
}

void eat_lua_close(struct eat_lua *e)
{
	if (!e)
		return;
	if (e->L) {
		/* flush what the script printed before our own output */
		fflush(stdout);
		lua_close(e->L);
	}
	free(e);
}
