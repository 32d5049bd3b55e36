/* The chef runtime, C side, the kitchen's cook stage: owns the LuaJIT
 * state, hands batches of decoded packets to the Lua runtime
 * (lua/dumplings/runtime.lua, linked in as source), and turns what the
 * chefs returned into dumplings on the plate it is given, as trees that
 * owe nothing to Lua or to the packets.
 *
 * Every call into Lua goes through enter_lua(): protected, with the
 * runtime's error handler, and under the watchdog (guard.c). One call per
 * batch, not per packet: the Lua side loops over the batch and catches
 * handler errors itself, resuming with the next chef. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "chef.h"
#include "chef_filter.h"
#include "flowcap.h"
#include "decode/flow.h"
#include "guard.h"
#include "base/log.h"
#include "luapool.h"
#include "plate.h"
#include "serialize.h"
#include "base/util.h"

#include <cjson/cJSON.h>

#include "lua_cdef.h"
#include "lua_runtime.h"

/* What the C side keeps per chef name: its error accounting, so one noisy
 * chef cannot hide another. */
struct chef_entry {
	char *name;
	const char *guard_name;	/* the name as the guard knows it */
	struct log_limit limit;
	struct log_limit print_limit;	/* print() */
	unsigned long errors, dumplings;	/* for the kitchen's health */
};

/* Chef files are source text; anything larger is not one. */
#define CHEF_FILE_MAX (8 << 20)

/* A loaded chef file and the revision (content hash) running now. */
struct chef_file {
	char *path;
	char rev[9];
};

struct chef_runtime {
	lua_State *L;
	struct lua_pool *pool;	/* L's memory */
	int ref_runtime;	/* the table runtime.lua returned */
	int ref_out;		/* its output array */
	struct chef_options opt;
	struct dpl_api api;
	struct dpl_dns dns_scratch;
	struct dpl_tcpopts tcp_scratch;
	struct dpl_ndopts nd_scratch;
	struct chef_stats stats;
	struct chef_entry *entries;
	int nentries, last_entry;
	const char **names;
	int nnames;
	unsigned names_changed;	/* counts changes of names */
	struct chef_file *files;	/* every chef file loaded, in order */
	int nfiles;
	struct guard *guard;
	struct chef_filters *filters;	/* the chefs' own (chef.filter) */
	int ref_on_error;	/* runtime.on_error, every call's handler */
	const char **chef_ids;	/* guard names by chef id (runtime.lua's rec.id) */
	int nchef_ids;
	const char *call_name;	/* who enter_lua() said runs */
	char error[1024];	/* the last error's words */
	struct fill_list filled;	/* tables filled in for the dumpling at hand */
	char fill_error[256];	/* why a fill failed */
	int stopped;		/* a call was interrupted: the kitchen stops */
	int stream_chefs;	/* running chefs with a stream handler */
	const struct dpl_packet *pkts;	/* the packets being cooked, */
	int npkts;			/* for dumplings.capture() */
};

/* ----------------------------------------------------------- into Lua */

/* The error value on top of the stack as words (the guard's interrupts
 * are light userdata), copied out and popped. Nothing here allocates in
 * Lua: a collection step outside a protected call could run a chef's
 * finalizer, and its error would end the process. */
static const char *error_text(struct chef_runtime *rt)
{
	lua_State *L = rt->L;
	const void *v = lua_touserdata(L, -1);

	if (v == guard_timeout) {
		snprintf(rt->error, sizeof rt->error, "it ran past the time limit (an endless loop?)");
	} else if (v == guard_stop) {
		snprintf(rt->error, sizeof rt->error, "interrupted: the kitchen is stopping");
		rt->stopped = 1;
	} else if (lua_type(L, -1) == LUA_TSTRING) {
		size_t n;
		const char *s = lua_tolstring(L, -1, &n);

		snprintf(rt->error, sizeof rt->error, "%.*s", (int)n, s);
	} else if (lua_type(L, -1) == LUA_TNUMBER) {
		snprintf(rt->error, sizeof rt->error, "%.14g", lua_tonumber(L, -1));
	} else {
		snprintf(rt->error, sizeof rt->error, "error object is a %s value",
			 luaL_typename(L, -1));
	}
	lua_pop(L, 1);
	return rt->error;
}

/* A full collection, protected: it runs finalizers, which are chef code. */
static int collect_protected(lua_State *L)
{
	lua_gc(L, LUA_GCCOLLECT, 0);
	return 0;
}

static void collect_garbage(struct chef_runtime *rt)
{
	if (lua_cpcall(rt->L, collect_protected, NULL))
		log_error("chef runtime: collecting garbage: %s", error_text(rt));
}

/* The one way into Lua: call the function below its nargs arguments on
 * the stack, protected, with runtime.on_error as handler (it adds the
 * chef's file:line), under the guard with who (or, NULL, the chef the
 * runtime names) running. Returns 0 with nres results on the stack, or -1
 * with nothing there and the error's words in rt->error. */
