/* The books of each kitchen run the hub has heard from: the last seq it
 * received and the dumplings missing before it (a gap is what left a
 * kitchen's chefs but never reached the hub: dropped at its uplink, lost
 * with a broken connection). Kept by kitchen name and run, not by
 * connection, so a kitchen that reconnects goes on in the same book and
 * what it lost in between shows as a gap. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/util.h"
#include "hub.h"

/* Runs kept; past it the one heard from longest ago goes. */
#define HUB_SEQ_RUNS 1024

struct hub_seq_run {
	char *kitchen, *run;
	unsigned long long last, lost;
	double heard;		/* monotonic_seconds() */
};

static struct hub_seq_run *seq_find(struct hub *hub, const char *kitchen, const char *run)
{
	struct hub_seq_run *r = hub->seq_runs;

	if (hub->seq_hit < hub->nseq_runs && !strcmp(r[hub->seq_hit].run, run) &&
	    !strcmp(r[hub->seq_hit].kitchen, kitchen))
		return &r[hub->seq_hit];
	for (int i = 0; i < hub->nseq_runs; i++) {
		if (!strcmp(r[i].run, run) && !strcmp(r[i].kitchen, kitchen)) {
			hub->seq_hit = i;
			return &r[i];
		}
	}
	return NULL;
}

static struct hub_seq_run *seq_add(struct hub *hub, const char *kitchen, const char *run)
{
	struct hub_seq_run *r;

	if (hub->nseq_runs == HUB_SEQ_RUNS) {
		int oldest = 0;

		for (int i = 1; i < hub->nseq_runs; i++)
			if (hub->seq_runs[i].heard < hub->seq_runs[oldest].heard)
				oldest = i;
		r = &hub->seq_runs[oldest];
		free(r->kitchen);
		free(r->run);
	} else {
		hub->seq_runs = xrealloc(hub->seq_runs, (hub->nseq_runs + 1) * sizeof *hub->seq_runs);
		r = &hub->seq_runs[hub->nseq_runs++];
	}
	r->kitchen = xstrdup(kitchen);
	r->run = xstrdup(run);
	r->last = r->lost = 0;
	return r;
}

void hub_seq_note(struct hub *hub, const char *kitchen, const char *run,
		  unsigned long long seq)
{
	struct hub_seq_run *r;

	if (!kitchen || !run || !seq)
		return;
	r = seq_find(hub, kitchen, run);
	if (!r) {
		/* A run first heard of mid-way (the hub restarted): nothing
		 * before it is counted, the hub cannot know. */
		r = seq_add(hub, kitchen, run);
		r->last = seq - 1;
	}
	r->heard = monotonic_seconds();
	if (seq <= r->last)
		return;
	r->lost += seq - r->last - 1;
	hub->lost_upstream += seq - r->last - 1;
	r->last = seq;
}

void hub_seq_status(struct hub *hub, cJSON *p)
{
	cJSON *runs = cJSON_AddArrayToObject(p, "kitchen_runs");

	for (int i = 0; i < hub->nseq_runs; i++) {
		const struct hub_seq_run *r = &hub->seq_runs[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "kitchen", r->kitchen);
		cJSON_AddStringToObject(o, "run", r->run);
		cJSON_AddNumberToObject(o, "last_seq", (double)r->last);
		cJSON_AddNumberToObject(o, "lost", (double)r->lost);
		cJSON_AddItemToArray(runs, o);
	}
}

void hub_seq_by_kitchen(struct hub *hub, void (*each)(void *ctx, const char *kitchen,
						     double last_seq, double lost), void *ctx)
{
	for (int i = 0; i < hub->nseq_runs; i++) {
		const struct hub_seq_run *r = &hub->seq_runs[i];
		double lost = 0, last = 0, heard = -1;
		int first = 1;

		/* one series per kitchen name: its runs' losses added up, and
		 * the last seq of the run heard from last */
		for (int j = 0; j < hub->nseq_runs && first; j++)
			if (j < i && !strcmp(hub->seq_runs[j].kitchen, r->kitchen))
				first = 0;
		if (!first)
			continue;
		for (int j = i; j < hub->nseq_runs; j++) {
			const struct hub_seq_run *s = &hub->seq_runs[j];

			if (strcmp(s->kitchen, r->kitchen))
				continue;
			lost += (double)s->lost;
			if (s->heard > heard) {
				heard = s->heard;
				last = (double)s->last;
			}
		}
		each(ctx, r->kitchen, last, lost);
	}
}

void hub_seq_free(struct hub *hub)
{
	for (int i = 0; i < hub->nseq_runs; i++) {
		free(hub->seq_runs[i].kitchen);
		free(hub->seq_runs[i].run);
	}
	free(hub->seq_runs);
	hub->seq_runs = NULL;
	hub->nseq_runs = 0;
}
