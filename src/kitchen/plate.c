/* Plates of dumplings (see plate.h). */
#include <stdlib.h>
#include <string.h>

#include "base/jsonnum.h"
#include "base/util.h"
#include "plate.h"

void plate_clear(struct plate *p)
{
	json_arena_reset(&p->arena);
	p->n = 0;
}

void plate_free(struct plate *p)
{
	json_arena_free(&p->arena);
	free(p->items);
	memset(p, 0, sizeof *p);
}

static const char *copy(struct json_arena *a, const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(json_arena_alloc(a, n), s, n);
}

/* The runtime names three drivers: no need to copy them. */
static const char *driver_name(const char *driver)
{
	return !strcmp(driver, "packet") ? "packet"
	     : !strcmp(driver, "interval") ? "interval"
	     : !strcmp(driver, "flow") ? "flow" : NULL;
}

void plate_add(struct plate *p, const struct cJSON *payload, const char *chef,
	       const char *driver, const char *rev)
{
	struct plate_item *it;
	const char *known = driver_name(driver);

	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 256;
		p->items = xrealloc(p->items, (size_t)p->cap * sizeof *p->items);
	}
	it = &p->items[p->n++];
	it->payload = payload;
	it->chef = copy(&p->arena, chef);
	it->driver = known ? known : copy(&p->arena, driver);
	it->rev = rev ? copy(&p->arena, rev) : NULL;
	json_time_now(it->creation_time);
}