static int enter_lua(struct chef_runtime *rt, const char *who, int nargs, int nres)
{
	lua_State *L = rt->L;
	int base = lua_gettop(L) - nargs;
	int rc;

	lua_rawgeti(L, LUA_REGISTRYINDEX, rt->ref_on_error);
	lua_insert(L, base);
	rt->call_name = who ? guard_intern(rt->guard, who) : NULL;
	guard_enter(rt->guard, rt->call_name);
	rc = lua_pcall(L, nargs, nres, base);
	guard_leave(rt->guard);
	lua_remove(L, base);
	if (rc == 0)
		return 0;
	error_text(rt);
	return -1;
}

/* The hooks of struct dpl_api, called from Lua. */
static int32_t chef_id(void *owner, const char *name)
{
	struct chef_runtime *rt = owner;
	const char *interned = guard_intern(rt->guard, name);

	for (int i = 0; i < rt->nchef_ids; i++)
		if (rt->chef_ids[i] == interned && interned)
			return i;
	rt->chef_ids = xrealloc(rt->chef_ids, (rt->nchef_ids + 1) * sizeof *rt->chef_ids);
	rt->chef_ids[rt->nchef_ids] = interned;
	return rt->nchef_ids++;
}

static void chef_running(void *owner, int32_t id)
{
	struct chef_runtime *rt = owner;

	guard_running(rt->guard, id >= 0 && id < rt->nchef_ids ? rt->chef_ids[id] : rt->call_name);
}

static void set_stream_chefs(void *owner, int32_t n)
{
	((struct chef_runtime *)owner)->stream_chefs = n;
}

int chef_runtime_stream_chefs(const struct chef_runtime *rt)
{
	return rt->stream_chefs;
}

static void chef_guard_restart(void *owner)
{
	guard_restart(((struct chef_runtime *)owner)->guard);
}

static struct chef_entry *chef_entry(struct chef_runtime *rt, const char *chef);

static void chef_print(void *owner, const char *text, size_t len)
{
	struct chef_runtime *rt = owner;
	const char *running = guard_current(rt->guard);
	unsigned long suppressed;

	if (!running)
		running = rt->call_name ? rt->call_name : "(a chef)";
	if (!log_allow(&chef_entry(rt, running)->print_limit, &suppressed))
		return;
	if (suppressed)
		log_info("chef %s: print: %.*s (%lu similar lines not shown)", running, (int)len,
			 text, suppressed);
	else
		log_info("chef %s: print: %.*s", running, (int)len, text);
}

static int push_runtime_fn(struct chef_runtime *rt, const char *name)
{
	lua_rawgeti(rt->L, LUA_REGISTRYINDEX, rt->ref_runtime);
	lua_getfield(rt->L, -1, name);
	lua_remove(rt->L, -2);
	return lua_gettop(rt->L);
}

/* ------------------------------------------------------ chef filters */

/* filter_check(text): nil when the filter compiles for every source, else
 * libpcap's words. Called by runtime.lua as each chef loads. */
static int lua_filter_check(lua_State *L)
{
	struct chef_runtime *rt = lua_touserdata(L, lua_upvalueindex(1));
	const char *expr = luaL_checkstring(L, 1);
	char why[512];

	if (chef_filters_check(rt->filters, expr, why, sizeof why) == 0)
		return 0;
	lua_pushstring(L, why);
	return 1;
}

/* filters_set({text, ...}): the filters the running chefs use, row k of
 * each batch's matches being filter k + 1. Each was checked as its chef
 * loaded; should one fail now, no filtered chef sees anything. */
static int lua_filters_set(lua_State *L)
{
	struct chef_runtime *rt = lua_touserdata(L, lua_upvalueindex(1));
	int n = (int)lua_objlen(L, 1);
	const char **exprs = xcalloc(n > 0 ? (size_t)n : 1, sizeof *exprs);
	char why[512];
	int rc;

	for (int i = 0; i < n; i++) {
		lua_rawgeti(L, 1, i + 1);
		exprs[i] = lua_tostring(L, -1);	/* kept alive by the table */
		lua_pop(L, 1);
	}
	rc = chef_filters_set(rt->filters, exprs, n, why, sizeof why);
	free(exprs);
	if (rc < 0)
		log_error("chef filters: %s: the chefs with that filter see no packets", why);
	lua_pushboolean(L, rc == 0);
	return 1;
}

/* ------------------------------------------------------------ captures */

/* A host to capture, as text: 4 or 6, or 0 when it is no address. */
static int parse_host(const char *text, uint8_t addr[16])
{
	if (inet_pton(AF_INET, text, addr) == 1)
		return 4;
	if (inet_pton(AF_INET6, text, addr) == 1)
		return 6;
	return 0;
}

