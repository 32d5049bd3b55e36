/* SystemStatusChef: every --status-freq seconds the hub publishes a
 * dumpling about itself, with the original hub's keys (so nd-hubstatus and
 * friends keep working) and ours beside them: drops, invalid counts, queue
 * depths and rates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hub.h"
#include "base/util.h"

/* Status dumplings go to every eater, and many clients take no message over
 * 1 MiB: connections are listed while their entries fit in this budget,
 * kitchens first, and the rest only counted (dumpling_*_unlisted). */
#define STATUS_LIST_BUDGET (512 * 1024)
/* what an entry takes beside its hello: keys, address, numbers */
#define STATUS_ENTRY_SIZE 256

/* Python's json prints floats with a fraction; cJSON would print 5.0 as 5,
 * which a strict client reads as an integer. */
static void add_float(cJSON *o, const char *key, double v)
{
	char buf[64];

	snprintf(buf, sizeof buf, "%.6f", v);
	cJSON_AddItemToObject(o, key, cJSON_CreateRaw(buf));
}

static cJSON *status_hub_info(const struct hub_conn *c)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "host", c->host);
	cJSON_AddNumberToObject(o, "port", c->port);
	return o;
}

static cJSON *status_kitchen(const struct hub_conn *c)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddItemToObject(o, "info_from_kitchen", cJSON_CreateRaw(c->hello));
	cJSON_AddItemToObject(o, "info_from_hub", status_hub_info(c));
	cJSON_AddNumberToObject(o, "dumplings_in", c->in);
	cJSON_AddNumberToObject(o, "dumplings_invalid", c->invalid);
	return o;
}

static cJSON *status_eater(struct hub *hub, struct hub_conn *c)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddItemToObject(o, "info_from_eater", cJSON_CreateRaw(c->hello));
	cJSON_AddItemToObject(o, "info_from_hub", status_hub_info(c));
	cJSON_AddNumberToObject(o, "dumplings_out", c->out);
	cJSON_AddNumberToObject(o, "dumplings_dropped", c->dropped);
	cJSON_AddNumberToObject(o, "queue_depth", hub_fanout_depth(hub, c));
	return o;
}

/* Whether c's entry still fits the budget; if not, it is counted. */
static int status_fits(const struct hub_conn *c, size_t *used, unsigned long *unlisted)
{
	size_t size = c->hello_len + STATUS_ENTRY_SIZE;

	if (*used + size > STATUS_LIST_BUDGET) {
		(*unlisted)++;
		return 0;
	}
	*used += size;
	return 1;
}

static void status_lists(struct hub *hub, cJSON *p)
{
	cJSON *ks = cJSON_AddArrayToObject(p, "dumpling_kitchens");
	cJSON *es = cJSON_AddArrayToObject(p, "dumpling_eaters");
	unsigned long k_unlisted = 0, e_unlisted = 0;
	size_t used = 0;

	for (struct hub_conn *c = hub->kitchens; c; c = c->next)
		if (c->greeted && status_fits(c, &used, &k_unlisted))
			cJSON_AddItemToArray(ks, status_kitchen(c));
	for (struct hub_conn *c = hub->eaters; c; c = c->next)
		if (c->fed && status_fits(c, &used, &e_unlisted))
			cJSON_AddItemToArray(es, status_eater(hub, c));
	cJSON_AddNumberToObject(p, "dumpling_kitchens_unlisted", k_unlisted);
	cJSON_AddNumberToObject(p, "dumpling_eaters_unlisted", e_unlisted);
}

static void status_rates(struct hub *hub, cJSON *p)
{
	double now = monotonic_seconds(), dt = now - hub->rate_t;

	if (dt <= 0)
		dt = 1;
	add_float(p, "dumplings_in_per_second", (hub->total_in - hub->rate_in) / dt);
	add_float(p, "dumplings_out_per_second", (hub->total_out - hub->rate_out) / dt);
	hub->rate_t = now;
	hub->rate_in = hub->total_in;
	hub->rate_out = hub->total_out;
}

