#ifndef BYTES_H
#define BYTES_H

#include <stdint.h>

/* Numbers in network byte order, read from bytes the caller has checked
 * are there. */
static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif
