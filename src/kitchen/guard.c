/* Guarding the kitchen against a chef that never returns.
 *
 * Every call from C into Lua (a batch, a poke, loading or reloading a chef
 * file, retiring one) runs between guard_enter() and guard_leave(), and
 * the runtime says who runs inside it through guard_running(), a plain C
 * call: LuaJIT's compiled code may drop or move stores to FFI memory, even
 * volatile ones, but not a call.
 *
 * A thread watches the calls. When one runs longer than the time limit,
 * or longer than a second once the kitchen is stopping, it asks LuaJIT to
 * stop through a count hook: the hook raises a unique value (guard_timeout
 * or guard_stop) in the chef, which the runtime recognises by identity.
 * LuaJIT checks hooks only in its interpreter, though, and an endless loop
 * is soon compiled into a trace that never leaves machine code; such a
 * chef cannot be stopped from inside the process. If the hook has not
 * fired after a grace period, the kitchen says which chef is stuck, has
 * what was already made written out (the stuck callback), and exits with
 * status 3, so that a supervisor can restart it. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "guard.h"
#include "base/log.h"
#include "base/util.h"

const char guard_timeout[] = "time limit", guard_stop[] = "stopping";

/* Once stopping, what runs gets this long before it is interrupted, and
 * an interrupt this long to take effect. */
#define STOP_GRACE 1.0

/* The guard thread looks this often (ms) at who runs, to tell how much
 * time each chef takes without timing every call; every CHECK_EVERY looks
 * it checks the running call's time. */
#define SAMPLE_MS 10
#define CHECK_EVERY 20

struct guard_sample {
	const char *name;	/* guard_intern's */
	unsigned long count;
};

struct guard {
	lua_State *L;
	double limit;
	const _Atomic int *stopping;
	guard_stuck_fn *stuck;
	void *ctx;
	pthread_t thread;

	/* Written by the Lua thread without the lock, read by the hook and
	 * the guard thread. */
	const char *_Atomic running;
	const char *_Atomic armed_for;	/* whom the armed hook is meant for */
	const char *_Atomic sentinel;	/* what it raises */
	_Atomic int missed;		/* it fired after its chef returned */

	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stop;
	int in_call;
	double call_start;
	double hooked_at;	/* when the hook was set in this call, or 0 */
	double stop_seen;	/* when *stopping was first seen set, or 0 */

	char **names;		/* guard_intern's copies; only the Lua thread */
	int nnames;
	struct guard_sample *samples;	/* under the lock */
	int nsamples;
};

/* The hook is a plain function: it finds its guard here. One guard per
 * process watches one Lua state. */
static struct guard *_Atomic hook_owner;

static void guard_hook(lua_State *L, lua_Debug *ar)
{
	struct guard *g = atomic_load(&hook_owner);

	lua_sethook(L, NULL, 0, 0);
	if (!g)
		return;
	if (atomic_load(&g->running) != atomic_load(&g->armed_for)) {
		atomic_store(&g->missed, 1);
		return;
	}
	lua_pushlightuserdata(L, (void *)atomic_load(&g->sentinel));
	lua_error(L);
}

static const char *running_name(struct guard *g)
{
	const char *name = atomic_load(&g->running);

	return name ? name : "(the chef runtime)";
}

/* Called with the lock held. */
static void arm(struct guard *g, const char *sentinel, double now)
{
	atomic_store(&g->sentinel, sentinel);
	atomic_store(&g->armed_for, atomic_load(&g->running));
	atomic_store(&g->missed, 0);
	g->hooked_at = now;
	lua_sethook(g->L, guard_hook, LUA_MASKCOUNT, 1000);
}

static void give_up(struct guard *g, double ran)
{
	log_error("chef %s has run for %.1f s and cannot be interrupted (LuaJIT compiled "
		  "its loop); exiting so that a supervisor can restart the kitchen",
		  running_name(g), ran);
	pthread_mutex_unlock(&g->lock);
	if (g->stuck)
		g->stuck(g->ctx);
	_exit(3);
}