static cJSON *status_payload(struct hub *hub)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddNumberToObject(p, "total_dumplings_in", hub->total_in);
	cJSON_AddNumberToObject(p, "total_dumplings_out", hub->total_out);
	add_float(p, "server_uptime", monotonic_seconds() - hub->start);
	cJSON_AddNumberToObject(p, "dumpling_kitchen_count", hub->nkitchens);
	cJSON_AddNumberToObject(p, "dumpling_eater_count", hub->neaters);
	status_lists(hub, p);
	cJSON_AddNumberToObject(p, "total_dumplings_invalid", hub->invalid);
	cJSON_AddNumberToObject(p, "total_dumplings_dropped", hub->dropped);
	cJSON_AddNumberToObject(p, "total_dumplings_undelivered", hub->undelivered);
	cJSON_AddNumberToObject(p, "total_dumplings_repeated", (double)hub->seq.repeated);
	cJSON_AddNumberToObject(p, "total_kitchen_holds", hub->pauses);
	cJSON_AddBoolToObject(p, "kitchens_held", hub->paused);
	hub_seq_status(hub, p);
	cJSON_AddNumberToObject(p, "total_messages_oversized", hub->oversized);
	cJSON_AddNumberToObject(p, "total_messages_too_fragmented", hub->fragmented);
	cJSON_AddNumberToObject(p, "total_frames_unmasked", hub->unmasked);
	cJSON_AddNumberToObject(p, "total_hellos_missing", hub->no_hello);
	cJSON_AddNumberToObject(p, "total_hellos_invalid", hub->bad_hello);
	cJSON_AddNumberToObject(p, "total_hellos_oversized", hub->big_hello);
	cJSON_AddNumberToObject(p, "total_connections_refused", hub->refused_connections);
	cJSON_AddNumberToObject(p, "connections", hub->connections);
	cJSON_AddNumberToObject(p, "connections_capacity", hub->cfg.max_connections);
	cJSON_AddNumberToObject(p, "total_eaters_disconnected_slow", hub->culled);
	cJSON_AddNumberToObject(p, "total_kitchens_unauthorized", hub->unauthorized[HUB_KITCHEN]);
	cJSON_AddNumberToObject(p, "total_eaters_unauthorized", hub->unauthorized[HUB_EATER]);
	cJSON_AddNumberToObject(p, "total_kitchens_origin_refused", hub->bad_origin[HUB_KITCHEN]);
	cJSON_AddNumberToObject(p, "total_eaters_origin_refused", hub->bad_origin[HUB_EATER]);
	cJSON_AddNumberToObject(p, "queue_used", hub_fanout_used(hub));
	cJSON_AddNumberToObject(p, "queue_capacity", hub->cfg.queue_len);
	cJSON_AddNumberToObject(p, "queue_bytes", hub->ring_bytes);
	cJSON_AddNumberToObject(p, "queue_bytes_capacity", hub->cfg.queue_bytes);
	cJSON_AddStringToObject(p, "slow_eater_policy",
				hub->cfg.slow == HUB_SLOW_SKIP ? "skip" : "disconnect");
	status_rates(hub, p);
	return p;
}

static void status_publish(struct hub *hub)
{
	cJSON *d = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(d, "metadata");
	char *json;

	cJSON_AddStringToObject(meta, "chef", "SystemStatusChef");
	cJSON_AddNullToObject(meta, "kitchen");
	add_float(meta, "creation_time", wall_seconds());
	cJSON_AddStringToObject(meta, "driver", "interval");
	cJSON_AddItemToObject(d, "payload", status_payload(hub));
	json = cJSON_PrintUnformatted(d);
	if (json)
		hub_fanout_publish(hub, json, strlen(json), "SystemStatusChef", NULL, "interval",
				   NULL, 0);
	free(json);
	cJSON_Delete(d);
}

static void status_tick(lws_sorted_usec_list_t *sul)
{
	struct hub *hub = lws_container_of(sul, struct hub, status_sul);

	status_publish(hub);
	lws_sul_schedule(hub->ctx, 0, &hub->status_sul, status_tick,
			 (lws_usec_t)(hub->cfg.status_freq * LWS_US_PER_SEC));
}

void hub_status_start(struct hub *hub)
{
	hub->rate_t = monotonic_seconds();
	lws_sul_schedule(hub->ctx, 0, &hub->status_sul, status_tick,
			 (lws_usec_t)(hub->cfg.status_freq * LWS_US_PER_SEC));
}