/* capture(kind, key, at, before, after, name): the file's name, or nil
 * and why. kind is "flow" (key its id), "host" (key an address) or
 * "packet"; at is the index of the packet at hand, or -1. runtime.lua
 * checks the arguments' types and raises the error in the chef. */
static int lua_capture(lua_State *L)
{
	struct chef_runtime *rt = lua_touserdata(L, lua_upvalueindex(1));
	const char *kind = luaL_checkstring(L, 1);
	int at = (int)luaL_checkinteger(L, 3);
	struct flowcap_request req = {
		.at = at >= 0 && at < rt->npkts ? &rt->pkts[at] : NULL,
		.before = luaL_checknumber(L, 4), .after = luaL_checknumber(L, 5),
		.name = luaL_optstring(L, 6, NULL),
	};
	char name[256], why[512];

	if (!rt->opt.captures) {
		lua_pushnil(L);
		lua_pushstring(L, "it needs --capture-dir DIR");
		return 2;
	}
	if (!strcmp(kind, "flow")) {
		req.kind = FLOWCAP_FLOW;
		req.flow_id = luaL_checknumber(L, 2);
	} else if (!strcmp(kind, "host")) {
		req.kind = FLOWCAP_HOST;
		req.family = (uint8_t)parse_host(luaL_checkstring(L, 2), req.addr);
		if (!req.family) {
			lua_pushnil(L);
			lua_pushfstring(L, "not an IP address: %s", lua_tostring(L, 2));
			return 2;
		}
	} else {
		req.kind = FLOWCAP_PACKET;
	}
	if (flowcap_start(rt->opt.captures, &req, name, sizeof name, why, sizeof why) < 0) {
		lua_pushnil(L);
		lua_pushstring(L, why);
		return 2;
	}
	lua_pushstring(L, name);
	return 1;
}

static void push_hook(struct chef_runtime *rt, lua_CFunction fn, const char *name)
{
	lua_pushlightuserdata(rt->L, rt);
	lua_pushcclosure(rt->L, fn, 1);
	lua_setfield(rt->L, -2, name);
}

static void push_config(struct chef_runtime *rt)
{
	lua_State *L = rt->L;

	lua_createtable(L, 0, 8);
	push_hook(rt, lua_filter_check, "filter_check");
	push_hook(rt, lua_filters_set, "filters_set");
	push_hook(rt, lua_capture, "capture");
	lua_pushlightuserdata(L, NULL);
	lua_setfield(L, -2, "null");
	lua_pushstring(L, dumplings_version);
	lua_setfield(L, -2, "version");
	lua_pushlightuserdata(L, (void *)guard_timeout);
	lua_setfield(L, -2, "timeout");
	lua_pushlightuserdata(L, (void *)guard_stop);
	lua_setfield(L, -2, "stop");
	lua_pushnumber(L, rt->opt.poke_interval);
	lua_setfield(L, -2, "interval");
	lua_pushstring(L, rt->opt.kitchen_name);
	lua_setfield(L, -2, "kitchen");
	lua_createtable(L, rt->opt.nsources, 0);
	for (int i = 0; i < rt->opt.nsources; i++) {
		lua_pushstring(L, rt->opt.sources[i]);
		lua_rawseti(L, -2, i + 1);
	}
	lua_setfield(L, -2, "sources");
}

/* An error outside any pcall; Lua exits after this returns. */
static int lua_panic(lua_State *L)
{
	log_error("chef runtime: unprotected Lua error: %s", lua_tostring(L, -1));
	return 0;
}

