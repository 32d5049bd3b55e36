/* SystemStatusChef: every --status-freq seconds the hub publishes a
 * dumpling about itself, with the original hub's keys (so nd-hubstatus and
 * friends keep working) and ours beside them: drops, invalid counts, queue
 * depths and rates. The numbers are those of hub_stats.h, which /metrics
 * serves too; what only the status says (the lists of connections, the
 * runs' books, the rates) is added here.
 *
 * It comes in two sizes. Every eater gets the totals and as many entries
 * of the lists as fit in a few KiB, however many connections there are;
 * only the eaters that asked ("details": true: eat --details, the
 * dashboard) get every connection's entry, sent to them alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hub.h"
#include "hub_link.h"
#include "base/util.h"

/* Connections, kitchen runs and remote kitchens are listed while their
 * entries fit in a budget (each its own; connections kitchens first, runs
 * those heard from last first), and the rest only counted (*_unlisted):
 * small for every eater; for those that asked for details, all that many clients take (no
 * message over 1 MiB). */
#define STATUS_SUMMARY_BUDGET (8 * 1024)
#define STATUS_DETAILS_BUDGET (512 * 1024)
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

/* A connection's entry: its hello, its address, its numbers. */
static cJSON *status_conn(struct hub *hub, struct hub_conn *c)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddItemToObject(o, c->role == HUB_KITCHEN ? "info_from_kitchen" : "info_from_eater",
			      cJSON_CreateRaw(c->hello));
	cJSON_AddItemToObject(o, "info_from_hub", status_hub_info(c));
	for (size_t i = 0; i < hub_nconn_stats; i++) {
		const struct hub_conn_stat *s = &hub_conn_stats[i];

		if (s->role == (int)c->role)
			cJSON_AddNumberToObject(o, s->key, s->value(hub, c));
	}
	return o;
}

/* Whether c's entry still fits the budget; if not, it is counted. */
static int status_fits(const struct hub_conn *c, size_t budget, size_t *used,
		       unsigned long *unlisted)
{
	size_t size = c->hello_len + STATUS_ENTRY_SIZE;

	if (*used + size > budget) {
		(*unlisted)++;
		return 0;
	}
	*used += size;
	return 1;
}

static void status_lists(struct hub *hub, cJSON *p, size_t budget)
{
	cJSON *ks = cJSON_AddArrayToObject(p, "dumpling_kitchens");
	cJSON *es = cJSON_AddArrayToObject(p, "dumpling_eaters");
	unsigned long k_unlisted = 0, e_unlisted = 0;
	size_t used = 0;

	for (struct hub_conn *c = hub->kitchens; c; c = c->next)
		if (c->greeted && status_fits(c, budget, &used, &k_unlisted))
			cJSON_AddItemToArray(ks, status_conn(hub, c));
	for (struct hub_conn *c = hub->eaters; c; c = c->next)
		if (c->sub.fed && status_fits(c, budget, &used, &e_unlisted))
			cJSON_AddItemToArray(es, status_conn(hub, c));
	cJSON_AddNumberToObject(p, "dumpling_kitchens_unlisted", k_unlisted);
	cJSON_AddNumberToObject(p, "dumpling_eaters_unlisted", e_unlisted);
}

static void status_rates(struct hub *hub, cJSON *p)
{
	double now = monotonic_seconds(), dt = now - hub->rate_t;

	if (dt <= 0)
		dt = 1;
	add_float(p, "dumplings_in_per_second", (hub->count.in - hub->rate_in) / dt);
	add_float(p, "dumplings_out_per_second", (hub->count.out - hub->rate_out) / dt);
	hub->rate_t = now;
	hub->rate_in = hub->count.in;
	hub->rate_out = hub->count.out;
}

/* One of the numbers every hub has (hub_stats.h). */
static void status_stat(struct hub *hub, cJSON *p, const struct hub_stat *s)
{
	double v = s->value(hub);

	switch (s->form) {
	case HUB_STAT_SECONDS:
		add_float(p, s->key, v);
		break;
	case HUB_STAT_FLAG:
		cJSON_AddBoolToObject(p, s->key, v != 0);
		break;
	case HUB_STAT_COUNT:
		cJSON_AddNumberToObject(p, s->key, v);
		break;
	}
}

static cJSON *status_payload(struct hub *hub)
{
	cJSON *p = cJSON_CreateObject();

	for (size_t i = 0; i < hub_nstats; i++)
		status_stat(hub, p, &hub_stats[i]);
	hub_link_status(hub, p);
	cJSON_AddStringToObject(p, "slow_eater_policy",
				hub->cfg.slow == HUB_SLOW_SKIP ? "skip" : "disconnect");
	status_rates(hub, p);
	return p;
}

static const char *const status_list_keys[] = {
	"dumpling_kitchens", "dumpling_eaters",
	"dumpling_kitchens_unlisted", "dumpling_eaters_unlisted",
	"kitchen_runs", "kitchen_runs_unlisted", "remote_kitchens", "remote_kitchens_unlisted",
};

/* The payload p with lists for one audience, published to it. */
static void status_publish_to(struct hub *hub, cJSON *d, cJSON *p, enum hub_audience to)
{
	char *json;

	size_t budget = to == HUB_TO_DETAILED ? STATUS_DETAILS_BUDGET : STATUS_SUMMARY_BUDGET;

	/* each list has a budget of its own */
	status_lists(hub, p, budget);
	hub_seq_status(hub, p, budget);
	hub_link_remote_status(hub, p, budget);
	json = cJSON_PrintUnformatted(d);
	if (json)
		hub_fanout_publish_to(hub, to, json, strlen(json), "SystemStatusChef", NULL,
				      "interval");
	free(json);
	for (size_t i = 0; i < sizeof status_list_keys / sizeof *status_list_keys; i++)
		cJSON_DeleteItemFromObjectCaseSensitive(p, status_list_keys[i]);
}

static void status_publish(struct hub *hub)
{
	cJSON *d = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(d, "metadata");
	cJSON *p = status_payload(hub);

	cJSON_AddStringToObject(meta, "chef", "SystemStatusChef");
	cJSON_AddNullToObject(meta, "kitchen");
	add_float(meta, "creation_time", wall_seconds());
	cJSON_AddStringToObject(meta, "driver", "interval");
	cJSON_AddItemToObject(d, "payload", p);
	if (hub->fan.ndetailed)
		status_publish_to(hub, d, p, HUB_TO_DETAILED);
	if (hub->fan.nsubs > hub->fan.ndetailed)
		status_publish_to(hub, d, p, HUB_TO_PLAIN);
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
