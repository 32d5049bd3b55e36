#ifndef READER_H
#define READER_H

#include "batch.h"
#include "capture.h"

/* Capture files read and decoded in a thread, in order, as batches. */

struct reader;

/* speed: replay at this multiple of the recorded pace; 0 for at once. */
struct reader *reader_start(struct capture_source *sources, int nsources, double speed);

/* Readable when a batch may be ready. */
int reader_fd(const struct reader *r);

/* The next batch, or NULL: then *done says whether every file is read. */
struct batch *reader_next(struct reader *r, int *done);

/* Give a cooked batch back for refilling. */
void reader_release(struct reader *r, struct batch *b);

/* Stop reading, wait for the thread, free everything. Returns whether a
 * read error happened. */
int reader_stop(struct reader *r);

#endif
