/* The kitchen's own health, as KitchenStatusChef dumplings: what each
 * source read and what was dropped before it (libpcap's counts), what
 * each chef did and how long it took, and what the uplink sent, holds
 * and dropped. They go out in line with the chefs' dumplings, numbered
 * like them, so that a reader can set every loss against them. */
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "base/util.h"
#include "health.h"
#include "sink.h"

static void add_source(cJSON *sources, const struct health_report *r, int i)
{
	const struct capture_source *src = &r->sources[i];
	cJSON *s = cJSON_CreateObject();
	struct capture_counts c;

	reader_counts(r->reader, i, &c);
	cJSON_AddStringToObject(s, "name", src->name);
	cJSON_AddNumberToObject(s, "packets", (double)src->packets);
	cJSON_AddNumberToObject(s, "filter_passed", (double)c.passed);
	cJSON_AddNumberToObject(s, "kernel_dropped", (double)c.kernel_dropped);
	cJSON_AddNumberToObject(s, "interface_dropped", (double)c.interface_dropped);
	cJSON_AddItemToArray(sources, s);
}

static void add_uplink(cJSON *h, struct emit *emit)
{
	struct sink_stats st;
	cJSON *u;

	if (emit_sink_stats(emit, &st) < 0)
		return;
	u = cJSON_AddObjectToObject(h, "uplink");
	cJSON_AddNumberToObject(u, "sent", (double)st.sent);
	cJSON_AddNumberToObject(u, "buffered", (double)st.buffered);
	cJSON_AddNumberToObject(u, "dropped", (double)st.dropped);
	cJSON_AddNumberToObject(u, "reconnects", (double)st.reconnects);
	cJSON_AddNumberToObject(u, "resent", (double)st.resent);
	cJSON_AddNumberToObject(u, "unconfirmed", (double)st.unconfirmed);
	cJSON_AddNumberToObject(u, "last_seq", (double)emit_last_seq(emit));
	cJSON_AddNumberToObject(u, "acked_seq", (double)st.acked);
}

/* IP fragment reassembly (ipfrag.h): what came, what it made, and what
 * never completed or could not be used. */
static void add_fragments(cJSON *h, struct reader *reader)
{
	struct ipfrag_stats st;
	cJSON *f = cJSON_AddObjectToObject(h, "fragments");

	reader_fragments(reader, &st);
	cJSON_AddNumberToObject(f, "fragments", (double)st.fragments);
	cJSON_AddNumberToObject(f, "reassembled", (double)st.reassembled);
	cJSON_AddNumberToObject(f, "pending", (double)st.pending);
	cJSON_AddNumberToObject(f, "memory", (double)st.memory);
	cJSON_AddNumberToObject(f, "timed_out", (double)st.timed_out);
	cJSON_AddNumberToObject(f, "evicted", (double)st.evicted);
	cJSON_AddNumberToObject(f, "unfinished", (double)st.unfinished);
	cJSON_AddNumberToObject(f, "overlaps", (double)st.overlaps);
	cJSON_AddNumberToObject(f, "overlaps_differing", (double)st.overlaps_differing);
	cJSON_AddNumberToObject(f, "too_big", (double)st.too_big);
	cJSON_AddNumberToObject(f, "truncated", (double)st.truncated);
	cJSON_AddNumberToObject(f, "inconsistent", (double)st.inconsistent);
}

static void add_flows(cJSON *h, struct reader *reader)
{
	struct flow_stats st;
	cJSON *f = cJSON_AddObjectToObject(h, "flows");

	reader_flow_stats(reader, &st);
	cJSON_AddNumberToObject(f, "active", (double)st.active);
	cJSON_AddNumberToObject(f, "created", (double)st.created);
	cJSON_AddNumberToObject(f, "ended", (double)st.ended);
	cJSON_AddNumberToObject(f, "evicted", (double)st.evicted);
	cJSON_AddNumberToObject(f, "untracked", (double)st.untracked);
	cJSON_AddNumberToObject(f, "events_dropped", (double)st.events_dropped);
}

