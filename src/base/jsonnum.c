/* Spelling numbers as JSON, exactly and without printf: integral values
 * and timestamps, the common case, are written digit by digit; cJSON's own
 * printing goes through sprintf and sscanf, and its 15 digits can lose
 * precision. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonnum.h"

/* Write the digits of n with a decimal point k digits from the right.
 * Digits are made two at a time, backwards, then copied out in two runs. */
static int print_scaled(long long n, int k, char *buf)
{
	static const char pairs[] =
		"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
		"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
		"8081828384858687888990919293949596979899";
	char digits[32], *end = digits + sizeof digits, *p = end;
	unsigned long long u = n < 0 ? -(unsigned long long)n : (unsigned long long)n;
	int whole, out = 0;

	while (u >= 100) {
		unsigned r = (unsigned)(u % 100);

		u /= 100;
		p -= 2;
		memcpy(p, pairs + 2 * r, 2);
	}
	if (u >= 10) {
		p -= 2;
		memcpy(p, pairs + 2 * u, 2);
	} else {
		*--p = (char)('0' + u);
	}
	while (end - p <= k)
		*--p = '0';
	if (n < 0)
		buf[out++] = '-';
	whole = (int)(end - p) - k;
	memcpy(buf + out, p, (size_t)whole);
	out += whole;
	if (k > 0) {
		buf[out++] = '.';
		memcpy(buf + out, end - k, (size_t)k);
		out += k;
	}
	buf[out] = '\0';
	return out;
}

/* The shortest decimal with at most 9 fraction digits that reads back as
 * exactly d; 0 if there is none. Integral and timestamp-like values (the
 * common case) get here without printf, whose %g is slow and whose 15
 * digits, as cJSON uses them, can lose precision. A decimal that is exact
 * with k fraction digits is exact with more, so one try at the most digits
 * that keep d * 10^k below 2^53 (where doubles hold integers exactly)
 * decides, and trailing zeros come off afterwards. */
static int format_decimal(double d, char *buf)
{
	static const double scale[] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9 };
	int k = 9;
	double m = d * scale[k];
	long long n;

	while (fabs(m) >= 9007199254740992.0) {
		if (--k < 0)
			return 0;
		m = d * scale[k];
	}
	n = llround(m);
	if ((double)n / scale[k] != d)
		return 0;
	while (k > 0 && n % 10 == 0) {
		n /= 10;
		k--;
	}
	return print_scaled(n, k, buf);
}

/* Dumplings come many to a second, so the seconds are spelled once per
 * second (per thread) and only the microseconds each time. */
int json_time_now(char *buf)
{
	static __thread struct {
		time_t sec;
		int len;
		char text[24];
	} last = { -1, 0, "" };
	struct timespec ts;
	long usec;
	int n, k = 6;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != last.sec) {
		last.len = print_scaled((long long)ts.tv_sec, 0, last.text);
		last.sec = ts.tv_sec;
	}
	n = last.len;
	memcpy(buf, last.text, (size_t)n);
	buf[n] = '\0';
	usec = ts.tv_nsec / 1000;
	/* Strip trailing zeros as the decimal form of the double would. */
	while (k > 0 && usec % 10 == 0) {
		usec /= 10;
		k--;
	}
	if (k == 0)
		return n;
	buf[n++] = '.';
	for (int i = k - 1; i >= 0; i--, usec /= 10)
		buf[n + i] = (char)('0' + usec % 10);
	buf[n + k] = '\0';
	return n + k;
}

/* Rare numbers (huge, tiny, or with many digits): the fewest significant
 * digits, 15 to 17, that read back exactly. */
static int format_general(double d, char *buf)
{
	int n = 0;

	for (int digits = 15; digits <= 17; digits++) {
		n = snprintf(buf, 32, "%.*g", digits, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	return n;
}

int json_number(double d, char *buf)
{
	int n;

	/* counts and ports, the most common, need no scaling */
	if (fabs(d) < 9007199254740992.0 && d == (double)(long long)d)
		return print_scaled((long long)d, 0, buf);
	n = format_decimal(d, buf);

	return n ? n : format_general(d, buf);
}
