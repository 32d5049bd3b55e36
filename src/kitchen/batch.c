/* Filling batches: copying each packet's bytes, stamping and decoding it. */
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "base/util.h"
#include "decode/ipfrag.h"

/* Under AddressSanitizer each packet is followed by a poisoned gap, so a
 * decoder read past the captured bytes is caught instead of landing in the
 * next packet. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
enum { PACKET_GAP = 64 };
#define poison(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
enum { PACKET_GAP = 0 };
#define poison(p, n) ((void)(p), (void)(n))
#define unpoison(p, n) ((void)(p), (void)(n))
#endif

/* Past the bytes batch_has_room() hands out, room for one reassembled
 * datagram: the one a packet that fits may complete. */
enum { ARENA_SIZE = BATCH_ARENA + IPFRAG_MAX_DATAGRAM + PACKET_GAP };

struct batch *batch_new(void)
{
	struct batch *b = xcalloc(1, sizeof *b);

	b->arena = xmalloc(ARENA_SIZE);
	b->events.ev = xcalloc(BATCH_EVENTS, sizeof *b->events.ev);
	b->events.cap = BATCH_EVENTS;
	b->events.bytes = xmalloc(BATCH_STREAM_BYTES);
	b->events.bytes_cap = BATCH_STREAM_BYTES;
	return b;
}

void batch_free(struct batch *b)
{
	if (!b)
		return;
	unpoison(b->arena, ARENA_SIZE);
	free(b->arena);
	free(b->events.ev);
	free(b->events.bytes);
	free(b);
}

void batch_clear(struct batch *b)
{
	unpoison(b->arena, ARENA_SIZE);
	b->n = 0;
	b->used = 0;
	b->events.n = 0;
	b->events.bytes_used = 0;
}

int batch_is_empty(const struct batch *b)
{
	return b->n == 0 && b->events.n == 0;
}

int batch_has_room(const struct batch *b, uint32_t caplen)
{
	if (caplen > MAX_SNAPLEN)
		caplen = MAX_SNAPLEN;
	return b->n < BATCH_PACKETS && b->used + caplen + PACKET_GAP <= BATCH_ARENA &&
	       b->events.n + FLOW_EXPIRE_STEP + FLOW_EVENTS_PER_PACKET <= b->events.cap;
}

/* A stamp in whole microseconds becomes the double nearest to the decimal
 * "sec.usec", which prints back exactly and quickly; finer stamps keep what
 * a double can hold. Files are opened for nanoseconds, so a microsecond
 * capture arrives here as nanoseconds ending in 000. */
double batch_packet_time(const struct capture_source *src, const struct timeval *ts)
{
	long long frac = ts->tv_usec;

	if (src->tick == 1e-9 && frac % 1000 == 0)
		frac /= 1000;
	else if (src->tick == 1e-9)
		return ts->tv_sec + frac * 1e-9;
	return (double)(ts->tv_sec * 1000000LL + frac) / 1e6;
}

/* The bytes after a packet stay poisoned while it is decoded, but for
 * those of a datagram it completes, which the reassembler unpoisons as it
 * writes them there. */
void batch_add(struct batch *b, const struct capture_source *src, int source,
	       const struct pcap_pkthdr *h, const u_char *bytes, struct ipfrag *frags)
{
	struct dpl_packet *pkt = &b->pkts[b->n++];
	uint32_t caplen = h->caplen > MAX_SNAPLEN ? MAX_SNAPLEN : h->caplen;

	unpoison(b->arena + b->used, caplen);
	memcpy(b->arena + b->used, bytes, caplen);
	pkt->data = b->arena + b->used;
	b->used += caplen;
	poison(b->arena + b->used, IPFRAG_MAX_DATAGRAM + PACKET_GAP);
	pkt->caplen = caplen;
	pkt->wirelen = h->len;
	pkt->time = batch_packet_time(src, &h->ts);
	pkt->source = (uint16_t)source;
	packet_decode_frags(pkt, src->linktype, frags);
	b->used += pkt->reasm_len + PACKET_GAP;
}

uint8_t *batch_reserve(struct batch *b, uint32_t len)
{
	uint8_t *p;

	if (ARENA_SIZE - b->used < (size_t)len + PACKET_GAP)
		return NULL;
	p = b->arena + b->used;
	unpoison(p, len);
	b->used += len + PACKET_GAP;
	return p;
}

struct dpl_packet *batch_move_last(struct batch *from, struct batch *to)
{
	struct dpl_packet *src = &from->pkts[from->n - 1], *dst = &to->pkts[to->n++];
	uint32_t len = src->caplen + src->reasm_len;

	*dst = *src;
	unpoison(to->arena + to->used, len);
	memcpy(to->arena + to->used, src->data, len);
	dst->data = to->arena + to->used;
	to->used += len + PACKET_GAP;
	from->used = (size_t)(src->data - from->arena);
	from->n--;
	return dst;
}

void batch_decode_questions(struct batch *b, struct dpl_dns *scratch)
{
	unpoison(b->arena + b->used, ARENA_SIZE - b->used);
	for (int i = 0; i < b->n; i++)
		b->used += packet_decode_question(&b->pkts[i], scratch, (char *)b->arena + b->used,
						  ARENA_SIZE - b->used);
}
