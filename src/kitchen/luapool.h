#ifndef LUAPOOL_H
#define LUAPOOL_H

#include <stddef.h>

/* An allocator for lua_newstate: small blocks come from free lists per
 * size class, the rest from malloc. One pool per Lua state; free it after
 * lua_close. */
struct lua_pool;

struct lua_pool *lua_pool_new(void);
void lua_pool_free(struct lua_pool *pool);

/* The lua_Alloc function; ud is the pool. */
void *lua_pool_alloc(void *ud, void *p, size_t osize, size_t nsize);

#endif
