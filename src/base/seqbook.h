#ifndef SEQBOOK_H
#define SEQBOOK_H

#include <stddef.h>

/* The books of kitchen runs, kept by whoever receives dumplings (the hub,
 * an eater): per (kitchen, run), the last metadata.seq seen and how many
 * are missing before it. seq has no gaps at the source, so a gap is
 * dumplings lost on the way. The first dumpling seen of a run sets where
 * it starts: one heard of mid-way has lost nothing the reader can know. */
struct seq_run {
	char *kitchen, *run;
	unsigned long long last, lost;
	unsigned long long heard;	/* the book's note count when last heard */
};

struct seq_book {
	struct seq_run *runs;
	int n, hit;
	int max;			/* runs kept (0: any); past it, the oldest heard go */
	unsigned long long lost;	/* in all runs */
	unsigned long long out_of_order; /* seen at or below a run's last */
	unsigned long long notes;
};

/* Note one dumpling; seq 0, or no kitchen or run, is not numbered. */
void seq_book_note(struct seq_book *b, const char *kitchen, const char *run,
		   unsigned long long seq);
void seq_book_free(struct seq_book *b);

#endif
