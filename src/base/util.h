#ifndef UTIL_H
#define UTIL_H

#include <pthread.h>
#include <stddef.h>

extern const char dumplings_version[];

double monotonic_seconds(void);
double wall_seconds(void);

/* Parse a whole decimal number in [min, max]; on failure return -1 and set
 * *why to a short reason. */
int parse_long(const char *s, long min, long max, long *out, const char **why);
int parse_seconds(const char *s, double min, double max, double *out, const char **why);
/* A span of time: a number with s, m, h or d after it (a bare number is
 * seconds), e.g. 90s, 10m, 1.5h, 7d. */
int parse_duration(const char *s, double *out, const char **why);
/* A size: a number with B, K, M, G or T after it (powers of 1024; KB,
 * KiB and so on too), e.g. 512M, 1G. */
int parse_size(const char *s, long long *out, const char **why);
/* An RFC 3339 time (2026-12-02T07:00:00Z, or with .fraction and a
 * +hh:mm or -hh:mm offset; a space may stand for the T), in seconds
 * since the epoch. */
int parse_rfc3339(const char *s, double *out, const char **why);

/* Split "HOST:PORT", "[V6]:PORT" or "HOST" (port stays default). The host is
 * copied into buf. */
int parse_host_port(const char *s, char *host, size_t hostlen, int *port);

/* The directory holding the running binary ("." if unknown), so that
 * bundled files are found beside it or in ../share/dumplings. */
void exe_dir(char *buf, size_t len);

/* Call handler on SIGINT and SIGTERM (and on each signal listed in
 * extra, a 0-terminated array, or NULL), without SA_RESTART so that a
 * waiting poll() returns; ignore SIGPIPE, so a closed socket or pipe is
 * an error to handle rather than death. */
void catch_signals(void (*handler)(int), const int *extra);

/* pthread_create(), the new thread blocking every signal: signals reach
 * the thread that started the others, whose poll() they wake, and never
 * interrupt another's read or write (a pipe's, with no SA_RESTART, would
 * fail). Returns pthread_create()'s result. */
int start_thread(pthread_t *thread, void *(*run)(void *), void *arg);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