static int start_lua(struct chef_runtime *rt)
{
	lua_State *L = rt->L;

	if (!L) {
		log_error("cannot create a Lua state (out of memory)");
		return -1;
	}
	lua_atpanic(L, lua_panic);
	luaL_openlibs(L);
	/* Chefs make much short-lived garbage and keep little: a longer pause
	 * between collections means far fewer marks of the same live data. */
	lua_gc(L, LUA_GCSETPAUSE, 400);
	if (luaL_loadbuffer(L, dumplings_runtime, sizeof dumplings_runtime - 1,
			    "=dumplings/runtime")) {
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
	lua_getfield(L, -1, "on_error");
	rt->ref_on_error = luaL_ref(L, LUA_REGISTRYINDEX);
	rt->ref_runtime = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

void chef_runtime_luajit_version(char *buf, size_t len)
{
	lua_State *L = luaL_newstate();

	snprintf(buf, len, "LuaJIT (unknown version)");
	if (!L)
		return;
	luaL_openlibs(L);
	lua_getglobal(L, "jit");
	if (lua_istable(L, -1)) {
		lua_getfield(L, -1, "version");
		if (lua_isstring(L, -1))
			snprintf(buf, len, "%s", lua_tostring(L, -1));
	}
	lua_close(L);
}

struct chef_runtime *chef_runtime_new(const struct chef_options *opt)
{
	struct chef_runtime *rt = xcalloc(1, sizeof *rt);

	rt->opt = *opt;
	rt->api.dns_decode = dns_decode;
	rt->api.format_mac = format_mac;
	rt->api.format_ip4 = format_ip4;
	rt->api.format_ip6 = format_ip6;
	rt->api.dns_scratch = &rt->dns_scratch;
	rt->api.tcp_options = tcp_options;
	rt->api.tcp_scratch = &rt->tcp_scratch;
	rt->api.nd_options = nd_options;
	rt->api.nd_scratch = &rt->nd_scratch;
	rt->api.layer_names = layer_name_table();
	rt->api.layer_count = DPL_LAYER_COUNT;
	rt->api.owner = rt;
	rt->api.chef_id = chef_id;
	rt->api.chef_running = chef_running;
	rt->api.guard_restart = chef_guard_restart;
	rt->api.chef_print = chef_print;
	rt->api.stream_chefs = set_stream_chefs;
	rt->api.community_id = flow_community_id;
	apps_attach(&rt->api);
	rt->filters = chef_filters_new(opt->linktypes, opt->linktypes ? opt->nsources : 0);
	rt->pool = lua_pool_new();
	rt->L = lua_newstate(lua_pool_alloc, rt->pool);
	if (rt->L)
		rt->guard = guard_new(rt->L, opt->time_limit, opt->stopping, opt->on_stuck,
				      opt->ctx);
	if (start_lua(rt) < 0) {
		chef_runtime_free(rt);
		return NULL;
	}
	return rt;
}

void chef_runtime_free(struct chef_runtime *rt)
{
	if (!rt)
		return;
	guard_free(rt->guard);
	if (rt->L)
		lua_close(rt->L);
	lua_pool_free(rt->pool);
	chef_filters_free(rt->filters);
	dns_free(&rt->dns_scratch);
	apps_detach(&rt->api);
	for (int i = 0; i < rt->nentries; i++)
		free(rt->entries[i].name);
	free(rt->entries);
	for (int i = 0; i < rt->nnames; i++)
		free((char *)rt->names[i]);
	free(rt->names);
	for (int i = 0; i < rt->nfiles; i++)
		free(rt->files[i].path);
	free(rt->files);
	free(rt->chef_ids);
	fill_list_free(&rt->filled);
	free(rt);
}

/* Whether fd is a chef file to read: a regular file (not a FIFO that
 * would block, nor a device that never ends) of a sane size. */
static int check_chef_file(int fd, const char *path)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		log_error("chef file %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		log_error("chef file %s: not a regular file", path);
		return -1;
	}
	if (st.st_size > CHEF_FILE_MAX) {
		log_error("chef file %s: %lld bytes, over the limit of %d MiB", path,
			  (long long)st.st_size, CHEF_FILE_MAX >> 20);
		return -1;
	}
	return 0;
}

/* The whole of a chef file, or NULL after logging. Opened without
 * blocking, so a FIFO renamed over a chef cannot hang the kitchen. */
static char *read_chef_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	char *buf = NULL;
	size_t cap = 0, n = 0;
	ssize_t got = 0;

	if (fd < 0) {
		log_error("chef file %s: %s", path, strerror(errno));
		return NULL;
	}
	if (check_chef_file(fd, path) < 0) {
		close(fd);
		return NULL;
	}
	/* Read to the end even if the file grew since fstat, but no further
	 * than the limit. */
	do {
		if (cap - n < 4096)
			buf = xrealloc(buf, cap = cap ? cap * 2 : 16384);
		got = read(fd, buf + n, cap - n);
		if (got > 0)
			n += (size_t)got;
	} while ((got > 0 || (got < 0 && errno == EINTR)) && n <= CHEF_FILE_MAX);
	if (got < 0 || n > CHEF_FILE_MAX) {
		if (got < 0)
			log_error("chef file %s: %s", path, strerror(errno));
		else
			log_error("chef file %s: over the limit of %d MiB", path, CHEF_FILE_MAX >> 20);
		free(buf);
		buf = NULL;
	}
	close(fd);
	*len = n;
	return buf;
}

/* A short hash of a chef file's content (32-bit FNV-1a, in hex): the chef
 * revision that every dumpling carries as metadata.chef_rev. */
static void content_rev(const char *s, size_t n, char rev[9])
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	snprintf(rev, 9, "%08x", h);
}

static struct chef_file *find_file(struct chef_runtime *rt, const char *path)
{
	for (int i = 0; i < rt->nfiles; i++)
		if (!strcmp(rt->files[i].path, path))
			return &rt->files[i];
	return NULL;
}

/* What the guard names while a chef file's top level runs. */
static const char *file_call_name(const char *path, char *buf, size_t size)
{
	snprintf(buf, size, "file %s", path);
	return buf;
}

