#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

double monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

double wall_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void exe_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	char *slash;

	if (n <= 0) {
		snprintf(buf, len, ".");
		return;
	}
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (slash)
		*slash = '\0';
}

int parse_long(const char *s, long min, long max, long *out, const char **why)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0') {
		*why = "not a whole number";
		return -1;
	}
	if (errno == ERANGE) {
		*why = v < 0 ? "too small" : "too large";
		return -1;
	}
	if (v < min) {
		*why = "too small";
		return -1;
	}
	if (v > max) {
		*why = "too large";
		return -1;
	}
	*out = v;
	return 0;
}

int parse_seconds(const char *s, double min, double max, double *out, const char **why)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || !isfinite(v)) {
		*why = "not a number of seconds";
		return -1;
	}
	if (v < min) {
		*why = "too small";
		return -1;
	}
	if (v > max) {
		*why = "too large";
		return -1;
	}
	*out = v;
	return 0;
}

int parse_host_port(const char *s, char *host, size_t hostlen, int *port)
{
	const char *colon, *hend;
	const char *why;
	long p;

	if (s[0] == '[') {
		hend = strchr(s, ']');
		if (!hend)
			return -1;
		s++;
		colon = hend[1] == ':' ? hend + 1 : NULL;
		if (hend[1] != '\0' && !colon)
			return -1;
	} else {
		colon = strrchr(s, ':');
		if (colon && strchr(s, ':') != colon)
			colon = NULL;	/* a bare IPv6 address has no port */
		hend = colon ? colon : s + strlen(s);
	}
	if ((size_t)(hend - s) >= hostlen || hend == s)
		return -1;
	memcpy(host, s, hend - s);
	host[hend - s] = '\0';
	if (colon) {
		if (parse_long(colon + 1, 1, 65535, &p, &why) < 0)
			return -1;
		*port = (int)p;
	}
	return 0;
}

void catch_signals(void (*handler)(int), const int *extra)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (; extra && *extra; extra++)
		sigaction(*extra, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int start_thread(pthread_t *thread, void *(*run)(void *), void *arg)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(thread, NULL, run, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

static void *checked(void *p)
{
	if (!p) {
		fputs("dumplings: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *xmalloc(size_t n)
{
	return checked(malloc(n ? n : 1));
}

void *xcalloc(size_t n, size_t size)
{
	return checked(calloc(n ? n : 1, size ? size : 1));
}

void *xrealloc(void *p, size_t n)
{
	return checked(realloc(p, n ? n : 1));
}

char *xstrdup(const char *s)
{
	return checked(strdup(s));
}
