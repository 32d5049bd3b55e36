/* GET /metrics: the hub's numbers for Prometheus, the same ones the
 * SystemStatusChef dumpling carries: both read them from hub_stats.h.
 * Totals since start are counters; what is connected or queued right now
 * is a gauge. Per-connection series are
 * labelled with the name from the hello and the peer's address, because two
 * kitchens (or eaters) may well share a name; they come and go with their
 * connections, as Prometheus expects of per-target series. What kitchens
 * report of themselves (hub_health.c) is labelled by kitchen name alone,
 * and by source or chef, so that it goes on across reconnects. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "hub.h"
#include "hub_link.h"
#include "hub_metrics.h"
#include "base/util.h"

#define METRIC_PREFIX "dumplings_hub_"

static void metric_header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP " METRIC_PREFIX "%s %s\n", name, help);
	fprintf(f, "# TYPE " METRIC_PREFIX "%s %s\n", name, type);
}

/* Label values escape exactly backslash, double quote and newline. */
static void label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

void hub_metrics_label(FILE *f, const char *s)
{
	label_value(f, s);
}

/* ---- the hub as a whole, and one series per connection ----------------- */

/* One of the numbers every hub has (hub_stats.h); seconds to the
 * millisecond, which is all a scrape can tell. */
static void hub_family(FILE *f, struct hub *hub, const struct hub_stat *m)
{
	double v = m->value(hub);

	if (m->form == HUB_STAT_SECONDS)
		v = round(v * 1e3) / 1e3;
	metric_header(f, m->metric, m->type, m->help);
	fprintf(f, METRIC_PREFIX "%s %.15g\n", m->metric, v);
}

static void conn_sample(FILE *f, struct hub *hub, const struct hub_conn_stat *m,
			struct hub_conn *c)
{
	fprintf(f, METRIC_PREFIX "%s{%s=\"", m->metric,
		m->role == HUB_KITCHEN ? "kitchen" : "eater");
	label_value(f, c->name ? c->name : "");
	fprintf(f, "\",peer=\"%s:%d\"} %.15g\n", c->host, c->port, m->value(hub, c));
}

/* Only connections that said hello count, as in the status dumpling. */
static void conn_family(FILE *f, struct hub *hub, const struct hub_conn_stat *m)
{
	struct hub_conn *c = m->role == HUB_KITCHEN ? hub->kitchens : hub->eaters;

	metric_header(f, m->metric, m->type, m->help);
	for (; c; c = c->next)
		if (m->role == HUB_KITCHEN ? c->greeted : c->sub.fed)
			conn_sample(f, hub, m, c);
}

/* ---- one series per kitchen name, surviving reconnects --------------------- */

struct seq_sample {
	FILE *f;
	int lost;	/* which of the two families */
};

static void seq_sample(void *ctx, const char *kitchen, double last_seq, double lost)
{
	struct seq_sample *s = ctx;

	fprintf(s->f, METRIC_PREFIX "%s{kitchen=\"", s->lost ? "kitchen_dumplings_lost_total"
							  : "kitchen_last_seq");
	label_value(s->f, kitchen);
	fprintf(s->f, "\"} %.15g\n", s->lost ? lost : last_seq);
}

static void kitchen_seq_families(FILE *f, struct hub *hub)
{
	struct seq_sample s = { f, 1 };

	metric_header(f, "kitchen_dumplings_lost_total", "counter",
		      "Dumplings missing from each kitchen's seq numbers, over its runs.");
	hub_seq_by_kitchen(hub, seq_sample, &s);
	s.lost = 0;
	metric_header(f, "kitchen_last_seq", "gauge",
		      "The last seq received from each kitchen (its latest run).");
	hub_seq_by_kitchen(hub, seq_sample, &s);
}

/* ---- one series per kitchen name, from its latest KitchenStatusChef --------- */

enum health_part { PART_KITCHEN, PART_SOURCE, PART_CHEF };

#define HEALTH_AGE (-1)		/* not a number of the report: how old it is */

struct health_metric {
	const char *name, *type, *help;
	enum health_part part;
	int stat;		/* an enum hub_health_*_stat of that part */
};

