/* The progress line: how far the reader is into the capture files, by
 * the bytes stdio has handed libpcap. A file being read counts up to its
 * position, the ones before it whole, the ones after it not at all (each
 * is positioned only past its header until its turn comes). A file of
 * unknown size (a pipe, standard input) leaves the share and the time
 * left out. */
#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"
#include "base/util.h"
#include "progress.h"

#define REDRAW_EVERY 0.1	/* seconds */

struct progress {
	const struct capture_source *sources;
	int nsources;
	long long total;	/* bytes in all; 0: unknown */
	double started, drawn;
};

struct progress *progress_start(const struct capture_source *sources, int nsources,
				double started)
{
	struct progress *p;

	if (!nsources || log_where() != LOG_TO_TERMINAL || !log_enabled(LOG_INFO))
		return NULL;
	for (int i = 0; i < nsources; i++)
		if (!sources[i].is_file)
			return NULL;
	p = xcalloc(1, sizeof *p);
	p->sources = sources;
	p->nsources = nsources;
	p->started = started;
	for (int i = 0; i < nsources; i++) {
		if (!sources[i].file_size) {
			p->total = 0;
			break;
		}
		p->total += sources[i].file_size;
	}
	return p;
}

static long long bytes_read(const struct progress *p)
{
	long long done = 0;

	for (int i = 0; i < p->nsources; i++) {
		long long at = capture_file_position(&p->sources[i]);

		if (at > 0)
			done += at;
	}
	return done;
}

/* "1:02:03", "2:03" */
static void put_duration(char *buf, size_t size, double seconds)
{
	long s = (long)(seconds + 0.5);

	if (s >= 3600)
		snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, size, "%ld:%02ld", s / 60, s % 60);
}

int progress_due(const struct progress *p)
{
	return p && monotonic_seconds() - p->drawn >= REDRAW_EVERY;
}

void progress_show(struct progress *p, unsigned long packets, unsigned long dumplings)
{
	double now = monotonic_seconds(), elapsed;
	char line[128], left[32] = "";
	int n;

	p->drawn = now;
	elapsed = now - p->started;
	if (elapsed <= 0)
		elapsed = 1e-9;
	n = 0;
	if (p->total) {
		long long done = bytes_read(p);
		double share = (double)done / (double)p->total;

		if (share > 1)
			share = 1;
		n = snprintf(line, sizeof line, "%5.1f%%  ", share * 100);
		if (share > 0.001)
			put_duration(left, sizeof left, elapsed * (1 - share) / share);
	}
	n += snprintf(line + n, sizeof line - (size_t)n, "%.0f packets/s  %lu dumplings",
		      (double)packets / elapsed, dumplings);
	if (left[0])
		snprintf(line + n, sizeof line - (size_t)n, "  %s left", left);
	log_status(line);
}

void progress_end(struct progress *p)
{
	if (!p)
		return;
	log_status(NULL);
	free(p);
}