/* TCP stream reassembly (tcpreasm.h), for the chefs that ask for it. */
static void add_streams(cJSON *h, struct reader *reader)
{
	struct tcpreasm_pool pool;
	const struct tcpreasm_stats *st = &pool.stats;
	cJSON *s = cJSON_AddObjectToObject(h, "streams");

	reader_stream_stats(reader, &pool);
	cJSON_AddNumberToObject(s, "directions", (double)st->directions);
	cJSON_AddNumberToObject(s, "midstream", (double)st->midstream);
	cJSON_AddNumberToObject(s, "segments", (double)st->segments);
	cJSON_AddNumberToObject(s, "bytes", (double)st->bytes);
	cJSON_AddNumberToObject(s, "out_of_order", (double)st->pieces);
	cJSON_AddNumberToObject(s, "retransmits", (double)st->retransmits);
	cJSON_AddNumberToObject(s, "overlaps", (double)st->overlaps);
	cJSON_AddNumberToObject(s, "overlaps_differing", (double)st->overlaps_differ);
	cJSON_AddNumberToObject(s, "gaps", (double)st->gaps);
	cJSON_AddNumberToObject(s, "gap_bytes", (double)st->gap_bytes);
	cJSON_AddNumberToObject(s, "dir_limit", (double)st->dir_limit);
	cJSON_AddNumberToObject(s, "total_limit", (double)st->total_limit);
	cJSON_AddNumberToObject(s, "out_of_window", (double)st->out_of_window);
	cJSON_AddNumberToObject(s, "after_end", (double)st->after_end);
	cJSON_AddNumberToObject(s, "no_memory", (double)st->no_memory);
	cJSON_AddNumberToObject(s, "memory", (double)pool.held);
	cJSON_AddNumberToObject(s, "memory_peak", (double)pool.held_peak);
}

/* TLS hellos and HTTP heads that a segment cut (flow.c). */
static void add_heads(cJSON *h, struct reader *reader)
{
	struct flow_stats st;
	cJSON *s = cJSON_GetObjectItem(h, "streams");

	reader_flow_stats(reader, &st);
	cJSON_AddNumberToObject(s, "heads", (double)st.heads);
	cJSON_AddNumberToObject(s, "heads_decoded", (double)st.heads_decoded);
}

/* What dumplings.capture() made, and what the disk bound took back. */
static void add_captures(cJSON *h, struct flowcap *fc)
{
	struct flowcap_stats st;
	cJSON *c;

	if (!fc)
		return;
	flowcap_stats(fc, &st);
	c = cJSON_AddObjectToObject(h, "captures");
	cJSON_AddNumberToObject(c, "made", (double)st.made);
	cJSON_AddNumberToObject(c, "open", (double)st.open);
	cJSON_AddNumberToObject(c, "deleted", (double)st.deleted);
	cJSON_AddNumberToObject(c, "cut", (double)st.cut);
	cJSON_AddNumberToObject(c, "failed", (double)st.failed);
	cJSON_AddNumberToObject(c, "packets", (double)st.packets);
	cJSON_AddNumberToObject(c, "bytes", (double)st.bytes);
	cJSON_AddNumberToObject(c, "lookback_packets", (double)st.ring_packets);
	cJSON_AddNumberToObject(c, "lookback_bytes", (double)st.ring_bytes);
	cJSON_AddNumberToObject(c, "lookback_too_large", (double)st.ring_too_large);
	cJSON_AddNumberToObject(c, "lookback_pushed_out", (double)st.ring_pushed_out);
}

char *health_payload(const struct health_report *r)
{
	cJSON *h = cJSON_CreateObject(), *sources;
	unsigned long packets = 0;
	char *json;

	sources = cJSON_AddArrayToObject(h, "sources");
	for (int i = 0; i < r->nsources; i++) {
		add_source(sources, r, i);
		packets += r->sources[i].packets;
	}
	cJSON_AddNumberToObject(h, "packets", (double)packets);
	add_fragments(h, r->reader);
	cJSON_AddItemToObject(h, "chefs", chef_runtime_health(r->chefs));
	add_flows(h, r->reader);
	add_streams(h, r->reader);
	add_heads(h, r->reader);
	add_uplink(h, r->emit);
	add_captures(h, r->captures);
	cJSON_AddNumberToObject(h, "pokes_skipped", (double)r->pokes_skipped);
	cJSON_AddNumberToObject(h, "uptime", monotonic_seconds() - r->started);
	cJSON_AddBoolToObject(h, "final", r->final);
	json = cJSON_PrintUnformatted(h);
	cJSON_Delete(h);
	return json;
}

void health_report(const struct health_report *r)
{
	char *json = health_payload(r);

	emit_json(r->emit, HEALTH_CHEF, json);
	free(json);
}
