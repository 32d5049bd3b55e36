#ifndef LOG_H
#define LOG_H

/* Logging to stderr. Before an event loop starts, callers report and exit;
 * inside it, they log and count, and never die on one bad packet or peer.
 * Messages are written escaped as visible_write() escapes (tabs kept; a
 * line break in a message continues it on a line that starts with a
 * tab), so they may quote any text. */

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Where stderr goes, which says how each line starts: on a terminal with
 * "dumplings ROLE: ", in the systemd journal with a "<N>" priority before
 * it, anywhere else with a UTC time stamp ("2026-12-02T04:50:00.123Z "). */
enum log_target { LOG_TO_TERMINAL, LOG_TO_JOURNAL, LOG_TO_STAMPED };

/* prog is "dumplings ROLE"; stderr is looked at here, once. */
void log_init(const char *prog, enum log_level level);
enum log_target log_where(void);
void log_set_level(enum log_level level);
int log_enabled(enum log_level level);
/* A name every later line carries after the role (a kitchen's). */
void log_set_name(const char *name);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* An info line whatever the level: what the user asked for (SIGUSR1). */
void log_always(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* On a terminal, a line of status kept at the bottom (NULL or "" to clear
 * it): drawn over with "\r", cleared before each log line and drawn again
 * after it. Elsewhere, nothing. The caller keeps it short of the width. */
void log_status(const char *line);

/* A bad command line: "dumplings ROLE: <what is wrong>", then the role's
 * usage, on stderr. Returns 2, the exit status for it. */
int log_usage(const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* What getopt_long (with opterr = 0 and a leading ':' in its options)
 * returned for a bad option, ch '?' or ':', as log_usage says it. */
int log_bad_option(const char *usage, char **argv, int ch);

/* A token bucket so a message repeated per packet cannot flood stderr:
 * log_allow() says whether this occurrence may be printed, and counts the
 * ones it suppressed so the next printed line can say how many. */
struct log_limit {
	double tokens;
	double last;
	unsigned long suppressed;
};
int log_allow(struct log_limit *lim, unsigned long *suppressed);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
