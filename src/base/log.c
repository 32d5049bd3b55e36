/* Logging to stderr. A message often carries text from elsewhere (chef
 * names, Lua errors, peers' close reasons, paths), so what the format
 * makes of the arguments is written through visible_write(): no logged
 * text can send a terminal an escape sequence, reorder the line or pass
 * for a log line of its own. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "util.h"
#include "visible.h"

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

/* The message fmt makes of ap, in buf if it fits, else malloc'd (NULL
 * if it cannot be). */
static char *format(char *buf, size_t size, const char *fmt, va_list ap, int *len)
{
	va_list again;
	char *big;

	va_copy(again, ap);
	*len = vsnprintf(buf, size, fmt, ap);
	if (*len < 0 || (size_t)*len < size) {
		va_end(again);
		return *len < 0 ? NULL : buf;
	}
	big = malloc((size_t)*len + 1);
	if (big)
		vsnprintf(big, (size_t)*len + 1, fmt, again);
	va_end(again);
	return big;
}

/* A message as one log entry: its own line breaks continue it on lines
 * that start with a tab (Lua tracebacks stay readable, and nothing in the
 * message can start a line that looks like another entry); trailing ones
 * are dropped. */
static void put_message(const char *msg, size_t len)
{
	const char *nl;

	while (len && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		len--;
	while ((nl = memchr(msg, '\n', len))) {
		visible_write(stderr, msg, (size_t)(nl - msg), VISIBLE_KEEP_TAB);
		fputs("\n\t", stderr);
		len -= (size_t)(nl - msg) + 1;
		msg = nl + 1;
	}
	visible_write(stderr, msg, len, VISIBLE_KEEP_TAB);
}

static void put_formatted(const char *fmt, va_list ap)
{
	char buf[512], *msg;
	int len;

	msg = format(buf, sizeof buf, fmt, ap, &len);
	if (!msg) {
		fputs("(a message that could not be formatted)", stderr);
		return;
	}
	put_message(msg, (size_t)len);
	if (msg != buf)
		free(msg);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	flockfile(stderr);
	fprintf(stderr, "%s: %s: ", log_prog, level_names[level]);
	va_start(ap, fmt);
	put_formatted(fmt, ap);
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
	put_formatted(fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage);
	funlockfile(stderr);
	return 2;
}

int log_bad_option(const char *usage, char **argv, int ch)
{
	const char *arg = argv[optind - 1];

	if (ch == ':')
		return log_usage(usage, "option '%s' needs an argument", arg);
	return log_usage(usage, "unknown option '%s'", arg);
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
