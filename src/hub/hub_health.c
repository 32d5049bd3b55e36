/* The latest KitchenStatusChef report of each kitchen (see hub_health.h).
 * Dumplings are otherwise only checked, never parsed; a report is read
 * whole, with cJSON, because one comes only every --status-interval.
 *
 * What is kept is bounded: as many kitchens as the seq books keep runs,
 * the one heard from longest ago giving way first, as there; of each, a
 * report of at most HEALTH_MAX_BYTES, with at most HEALTH_MAX_ITEMS
 * sources and as many chefs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hub.h"
#include "base/util.h"

#define HEALTH_CHEF "KitchenStatusChef"
#define HEALTH_MAX_BYTES (64 << 10)	/* a larger report is passed on, not read */
#define HEALTH_MAX_ITEMS 256
/* a longer name is left out rather than cut: cut, two names could meet */
#define HEALTH_MAX_NAME 1024

/* Each number of the kitchen as a whole, and the object of the report it
 * is in (NULL: the payload itself). */
static const struct kitchen_key {
	const char *group, *key;
} kitchen_keys[HUB_HEALTH_KITCHEN_STATS] = {
	[HUB_HEALTH_PACKETS] = { NULL, "packets" }, [HUB_HEALTH_UPTIME] = { NULL, "uptime" },
	[HUB_HEALTH_SENT] = { "uplink", "sent" }, [HUB_HEALTH_BUFFERED] = { "uplink", "buffered" },
	[HUB_HEALTH_DROPPED] = { "uplink", "dropped" },
	[HUB_HEALTH_RECONNECTS] = { "uplink", "reconnects" },
	[HUB_HEALTH_LAST_SEQ] = { "uplink", "last_seq" }, [HUB_HEALTH_RESENT] = { "uplink", "resent" },
	[HUB_HEALTH_UNCONFIRMED] = { "uplink", "unconfirmed" },
	[HUB_HEALTH_ACKED_SEQ] = { "uplink", "acked_seq" },
	[HUB_HEALTH_FLOWS_ACTIVE] = { "flows", "active" },
	[HUB_HEALTH_FLOWS_CREATED] = { "flows", "created" },
	[HUB_HEALTH_FLOWS_ENDED] = { "flows", "ended" },
	[HUB_HEALTH_FLOWS_EVICTED] = { "flows", "evicted" },
	[HUB_HEALTH_FLOWS_UNTRACKED] = { "flows", "untracked" },
	[HUB_HEALTH_FRAGS_REASSEMBLED] = { "fragments", "reassembled" },
	[HUB_HEALTH_FRAGS_PENDING] = { "fragments", "pending" },
	[HUB_HEALTH_FRAGS_TIMED_OUT] = { "fragments", "timed_out" },
	[HUB_HEALTH_FRAGS_EVICTED] = { "fragments", "evicted" },
	[HUB_HEALTH_FRAGS_UNFINISHED] = { "fragments", "unfinished" },
	[HUB_HEALTH_FRAGS_OVERLAPS] = { "fragments", "overlaps" },
	[HUB_HEALTH_FLOWS_EVENTS_DROPPED] = { "flows", "events_dropped" },
	[HUB_HEALTH_STREAMS_BYTES] = { "streams", "bytes" },
	[HUB_HEALTH_STREAMS_GAP_BYTES] = { "streams", "gap_bytes" },
	[HUB_HEALTH_STREAMS_DIR_LIMIT] = { "streams", "dir_limit" },
	[HUB_HEALTH_STREAMS_TOTAL_LIMIT] = { "streams", "total_limit" },
	[HUB_HEALTH_STREAMS_MEMORY] = { "streams", "memory" },
};

static const char *const source_keys[HUB_HEALTH_SOURCE_STATS] = {
	[HUB_HEALTH_SOURCE_PACKETS] = "packets", [HUB_HEALTH_SOURCE_PASSED] = "filter_passed",
	[HUB_HEALTH_SOURCE_KERNEL] = "kernel_dropped", [HUB_HEALTH_SOURCE_IFACE] = "interface_dropped",
};

static const char *const chef_keys[HUB_HEALTH_CHEF_STATS] = {
	[HUB_HEALTH_CHEF_CALLS] = "calls", [HUB_HEALTH_CHEF_ERRORS] = "errors",
	[HUB_HEALTH_CHEF_DUMPLINGS] = "dumplings", [HUB_HEALTH_CHEF_SECONDS] = "seconds",
};

/* keys[0 .. n) of object o into v; returns which were numbers */
static unsigned take_numbers(const cJSON *o, const char *const *keys, int n, double *v)
{
	unsigned have = 0;

	for (int i = 0; i < n; i++) {
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, keys[i]);

		if (cJSON_IsNumber(x) && isfinite(x->valuedouble)) {
			v[i] = x->valuedouble;
			have |= 1u << i;
		}
	}
	return have;
}

static struct hub_health_item *find_item(struct hub_health_item *items, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(items[i].name, name))
			return &items[i];
	return NULL;
}

/* One source or chef, from object o. A name met twice (a file read twice)
 * is one series, its numbers added up. */
