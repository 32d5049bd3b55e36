#ifndef IPFRAG_H
#define IPFRAG_H

/* IPv4 and IPv6 fragment reassembly, owned by the decode stage: a bounded
 * table of the datagrams in progress, keyed by source, IP version,
 * addresses, identification and protocol. Overlapping bytes are resolved
 * as first arrival wins; every fragment that cannot help, and every
 * datagram that never completes, is counted. Time is the packets' own. */

#include <stddef.h>
#include <stdint.h>

/* The most bytes a reassembled datagram's payload may hold: what the
 * decoder must have room for past a packet's captured bytes. */
enum { IPFRAG_MAX_DATAGRAM = 65535 };

/* How long a datagram may take to complete, from its first fragment:
 * Linux's ipfrag_time for IPv4, RFC 8200's 60 seconds for IPv6. */
#define IPFRAG_TIMEOUT_V4 30.0
#define IPFRAG_TIMEOUT_V6 60.0

/* Memory per datagram in progress that the bound on their number counts
 * on: a table of limit bytes holds at most limit / IPFRAG_SLOT_BYTES. */
enum { IPFRAG_SLOT_BYTES = 4096 };

struct ipfrag;

struct ipfrag_key {
	uint16_t source;	/* the kitchen's source: no mixing across them */
	uint8_t version, proto;	/* IPv6: the fragment header's next header */
	uint32_t id;
	uint8_t src[16], dst[16];	/* IPv4: the first 4 bytes */
};

/* One fragment: its payload, offset bytes into the datagram's. max_end is
 * how far the datagram's payload may reach (65535 less the header bytes
 * the length field counts). truncated: not all of it was captured. */
struct ipfrag_piece {
	struct ipfrag_key key;
	double time;
	uint32_t offset, max_end;
	const uint8_t *bytes;
	uint32_t len;
	uint8_t more, truncated;
};

/* The datagram a fragment completed: len bytes, from frags fragments;
 * flags says whether some overlapped, and whether with other bytes. */
enum { IPFRAG_OVERLAP = 1, IPFRAG_CONFLICT = 2 };
struct ipfrag_done {
	uint32_t len;
	uint16_t frags;
	uint8_t flags;
};

struct ipfrag_stats {
	unsigned long long fragments;	/* handed to the reassembler */
	unsigned long long reassembled;	/* datagrams completed */
	unsigned long long pending;	/* datagrams in progress now */
	unsigned long long memory;	/* bytes they hold */
	unsigned long long timed_out, evicted, unfinished;	/* never completed */
	unsigned long long overlaps;	/* fragments over bytes already held */
	unsigned long long overlaps_differing;	/* ... with other bytes */
	unsigned long long too_big;	/* reaching past 65535 bytes: dropped */
	unsigned long long truncated;	/* not wholly captured: dropped */
	unsigned long long inconsistent;	/* past the datagram's end, or a
						 * second end: clipped or ignored */
};

/* A table holding at most limit bytes (at least 1 MiB is used). */
struct ipfrag *ipfrag_new(size_t limit);
void ipfrag_free(struct ipfrag *f);

/* Add a fragment. When it completes its datagram, the datagram's payload
 * is written to out (IPFRAG_MAX_DATAGRAM bytes of room), *done says what
 * it is, and 1 is returned; else 0. */
int ipfrag_add(struct ipfrag *f, const struct ipfrag_piece *piece, uint8_t *out,
	       struct ipfrag_done *done);

/* Drop the datagrams that have waited too long by now (packet time). */
void ipfrag_expire(struct ipfrag *f, double now);

/* A source has ended: its datagrams in progress never complete. */
void ipfrag_finish_source(struct ipfrag *f, uint16_t source);

void ipfrag_stats(const struct ipfrag *f, struct ipfrag_stats *out);

#endif