/* Called with the lock held, five times a second while a call runs. */
static void check_call(struct guard *g, double now)
{
	double ran = now - g->call_start;
	int stopping = g->stopping && atomic_load(g->stopping);

	if (stopping && !g->stop_seen)
		g->stop_seen = now;
	if (atomic_exchange(&g->missed, 0)) {
		g->hooked_at = 0;
		g->call_start = now;
		return;
	}
	if (!g->hooked_at) {
		double since = g->call_start > g->stop_seen ? g->call_start : g->stop_seen;

		if (g->limit > 0 && ran > g->limit) {
			log_warn("chef %s has run for %.1f s: interrupting it", running_name(g), ran);
			arm(g, guard_timeout, now);
		} else if (stopping && now - since > STOP_GRACE) {
			log_warn("stopping: interrupting chef %s after %.1f s", running_name(g), ran);
			arm(g, guard_stop, now);
		}
		return;
	}
	if (now - g->hooked_at > (stopping ? STOP_GRACE : g->limit < 1 ? 1 : g->limit))
		give_up(g, ran);
}

/* Called with the lock held. */
static void take_sample(struct guard *g)
{
	const char *name = atomic_load_explicit(&g->running, memory_order_relaxed);

	if (!name)
		return;
	for (int i = 0; i < g->nsamples; i++) {
		if (g->samples[i].name == name) {
			g->samples[i].count++;
			return;
		}
	}
	g->samples = xrealloc(g->samples, (g->nsamples + 1) * sizeof *g->samples);
	g->samples[g->nsamples++] = (struct guard_sample){ name, 1 };
}

static void *guard_main(void *arg)
{
	struct guard *g = arg;
	unsigned looks = 0;

	pthread_mutex_lock(&g->lock);
	while (!g->stop) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += SAMPLE_MS * 1000 * 1000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&g->wake, &g->lock, &until);
		if (g->stop || !g->in_call)
			continue;
		take_sample(g);
		if (++looks % CHECK_EVERY == 0)
			check_call(g, monotonic_seconds());
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

double guard_seconds_in(struct guard *g, const char *name)
{
	unsigned long count = 0;

	if (!g || !name)
		return 0;
	pthread_mutex_lock(&g->lock);
	for (int i = 0; i < g->nsamples; i++)
		if (g->samples[i].name == name)
			count = g->samples[i].count;
	pthread_mutex_unlock(&g->lock);
	return count * (SAMPLE_MS / 1000.0);
}

struct guard *guard_new(lua_State *L, double limit, const _Atomic int *stopping,
			guard_stuck_fn *stuck, void *ctx)
{
	struct guard *g = xcalloc(1, sizeof *g);

	g->L = L;
	g->limit = limit;
	g->stopping = stopping;
	g->stuck = stuck;
	g->ctx = ctx;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->wake, NULL);
	if (start_thread(&g->thread, guard_main, g)) {
		log_warn("cannot start the chef time guard: chefs run unguarded");
		pthread_mutex_destroy(&g->lock);
		pthread_cond_destroy(&g->wake);
		free(g);
		return NULL;
	}
	atomic_store(&hook_owner, g);
	return g;
}

const char *guard_intern(struct guard *g, const char *name)
{
	if (!g)
		return NULL;
	for (int i = 0; i < g->nnames; i++)
		if (!strcmp(g->names[i], name))
			return g->names[i];
	g->names = xrealloc(g->names, (g->nnames + 1) * sizeof *g->names);
	return g->names[g->nnames++] = xstrdup(name);
}

void guard_running(struct guard *g, const char *name)
{
	if (g)
		atomic_store_explicit(&g->running, name, memory_order_relaxed);
}

const char *guard_current(struct guard *g)
{
	return g ? atomic_load_explicit(&g->running, memory_order_relaxed) : NULL;
}

void guard_enter(struct guard *g, const char *name)
{
	if (!g)
		return;
	guard_running(g, name);
	pthread_mutex_lock(&g->lock);
	g->in_call = 1;
	g->call_start = monotonic_seconds();
	g->hooked_at = 0;
	pthread_mutex_unlock(&g->lock);
}

static void disarm(struct guard *g)
{
	if (g->hooked_at)
		lua_sethook(g->L, NULL, 0, 0);
	g->hooked_at = 0;
	atomic_store(&g->missed, 0);
}

void guard_restart(struct guard *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	disarm(g);
	g->call_start = monotonic_seconds();
	pthread_mutex_unlock(&g->lock);
}

void guard_leave(struct guard *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->in_call = 0;
	disarm(g);
	pthread_mutex_unlock(&g->lock);
	guard_running(g, NULL);
}

void guard_free(struct guard *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->stop = 1;
	pthread_cond_signal(&g->wake);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->thread, NULL);
	atomic_store(&hook_owner, NULL);
	for (int i = 0; i < g->nnames; i++)
		free(g->names[i]);
	free(g->names);
	free(g->samples);
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->wake);
	free(g);
}