/* Call runtime.fn(path, source, rev, list_only, args) with the file's
 * source and its arguments (NULL: none, or on reload those it was loaded
 * with), leaving its two results on the stack. When unchanged_rev is given and the
 * file's revision equals it, nothing is called and 1 is returned. Returns
 * 0, or -1 with the error message on the stack (*err points at it) or,
 * when the file could not be read, nothing on the stack and *err NULL. */
static int call_with_source(struct chef_runtime *rt, const char *fn, const char *path,
			    const char *args, int list_only, const char *unchanged_rev,
			    char rev[9], const char **err)
{
	size_t len;
	char *source = read_chef_file(path, &len), who[512];

	*err = NULL;
	if (!source)
		return -1;
	content_rev(source, len, rev);
	if (unchanged_rev && !strcmp(unchanged_rev, rev)) {
		free(source);
		return 1;
	}
	/* These allocate: the collector waits (its steps run finalizers,
	 * chef code) until the call is protected. */
	lua_gc(rt->L, LUA_GCSTOP, 0);
	push_runtime_fn(rt, fn);
	lua_pushstring(rt->L, path);
	lua_pushlstring(rt->L, source, len);
	lua_pushstring(rt->L, rev);
	lua_pushboolean(rt->L, list_only);
	if (args)
		lua_pushstring(rt->L, args);
	else
		lua_pushnil(rt->L);
	lua_gc(rt->L, LUA_GCRESTART, 0);
	free(source);
	if (enter_lua(rt, file_call_name(path, who, sizeof who), 5, 2) < 0) {
		*err = rt->error;
		return -1;
	}
	return 0;
}

/* runtime.load(); leaves its result (the chefs found) on the stack and
 * returns how many, or -1 after logging. */
static int call_load(struct chef_runtime *rt, const char *path, const char *args,
		     int list_only, char rev[9])
{
	const char *err;

	if (call_with_source(rt, "load", path, args, list_only, NULL, rev, &err) < 0) {
		if (err)
			log_error("chef file %s: %s", path, err);
		return -1;
	}
	lua_pop(rt->L, 1);	/* load has one result; the second is nil */
	return (int)lua_objlen(rt->L, -1);
}

static void remember_file(struct chef_runtime *rt, const char *path, const char rev[9])
{
	struct chef_file *f = find_file(rt, path);

	if (!f) {
		rt->files = xrealloc(rt->files, (rt->nfiles + 1) * sizeof *rt->files);
		f = &rt->files[rt->nfiles++];
		f->path = xstrdup(path);
	}
	memcpy(f->rev, rev, 9);
}

/* Whether the array of n names on top of the stack is rt->names. */
static int same_names(const struct chef_runtime *rt, lua_State *L, int n)
{
	int same = n == rt->nnames;

	for (int i = 0; same && i < n; i++) {
		lua_rawgeti(L, -1, i + 1);
		same = !strcmp(lua_tostring(L, -1), rt->names[i]);
		lua_pop(L, 1);
	}
	return same;
}

static void refresh_names(struct chef_runtime *rt)
{
	lua_State *L = rt->L;
	int n;

	push_runtime_fn(rt, "chef_names");
	if (enter_lua(rt, "the chef runtime", 0, 1) < 0) {
		log_error("chef runtime: listing the chefs: %s", rt->error);
		return;
	}
	n = (int)lua_objlen(L, -1);
	if (!same_names(rt, L, n))
		rt->names_changed++;
	for (int i = 0; i < rt->nnames; i++)
		free((char *)rt->names[i]);
	rt->names = xrealloc(rt->names, (n ? n : 1) * sizeof *rt->names);
	for (int i = 0; i < n; i++) {
		lua_rawgeti(L, -1, i + 1);
		rt->names[i] = xstrdup(lua_tostring(L, -1));
		lua_pop(L, 1);
	}
	rt->nnames = n;
	lua_pop(L, 1);
}

int chef_runtime_load(struct chef_runtime *rt, const char *path, const char *args)
{
	char rev[9];
	int n = call_load(rt, path, args, 0, rev), registered = 0;

	if (n < 0)
		return -1;
	for (int i = 1; i <= n; i++) {
		lua_rawgeti(rt->L, -1, i);
		lua_getfield(rt->L, -1, "assignable");
		registered += lua_toboolean(rt->L, -1);
		lua_pop(rt->L, 2);
	}
	lua_pop(rt->L, 1);
	remember_file(rt, path, rev);
	refresh_names(rt);
	return registered;
}

/* The name a chef file's stem gives it (-c stem), for --chef-list. */
static void print_stem(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	if (n > 4 && !strcmp(base + n - 4, ".lua"))
		n -= 4;
	printf("%.*s", (int)n, base);
}

