/* Counting what was lost on the way, by the gaps in each kitchen run's
 * sequence numbers (see seqbook.h). */
#include <stdlib.h>
#include <string.h>

#include "seqbook.h"
#include "util.h"

static struct seq_run *find_run(struct seq_book *b, const char *kitchen, const char *run)
{
	struct seq_run *r = b->runs;

	if (b->hit < b->n && !strcmp(r[b->hit].run, run) && !strcmp(r[b->hit].kitchen, kitchen))
		return &r[b->hit];
	for (int i = 0; i < b->n; i++) {
		if (!strcmp(r[i].run, run) && !strcmp(r[i].kitchen, kitchen)) {
			b->hit = i;
			return &r[i];
		}
	}
	return NULL;
}

/* A slot for a new run: a new one, or past the bound the one heard from
 * longest ago. */
static struct seq_run *new_run(struct seq_book *b)
{
	struct seq_run *r;

	if (b->max && b->n == b->max) {
		int oldest = 0;

		for (int i = 1; i < b->n; i++)
			if (b->runs[i].heard < b->runs[oldest].heard)
				oldest = i;
		r = &b->runs[oldest];
		free(r->kitchen);
		free(r->run);
		return r;
	}
	b->runs = xrealloc(b->runs, (b->n + 1) * sizeof *b->runs);
	return &b->runs[b->n++];
}

int seq_book_note(struct seq_book *b, const char *kitchen, const char *run,
		  unsigned long long seq)
{
	struct seq_run *r;

	if (!kitchen || !run || !seq)
		return 1;
	r = find_run(b, kitchen, run);
	if (!r) {
		r = new_run(b);
		r->kitchen = xstrdup(kitchen);
		r->run = xstrdup(run);
		r->last = seq - 1;
		r->lost = 0;
		b->hit = (int)(r - b->runs);
	}
	r->heard = ++b->notes;
	if (seq <= r->last) {
		b->repeated++;
		return 0;
	}
	r->lost += seq - r->last - 1;
	b->lost += seq - r->last - 1;
	r->last = seq;
	return 1;
}

void seq_book_forget(struct seq_book *b, const char *kitchen)
{
	int kept = 0;

	for (int i = 0; i < b->n; i++) {
		if (!strcmp(b->runs[i].kitchen, kitchen)) {
			free(b->runs[i].kitchen);
			free(b->runs[i].run);
			continue;
		}
		b->runs[kept++] = b->runs[i];
	}
	b->n = kept;
	b->hit = 0;
}

unsigned long long seq_book_last(struct seq_book *b, const char *kitchen, const char *run)
{
	struct seq_run *r = kitchen && run ? find_run(b, kitchen, run) : NULL;

	return r ? r->last : 0;
}

void seq_book_free(struct seq_book *b)
{
	for (int i = 0; i < b->n; i++) {
		free(b->runs[i].kitchen);
		free(b->runs[i].run);
	}
	free(b->runs);
	memset(b, 0, sizeof *b);
}
