/* The --lua eater: a script with any of on_connect(), on_dumpling(d) and
 * on_connection_lost(), defined as globals or as fields of a table the
 * script returns. It runs in its own lua_State; every call goes through
 * lua_pcall with a traceback, so an error in the script is reported
 * (rate-limited) and the eater carries on. Hooks are looked up once. */
#include <stdlib.h>

#include <cjson/cJSON.h>
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

static void lua_push_json(lua_State *L, const cJSON *v, int depth);

static void lua_push_container(lua_State *L, const cJSON *v, int depth)
{
	const cJSON *c;
	int i = 1;

	lua_createtable(L, cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0,
			cJSON_IsObject(v) ? cJSON_GetArraySize(v) : 0);
	for (c = v->child; c; c = c->next) {
		if (cJSON_IsNull(c))
			continue;	/* nil cannot be stored; absence says it */
		lua_push_json(L, c, depth + 1);
		if (cJSON_IsArray(v))
			lua_rawseti(L, -2, i++);
		else
			lua_setfield(L, -2, c->string);
	}
}

static void lua_push_json(lua_State *L, const cJSON *v, int depth)
{
	if (!lua_checkstack(L, 4) || depth > 200) {
		lua_pushnil(L);
		return;
	}
	if (cJSON_IsString(v))
		lua_pushstring(L, v->valuestring);
	else if (cJSON_IsNumber(v))
		lua_pushnumber(L, v->valuedouble);
	else if (cJSON_IsBool(v))
		lua_pushboolean(L, cJSON_IsTrue(v));
	else if (cJSON_IsObject(v) || cJSON_IsArray(v))
		lua_push_container(L, v, depth);
	else
		lua_pushnil(L);
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

void eat_lua_dumpling(struct eat_lua *e, const cJSON *d)
{
	if (!lua_push_hook(e, HOOK_DUMPLING))
		return;
	lua_push_json(e->L, d, 0);
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
