/* A memory allocator for a Lua state: free lists per 16-byte size class
 * for small blocks, malloc for the rest.
 *
 * Chefs make several small tables per packet and drop them a moment later,
 * so the collector frees about as many blocks as the runtime allocates.
 * LuaJIT's own allocator spends over a hundred instructions on each free
 * (it coalesces neighbours); here a free is a push and an allocation a pop.
 * LuaJIT passes the old size of every block it frees or resizes, so blocks
 * need no header.
 *
 * Small blocks are carved from chunks that go back to the system only when
 * the state closes; a state's small blocks stay at the peak it reached.
 * Under AddressSanitizer free blocks are poisoned, so a use after free is
 * still caught. Every size is rounded up to 16 bytes: LuaJIT compares
 * strings four bytes at a time and may read up to three past the end. */
#include <stdlib.h>
#include <string.h>

#include "luapool.h"
#include "base/util.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define poison(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define poison(p, n) ((void)(p), (void)(n))
#define unpoison(p, n) ((void)(p), (void)(n))
#endif

enum {
	GRAIN = 16,
	SMALL_MAX = 512,		/* larger blocks go to malloc */
	CLASSES = SMALL_MAX / GRAIN,
	CHUNK_BYTES = 64 * 1024,
};

struct chunk {
	struct chunk *next;
	/* blocks follow, aligned to GRAIN */
};

struct free_block {
	struct free_block *next;
};

struct lua_pool {
	struct free_block *free[CLASSES];
	struct chunk *chunks;
	char *bump, *bump_end;		/* the unused tail of the newest chunk */
};

static int is_small(size_t n)
{
	return n > 0 && n <= SMALL_MAX;
}

static size_t rounded(size_t n)
{
	return (n + GRAIN - 1) & ~(size_t)(GRAIN - 1);
}

static size_t class_of(size_t n)
{
	return (n - 1) / GRAIN;
}

static void *carve(struct lua_pool *pool, size_t size)
{
	struct chunk *c;
	char *p;

	if ((size_t)(pool->bump_end - pool->bump) < size) {
		c = malloc(CHUNK_BYTES);
		if (!c)
			return NULL;
		c->next = pool->chunks;
		pool->chunks = c;
		pool->bump = (char *)c + GRAIN;	/* keeps blocks GRAIN-aligned */
		pool->bump_end = (char *)c + CHUNK_BYTES;
		poison(pool->bump, CHUNK_BYTES - GRAIN);
	}
	p = pool->bump;
	pool->bump += size;
	unpoison(p, size);
	return p;
}

static void *small_alloc(struct lua_pool *pool, size_t n)
{
	struct free_block *b = pool->free[class_of(n)];

	if (!b)
		return carve(pool, rounded(n));
	unpoison(b, rounded(n));
	pool->free[class_of(n)] = b->next;
	return b;
}

static void small_free(struct lua_pool *pool, void *p, size_t n)
{
	struct free_block *b = p;

	b->next = pool->free[class_of(n)];
	pool->free[class_of(n)] = b;
	poison(b, rounded(n));
}

static void *big_alloc(size_t n)
{
	return malloc(rounded(n));
}

static void *resize(struct lua_pool *pool, void *p, size_t osize, size_t nsize)
{
	void *q;

	if (!is_small(osize) && !is_small(nsize))
		return realloc(p, rounded(nsize));
	if (is_small(osize) && is_small(nsize) && class_of(osize) == class_of(nsize))
		return p;
	q = is_small(nsize) ? small_alloc(pool, nsize) : big_alloc(nsize);
	if (!q)
		return NULL;	/* Lua keeps the old block */
	memcpy(q, p, osize < nsize ? osize : nsize);
	if (is_small(osize))
		small_free(pool, p, osize);
	else
		free(p);
	return q;
}

/* Everything but a pop or a push of a small block. */
static __attribute__((noinline)) void *slow_path(struct lua_pool *pool, void *p,
						  size_t osize, size_t nsize)
{
	if (nsize == 0) {
		free(p);	/* a big block, or NULL */
		return NULL;
	}
	if (!p)
		return is_small(nsize) ? carve(pool, rounded(nsize)) : big_alloc(nsize);
	return resize(pool, p, osize, nsize);
}

/* The common cases are kept small enough to need no stack frame. */
void *lua_pool_alloc(void *ud, void *p, size_t osize, size_t nsize)
{
	struct lua_pool *pool = ud;

	if (nsize == 0 && p && is_small(osize)) {
		small_free(pool, p, osize);
		return NULL;
	}
	if (!p && is_small(nsize) && pool->free[class_of(nsize)])
		return small_alloc(pool, nsize);
	return slow_path(pool, p, osize, nsize);
}

struct lua_pool *lua_pool_new(void)
{
	return xcalloc(1, sizeof(struct lua_pool));
}

void lua_pool_free(struct lua_pool *pool)
{
	if (!pool)
		return;
	while (pool->chunks) {
		struct chunk *next = pool->chunks->next;

		free(pool->chunks);
		pool->chunks = next;
	}
	free(pool);
}
