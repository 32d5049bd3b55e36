#ifndef TOKEN_H
#define TOKEN_H

/* Tokens: shared secrets that let a kitchen publish to a hub or an eater
 * eat from it. A token is 1..TOKEN_MAX printable ASCII characters with no
 * spaces, so that it fits both an Authorization header and a URL. */

#include <stddef.h>

#define TOKEN_MAX 1024

/* The token in FILE (its first line), or else in the environment variable
 * ENV. Returns 1 and a malloc'd *token, 0 if neither is given, or -1 after
 * logging what is wrong with the file or variable (never its content). */
int token_load(const char *file, const char *env, char **token);

/* Whether given (len bytes) is the expected token, in a time that does not
 * depend on where the two first differ. */
int token_matches(const char *expected, const char *given, size_t len);

#endif
