/* The chef runtime, C side: owns the LuaJIT state, hands batches of decoded
 * packets to the Lua runtime (lua/dumplings/runtime.lua, linked in as
 * bytecode), and turns what the chefs returned into dumplings for the sink.
 *
 * One lua_pcall per batch, not per packet: the Lua side loops over the
 * batch and catches handler errors itself, resuming with the next chef. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "chef.h"
#include "log.h"
#include "serialize.h"
#include "util.h"

#include "lua_cdef.h"
#include "lua_runtime.h"

/* What the C side keeps per chef name: its name as a JSON string for the
 * envelope, and its error accounting, so one noisy chef cannot hide
 * another. */
struct chef_entry {
	char *name;
	char *quoted;
	struct log_limit limit;
};

struct chef_runtime {
	lua_State *L;
	int ref_runtime;	/* the table runtime.lua returned */
	int ref_out;		/* its output array */
	struct chef_options opt;
	struct dpl_api api;
	struct dpl_dns dns_scratch;
	struct json_buf json;
	struct chef_stats stats;
	struct chef_entry *entries;
	int nentries, last_entry;
	char *kitchen_quoted;
	const char **names;
	int nnames;
};

static int push_runtime_fn(struct chef_runtime *rt, const char *name)
{
	lua_rawgeti(rt->L, LUA_REGISTRYINDEX, rt->ref_runtime);
	lua_getfield(rt->L, -1, name);
	lua_remove(rt->L, -2);
	return lua_gettop(rt->L);
}

static void push_config(struct chef_runtime *rt)
{
	lua_State *L = rt->L;

	lua_createtable(L, 0, 6);
	lua_pushlightuserdata(L, NULL);
	lua_setfield(L, -2, "null");
	lua_pushstring(L, dumplings_version);
	lua_setfield(L, -2, "version");
	lua_pushnumber(L, rt->opt.poke_interval);
	lua_setfield(L, -2, "interval");
	lua_pushboolean(L, rt->opt.packet_time_pokes);
	lua_setfield(L, -2, "packet_time_pokes");
	lua_pushstring(L, rt->opt.kitchen_name);
	lua_setfield(L, -2, "kitchen");
	lua_createtable(L, rt->opt.nsources, 0);
	for (int i = 0; i < rt->opt.nsources; i++) {
		lua_pushstring(L, rt->opt.sources[i]);
		lua_rawseti(L, -2, i + 1);
	}
	lua_setfield(L, -2, "sources");
}

