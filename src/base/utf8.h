#ifndef UTF8_H
#define UTF8_H

#include <stddef.h>

/* Length (1-4) of the valid UTF-8 sequence at s, or 0 if none starts
 * there: overlong forms, surrogates and code points past U+10FFFF are not
 * valid. ASCII, NUL included, is a sequence of 1. left must be >= 1. */
size_t utf8_seq(const unsigned char *s, size_t left);

/* Whether all of s is valid UTF-8. */
int utf8_valid(const char *s, size_t n);

/* The code point of the valid sequence of len bytes at s when it is one
 * that text shown to people must not carry raw, else 0: a C1 control
 * (U+0080..U+009F; U+009B is a CSI to some terminals) or a bidirectional
 * formatting control (U+061C, U+200E, U+200F, U+202A..U+202E,
 * U+2066..U+2069), which reorders what is shown around it. */
unsigned utf8_hidden_control(const unsigned char *s, size_t len);

/* The non-ASCII text at s (s[0] >= 0x80, left >= 1) as it goes inside a
 * JSON string, losing nothing: a valid sequence as it is, or as \uXXXX
 * when it is a hidden control; a byte that starts no valid sequence as
 * the code point of its value (as in Latin-1), escaped too when that is a
 * C1 control. Writes at most 6 bytes at o and returns their end; sets
 * *used to the bytes of s taken. */
char *utf8_put_json(char *o, const unsigned char *s, size_t left, size_t *used);

/* o at the start of a \uXXXX escape of cp (< 0x10000): returns its end. */
char *utf8_put_u_escape(char *o, unsigned cp);

#endif
