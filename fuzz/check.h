#ifndef FUZZ_CHECK_H
#define FUZZ_CHECK_H

/* Checks shared by the fuzz targets. A failed check aborts, so the fuzzer
 * (or the replayer) reports it like any crash, with a stack. */

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with a message when cond is false. */
#define fuzz_assert(cond, what) \
	((cond) ? (void)0 : fuzz_fail(__FILE__, __LINE__, (what)))

void fuzz_fail(const char *file, int line, const char *what)
	__attribute__((noreturn));

/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
int fuzz_utf8_valid(const char *s, size_t n);

/* json[0..len) must be one valid JSON document, in valid UTF-8, with no NUL
 * before len; aborts otherwise. */
void fuzz_check_json(const char *json, size_t len);

/* text[0..len) must hold no raw C1 control (U+0080..U+009F) and no raw
 * bidirectional control (U+061C, U+200E, U+200F, U+202A..U+202E,
 * U+2066..U+2069): the kitchen writes those as \u escapes. */
void fuzz_check_no_hidden_controls(const char *text, size_t len);

#endif
