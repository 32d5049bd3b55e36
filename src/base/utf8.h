#ifndef UTF8_H
#define UTF8_H

#include <stddef.h>

/* Length (1-4) of the valid UTF-8 sequence at s, or 0 if none starts
 * there: overlong forms, surrogates and code points past U+10FFFF are not
 * valid. ASCII, NUL included, is a sequence of 1. left must be >= 1. */
size_t utf8_seq(const unsigned char *s, size_t left);

/* Whether all of s is valid UTF-8. */
int utf8_valid(const char *s, size_t n);

#endif
