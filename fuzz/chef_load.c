/* Fuzz target: loading a chef file, and everything the kitchen then does
 * with the chefs it defines (src/kitchen/chef.c, lua/dumplings/runtime.lua,
 * the serializer and the emit stage behind them).
 *
 * Input: a chef file's source; a NUL byte, if there is one, ends it, and
 * what follows is the file's second version (without one, the same source
 * again). Each input gets a fresh runtime, so that a crash replays from its
 * input alone. The runtime is sandboxed (fuzz/chef_sandbox.lua), then the
 * first version is loaded from a memory file (/proc/self/fd/N: the runtime
 * loads by path), the chefs run over a batch of twelve packets from
 * examples/sample.pcap and are poked, the file is reloaded with its second
 * version (forced, so that reload(old) runs even when nothing changed),
 * the chefs run over the next twelve packets and are poked again, and the
 * file is removed, retiring its chefs.
 *
 * A chef may loop forever anywhere. In a batch the runtime's own guard
 * stops it (with a time limit of its own), but loading, reloading and
 * pokes are not guarded yet; so every step here also runs, with the JIT
 * off, under a budget of instructions counted by a hook (and outside
 * batches, of time), whose error carries the guard's mark: in a batch the
 * runtime disables the chef as if the guard had stopped it. The budget
 * makes an endless loop cost milliseconds, and the same at every replay.
 *
 * Checked: no crash, leak or sanitizer report; no unprotected Lua error
 * (LuaJIT would exit); every dumpling is one valid JSON document in valid
 * UTF-8; the names the runtime reports are as many as the chefs it says it
 * registered, and the emit stage sent every dumpling the runtime made. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <luajit.h>

#include "base/log.h"
#include "base/util.h"
#include "check.h"
#include "kitchen/batch.h"
#include "kitchen/capture.h"
#include "kitchen/chef.h"
#include "kitchen/emit.h"
#include "kitchen/sink.h"
#include "kitchen/guard.h"

#ifndef FUZZ_SANDBOX
#define FUZZ_SANDBOX "fuzz/chef_sandbox.lua"
#endif
#ifndef FUZZ_PCAP
#define FUZZ_PCAP "examples/sample.pcap"
#endif

enum {
	BATCH = 12,			/* packets per batch; two batches */
	HOOK_EVERY = 1000,		/* instructions between budget checks */
	STEP_CHECKS = 500,		/* so half a million instructions a step */
	LINE_COUNTERS = 4096,		/* runtime.lua's lines, for coverage */
};
#define STEP_SECONDS	0.25	/* outside batches; in one, the guard's limit */
#define TIME_LIMIT	0.05	/* the runtime's guard, for batches */
#define MEMORY_LIMIT	(64u << 20)

/* ---- the runtime's Lua state ---------------------------------------------- */

/* chef.c keeps its Lua state to itself, and the sandbox and the budget need
 * it: lua_newstate is defined here, so chef.c's call reaches this one
 * before LuaJIT's (definitions in the executable come first, as the hub
 * target's fake libwebsockets calls do), which hands it on. */
static lua_State *runtime_L;

lua_State *lua_newstate(lua_Alloc f, void *ud)
{
	static lua_State *(*real)(lua_Alloc, void *);

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "lua_newstate");
	fuzz_assert(real != NULL, "LuaJIT's lua_newstate is found");
	runtime_L = real(f, ud);
	return runtime_L;
}

/* The guard ends the process when a chef cannot be interrupted (stuck in
 * one C call, or past a second runaway chef in the same batch). That is by
 * design in a kitchen; here it must leave the input behind, as a crash
 * does. */
void _exit(int status)
{
	fprintf(stderr, "the chef guard ended the process (status %d)\n", status);
	abort();
}

/* ---- the budget, and coverage of the Lua runtime ---------------------------- */

/* libFuzzer sees only the C code's edges; most of loading a chef happens in
 * runtime.lua. The same hook marks each of its lines run in a counter that
 * libFuzzer reads as coverage (an ordinary array without libFuzzer). */
__attribute__((used, section("__libfuzzer_extra_counters")))
static uint8_t runtime_lines[LINE_COUNTERS];

static struct {
	long checks_left;
	double deadline;	/* 0: none */
} budget;

