#ifndef JSONSCAN_H
#define JSONSCAN_H

/* A strict JSON checker that builds nothing, for the hub's hot path. Every
 * message from a kitchen is checked whole before it is forwarded, since
 * eaters (browsers among them) give up on a connection that sends them bad
 * JSON or bad UTF-8, yet the hub needs only three strings out of it. */

#include <stddef.h>

#define JSON_MAX_DEPTH 1000	/* arrays and objects nested, as cJSON allows */

/* metadata.chef, .kitchen, .driver and .run of a dumpling, unescaped and
 * NUL-terminated (in the scratch buffer given), or NULL where the document
 * is not an object, its first "metadata" member not an object, or that
 * member's first member of the name not a string; and metadata.seq where
 * it is a plain integer, else 0. */
struct json_meta {
	const char *chef, *kitchen, *driver, *run;
	unsigned long long seq;
};

/* Whether msg (len bytes) is exactly one JSON document (RFC 8259: UTF-8,
 * no control bytes outside escapes, strict numbers, no lone surrogates,
 * whitespace only around it). Returns 0 if it is, or -1. With meta, the
 * strings above are also found; scratch must then hold len + 3 bytes. */
int json_scan(const char *msg, size_t len, struct json_meta *meta, char *scratch);

#endif
