#ifndef KEYHASH_H
#define KEYHASH_H

/* A keyed hash for tables whose keys come from the network (SipHash-1-3,
 * with a key drawn at random once per process): names chosen to collide
 * cannot be chosen without the key, so no peer can turn a table into a
 * list. */

#include <stddef.h>
#include <stdint.h>

uint64_t keyhash(const void *data, size_t len);

/* A string, or NULL (which differs from ""), folded into h. */
uint64_t keyhash_name(uint64_t h, const char *s);

#endif