static int budget_spent(void)
{
	return budget.checks_left < 0;
}

static void count_line(lua_State *L, lua_Debug *ar)
{
	if (!lua_getinfo(L, "S", ar) || strcmp(ar->source, "=dumplings/runtime") != 0)
		return;
	runtime_lines[(unsigned)ar->currentline % LINE_COUNTERS]++;
}

static void budget_hook(lua_State *L, lua_Debug *ar)
{
	if (ar->event == LUA_HOOKLINE) {
		count_line(L, ar);
		return;
	}
	if (--budget.checks_left >= 0 &&
	    (!budget.deadline || monotonic_seconds() < budget.deadline))
		return;
	budget.checks_left = -1;
	/* the guard's own interrupt: the runtime disables a chef for it */
	lua_pushlightuserdata(L, (void *)guard_timeout);
	lua_error(L);
}

static void budget_start(double seconds)
{
	budget.checks_left = STEP_CHECKS;
	budget.deadline = seconds ? monotonic_seconds() + seconds : 0;
	lua_sethook(runtime_L, budget_hook, LUA_MASKCOUNT | LUA_MASKLINE, HOOK_EVERY);
}

static void budget_stop(void)
{
	lua_sethook(runtime_L, NULL, 0, 0);
}

static int lua_budget_spent(lua_State *L)
{
	lua_pushboolean(L, budget_spent());
	return 1;
}

/* ---- what stays from one input to the next --------------------------------- */

static struct {
	char *sandbox;
	size_t sandbox_len;
	struct batch *packets;
	int memfd;
	char path[64];
} fixed;

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;

	fuzz_assert(f != NULL, "the sandbox file opens (see FUZZ_SANDBOX)");
	fuzz_assert(fseek(f, 0, SEEK_END) == 0 && (*len = (size_t)ftell(f)) > 0,
		    "the sandbox file has a size");
	rewind(f);
	buf = xmalloc(*len);
	fuzz_assert(fread(buf, 1, *len, f) == *len, "the sandbox file reads");
	fclose(f);
	return buf;
}

/* The first packets of the sample capture, decoded once, DNS questions
 * decoded ahead as the decode stage does. */
static struct batch *read_packets(void)
{
	struct capture_options opt = { .filter = "", .snaplen = MAX_SNAPLEN };
	struct capture_source src;
	struct batch *b = batch_new();
	struct pcap_pkthdr *h;
	const u_char *bytes;
	struct dpl_dns dns = { 0 };

	fuzz_assert(capture_open_file(&src, FUZZ_PCAP, &opt) == 0,
		    "the sample capture opens (see FUZZ_PCAP)");
	while (b->n < 2 * BATCH && pcap_next_ex(src.pcap, &h, &bytes) == 1)
		batch_add(b, &src, 0, h, bytes, NULL);
	fuzz_assert(b->n == 2 * BATCH, "the sample capture has enough packets");
	batch_decode_questions(b, &dns);
	dns_free(&dns);
	capture_close(&src);
	return b;
}

static void free_fixed(void)
{
	free(fixed.sandbox);
	batch_free(fixed.packets);
	close(fixed.memfd);
}

static void init(void)
{
	if (fixed.packets)
		return;
	log_init("fuzz-chef_load", LOG_ERROR);
	fixed.sandbox = read_file(FUZZ_SANDBOX, &fixed.sandbox_len);
	fixed.packets = read_packets();
	fixed.memfd = memfd_create("fuzz-chef", 0);
	fuzz_assert(fixed.memfd >= 0, "a memory file for the chef source");
	snprintf(fixed.path, sizeof fixed.path, "/proc/self/fd/%d", fixed.memfd);
	atexit(free_fixed);
}

/* The chef file's content, for the runtime to read at fixed.path. */
static void write_chef(const uint8_t *src, size_t len)
{
	fuzz_assert(ftruncate(fixed.memfd, 0) == 0 &&
		    pwrite(fixed.memfd, src, len, 0) == (ssize_t)len, "the chef source is written");
}

/* ---- the sink --------------------------------------------------------------- */

static unsigned long emitted;

static int sink_emit(struct sink *s, const char *json, size_t len, unsigned long long seq)
{
	fuzz_check_json(json, len);
	emitted++;
	return 0;
}

