#ifndef PROGRESS_H
#define PROGRESS_H

#include "capture.h"

/* The kitchen's progress through its capture files, as one status line on
 * a terminal (log_status()): the share of their bytes read, packets a
 * second, dumplings made and the time left, redrawn at most ten times a
 * second. */

struct progress;

/* NULL, and nothing shown, unless every source is a file, stderr is a
 * terminal and info lines are logged (no -q). */
struct progress *progress_start(const struct capture_source *sources, int nsources,
				double started);

/* Whether a tenth of a second has passed since the last redraw (never,
 * for NULL). */
int progress_due(const struct progress *p);

/* Redraw the line. */
void progress_show(struct progress *p, unsigned long packets, unsigned long dumplings);

/* Clear the line, for good. */
void progress_end(struct progress *p);

#endif
