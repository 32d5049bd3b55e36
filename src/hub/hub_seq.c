/* What the hub's books (base/seqbook.c, kept in hub->seq by kitchen name
 * and run, not by connection, so that a kitchen that reconnects goes on in
 * the same book and what it lost in between shows as a gap) say, for the
 * status dumpling and /metrics. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hub.h"
#include "base/util.h"

/* what a run's entry takes beside its names */
#define SEQ_ENTRY_SIZE 64

static int heard_later(const void *a, const void *b)
{
	const struct seq_run *x = *(const struct seq_run *const *)a;
	const struct seq_run *y = *(const struct seq_run *const *)b;

	return x->heard < y->heard ? 1 : x->heard > y->heard ? -1 : 0;
}

void hub_seq_status(struct hub *hub, cJSON *p, size_t budget)
{
	cJSON *runs = cJSON_AddArrayToObject(p, "kitchen_runs");
	const struct seq_run **order = xcalloc((size_t)hub->seq.n + 1, sizeof *order);
	unsigned long unlisted = 0;
	size_t used = 0;

	/* the books keep up to SEQ_BOOK_RUNS runs: those heard from last
	 * come first, while they fit */
	for (int i = 0; i < hub->seq.n; i++)
		order[i] = &hub->seq.runs[i];
	qsort(order, (size_t)hub->seq.n, sizeof *order, heard_later);
	for (int i = 0; i < hub->seq.n; i++) {
		const struct seq_run *r = order[i];
		size_t size = strlen(r->kitchen) + strlen(r->run) + SEQ_ENTRY_SIZE;
		cJSON *o;

		if (used + size > budget) {
			unlisted++;
			continue;
		}
		used += size;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "kitchen", r->kitchen);
		cJSON_AddStringToObject(o, "run", r->run);
		cJSON_AddNumberToObject(o, "last_seq", (double)r->last);
		cJSON_AddNumberToObject(o, "lost", (double)r->lost);
		cJSON_AddItemToArray(runs, o);
	}
	cJSON_AddNumberToObject(p, "kitchen_runs_unlisted", (double)unlisted);
	free(order);
}

static int seen_before(const struct seq_book *b, int i)
{
	for (int j = 0; j < i; j++)
		if (!strcmp(b->runs[j].kitchen, b->runs[i].kitchen))
			return 1;
	return 0;
}

/* One series per kitchen name: its runs' losses added up, and the last
 * seq of the run heard from last. */
void hub_seq_by_kitchen(struct hub *hub, void (*each)(void *ctx, const char *kitchen,
						     double last_seq, double lost), void *ctx)
{
	const struct seq_book *b = &hub->seq;

	for (int i = 0; i < b->n; i++) {
		const struct seq_run *latest = &b->runs[i];
		double lost = 0;

		if (seen_before(b, i))
			continue;
		for (int j = i; j < b->n; j++) {
			const struct seq_run *r = &b->runs[j];

			if (strcmp(r->kitchen, latest->kitchen))
				continue;
			lost += (double)r->lost;
			if (r->heard > latest->heard)
				latest = r;
		}
		each(ctx, latest->kitchen, (double)latest->last, lost);
	}
}