static const struct health_metric health_metrics[] = {
	{ "kitchen_status_age_seconds", "gauge",
	  "Seconds since each kitchen's latest KitchenStatusChef report came.",
	  PART_KITCHEN, HEALTH_AGE },
	{ "kitchen_uptime_seconds", "gauge",
	  "Seconds each kitchen had been running, at its latest report.",
	  PART_KITCHEN, HUB_HEALTH_UPTIME },
	{ "kitchen_packets_total", "counter",
	  "Packets each kitchen handed to its chefs, from all its sources.",
	  PART_KITCHEN, HUB_HEALTH_PACKETS },
	{ "kitchen_source_packets_total", "counter",
	  "Packets each kitchen handed to its chefs, by source.",
	  PART_SOURCE, HUB_HEALTH_SOURCE_PACKETS },
	{ "kitchen_source_filter_passed_total", "counter",
	  "Packets that passed each kitchen's filter, by source, as libpcap counts them.",
	  PART_SOURCE, HUB_HEALTH_SOURCE_PASSED },
	{ "kitchen_source_kernel_dropped_total", "counter",
	  "Packets the kernel dropped before each kitchen, by source, as libpcap counts them.",
	  PART_SOURCE, HUB_HEALTH_SOURCE_KERNEL },
	{ "kitchen_source_interface_dropped_total", "counter",
	  "Packets the interface dropped before each kitchen, by source, as libpcap counts them.",
	  PART_SOURCE, HUB_HEALTH_SOURCE_IFACE },
	{ "kitchen_chef_calls_total", "counter",
	  "Calls of each kitchen's chefs (packets and intervals), by chef.",
	  PART_CHEF, HUB_HEALTH_CHEF_CALLS },
	{ "kitchen_chef_errors_total", "counter",
	  "Errors in each kitchen's chefs, by chef.", PART_CHEF, HUB_HEALTH_CHEF_ERRORS },
	{ "kitchen_chef_dumplings_total", "counter",
	  "Dumplings each kitchen's chefs made, by chef.", PART_CHEF, HUB_HEALTH_CHEF_DUMPLINGS },
	{ "kitchen_chef_seconds_total", "counter",
	  "Seconds each kitchen spent in its chefs, by chef, as the kitchen samples it.",
	  PART_CHEF, HUB_HEALTH_CHEF_SECONDS },
	{ "kitchen_uplink_sent_total", "counter",
	  "Dumplings each kitchen's uplink sent to a hub.", PART_KITCHEN, HUB_HEALTH_SENT },
	{ "kitchen_uplink_buffered", "gauge",
	  "Dumplings waiting in each kitchen's uplink buffer.", PART_KITCHEN, HUB_HEALTH_BUFFERED },
	{ "kitchen_uplink_dropped_total", "counter",
	  "Dumplings each kitchen's uplink dropped.", PART_KITCHEN, HUB_HEALTH_DROPPED },
	{ "kitchen_uplink_reconnects_total", "counter",
	  "Times each kitchen's uplink connected to a hub again.", PART_KITCHEN, HUB_HEALTH_RECONNECTS },
	{ "kitchen_uplink_last_seq", "gauge",
	  "The last seq each kitchen's uplink sent.", PART_KITCHEN, HUB_HEALTH_LAST_SEQ },
	{ "kitchen_uplink_resent_total", "counter",
	  "Dumplings each kitchen's uplink sent again after a connection broke.",
	  PART_KITCHEN, HUB_HEALTH_RESENT },
	{ "kitchen_uplink_unconfirmed_total", "counter",
	  "Dumplings each kitchen wrote to a connection that broke, not known to have arrived.",
	  PART_KITCHEN, HUB_HEALTH_UNCONFIRMED },
	{ "kitchen_uplink_acked_seq", "gauge",
	  "The last seq a hub acknowledged to each kitchen.", PART_KITCHEN, HUB_HEALTH_ACKED_SEQ },
	{ "kitchen_flows_active", "gauge",
	  "Flows each kitchen tracks now.", PART_KITCHEN, HUB_HEALTH_FLOWS_ACTIVE },
	{ "kitchen_flows_created_total", "counter",
	  "Flows each kitchen began tracking.", PART_KITCHEN, HUB_HEALTH_FLOWS_CREATED },
	{ "kitchen_flows_ended_total", "counter",
	  "Flows that ended in each kitchen, for any reason.", PART_KITCHEN, HUB_HEALTH_FLOWS_ENDED },
	{ "kitchen_flows_evicted_total", "counter",
	  "Flows each kitchen ended early because its flow table was full.",
	  PART_KITCHEN, HUB_HEALTH_FLOWS_EVICTED },
	{ "kitchen_flows_untracked_total", "counter",
	  "IP packets each kitchen could join to no flow (fragments, cut headers).",
	  PART_KITCHEN, HUB_HEALTH_FLOWS_UNTRACKED },
	{ "kitchen_fragments_reassembled_total", "counter",
	  "IP datagrams each kitchen reassembled from fragments.",
	  PART_KITCHEN, HUB_HEALTH_FRAGS_REASSEMBLED },
	{ "kitchen_fragments_pending", "gauge",
	  "IP datagrams each kitchen holds fragments of, not yet complete.",
	  PART_KITCHEN, HUB_HEALTH_FRAGS_PENDING },
	{ "kitchen_fragments_timed_out_total", "counter",
	  "IP datagrams whose fragments each kitchen dropped incomplete, timed out.",
	  PART_KITCHEN, HUB_HEALTH_FRAGS_TIMED_OUT },
	{ "kitchen_fragments_evicted_total", "counter",
	  "IP datagrams whose fragments each kitchen dropped incomplete to make room.",
	  PART_KITCHEN, HUB_HEALTH_FRAGS_EVICTED },
	{ "kitchen_fragments_unfinished_total", "counter",
	  "IP datagrams still incomplete when each kitchen's source ended.",
	  PART_KITCHEN, HUB_HEALTH_FRAGS_UNFINISHED },
	{ "kitchen_fragments_overlaps_total", "counter",
	  "IP fragments that overlapped others, in each kitchen.",
	  PART_KITCHEN, HUB_HEALTH_FRAGS_OVERLAPS },
	{ "kitchen_flows_events_dropped_total", "counter",
	  "Flow events (ends, stream data) each kitchen could not carry to its chefs.",
	  PART_KITCHEN, HUB_HEALTH_FLOWS_EVENTS_DROPPED },
	{ "kitchen_streams_bytes_total", "counter",
	  "TCP stream bytes each kitchen handed to its stream chefs.",
	  PART_KITCHEN, HUB_HEALTH_STREAMS_BYTES },
	{ "kitchen_streams_gap_bytes_total", "counter",
	  "TCP stream bytes each kitchen reported to its stream chefs as holes.",
	  PART_KITCHEN, HUB_HEALTH_STREAMS_GAP_BYTES },
	{ "kitchen_streams_dir_limit_total", "counter",
	  "Times a connection's direction reached each kitchen's per-direction stream memory.",
	  PART_KITCHEN, HUB_HEALTH_STREAMS_DIR_LIMIT },
	{ "kitchen_streams_total_limit_total", "counter",
	  "Times each kitchen's stream memory as a whole was full.",
	  PART_KITCHEN, HUB_HEALTH_STREAMS_TOTAL_LIMIT },
	{ "kitchen_streams_memory_bytes", "gauge",
	  "Memory each kitchen holds for TCP stream reassembly.",
	  PART_KITCHEN, HUB_HEALTH_STREAMS_MEMORY },
};

