#ifndef GUARD_H
#define GUARD_H

#include <stdatomic.h>

#include <lua.h>

/* The watchdog over every call from C into Lua (see guard.c). */
struct guard;

/* What a guard does when Lua cannot be stopped at all: last words (flush
 * what was made, say what was done) before the process exits with 3. */
typedef void guard_stuck_fn(void *ctx);

/* Watch calls into L: each may run limit_seconds (0: no limit). Once *stopping is set,
 * whatever runs is interrupted within a second. NULL if no thread. */
struct guard *guard_new(lua_State *L, double limit_seconds, const _Atomic int *stopping,
			guard_stuck_fn *stuck, void *ctx);
void guard_free(struct guard *g);

/* A copy of name that lives as long as the guard, for guard_running().
 * Equal names give the same copy. */
const char *guard_intern(struct guard *g, const char *name);

/* Who runs now (a chef's name, or "chef file X"): what the messages name,
 * and whom an interrupt is meant for. name must come from guard_intern. */
void guard_running(struct guard *g, const char *name);

/* Who guard_running() last said runs, or NULL. */
const char *guard_current(struct guard *g);

/* About how long (seconds) name has run in all, by looking at who runs
 * a hundred times a second. */
double guard_seconds_in(struct guard *g, const char *name);

/* A call into Lua starts, with name running; it ends. */
void guard_enter(struct guard *g, const char *name);
void guard_leave(struct guard *g);

/* The runtime caught an interrupt and goes on with the next chef: the
 * interrupt is disarmed and the clock starts again. */
void guard_restart(struct guard *g);

/* The values an interrupt raises in Lua (as light userdata): one for a
 * call past the time limit, one for a kitchen that is stopping. Unique
 * addresses, so no error text can pass for them. */
extern const char guard_timeout[], guard_stop[];

#endif
