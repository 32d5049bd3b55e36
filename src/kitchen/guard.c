/* Guarding the kitchen against a chef that never returns.
 *
 * A thread watches each batch of packets. When one runs longer than the
 * time limit it asks LuaJIT to stop through a count hook: the hook raises
 * an error in the chef, which the runtime then disables, and the kitchen
 * carries on. LuaJIT checks hooks only in its interpreter, though, and an
 * endless loop is soon compiled into a trace that never leaves machine
 * code; such a chef cannot be stopped from inside the process. If the hook
 * has not fired after a grace period, the kitchen says which chef is stuck
 * and exits with status 3, so that a supervisor can restart it. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "guard.h"
#include "base/log.h"
#include "base/util.h"

struct guard {
	lua_State *L;
	double limit;
	const volatile int32_t *running;	/* which packet chef runs, 1-based */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stop;
	int in_batch;
	double batch_start;
	double hooked_at;	/* when the hook was set in this batch, or 0 */
	char **names;		/* the packet chefs, in running order */
	int nnames;
};

static void guard_hook(lua_State *L, lua_Debug *ar)
{
	lua_sethook(L, NULL, 0, 0);
	luaL_error(L, GUARD_TIMEOUT_MARK " it ran past the time limit (an endless loop?)");
}

static const char *running_name(struct guard *g)
{
	int i = *g->running;

	return i >= 1 && i <= g->nnames ? g->names[i - 1] : "(unknown)";
}

/* Called with the lock held, once a second or so while a batch runs. */
static void check_batch(struct guard *g, double now)
{
	double ran = now - g->batch_start;

	if (!g->hooked_at && ran > g->limit) {
		log_warn("chef %s has run for %.1f s: interrupting it", running_name(g), ran);
		g->hooked_at = now;
		lua_sethook(g->L, guard_hook, LUA_MASKCOUNT, 1000);
	} else if (g->hooked_at && now - g->hooked_at > (g->limit < 1 ? 1 : g->limit)) {
		log_error("chef %s has run for %.1f s and cannot be interrupted (LuaJIT compiled "
			  "its loop); exiting so that a supervisor can restart the kitchen",
			  running_name(g), ran);
		_exit(3);
	}
}

static void *guard_main(void *arg)
{
	struct guard *g = arg;

	pthread_mutex_lock(&g->lock);
	while (!g->stop) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 200 * 1000 * 1000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&g->wake, &g->lock, &until);
		if (!g->stop && g->in_batch)
			check_batch(g, monotonic_seconds());
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

struct guard *guard_new(lua_State *L, double limit, const volatile int32_t *running)
{
	struct guard *g = xcalloc(1, sizeof *g);

	g->L = L;
	g->limit = limit;
	g->running = running;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->wake, NULL);
	if (pthread_create(&g->thread, NULL, guard_main, g)) {
		log_warn("cannot start the chef time guard: chefs run unguarded");
		pthread_mutex_destroy(&g->lock);
		pthread_cond_destroy(&g->wake);
		free(g);
		return NULL;
	}
	return g;
}

void guard_name_chefs(struct guard *g, int n, const char *const *names)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	for (int i = 0; i < g->nnames; i++)
		free(g->names[i]);
	g->names = xrealloc(g->names, (n ? n : 1) * sizeof *g->names);
	for (int i = 0; i < n; i++)
		g->names[i] = xstrdup(names[i]);
	g->nnames = n;
	pthread_mutex_unlock(&g->lock);
}

void guard_enter(struct guard *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->in_batch = 1;
	g->batch_start = monotonic_seconds();
	g->hooked_at = 0;
	pthread_mutex_unlock(&g->lock);
}

void guard_leave(struct guard *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->in_batch = 0;
	if (g->hooked_at)
		lua_sethook(g->L, NULL, 0, 0);
	pthread_mutex_unlock(&g->lock);
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
	for (int i = 0; i < g->nnames; i++)
		free(g->names[i]);
	free(g->names);
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->wake);
	free(g);
}
