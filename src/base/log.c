#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "log.h"
#include "util.h"

static const char *log_prog = "dumplings";
static enum log_level log_level = LOG_INFO;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void log_init(const char *prog, enum log_level level)
{
	log_prog = prog;
	log_level = level;
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	flockfile(stderr);
	fprintf(stderr, "%s: %s: ", log_prog, level_names[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

int log_usage(const char *usage, const char *fmt, ...)
{
	va_list ap;

	flockfile(stderr);
	fprintf(stderr, "%s: ", log_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage);
	funlockfile(stderr);
	return 2;
}

/* At most LOG_BURST lines at once, refilled at LOG_RATE lines a second. */
#define LOG_BURST 10.0
#define LOG_RATE  1.0

int log_allow(struct log_limit *lim, unsigned long *suppressed)
{
	double now = monotonic_seconds();

	if (lim->last == 0)
		lim->tokens = LOG_BURST;
	else
		lim->tokens += (now - lim->last) * LOG_RATE;
	if (lim->tokens > LOG_BURST)
		lim->tokens = LOG_BURST;
	lim->last = now;
	if (lim->tokens < 1.0) {
		lim->suppressed++;
		return 0;
	}
	lim->tokens -= 1.0;
	*suppressed = lim->suppressed;
	lim->suppressed = 0;
	return 1;
}
