/* Counting what an eater missed: every dumpling carries its kitchen run's
 * id and a sequence number that has no gaps at the source, so a gap seen
 * here is dumplings lost on the way (skipped by the hub for a slow eater,
 * or lost before the hub). The first dumpling seen of a run sets where it
 * starts: an eater that joins late has missed nothing. */
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "eat.h"

struct seq_run {
	char *kitchen, *run;
	unsigned long long last;
};

static struct seq_run *find_run(struct seq_book *b, const char *kitchen, const char *run)
{
	if (b->hit < b->n && !strcmp(b->runs[b->hit].run, run) &&
	    !strcmp(b->runs[b->hit].kitchen, kitchen))
		return &b->runs[b->hit];
	for (size_t i = 0; i < b->n; i++) {
		if (!strcmp(b->runs[i].run, run) && !strcmp(b->runs[i].kitchen, kitchen)) {
			b->hit = i;
			return &b->runs[i];
		}
	}
	return NULL;
}

void seq_book_note(struct seq_book *b, const char *kitchen, const char *run,
		   unsigned long long seq)
{
	struct seq_run *r = find_run(b, kitchen, run);

	if (!r) {
		b->runs = xrealloc(b->runs, (b->n + 1) * sizeof *b->runs);
		r = &b->runs[b->n];
		r->kitchen = xstrdup(kitchen);
		r->run = xstrdup(run);
		r->last = seq;
		b->hit = b->n++;
		return;
	}
	if (seq <= r->last) {
		b->out_of_order++;
		return;
	}
	b->missed += seq - r->last - 1;
	r->last = seq;
}

void seq_book_free(struct seq_book *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->runs[i].kitchen);
		free(b->runs[i].run);
	}
	free(b->runs);
	memset(b, 0, sizeof *b);
}
