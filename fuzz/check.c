/* Checks shared by the fuzz targets: what every JSON text we produce must
 * satisfy, whatever the input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"

void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
	abort();
}

/* Length of the strict UTF-8 sequence at s, or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned cp, min;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, cp = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, cp = s[0] & 0x0f, min = 0x800;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

int fuzz_utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		size_t len = utf8_seq(u + i, n - i);

		if (!len)
			return 0;
		i += len;
	}
	return 1;
}

void fuzz_check_json(const char *json, size_t len)
{
	char *copy = malloc(len + 1);
	cJSON *doc;

	fuzz_assert(copy != NULL, "out of memory");
	fuzz_assert(!memchr(json, 0, len), "JSON text holds a NUL byte");
	fuzz_assert(fuzz_utf8_valid(json, len), "JSON text is not valid UTF-8");
	memcpy(copy, json, len);
	copy[len] = '\0';
	/* Require the document to span the whole text: nothing after it. */
	doc = cJSON_ParseWithOpts(copy, NULL, 1);
	fuzz_assert(doc != NULL, "JSON text does not parse");
	cJSON_Delete(doc);
	free(copy);
}

/* Spelled out byte by byte, apart from src/base/utf8.c, so that the
 * serializer is not checked against its own list. */
static int hidden_control_at(const unsigned char *s, size_t left)
{
	if (left >= 2 && s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f)
		return 1;
	if (left >= 2 && s[0] == 0xd8 && s[1] == 0x9c)
		return 1;
	if (left >= 3 && s[0] == 0xe2 && s[1] == 0x80)
		return s[2] == 0x8e || s[2] == 0x8f || (s[2] >= 0xaa && s[2] <= 0xae);
	if (left >= 3 && s[0] == 0xe2 && s[1] == 0x81)
		return s[2] >= 0xa6 && s[2] <= 0xa9;
	return 0;
}

void fuzz_check_no_hidden_controls(const char *text, size_t len)
{
	const unsigned char *u = (const unsigned char *)text;

	for (size_t i = 0; i < len; i++)
		fuzz_assert(!hidden_control_at(u + i, len - i),
			    "a C1 or bidirectional control is written raw");
}
