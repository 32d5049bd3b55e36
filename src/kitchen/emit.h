#ifndef EMIT_H
#define EMIT_H

#include <stddef.h>

#include "jsontree.h"
#include "plate.h"

/* The emit stage: the one owner of what a dumpling says besides its
 * payload (its envelope: chef, kitchen, time, driver, revision, run and
 * seq), of the seq numbers, of the printer thread that turns plates into
 * JSON text, and of the sink that text goes to. The kitchen thread fills
 * plates and sends them; only the printer thread calls the sink's emit()
 * and flush(), until emit_close(). */
struct emit;
struct sink;
struct sink_stats;
struct kitchen_info;

/* What a dumpling's envelope says besides its payload. */
struct dumpling_meta {
	const char *chef;	/* as JSON strings, quotes included */
	const char *kitchen;
	const char *driver;
	const char *chef_rev;	/* hex, or NULL */
	const char *creation_time;	/* already spelled as a JSON number */
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

/* Start printing to sink, which the emit stage owns from now on. kitchen
 * names the kitchen in every envelope; a dumpling whose JSON is longer
 * than max_len is skipped and logged with its chef's name (0: no limit).
 * Once *stop (the kitchen's, or NULL) is set, the sink is told to stop
 * waiting for room, by whichever thread next waits here. */
struct emit *emit_start(struct sink *sink, const char *kitchen, size_t max_len,
			const _Atomic int *stop);

/* The plate to fill next, empty; waits while every plate is still being
 * printed. */
struct plate *emit_plate(struct emit *e);

/* Hand the plate from emit_plate() over, to be printed after those sent
 * before it. */
void emit_send(struct emit *e, struct plate *p);

/* A dumpling the kitchen makes itself (its health), payload given as JSON
 * text, sent in line with the chefs' dumplings. */
void emit_json(struct emit *e, const char *chef, const char *json);

/* Wait until everything sent has gone to the sink. */
void emit_wait(struct emit *e);

/* Dumplings handed to the sink, and dumplings that could not be printed. */
void emit_counts(struct emit *e, unsigned long *printed, unsigned long *failed);

/* The seq of the last dumpling sent to the sink, 0 before the first. */
unsigned long long emit_last_seq(struct emit *e);

/* Whether the sink said nobody will read again. */
int emit_sink_gone(struct emit *e);

/* The kitchen's description changed: the sink tells whoever reads. */
void emit_describe(struct emit *e, const struct kitchen_info *info);

/* What the sink did so far: 0, or -1 when it keeps no counts. */
int emit_sink_stats(struct emit *e, struct sink_stats *st);

/* Print what was sent, stop the printer thread and close the sink; what
 * is sent afterwards is dropped. Returns the sink's close(): -1 when
 * dumplings that had to arrive did not. Another thread may call it while
 * the kitchen thread is stuck in Lua (the guard's last words). */
int emit_close(struct emit *e);
void emit_free(struct emit *e);

#endif
