#ifndef TCPREASM_H
#define TCPREASM_H

/* TCP stream reassembly: the bytes of one direction of a connection, in
 * order, once each, with the holes reported rather than waited for. The
 * rules (sequence numbers, overlaps, limits) are at the top of tcpreasm.c.
 *
 * Whoever keeps the flows owns one struct tcpreasm_dir per direction and
 * one struct tcpreasm_pool for them all. A direction that is all zeros is
 * not tracked: feeding it does nothing, and it holds nothing, so a flow no
 * chef asks to reassemble costs the few bytes of the struct. Delivery goes
 * through the pool's emit function: (data, len) for bytes in order, or
 * (NULL, len) for a hole of len bytes. Bytes that arrive in order are
 * handed over straight from the caller's buffer, without a copy; the
 * pointer is good only during the call. */

#include <stddef.h>
#include <stdint.h>

/* Segment flags, as in the TCP header. */
#define TCPREASM_FIN 0x01
#define TCPREASM_SYN 0x02
#define TCPREASM_RST 0x04

/* The most a direction's head (its first bytes, kept contiguous) may hold. */
#define TCPREASM_HEAD_MAX 16384

/* Defaults for the pool's limits, in bytes of memory held. */
#define TCPREASM_DIR_MAX_DEFAULT (256u << 10)
#define TCPREASM_TOTAL_MAX_DEFAULT (64u << 20)
#define TCPREASM_WINDOW_DEFAULT (16u << 20)

/* What a buffered piece costs beyond its bytes, as the limits count it. */
#define TCPREASM_PIECE_COST 32

typedef void tcpreasm_emit(void *ctx, const uint8_t *data, uint32_t len);

enum tcpreasm_state {
	TCPREASM_OFF,		/* not tracked (the zero state) */
	TCPREASM_WAITING,	/* tracked, no segment seen yet */
	TCPREASM_OPEN,		/* delivering */
	TCPREASM_ENDED,		/* FIN reached, RST, or flushed: nothing more */
};

struct tcpreasm_piece;
struct tcpreasm_head;

struct tcpreasm_dir {
	struct tcpreasm_piece *first, *last;	/* out of order, by seq */
	struct tcpreasm_head *head;	/* the first bytes, when asked for */
	uint32_t next;		/* the sequence number of the next byte due */
	uint32_t fin;		/* the FIN's sequence number, once seen */
	uint32_t held;		/* memory held by the pieces (limit units) */
	uint16_t head_want;	/* bytes the head is to hold; 0: none */
	uint8_t state;		/* enum tcpreasm_state */
	uint8_t flags;		/* TCPREASM_F_ */
};

#define TCPREASM_F_FIN_SEEN 0x01	/* fin is known */
#define TCPREASM_F_MIDSTREAM 0x02	/* picked up without a SYN: the head
					 * may not start a message */

/* Everything counted, over all the directions of a pool. */
struct tcpreasm_stats {
	uint64_t directions;	/* directions tracked */
	uint64_t midstream;	/* ... picked up without their SYN */
	uint64_t segments;	/* segments fed to tracked directions */
	uint64_t bytes;		/* bytes delivered */
	uint64_t in_order;	/* segments delivered from the caller's buffer */
	uint64_t pieces;	/* out-of-order pieces buffered */
	uint64_t retransmits;	/* segments with no byte not already delivered */
	uint64_t overlaps;	/* other segments with bytes already held or delivered */
	uint64_t overlap_bytes;	/* ... those bytes */
	uint64_t overlaps_differ;	/* overlaps whose bytes differ from those held */
	uint64_t gaps, gap_bytes;	/* holes delivered as such */
	uint64_t dir_limit;	/* times the direction's limit moved delivery on past a hole */
	uint64_t total_limit;	/* ... the pool's limit */
	uint64_t out_of_window;	/* segments too far ahead: dropped */
	uint64_t after_end;	/* segments with bytes past the end (FIN, RST): cut */
	uint64_t no_memory;	/* segments or heads dropped when allocation failed */
	uint64_t heads_refused;	/* heads not kept, for the pool's limit */
};

struct tcpreasm_pool {
	/* Limits: memory held per direction and in total (pieces at their
	 * bytes plus TCPREASM_PIECE_COST, heads at their size), and how far
	 * ahead of the next byte due a segment may start. */
	size_t dir_max, total_max;
	uint32_t window;
	tcpreasm_emit *emit;
	size_t held, held_peak;	/* memory held now, and at most */
	size_t buffered;	/* bytes in out-of-order pieces now */
	struct tcpreasm_stats stats;
};

/* A pool with the default limits, delivering through emit. */
void tcpreasm_pool_init(struct tcpreasm_pool *pool, tcpreasm_emit *emit);

/* Start tracking a zero direction; head_want, the bytes of its head to
 * keep contiguous (0 for none; at most TCPREASM_HEAD_MAX). */
void tcpreasm_track(struct tcpreasm_dir *d, struct tcpreasm_pool *pool, uint32_t head_want);

static inline int tcpreasm_tracking(const struct tcpreasm_dir *d)
{
	return d->state != TCPREASM_OFF;
}

static inline int tcpreasm_ended(const struct tcpreasm_dir *d)
{
	return d->state == TCPREASM_ENDED;
}

static inline int tcpreasm_midstream(const struct tcpreasm_dir *d)
{
	return (d->flags & TCPREASM_F_MIDSTREAM) != 0;
}

/* One segment of the direction: its sequence number, flags
 * (TCPREASM_SYN | FIN | RST) and payload. Delivers whatever it makes
 * deliverable, with ctx handed to emit. Returns the direction's state. */
enum tcpreasm_state tcpreasm_segment(struct tcpreasm_dir *d, struct tcpreasm_pool *pool,
				     uint32_t seq, unsigned flags,
				     const uint8_t *data, uint32_t len, void *ctx);

/* The flow ends (FIN, RST, idle, eviction): deliver what is buffered,
 * the holes as gaps, and end the direction. */
void tcpreasm_flush(struct tcpreasm_dir *d, struct tcpreasm_pool *pool, void *ctx);

/* Let everything go, delivering nothing; the direction is zero again. */
void tcpreasm_release(struct tcpreasm_dir *d, struct tcpreasm_pool *pool);

/* The head: the first bytes of the direction, contiguous, up to the
 * head_want given to tcpreasm_track (for a message that spans segments,
 * such as a TLS ClientHello or an HTTP request head). Returns them and
 * sets *len, or NULL when no head is kept. *complete is set when the head
 * will grow no more: it is full, a hole cut it, or the direction ended.
 * It stays after the end, until released. */
const uint8_t *tcpreasm_head(const struct tcpreasm_dir *d, uint32_t *len, int *complete);

/* Let the head go early (its message is decoded). */
void tcpreasm_head_release(struct tcpreasm_dir *d, struct tcpreasm_pool *pool);

#endif
