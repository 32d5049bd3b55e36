/* The --stdout sink: one dumpling per line. Output is block-buffered and
 * flushed after each batch, so a pipe into jq sees dumplings promptly
 * without a write() per dumpling. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "sink.h"
#include "base/util.h"

struct stdout_sink {
	struct sink base;
};

/* A closed pipe (`| head`) just means the reader has had enough: stop
 * quietly, as other filters do. Anything else is worth a line. */
static void report_write_error(struct stdout_sink *s)
{
	if (!s->base.gone && errno != EPIPE)
		log_error("writing dumplings to standard output: %s", strerror(errno));
	s->base.gone = 1;
}

static int stdout_emit(struct sink *base, const char *json, size_t len,
		       unsigned long long seq)
{
	struct stdout_sink *s = (struct stdout_sink *)base;

	if (s->base.gone)
		return -1;
	if (fwrite(json, 1, len, stdout) != len || putchar('\n') == EOF) {
		report_write_error(s);
		return -1;
	}
	return 0;
}

static void stdout_flush(struct sink *base)
{
	if (!base->gone && fflush(stdout) == EOF)
		report_write_error((struct stdout_sink *)base);
}

static int stdout_close(struct sink *base)
{
	stdout_flush(base);
	/* Leave nothing for exit() to flush into a closed pipe. */
	if (base->gone)
		setvbuf(stdout, NULL, _IONBF, 0);
	free(base);
	return 0;
}

struct sink *sink_stdout_open(void)
{
	struct stdout_sink *s = xcalloc(1, sizeof *s);
	static char buf[1 << 16];

	setvbuf(stdout, buf, _IOFBF, sizeof buf);
	s->base.emit = stdout_emit;
	s->base.flush = stdout_flush;
	s->base.close = stdout_close;
	return &s->base;
}
