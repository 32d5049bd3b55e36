/* Reading and comparing tokens. What is wrong with a token is reported by
 * where it came from and why, never by its content. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "token.h"
#include "base/util.h"

/* Why s (len bytes) cannot be a token, or NULL if it can. */
static const char *token_problem(const char *s, size_t len)
{
	if (len == 0)
		return "the token is empty";
	if (len > TOKEN_MAX)
		return "the token is longer than 1024 characters";
	for (size_t i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return "the token has a character that is not printable ASCII (or is a space)";
	return NULL;
}

/* The first line of the file, without its line ending and trailing
 * blanks, which editors and `echo` add. */
static char *token_read_file(const char *file)
{
	char buf[TOKEN_MAX + 2];
	size_t n;
	FILE *f = fopen(file, "r");

	if (!f) {
		log_error("cannot read token file %s: %s", file, strerror(errno));
		return NULL;
	}
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	n = strcspn(buf, "\r\n");
	while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	buf[n] = '\0';
	return xstrdup(buf);
}

int token_load(const char *file, const char *env, char **token)
{
	const char *from = file, *why;
	char *t;

	*token = NULL;
	if (file) {
		t = token_read_file(file);
		if (!t)
			return -1;
	} else if (env && getenv(env)) {
		t = xstrdup(getenv(env));
		from = env;
	} else {
		return 0;
	}
	why = token_problem(t, strlen(t));
	if (why) {
		log_error("%s %s: %s", file ? "token file" : "environment variable", from, why);
		free(t);
		return -1;
	}
	*token = t;
	return 1;
}

int token_matches(const char *expected, const char *given, size_t len)
{
	size_t n = strlen(expected);
	unsigned char diff = len != n;

	/* compare as many bytes as were given, whatever the outcome */
	for (size_t i = 0; i < len; i++)
		diff |= (unsigned char)(expected[i < n ? i : 0] ^ given[i]);
	return diff == 0;
}
