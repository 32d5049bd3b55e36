#ifndef GUARD_H
#define GUARD_H

#include <stdint.h>

#include <lua.h>

/* The error message prefix of a chef stopped for running too long; the Lua
 * runtime disables a chef whose error carries it. */
#define GUARD_TIMEOUT_MARK "[time limit]"

struct guard;

/* Watch batches run in L; running points at the 1-based index of the
 * packet chef running now (written by the Lua runtime). NULL if no thread. */
struct guard *guard_new(lua_State *L, double limit_seconds, const volatile int32_t *running);
void guard_free(struct guard *g);

/* The packet chefs' names, in running order, for the messages. */
void guard_name_chefs(struct guard *g, int n, const char *const *names);

/* A batch starts, or ends. */
void guard_enter(struct guard *g);
void guard_leave(struct guard *g);

#endif