static void sink_flush(struct sink *s)
{
}

static int sink_close(struct sink *s)
{
	return 0;
}

static struct sink checking_sink = { .emit = sink_emit, .flush = sink_flush, .close = sink_close };

/* ---- one input ---------------------------------------------------------------- */

static struct emit *emit;

static struct chef_runtime *new_runtime(void)
{
	static const char *const sources[] = { "fuzz" };
	struct chef_options opt = {
		.kitchen_name = "fuzz", .poke_interval = 1,
		.sources = sources, .nsources = 1,
		.time_limit = TIME_LIMIT, .memory_limit = MEMORY_LIMIT,
	};
	struct chef_runtime *rt;

	runtime_L = NULL;
	rt = chef_runtime_new(&opt);
	fuzz_assert(rt != NULL && runtime_L != NULL, "the chef runtime starts");
	/* LuaJIT calls hooks only in its interpreter: a loop it compiled would
	 * outrun the budget (in a kitchen the guard then ends the process, by
	 * design). Opening the jit library turned the JIT on, so this comes
	 * after chef_runtime_new(). */
	fuzz_assert(luaJIT_setmode(runtime_L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF),
		    "the JIT goes off");
	fuzz_assert(luaL_loadbuffer(runtime_L, fixed.sandbox, fixed.sandbox_len,
				    "@" FUZZ_SANDBOX) == 0, "the sandbox compiles");
	lua_pushcfunction(runtime_L, lua_budget_spent);
	lua_pushlightuserdata(runtime_L, (void *)guard_timeout);
	if (lua_pcall(runtime_L, 2, 0, 0)) {
		fprintf(stderr, "sandbox: %s\n", lua_tostring(runtime_L, -1));
		fuzz_fail(__FILE__, __LINE__, "the sandbox runs");
	}
	return rt;
}

static void check_load(struct chef_runtime *rt, int registered)
{
	const char *const *names;
	int n;

	if (registered < 0)
		return;
	names = chef_runtime_names(rt, &n);
	fuzz_assert(n == registered, "as many names as chefs registered");
	for (int i = 0; i < n; i++)
		fuzz_assert(names[i] != NULL, "every chef has a name");
	fuzz_assert(chef_runtime_file_count(rt) == 1, "the file is remembered once");
}

static void cook(struct chef_runtime *rt, int half)
{
	struct plate *p = emit_plate(emit);

	budget_start(0);
	chef_runtime_batch(rt, fixed.packets->pkts + half * BATCH, BATCH, NULL, 0, 0, NULL, p);
	budget_stop();
	emit_send(emit, p);
	p = emit_plate(emit);
	budget_start(STEP_SECONDS);
	chef_runtime_poke(rt, p);
	budget_stop();
	emit_send(emit, p);
}

/* A step that may make dumplings (a reload, a removal), onto a plate. */
static struct plate *step_start(void)
{
	budget_start(STEP_SECONDS);
	return emit_plate(emit);
}

static void step_end(struct plate *p)
{
	budget_stop();
	emit_send(emit, p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t len1 = nul ? (size_t)(nul - data) : size;
	struct chef_runtime *rt;
	struct plate *p;
	int registered;

	if (size > 64 * 1024)
		return 0;
	init();
	rt = new_runtime();
	emit = emit_start(&checking_sink, "fuzz", 0, NULL);
	emitted = 0;

	write_chef(data, len1);
	budget_start(STEP_SECONDS);
	registered = chef_runtime_load(rt, fixed.path, NULL);
	budget_stop();
	check_load(rt, registered);
	cook(rt, 0);

	if (nul)
		write_chef(nul + 1, size - len1 - 1);
	p = step_start();
	chef_runtime_reload(rt, fixed.path, 1, p);
	step_end(p);
	cook(rt, 1);

	p = step_start();
	chef_runtime_remove(rt, fixed.path, p);
	step_end(p);
	fuzz_assert(chef_runtime_file_count(rt) == 0, "a removed file is forgotten");
	emit_close(emit);
	emit_free(emit);
	fuzz_assert(chef_runtime_stats(rt)->dumplings == emitted,
		    "the printer sent every dumpling the runtime made");
	chef_runtime_free(rt);
	return 0;
}