static void health_sample(FILE *f, const struct health_metric *m, const char *kitchen,
			  const char *item, double v)
{
	fprintf(f, METRIC_PREFIX "%s{kitchen=\"", m->name);
	label_value(f, kitchen);
	if (item) {
		fputs(m->part == PART_SOURCE ? "\",source=\"" : "\",chef=\"", f);
		label_value(f, item);
	}
	fprintf(f, "\"} %.15g\n", v);
}

static void health_items(FILE *f, const struct health_metric *m, const struct hub_health *h)
{
	const struct hub_health_item *items = m->part == PART_SOURCE ? h->sources : h->chefs;
	int n = m->part == PART_SOURCE ? h->nsources : h->nchefs;

	for (int i = 0; i < n; i++)
		if (items[i].have & 1u << m->stat)
			health_sample(f, m, h->kitchen, items[i].name, items[i].v[m->stat]);
}

static void health_family(FILE *f, struct hub *hub, const struct health_metric *m)
{
	double now = monotonic_seconds();

	metric_header(f, m->name, m->type, m->help);
	for (int i = 0; i < hub->health.n; i++) {
		const struct hub_health *h = &hub->health.k[i];

		if (m->part != PART_KITCHEN)
			health_items(f, m, h);
		else if (m->stat == HEALTH_AGE)
			health_sample(f, m, h->kitchen, NULL, round((now - h->received) * 1e3) / 1e3);
		else if (h->have & 1u << m->stat)
			health_sample(f, m, h->kitchen, NULL, h->v[m->stat]);
	}
}

char *hub_metrics_text(struct hub *hub, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (!f)
		return NULL;
	for (size_t i = 0; i < hub_nstats; i++)
		hub_family(f, hub, &hub_stats[i]);
	for (size_t i = 0; i < hub_nconn_stats; i++)
		conn_family(f, hub, &hub_conn_stats[i]);
	kitchen_seq_families(f, hub);
	for (size_t i = 0; i < sizeof health_metrics / sizeof *health_metrics; i++)
		health_family(f, hub, &health_metrics[i]);
	hub_link_metrics(hub, f);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