int chef_runtime_list(struct chef_runtime *rt, const char *path)
{
	char rev[9];
	int n = call_load(rt, path, NULL, 1, rev);

	if (n < 0)
		return -1;
	for (int i = 1; i <= n; i++) {
		lua_rawgeti(rt->L, -1, i);
		lua_getfield(rt->L, -1, "name");
		lua_getfield(rt->L, -2, "assignable");
		printf("%s\t", lua_tostring(rt->L, -2));
		print_stem(path);
		printf("\t%s%s\n", path, lua_toboolean(rt->L, -1) ? "" : "\t(not assignable)");
		lua_pop(rt->L, 3);
	}
	lua_pop(rt->L, 1);
	return n;
}

int chef_runtime_defines(struct chef_runtime *rt, const char *path, const char *name)
{
	char rev[9];
	int n = call_load(rt, path, NULL, 1, rev), found = 0;

	if (n < 0)
		return -1;
	for (int i = 1; i <= n && !found; i++) {
		lua_rawgeti(rt->L, -1, i);
		lua_getfield(rt->L, -1, "name");
		found = !strcmp(lua_tostring(rt->L, -1), name);
		lua_pop(rt->L, 2);
	}
	lua_pop(rt->L, 1);
	return found;
}

const char *const *chef_runtime_names(struct chef_runtime *rt, int *n)
{
	*n = rt->nnames;
	return rt->names;
}

unsigned chef_runtime_names_changed(const struct chef_runtime *rt)
{
	return rt->names_changed;
}

const struct chef_stats *chef_runtime_stats(struct chef_runtime *rt)
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
	e->guard_name = guard_intern(rt->guard, chef);
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

/* The table the serializer stopped at, on top of the stack: run its
 * __dumplings_fill, which completes it (a DNS layer decodes the rest of
 * itself from its packet's bytes, still ours to read: batch.h), and pop
 * it. Returns 0, or -1 with *why set. The guard's interrupt goes on to
 * the caller, who runs this protected. */
static int fill_table(struct chef_runtime *rt, const char **why)
{
	lua_State *L = rt->L;

	if (fill_list_run(L, &rt->filled) == 0)
		return 0;
	if (lua_type(L, -1) == LUA_TLIGHTUSERDATA)
		lua_error(L);
	snprintf(rt->fill_error, sizeof rt->fill_error, "%s", lua_isstring(L, -1)
		 ? lua_tostring(L, -1) : "its __dumplings_fill raised a non-string error");
	lua_pop(L, 1);
	*why = rt->fill_error;
	return -1;
}

/* The tree of the value on top of the stack, in the arena: each table
 * that must be filled in first is, and the walk starts again (what a
 * failed walk left in the arena is given back). */
static const struct cJSON *build_tree(struct chef_runtime *rt, struct json_arena *a,
				      const char **why)
{
	int value = lua_gettop(rt->L);
	struct json_mark mark = json_arena_mark(a);
	const struct cJSON *tree;

	rt->filled.n = 0;
	while (!(tree = serialize_tree(rt->L, value, a, &rt->filled, why)) && !*why) {
		json_arena_rollback(a, mark);
		if (fill_table(rt, why) < 0)
			break;
	}
	if (!tree)
		json_arena_rollback(a, mark);
	return tree;
}

/* The value on top of the stack as a dumpling on the plate. */
static void plate_dumpling(struct chef_runtime *rt, struct plate *plate,
			   struct chef_entry *e, const char *rev, const char *driver)
{
	const struct cJSON *payload;
	const char *why;

	payload = build_tree(rt, &plate->arena, &why);
	if (!payload) {
		rt->stats.serialize_errors++;
		report_chef_error(rt, e->name, "dumpling skipped", why);
		return;
	}
	plate_add(plate, payload, e->name, driver, rev);
	e->dumplings++;
	rt->stats.dumplings++;
}

/* Draining what runtime.lua left in its output array, four slots a
 * dumpling: chef, revision, driver, value. Driver "error" carries a
 * handler's error message instead. */
struct drain {
	struct chef_runtime *rt;
	struct plate *plate;
	int nslots, k;		/* slots in all, and the next to read */
};

/* Filling tables in for the serializer runs Lua code (a table's
 * __dumplings_fill): it runs protected, and an error skips the dumpling at
 * d->k. */
static int drain_protected(lua_State *L)
{
	struct drain *d = lua_touserdata(L, 1);
	struct chef_runtime *rt = d->rt;
	int out;

	lua_rawgeti(L, LUA_REGISTRYINDEX, rt->ref_out);
	out = lua_gettop(L);
	for (; d->k + 3 <= d->nslots; d->k += 4) {
		struct chef_entry *e;
		const char *rev, *driver;

		for (int i = 0; i < 4; i++)
			lua_rawgeti(L, out, d->k + i);
		e = chef_entry(rt, lua_tostring(L, -4));
		rev = lua_tostring(L, -3);
		driver = lua_tostring(L, -2);
		guard_running(rt->guard, e->guard_name);
		if (!strcmp(driver, "error")) {
			rt->stats.handler_errors++;
			e->errors++;
			report_chef_error(rt, e->name, "error", lua_tostring(L, -1));
		} else if (d->plate) {
			plate_dumpling(rt, d->plate, e, rev, driver);
		}
		lua_settop(L, out);
	}
	return 0;
}

