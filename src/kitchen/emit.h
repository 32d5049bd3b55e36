#ifndef PRINTER_H
#define PRINTER_H

#include "jsontree.h"

/* What a dumpling's envelope says besides its payload. */
struct dumpling_meta {
	const char *chef;	/* as JSON strings, quotes included */
	const char *kitchen;
	const char *driver;
	const char *chef_rev;	/* hex, or NULL */
	char creation_time[32];	/* already spelled as a JSON number */
	/* Where it stands among all the kitchen run's dumplings: seq counts
	 * 1, 2, 3 ... with no gaps; run (hex, or NULL for none) changes
	 * with every start of the kitchen. */
	unsigned long long seq;
	const char *run;
};

/* The envelope with payload (a tree from an arena) inside, into buf. On
 * success returns the NUL-terminated JSON (owned by buf) and sets *len; on
 * failure returns NULL and sets *why to a static reason. */
const char *emit_envelope(const struct cJSON *payload, const struct dumpling_meta *meta,
			  struct json_buf *buf, size_t *len, const char **why);

struct sink;

/* The printer thread: turns the cJSON trees of a batch's dumplings into
 * text and hands them to the sink, while the chefs run on the next batch.
 * Batches are printed in the order they are submitted, each followed by a
 * flush of the sink. Only the printer thread calls the sink, until
 * printer_stop returns. */
struct printer;

/* One batch being filled: its trees go in its arena. */
struct print_job {
	struct json_arena arena;
	struct print_item *items;
	int n, cap;
};

/* max_len: a dumpling whose JSON is longer is skipped and logged with
 * its chef's name (0: no limit). */
struct printer *printer_start(struct sink *sink, size_t max_len);

/* The job to fill next, empty; waits while every job is still printing. */
struct print_job *printer_job(struct printer *p);

/* Add a dumpling made now to the job: payload lives in the job's arena;
 * the chef's name, chef and kitchen (those two as JSON strings) must
 * outlive the printer; driver and rev (or NULL) are copied. */
void printer_add(struct print_job *job, const struct cJSON *payload, const char *name,
		 const char *chef, const char *kitchen, const char *driver, const char *rev);

/* Hand the job from printer_job over to the printer thread. */
void printer_submit(struct printer *p);

/* Wait until everything submitted has gone to the sink. */
void printer_wait(struct printer *p);

/* Dumplings handed to the sink, and dumplings that could not be printed. */
void printer_counts(struct printer *p, unsigned long *printed, unsigned long *failed);

/* The seq of the last dumpling sent to the sink, 0 before the first. */
unsigned long long printer_last_seq(struct printer *p);

/* Whether the sink said nobody will read again. */
int printer_sink_gone(struct printer *p);

/* Print what is left, stop the thread and free everything. */
void printer_stop(struct printer *p);

#endif