static int start_lua(struct chef_runtime *rt)
{
	lua_State *L = luaL_newstate();

	if (!L) {
		log_error("cannot create a Lua state (out of memory)");
		return -1;
	}
	rt->L = L;
	luaL_openlibs(L);
	/* Chefs make much short-lived garbage and keep little: a longer pause
	 * between collections means far fewer marks of the same live data. */
	lua_gc(L, LUA_GCSETPAUSE, 400);
	if (luaL_loadbuffer(L, (const char *)luaJIT_BC_dumplings_runtime,
			    luaJIT_BC_dumplings_runtime_SIZE, "=dumplings/runtime")) {
		log_error("loading the Lua runtime: %s", lua_tostring(L, -1));
		return -1;
	}
	lua_pushstring(L, packet_cdef);
	lua_pushlightuserdata(L, &rt->api);
	push_config(rt);
	if (lua_pcall(L, 3, 1, 0)) {
		log_error("starting the Lua runtime: %s", lua_tostring(L, -1));
		return -1;
	}
	lua_getfield(L, -1, "out");
	rt->ref_out = luaL_ref(L, LUA_REGISTRYINDEX);
	rt->ref_runtime = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

struct chef_runtime *chef_runtime_new(const struct chef_options *opt)
{
	struct chef_runtime *rt = xcalloc(1, sizeof *rt);

	rt->opt = *opt;
	rt->kitchen_quoted = serialize_quoted(opt->kitchen_name);
	rt->api.dns_decode = dns_decode;
	rt->api.format_mac = format_mac;
	rt->api.format_ip4 = format_ip4;
	rt->api.format_ip6 = format_ip6;
	rt->api.dns_scratch = &rt->dns_scratch;
	if (start_lua(rt) < 0) {
		chef_runtime_free(rt);
		return NULL;
	}
	return rt;
}

void chef_runtime_set_sink(struct chef_runtime *rt, struct sink *sink)
{
	rt->opt.sink = sink;
}

void chef_runtime_free(struct chef_runtime *rt)
{
	if (!rt)
		return;
	if (rt->L)
		lua_close(rt->L);
	dns_free(&rt->dns_scratch);
	json_buf_free(&rt->json);
	for (int i = 0; i < rt->nentries; i++) {
		free(rt->entries[i].name);
		free(rt->entries[i].quoted);
	}
	free(rt->entries);
	free(rt->kitchen_quoted);
	for (int i = 0; i < rt->nnames; i++)
		free((char *)rt->names[i]);
	free(rt->names);
	free(rt);
}

/* Call runtime.load(path, list_only); leaves the result on the stack. */
static int call_load(struct chef_runtime *rt, const char *path, int list_only)
{
	push_runtime_fn(rt, "load");
	lua_pushstring(rt->L, path);
	lua_pushboolean(rt->L, list_only);
	if (lua_pcall(rt->L, 2, 1, 0)) {
		log_error("chef file %s: %s", path, lua_tostring(rt->L, -1));
		lua_pop(rt->L, 1);
		return -1;
	}
	return (int)lua_objlen(rt->L, -1);
}

static void refresh_names(struct chef_runtime *rt)
{
	lua_State *L = rt->L;
	int n;

	for (int i = 0; i < rt->nnames; i++)
		free((char *)rt->names[i]);
	push_runtime_fn(rt, "chef_names");
	lua_call(L, 0, 1);
	n = (int)lua_objlen(L, -1);
	rt->names = xrealloc(rt->names, (n ? n : 1) * sizeof *rt->names);
	for (int i = 0; i < n; i++) {
		lua_rawgeti(L, -1, i + 1);
		rt->names[i] = xstrdup(lua_tostring(L, -1));
		lua_pop(L, 1);
	}
	rt->nnames = n;
	lua_pop(L, 1);
}

int chef_runtime_load(struct chef_runtime *rt, const char *path)
{
	int n = call_load(rt, path, 0), registered = 0;

	if (n < 0)
		return -1;
	for (int i = 1; i <= n; i++) {
		lua_rawgeti(rt->L, -1, i);
		lua_getfield(rt->L, -1, "assignable");
		registered += lua_toboolean(rt->L, -1);
		lua_pop(rt->L, 2);
	}
	lua_pop(rt->L, 1);
	refresh_names(rt);
	return registered;
}

int chef_runtime_list(struct chef_runtime *rt, const char *path)
{
	int n = call_load(rt, path, 1);

	if (n < 0)
		return -1;
	for (int i = 1; i <= n; i++) {
		lua_rawgeti(rt->L, -1, i);
		lua_getfield(rt->L, -1, "name");
		lua_getfield(rt->L, -2, "assignable");
		printf("%s\t%s%s\n", lua_tostring(rt->L, -2), path,
		       lua_toboolean(rt->L, -1) ? "" : "\t(not assignable)");
		lua_pop(rt->L, 3);
	}
	lua_pop(rt->L, 1);
	return n;
}

const char *const *chef_runtime_names(struct chef_runtime *rt, int *n)
{
	*n = rt->nnames;
	return rt->names;
}

const struct chef_stats *chef_runtime_stats(const struct chef_runtime *rt)
{
	return &rt->stats;
}

/* Chefs are few, and the last one asked for is usually asked again. */
static struct chef_entry *chef_entry(struct chef_runtime *rt, const char *chef)
{
	int last = rt->last_entry;
	struct chef_entry *e;

	if (last < rt->nentries && !strcmp(rt->entries[last].name, chef))
		return &rt->entries[last];
	for (int i = 0; i < rt->nentries; i++)
		if (!strcmp(rt->entries[i].name, chef))
			return &rt->entries[rt->last_entry = i];
	rt->entries = xrealloc(rt->entries, (rt->nentries + 1) * sizeof *rt->entries);
	e = &rt->entries[rt->nentries];
	memset(e, 0, sizeof *e);
	e->name = xstrdup(chef);
	e->quoted = serialize_quoted(chef);
	rt->last_entry = rt->nentries++;
	return e;
}

static void report_chef_error(struct chef_runtime *rt, const char *chef,
			      const char *what, const char *why)
{
	unsigned long suppressed;

	if (!log_allow(&chef_entry(rt, chef)->limit, &suppressed))
		return;
	if (suppressed)
		log_error("chef %s: %s: %s (%lu similar errors not shown)", chef, what,
			  why, suppressed);
	else
		log_error("chef %s: %s: %s", chef, what, why);
}

static void emit_dumpling(struct chef_runtime *rt, const char *chef, const char *driver)
{
	struct dumpling_meta meta = { chef_entry(rt, chef)->quoted, rt->kitchen_quoted, driver, "" };
	const char *json, *why;
	size_t len;

	serialize_time_now(meta.creation_time);
	json = serialize_dumpling(rt->L, -1, &meta, &rt->json, &len, &why);
	if (!json) {
		rt->stats.serialize_errors++;
		report_chef_error(rt, chef, "dumpling skipped", why);
		return;
	}
	rt->stats.dumplings++;
	rt->opt.sink->emit(rt->opt.sink, json, len);
}

/* Serialize the triples (chef, driver, value) runtime.lua left in its
 * output array; driver "error" carries a handler's error message. */
static void drain_output(struct chef_runtime *rt, int nslots)
{
	lua_State *L = rt->L;
	int out;

	lua_rawgeti(L, LUA_REGISTRYINDEX, rt->ref_out);
	out = lua_gettop(L);
	for (int k = 1; k + 2 <= nslots; k += 3) {
		const char *chef, *driver;

		lua_rawgeti(L, out, k);
		lua_rawgeti(L, out, k + 1);
		lua_rawgeti(L, out, k + 2);
		chef = lua_tostring(L, -3);
		driver = lua_tostring(L, -2);
		if (!strcmp(driver, "error")) {
			rt->stats.handler_errors++;
			report_chef_error(rt, chef, "error", lua_tostring(L, -1));
		} else {
			emit_dumpling(rt, chef, driver);
		}
		lua_pop(L, 3);
	}
	lua_pop(L, 1);
	rt->opt.sink->flush(rt->opt.sink);
}

/* Call a runtime function already on the stack with nargs arguments; it
 * returns the number of output slots to drain. */
static void call_and_drain(struct chef_runtime *rt, const char *what, int nargs)
{
	int nslots;

	if (lua_pcall(rt->L, nargs, 1, 0)) {
		log_error("chef runtime (%s): %s", what, lua_tostring(rt->L, -1));
		lua_pop(rt->L, 1);
		return;
	}
	nslots = (int)lua_tointeger(rt->L, -1);
	lua_pop(rt->L, 1);
	drain_output(rt, nslots);
}

void chef_runtime_batch(struct chef_runtime *rt, struct dpl_packet *pkts, int n)
{
	if (n <= 0)
		return;
	push_runtime_fn(rt, "run_batch");
	lua_pushlightuserdata(rt->L, pkts);
	lua_pushinteger(rt->L, n);
	call_and_drain(rt, "packets", 2);
}

void chef_runtime_poke(struct chef_runtime *rt)
{
	push_runtime_fn(rt, "poke");
	call_and_drain(rt, "interval", 0);
}
