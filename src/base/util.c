#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/* The number at the front of s (digits, and a fraction) and the unit
 * after it. */
static int number_and_unit(const char *s, double *v, const char **unit, const char **why)
{
	size_t n = strspn(s, "0123456789");

	if (!n) {
		*why = "not a number";
		return -1;
	}
	if (s[n] == '.')
		n += 1 + strspn(s + n + 1, "0123456789");
	*v = strtod(s, NULL);
	*unit = s + n;
	return 0;
}

int parse_duration(const char *s, double *out, const char **why)
{
	static const struct { const char *unit; double seconds; } units[] = {
		{ "", 1 }, { "s", 1 }, { "m", 60 }, { "h", 3600 }, { "d", 86400 },
	};
	const char *unit;
	double v;

	if (number_and_unit(s, &v, &unit, why) < 0)
		return -1;
	for (size_t i = 0; i < sizeof units / sizeof *units; i++)
		if (!strcmp(unit, units[i].unit)) {
			*out = v * units[i].seconds;
			return 0;
		}
	*why = "expected s, m, h or d after the number";
	return -1;
}

int parse_size(const char *s, long long *out, const char **why)
{
	static const char prefixes[] = "BKMGT";
	const char *unit, *p;
	double v, scale = 1;

	if (number_and_unit(s, &v, &unit, why) < 0)
		return -1;
	p = *unit ? strchr(prefixes, toupper((unsigned char)*unit)) : NULL;
	if (!p || (p > prefixes && strcmp(unit + 1, "") && strcasecmp(unit + 1, "B") &&
		   strcasecmp(unit + 1, "iB")) || (p == prefixes && unit[1])) {
		*why = "expected B, K, M, G or T after the number";
		return -1;
	}
	for (; p > prefixes; p--)
		scale *= 1024;
	if (v * scale >= 9.2e18) {
		*why = "too large";
		return -1;
	}
	*out = (long long)(v * scale);
	return 0;
}

int parse_rfc3339(const char *s, double *out, const char **why)
{
	struct tm tm, back;
	time_t stamp;
	int y, mo, d, h, mi, sec, oh = 0, om = 0, n = 0;
	double frac = 0;
	char t, sign = 0;
	const char *p;

	/* digits where the form has them, then the fields in range */
	for (int i = 0; i < 19; i++)
		if (i == 4 || i == 7 || i == 10 || i == 13 || i == 16 ? !s[i] : !isdigit((unsigned char)s[i]))
			return *why = "not an RFC 3339 time (YYYY-MM-DDTHH:MM:SSZ)", -1;
	if (sscanf(s, "%4d-%2d-%2d%c%2d:%2d:%2d%n", &y, &mo, &d, &t, &h, &mi, &sec, &n) != 7 ||
	    n != 19 || (t != 'T' && t != 't' && t != ' ') || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h > 23 || mi > 59 || sec > 60) {
		*why = "not an RFC 3339 time (YYYY-MM-DDTHH:MM:SSZ)";
		return -1;
	}
	p = s + n;
	if (*p == '.' && isdigit((unsigned char)p[1])) {
		size_t digits = strspn(p + 1, "0123456789");

		frac = strtod(p, NULL);
		p += 1 + digits;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &oh, &om) == 2 &&
		   strlen(p) == 6 && oh <= 23 && om <= 59) {
		sign = *p;
		p += 6;
	} else {
		*why = "an RFC 3339 time ends with Z or an offset such as +01:00";
		return -1;
	}
	if (*p) {
		*why = "something after the time";
		return -1;
	}
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	stamp = timegm(&tm);
	/* a day the month does not have comes back as another */
	if (!gmtime_r(&stamp, &back) || back.tm_mday != d || back.tm_mon != mo - 1) {
		*why = "no such day";
		return -1;
	}
	*out = (double)stamp + frac - (sign == '-' ? -1 : sign ? 1 : 0) * (oh * 3600 + om * 60);
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