/* The chef of output slot k, after drain_protected failed on it. */
static void skip_failed_dumpling(struct chef_runtime *rt, int k)
{
	lua_State *L = rt->L;
	const char *why = error_text(rt);
	char *chef;

	lua_rawgeti(L, LUA_REGISTRYINDEX, rt->ref_out);
	lua_rawgeti(L, -1, k);
	chef = xstrdup(lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(unknown)");
	lua_pop(L, 2);
	rt->stats.serialize_errors++;
	report_chef_error(rt, chef, "dumpling skipped", why);
	free(chef);
}

static void drain_output(struct chef_runtime *rt, int nslots, struct plate *plate)
{
	struct drain d = { rt, plate, nslots, 1 };

	if (nslots < 4)
		return;
	guard_enter(rt->guard, NULL);
	while (lua_cpcall(rt->L, drain_protected, &d)) {
		skip_failed_dumpling(rt, d.k);
		d.k += 4;
		guard_restart(rt->guard);
	}
	guard_leave(rt->guard);
}

/* Call a runtime function already on the stack with nargs arguments; it
 * returns the number of output slots to drain, and true when it stopped
 * early because the kitchen is stopping. */
static void call_and_drain(struct chef_runtime *rt, const char *what, int nargs,
			   struct plate *plate)
{
	int nslots;

	if (enter_lua(rt, NULL, nargs, 2) < 0) {
		log_error("chef runtime (%s): %s", what, rt->error);
		return;
	}
	nslots = (int)lua_tointeger(rt->L, -2);
	if (lua_toboolean(rt->L, -1))
		rt->stopped = 1;
	lua_pop(rt->L, 2);
	drain_output(rt, nslots, plate);
}

/* Lua's heap, checked between batches: over the limit even after a full
 * collection, the chef holding the most is disabled. The allocator does
 * not enforce the limit: a failed allocation inside a handler would be an
 * error in whichever chef allocated next, not in the one hoarding. A chef
 * that allocates without end inside one handler call also runs without
 * end, and the time guard deals with it. */
static void check_memory(struct chef_runtime *rt, struct plate *plate)
{
	lua_State *L = rt->L;
	size_t limit_kib = rt->opt.memory_limit / 1024;
	const char *name;
	double held;
	int nslots;

	if (!limit_kib || (size_t)lua_gc(L, LUA_GCCOUNT, 0) <= limit_kib)
		return;
	collect_garbage(rt);
	if ((size_t)lua_gc(L, LUA_GCCOUNT, 0) <= limit_kib)
		return;
	push_runtime_fn(rt, "disable_heaviest");
	if (enter_lua(rt, "the chef memory limit", 0, 3) < 0) {
		log_error("chef memory limit: %s", rt->error);
		return;
	}
	name = lua_tostring(L, -3);
	held = lua_tonumber(L, -2);
	nslots = (int)lua_tointeger(L, -1);
	if (name)
		log_error("chef %s disabled: Lua memory over the limit of %zu MiB, and it held "
			  "about %.0f MiB", name, limit_kib / 1024, held / 1048576);
	lua_pop(L, 3);
	collect_garbage(rt);
	drain_output(rt, nslots, plate);
}

/* The chefs' filters run here, on the cook stage, just before the chefs:
 * they change with the chefs, between batches, on this thread. */
static void run_packets(struct chef_runtime *rt, struct dpl_packet *pkts, int n,
			const struct dpl_flow_event *ev, int nev, int base, const uint8_t *stream,
			struct plate *plate)
{
	const uint8_t *match;

	if ((n <= 0 && nev <= 0) || rt->stopped)
		return;
	match = chef_filters_run(rt->filters, pkts, n);
	rt->pkts = pkts;
	rt->npkts = n;
	push_runtime_fn(rt, "run_batch");
	lua_pushlightuserdata(rt->L, pkts);
	lua_pushinteger(rt->L, n);
	lua_pushlightuserdata(rt->L, (void *)match);
	lua_pushlightuserdata(rt->L, (void *)ev);
	lua_pushinteger(rt->L, nev);
	lua_pushinteger(rt->L, base);
	lua_pushlightuserdata(rt->L, (void *)stream);
	call_and_drain(rt, "packets", 7, plate);
	rt->pkts = NULL;
	rt->npkts = 0;
}

void chef_runtime_batch(struct chef_runtime *rt, struct dpl_packet *pkts, int n,
			const struct dpl_flow_event *ev, int nev, int base,
			const uint8_t *stream, struct plate *plate)
{
	run_packets(rt, pkts, n, ev, nev, base, stream, plate);
	check_memory(rt, plate);
}

void chef_runtime_poke(struct chef_runtime *rt, struct plate *plate)
{
	push_runtime_fn(rt, "poke");
	call_and_drain(rt, "interval", 0, plate);
}

/* "DNSLookupChef 1a2b3c4d -> 5e6f7a8b, ArpChef new" from runtime.reload's
 * report, for the log. */
static void describe_reload(lua_State *L, int report, const char *rev, char *buf, size_t len)
{
	size_t used = 0;
	int n = (int)lua_objlen(L, report);

	buf[0] = '\0';
	for (int i = 1; i <= n && used < len; i++) {
		const char *name, *old;

		lua_rawgeti(L, report, i);
		lua_getfield(L, -1, "name");
		lua_getfield(L, -2, "old_rev");
		name = lua_tostring(L, -2);
		old = lua_tostring(L, -1);
		if (old)
			used += snprintf(buf + used, len - used, "%s%s %s -> %s", i > 1 ? ", " : "",
					 name, old, rev);
		else
			used += snprintf(buf + used, len - used, "%s%s (new) %s", i > 1 ? ", " : "",
					 name, rev);
		lua_pop(L, 3);
	}
	if (n == 0)
		snprintf(buf, len, "no chefs left");
}

int chef_runtime_reload(struct chef_runtime *rt, const char *path, int force,
			struct plate *plate)
{
	struct chef_file *f = find_file(rt, path);
	double start = monotonic_seconds();
	const char *err;
	char rev[9], what[512];
	int rc, nslots;

	/* Editors often touch a file without changing it, and one save can
	 * raise several events: the same content is not reloaded unasked. */
	rc = call_with_source(rt, "reload", path, NULL, 0, f && !force ? f->rev : NULL, rev, &err);
	if (rc > 0)
		return 0;
	if (rc < 0) {
		if (err)
			log_error("reloading %s failed, %s: %s", path,
				  f ? "the running version stays" : "not loaded", err);
		return -1;
	}
	describe_reload(rt->L, lua_gettop(rt->L) - 1, rev, what, sizeof what);
	log_info("reloaded %s in %.2f ms: %s", path, (monotonic_seconds() - start) * 1e3, what);
	nslots = (int)lua_tointeger(rt->L, -1);
	lua_pop(rt->L, 2);
	remember_file(rt, path, rev);
	refresh_names(rt);
	/* Old chef tables are garbage now; collect them while it is quiet. */
	collect_garbage(rt);
	drain_output(rt, nslots, plate);
	return 0;
}

void chef_runtime_remove(struct chef_runtime *rt, const char *path, struct plate *plate)
{
	struct chef_file *f = find_file(rt, path);

	if (!f)
		return;
	push_runtime_fn(rt, "remove");
	lua_pushstring(rt->L, path);
	call_and_drain(rt, "remove", 1, plate);
	log_info("%s is gone: its chefs are retired", path);
	free(f->path);
	*f = rt->files[--rt->nfiles];
	refresh_names(rt);
}

int chef_runtime_file_count(const struct chef_runtime *rt)
{
	return rt->nfiles;
}

const char *chef_runtime_file(const struct chef_runtime *rt, int i)
{
	return rt->files[i].path;
}

/* ---------------------------------------------------------- health */

/* One chef's line in the kitchen's health: calls counted by the Lua
 * runtime, errors and dumplings here, time by the guard's looks. */
static void add_chef_health(struct chef_runtime *rt, cJSON *chefs, const char *name,
			    double calls)
{
	struct chef_entry *e = chef_entry(rt, name);
	cJSON *c = cJSON_AddObjectToObject(chefs, name);

	cJSON_AddNumberToObject(c, "calls", calls);
	cJSON_AddNumberToObject(c, "errors", (double)e->errors);
	cJSON_AddNumberToObject(c, "dumplings", (double)e->dumplings);
	cJSON_AddNumberToObject(c, "seconds", guard_seconds_in(rt->guard, e->guard_name));
}

cJSON *chef_runtime_health(struct chef_runtime *rt)
{
	lua_State *L = rt->L;
	cJSON *chefs = cJSON_CreateObject();
	int n;

	push_runtime_fn(rt, "chef_calls");
	if (enter_lua(rt, "the chef runtime", 0, 1) < 0) {
		log_error("chef runtime: counting calls: %s", rt->error);
		return chefs;
	}
	n = (int)lua_objlen(L, -1);
	for (int i = 1; i + 1 <= n; i += 2) {
		char *name;
		double calls;

		lua_rawgeti(L, -1, i);
		lua_rawgeti(L, -2, i + 1);
		name = xstrdup(lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?");
		calls = lua_tonumber(L, -1);
		lua_pop(L, 2);
		add_chef_health(rt, chefs, name, calls);
		free(name);
	}
	lua_pop(L, 1);
	return chefs;
}
