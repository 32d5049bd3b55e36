/* SipHash-1-3 (Aumasson and Bernstein), keyed once per process; see
 * keyhash.h. */
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "keyhash.h"

static uint64_t hash_key[2];
static pthread_once_t hash_keyed = PTHREAD_ONCE_INIT;

static void draw_key(void)
{
	struct timespec ts;

	if (getrandom(hash_key, sizeof hash_key, 0) == (ssize_t)sizeof hash_key)
		return;
	/* no entropy to be had: unpredictable enough from outside */
	clock_gettime(CLOCK_REALTIME, &ts);
	hash_key[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15u ^ (uint64_t)getpid();
	hash_key[1] = (uint64_t)ts.tv_sec * 0xc2b2ae3d27d4eb4fu ^ (uintptr_t)&ts;
}

static uint64_t rotl(uint64_t x, int b)
{
	return x << b | x >> (64 - b);
}

struct sip {
	uint64_t v0, v1, v2, v3;
};

static void sip_round(struct sip *s)
{
	s->v0 += s->v1; s->v1 = rotl(s->v1, 13); s->v1 ^= s->v0; s->v0 = rotl(s->v0, 32);
	s->v2 += s->v3; s->v3 = rotl(s->v3, 16); s->v3 ^= s->v2;
	s->v0 += s->v3; s->v3 = rotl(s->v3, 21); s->v3 ^= s->v0;
	s->v2 += s->v1; s->v1 = rotl(s->v1, 17); s->v1 ^= s->v2; s->v2 = rotl(s->v2, 32);
}

static void sip_word(struct sip *s, uint64_t m)
{
	s->v3 ^= m;
	sip_round(s);
	s->v0 ^= m;
}

static uint64_t le64(const unsigned char *p, size_t n)
{
	uint64_t w = 0;

	for (size_t i = 0; i < n; i++)
		w |= (uint64_t)p[i] << (8 * i);
	return w;
}

uint64_t keyhash(const void *data, size_t len)
{
	const unsigned char *p = data;
	struct sip s;
	size_t i;

	pthread_once(&hash_keyed, draw_key);
	s.v0 = hash_key[0] ^ 0x736f6d6570736575u;
	s.v1 = hash_key[1] ^ 0x646f72616e646f6du;
	s.v2 = hash_key[0] ^ 0x6c7967656e657261u;
	s.v3 = hash_key[1] ^ 0x7465646279746573u;
	for (i = 0; i + 8 <= len; i += 8)
		sip_word(&s, le64(p + i, 8));
	sip_word(&s, le64(p + i, len - i) | (uint64_t)len << 56);
	s.v2 ^= 0xff;
	for (int r = 0; r < 3; r++)
		sip_round(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

uint64_t keyhash_name(uint64_t h, const char *s)
{
	uint64_t n = s ? keyhash(s, strlen(s)) : 0x5bd1e9955bd1e995u;

	return (h ^ n) * 0x9e3779b97f4a7c15u + (h >> 29);
}