static void add_item(struct hub_health_item **items, int *n, const char *name,
		     const cJSON *o, const char *const *keys, int nkeys)
{
	struct hub_health_item *it;
	double v[HUB_HEALTH_ITEM_STATS];
	unsigned have;

	if (!name || strlen(name) > HEALTH_MAX_NAME || !cJSON_IsObject(o))
		return;
	have = take_numbers(o, keys, nkeys, v);
	it = find_item(*items, *n, name);
	if (!it) {
		if (*n == HEALTH_MAX_ITEMS)
			return;
		*items = xrealloc(*items, (*n + 1) * sizeof **items);
		it = &(*items)[(*n)++];
		memset(it, 0, sizeof *it);
		it->name = xstrdup(name);
	}
	for (int i = 0; i < nkeys; i++) {
		if (!(have & 1u << i))
			continue;
		it->v[i] = (it->have & 1u << i ? it->v[i] : 0) + v[i];
		it->have |= 1u << i;
	}
}

static void read_sources(struct hub_health *h, const cJSON *sources)
{
	const cJSON *s;

	if (!cJSON_IsArray(sources))
		return;
	cJSON_ArrayForEach(s, sources)
		add_item(&h->sources, &h->nsources,
			 cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "name")),
			 s, source_keys, HUB_HEALTH_SOURCE_STATS);
}

/* chefs is an object, by chef name */
static void read_chefs(struct hub_health *h, const cJSON *chefs)
{
	const cJSON *c;

	if (!cJSON_IsObject(chefs))
		return;
	cJSON_ArrayForEach(c, chefs)
		add_item(&h->chefs, &h->nchefs, c->string, c, chef_keys, HUB_HEALTH_CHEF_STATS);
}

/* The report's payload into h; -1 if there is none to read. */
static int health_read(struct hub_health *h, const char *msg, size_t len)
{
	cJSON *d = cJSON_ParseWithLength(msg, len);
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(d, "payload");

	if (!cJSON_IsObject(p)) {
		cJSON_Delete(d);
		return -1;
	}
	h->have = 0;
	for (int i = 0; i < HUB_HEALTH_KITCHEN_STATS; i++) {
		const struct kitchen_key *k = &kitchen_keys[i];
		const cJSON *o = k->group ? cJSON_GetObjectItemCaseSensitive(p, k->group) : p;

		if (cJSON_IsObject(o))
			h->have |= take_numbers(o, &k->key, 1, &h->v[i]) << i;
	}
	read_sources(h, cJSON_GetObjectItemCaseSensitive(p, "sources"));
	read_chefs(h, cJSON_GetObjectItemCaseSensitive(p, "chefs"));
	cJSON_Delete(d);
	return 0;
}

static void free_items(struct hub_health_item *items, int n)
{
	for (int i = 0; i < n; i++)
		free(items[i].name);
	free(items);
}

/* Everything but the kitchen's name. */
static void health_clear(struct hub_health *h)
{
	free_items(h->sources, h->nsources);
	free_items(h->chefs, h->nchefs);
}

static struct hub_health *find_kitchen(struct hub_health_book *b, const char *kitchen)
{
	for (int i = 0; i < b->n; i++)
		if (!strcmp(b->k[i].kitchen, kitchen))
			return &b->k[i];
	return NULL;
}

/* A slot for a kitchen not in the book: a new one, or past max the one
 * heard from longest ago. */
static struct hub_health *new_kitchen(struct hub_health_book *b, int max, const char *kitchen)
{
	struct hub_health *h;

	if (max && b->n >= max) {
		h = &b->k[0];
		for (int i = 1; i < b->n; i++)
			if (b->k[i].heard < h->heard)
				h = &b->k[i];
		health_clear(h);
		free(h->kitchen);
	} else {
		b->k = xrealloc(b->k, (b->n + 1) * sizeof *b->k);
		h = &b->k[b->n++];
	}
	memset(h, 0, sizeof *h);
	h->kitchen = xstrdup(kitchen);
	return h;
}

void hub_health_note(struct hub *hub, const char *chef, const char *kitchen,
		     const char *msg, size_t len)
{
	struct hub_health_book *b = &hub->health;
	struct hub_health fresh, *h;

	if (strcmp(chef, HEALTH_CHEF) || !kitchen || strlen(kitchen) > HEALTH_MAX_NAME ||
	    len > HEALTH_MAX_BYTES)
		return;
	memset(&fresh, 0, sizeof fresh);
	if (health_read(&fresh, msg, len) < 0)
		return;
	h = find_kitchen(b, kitchen);
	if (h)
		health_clear(h);
	else
		h = new_kitchen(b, hub->seq.max, kitchen);
	fresh.kitchen = h->kitchen;
	fresh.heard = ++b->notes;
	fresh.received = monotonic_seconds();
	*h = fresh;
}

void hub_health_free(struct hub_health_book *b)
{
	for (int i = 0; i < b->n; i++) {
		health_clear(&b->k[i]);
		free(b->k[i].kitchen);
	}
	free(b->k);
	memset(b, 0, sizeof *b);
}
