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

/* Runs a reader keeps books of, by default: past it the oldest heard go,
 * so that kitchens (or a hub) inventing runs cannot grow it without end. */
enum { SEQ_BOOK_RUNS = 1024 };

struct seq_book {
	struct seq_run *runs;
	int n, hit;
	int max;			/* runs kept (0: any); past it, the oldest heard go */
	unsigned long long lost;	/* in all runs */
	/* seen at or below a run's last: sent again after a connection
	 * broke (an uplink resends what the hub had not acknowledged) */
	unsigned long long repeated;
	unsigned long long notes;
};

/* Note one dumpling; seq 0, or no kitchen or run, is not numbered.
 * Returns 0 for a dumpling seen before (at or below its run's last seq),
 * which the reader should drop, and 1 otherwise. */
int seq_book_note(struct seq_book *b, const char *kitchen, const char *run,
		   unsigned long long seq);
/* Every run of kitchen leaves the book: what it sends next starts it again
 * (its reader did not listen for a while, and lost nothing). */
void seq_book_forget(struct seq_book *b, const char *kitchen);
/* A run's last seq, or 0 if the book has none of it. */
unsigned long long seq_book_last(struct seq_book *b, const char *kitchen, const char *run);
void seq_book_free(struct seq_book *b);

#endif
