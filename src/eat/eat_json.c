/* Reading a dumpling's text again, token by token, for --print, --details
 * and --lua. cJSON ends every string at its first NUL, so a name such as
 * "nul\u0000byte.example.com" would be printed, and handed to a Lua
 * eater, as "nul"; this reader gives each string with its length.
 *
 * It reads text cJSON has accepted, so it does not check the grammar:
 * commas and colons are skipped, and the callers know that an object's
 * members come as key, value. Whatever the text, it never reads past
 * the end and every call moves on, so a caller's loop ends. */
#include <stdlib.h>
#include <string.h>

#include "eat.h"
#include "base/util.h"

void eat_json_init(struct eat_json *j, const char *text, size_t len)
{
	j->p = text;
	j->end = text + len;
	/* a string's content is never longer decoded than written */
	j->str = xmalloc(len + 1);
	j->len = 0;
	j->number = 0;
}

void eat_json_free(struct eat_json *j)
{
	free(j->str);
	j->str = NULL;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The four hex digits at p (before end), or -1. */
static long hex4(const char *p, const char *end)
{
	long v = 0;

	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int d = hex_digit(p[i]);

		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

static size_t put_utf8(char *o, unsigned long cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* j->p just past "\u": the code point, a surrogate pair taken together.
 * A surrogate without its partner (which cJSON refuses) is U+FFFD. The
 * UTF-8 of it is never longer than the escape it comes from. */
static size_t read_u_escape(struct eat_json *j, char *o)
{
	long cp = hex4(j->p, j->end), low;

	if (cp < 0)
		return 0;
	j->p += 4;
	if (cp >= 0xd800 && cp <= 0xdbff && j->end - j->p >= 6 && j->p[0] == '\\' &&
	    j->p[1] == 'u' && (low = hex4(j->p + 2, j->end)) >= 0xdc00 && low <= 0xdfff) {
		j->p += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
	} else if (cp >= 0xd800 && cp <= 0xdfff) {
		cp = 0xfffd;
	}
	return put_utf8(o, (unsigned long)cp);
}

/* j->p at a backslash: the escaped character into o; returns its length. */
static size_t read_escape(struct eat_json *j, char *o)
{
	char c;

	if (++j->p >= j->end)
		return 0;
	c = *j->p++;
	switch (c) {
	case 'b': *o = '\b'; return 1;
	case 'f': *o = '\f'; return 1;
	case 'n': *o = '\n'; return 1;
	case 'r': *o = '\r'; return 1;
	case 't': *o = '\t'; return 1;
	case 'u': return read_u_escape(j, o);
	default: *o = c; return 1;	/* " \ / */
	}
}

/* j->p at the opening quote: the content, decoded, into j->str. */
static void read_string(struct eat_json *j)
{
	size_t o = 0;

	j->p++;
	while (j->p < j->end && *j->p != '"') {
		if (*j->p == '\\')
			o += read_escape(j, j->str + o);
		else
			j->str[o++] = *j->p++;
	}
	if (j->p < j->end)
		j->p++;
	j->str[o] = '\0';
	j->len = o;
}

static int is_number_char(char c)
{
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* As cJSON reads numbers: the characters a number may have, by strtod. */
static void read_number(struct eat_json *j)
{
	char digits[64];
	size_t n = 0;

	while (j->p < j->end && is_number_char(*j->p)) {
		if (n < sizeof digits - 1)
			digits[n++] = *j->p;
		j->p++;
	}
	digits[n] = '\0';
	j->number = strtod(digits, NULL);
}

/* true, false, null, or a word cJSON would not have let through. */
static enum eat_token read_word(struct eat_json *j)
{
	const char *start = j->p;

	while (j->p < j->end && *j->p >= 'a' && *j->p <= 'z')
		j->p++;
	if (j->p == start)
		j->p++;		/* a byte that starts nothing: move on */
	if (j->p - start == 4 && !memcmp(start, "true", 4))
		return EAT_TOK_TRUE;
	if (j->p - start == 5 && !memcmp(start, "false", 5))
		return EAT_TOK_FALSE;
	return EAT_TOK_NULL;
}

enum eat_token eat_json_next(struct eat_json *j)
{
	while (j->p < j->end && ((unsigned char)*j->p <= ' ' || *j->p == ',' || *j->p == ':'))
		j->p++;
	if (j->p >= j->end)
		return EAT_TOK_END;
	switch (*j->p) {
	case '{':
		j->p++;
		return EAT_TOK_OBJECT;
	case '[':
		j->p++;
		return EAT_TOK_ARRAY;
	case '}':
	case ']':
		j->p++;
		return EAT_TOK_CLOSE;
	case '"':
		read_string(j);
		return EAT_TOK_STRING;
	default:
		if (is_number_char(*j->p)) {
			read_number(j);
			return EAT_TOK_NUMBER;
		}
		return read_word(j);
	}
}

void eat_json_skip(struct eat_json *j, enum eat_token t)
{
	long depth = t == EAT_TOK_OBJECT || t == EAT_TOK_ARRAY;

	while (depth > 0) {
		t = eat_json_next(j);
		if (t == EAT_TOK_END)
			return;
		if (t == EAT_TOK_OBJECT || t == EAT_TOK_ARRAY)
			depth++;
		else if (t == EAT_TOK_CLOSE)
			depth--;
	}
}

enum eat_token eat_json_member(struct eat_json *j, const char *key)
{
	size_t n = strlen(key);
	enum eat_token t;

	for (;;) {
		t = eat_json_next(j);
		if (t == EAT_TOK_END || t == EAT_TOK_CLOSE)
			return EAT_TOK_END;
		if (t != EAT_TOK_STRING) {
			eat_json_skip(j, t);	/* not a key: cJSON would not have it */
			continue;
		}
		if (j->len == n && !memcmp(j->str, key, n))
			return eat_json_next(j);
		eat_json_skip(j, eat_json_next(j));
	}
}
