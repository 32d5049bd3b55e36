/* Logging to stderr. A message often carries text from elsewhere (chef
 * names, Lua errors, peers' close reasons, paths), so what the format
 * makes of the arguments is written through visible_write(): no logged
 * text can send a terminal an escape sequence, reorder the line or pass
 * for a log line of its own.
 *
 * Where stderr goes decides how a line starts: a terminal gets the line
 * alone; the systemd journal (JOURNAL_STREAM names stderr's device and
 * inode) a "<N>" priority, which it keeps instead of its own time stamp;
 * anything else (a file, a pipe, a logger) a UTC time stamp first, in one
 * fixed width, so that what reads the lines can still find where the
 * program's own text begins.
 *
 * A terminal may also show a status line (the kitchen's progress): every
 * log line clears it first and draws it again after itself. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "visible.h"

static const char *log_prog = "dumplings";
static const char *log_name;		/* the kitchen's, once known */
static enum log_level log_level = LOG_INFO;
static enum log_target log_target = LOG_TO_STAMPED;
static char status_line[160];		/* shown on a terminal when not empty */

static const char *const level_names[] = { "error", "warning", "info", "debug" };
/* syslog's priorities, as the journal reads them (sd-daemon.h) */
static const char *const level_priorities[] = { "<3>", "<4>", "<6>", "<7>" };

/* Whether stderr is the stream JOURNAL_STREAM says systemd connected it
 * to, "DEVICE:INODE" in decimal. */
static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (!js || sscanf(js, "%llu:%llu%c", &dev, &ino, &end) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *prog, enum log_level level)
{
	log_prog = prog;
	log_level = level;
	if (stderr_is_journal())
		log_target = LOG_TO_JOURNAL;
	else if (isatty(STDERR_FILENO))
		log_target = LOG_TO_TERMINAL;
	else
		log_target = LOG_TO_STAMPED;
}

enum log_target log_where(void)
{
	return log_target;
}

void log_set_name(const char *name)
{
	log_name = name;
}

int log_enabled(enum log_level level)
{
	return level <= log_level;
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
static void put_message(const char *msg, size_t len, const char *priority)
{
	const char *nl;

	while (len && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		len--;
	while ((nl = memchr(msg, '\n', len))) {
		visible_write(stderr, msg, (size_t)(nl - msg), VISIBLE_KEEP_TAB);
		fprintf(stderr, "\n%s\t", priority);
		len -= (size_t)(nl - msg) + 1;
		msg = nl + 1;
	}
	visible_write(stderr, msg, len, VISIBLE_KEEP_TAB);
}

static void put_formatted(const char *fmt, va_list ap, const char *priority)
{
	char buf[512], *msg;
	int len;

	msg = format(buf, sizeof buf, fmt, ap, &len);
	if (!msg) {
		fputs("(a message that could not be formatted)", stderr);
		return;
	}
	put_message(msg, (size_t)len, priority);
	if (msg != buf)
		free(msg);
}

/* 2026-12-02T04:50:00.123Z, and a space. */
static void put_time_stamp(void)
{
	struct timeval tv;
	struct tm tm;
	char when[32];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03dZ ", when, (int)(tv.tv_usec / 1000));
}

/* What starts a line: its priority or time stamp, the program and role,
 * and the kitchen's name. */
static void put_prefix(enum log_level level)
{
	if (log_target == LOG_TO_JOURNAL)
		fputs(level_priorities[level], stderr);
	else if (log_target == LOG_TO_STAMPED)
		put_time_stamp();
	fputs(log_prog, stderr);
	if (log_name) {
		fputc(' ', stderr);
		visible_write(stderr, log_name, strlen(log_name), 0);
	}
	fputs(": ", stderr);
}

static void clear_status(void)
{
	if (status_line[0])
		fputs("\r\033[K", stderr);
}

static void draw_status(void)
{
	if (status_line[0])
		fprintf(stderr, "\r%s\033[K", status_line);
}

static void put_entry(enum log_level level, const char *fmt, va_list ap)
{
	flockfile(stderr);
	clear_status();
	put_prefix(level);
	fprintf(stderr, "%s: ", level_names[level]);
	put_formatted(fmt, ap, log_target == LOG_TO_JOURNAL ? level_priorities[level] : "");
	fputc('\n', stderr);
	draw_status();
	funlockfile(stderr);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	put_entry(level, fmt, ap);
	va_end(ap);
}

void log_always(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	put_entry(LOG_INFO, fmt, ap);
	va_end(ap);
}

void log_status(const char *line)
{
	if (log_target != LOG_TO_TERMINAL)
		return;
	flockfile(stderr);
	clear_status();
	snprintf(status_line, sizeof status_line, "%s", line ? line : "");
	draw_status();
	funlockfile(stderr);
}

int log_usage(const char *usage, const char *fmt, ...)
{
	va_list ap;

	flockfile(stderr);
	clear_status();
	if (log_target == LOG_TO_JOURNAL)
		fputs(level_priorities[LOG_ERROR], stderr);
	fprintf(stderr, "%s: ", log_prog);
	va_start(ap, fmt);
	put_formatted(fmt, ap, "");
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
