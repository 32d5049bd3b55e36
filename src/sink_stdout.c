/* The --stdout sink: one dumpling per line. Output is block-buffered and
 * flushed after each batch, so a pipe into jq sees dumplings promptly
 * without a write() per dumpling. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sink.h"
#include "util.h"

struct stdout_sink {
	struct sink base;
	int failed;
};

static void report_write_error(struct stdout_sink *s)
{
	if (!s->failed)
		log_error("writing dumplings to standard output: %s", strerror(errno));
	s->failed = 1;
}

static int stdout_emit(struct sink *base, const char *json, size_t len)
{
	struct stdout_sink *s = (struct stdout_sink *)base;

	if (fwrite(json, 1, len, stdout) != len || putchar('\n') == EOF) {
		report_write_error(s);
		return -1;
	}
	return 0;
}

static void stdout_flush(struct sink *base)
{
	if (fflush(stdout) == EOF)
		report_write_error((struct stdout_sink *)base);
}

static void stdout_close(struct sink *base)
{
	stdout_flush(base);
	free(base);
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
