/* TCP stream reassembly, one direction at a time.
 *
 * Sequence numbers. A direction picks up at its SYN, whose number the SYN
 * itself consumes, so its data starts one further; without a SYN (the
 * capture began mid-way, or tracking began late) it picks up at the
 * first segment it is fed, and whatever came before is not reported.
 * Numbers are compared modulo 2^32, so a stream may wrap. A FIN ends the
 * direction once every byte before it is delivered; bytes at or past a
 * FIN are cut. A RST ends it at once, as a flush does (its payload, a
 * diagnostic at most, is not stream data).
 *
 * Each byte is delivered once, in order. A segment whose bytes were all
 * delivered already is a retransmission and is dropped. Where a segment
 * overlaps bytes already delivered or held, the first arrival wins: what
 * was delivered stays delivered, what is held stays held, and only the
 * new segment's other bytes are used. Such overlaps are counted, and
 * counted again when the new bytes differ from those held (delivered
 * bytes are gone and cannot be compared).
 *
 * A segment ahead of the next byte due is held, copied, as pieces that
 * never overlap, until the hole before it fills. A segment that starts
 * more than the pool's window ahead is taken for garbage and dropped. Bytes
 * arriving in order are delivered from the caller's buffer, with no copy.
 *
 * Limits. Memory held is counted as each piece's bytes plus
 * TCPREASM_PIECE_COST (so a flood of one-byte segments is bounded too)
 * and each head's size. When holding a piece would take a direction past
 * its limit, or the pool past its own, delivery moves on instead of
 * stalling: the hole before the first thing known is reported as a gap,
 * what then follows in order is delivered, and so on until the piece fits
 * or is itself due. Each such step is counted against the limit that
 * caused it. A head the pool has no room for is not kept, and counted.
 * Nothing is ever waited for: a flush at the flow's end (FIN, RST, idle,
 * eviction) delivers all that is held, its holes as gaps, and a gap up to
 * the FIN if one was seen. */
#include <stdlib.h>
#include <string.h>

#include "tcpreasm.h"

struct tcpreasm_piece {
	struct tcpreasm_piece *next;
	uint32_t seq, len;
	uint32_t cost;		/* what the limits count for it */
	uint8_t bytes[];
};

struct tcpreasm_head {
	uint32_t len, cap;
	uint8_t cut;		/* a hole came before it was full */
	uint8_t bytes[];
};

/* How far a is after b, modulo 2^32. */
static int32_t seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

void tcpreasm_pool_init(struct tcpreasm_pool *pool, tcpreasm_emit *emit)
{
	memset(pool, 0, sizeof *pool);
	pool->dir_max = TCPREASM_DIR_MAX_DEFAULT;
	pool->total_max = TCPREASM_TOTAL_MAX_DEFAULT;
	pool->window = TCPREASM_WINDOW_DEFAULT;
	pool->emit = emit;
}

void tcpreasm_track(struct tcpreasm_dir *d, struct tcpreasm_pool *pool, uint32_t head_want)
{
	if (d->state != TCPREASM_OFF)
		return;
	d->state = TCPREASM_WAITING;
	d->head_want = (uint16_t)(head_want < TCPREASM_HEAD_MAX ? head_want : TCPREASM_HEAD_MAX);
	pool->stats.directions++;
}

/* ---- memory ---------------------------------------------------------------- */

static void pool_take(struct tcpreasm_pool *pool, size_t cost)
{
	pool->held += cost;
	if (pool->held > pool->held_peak)
		pool->held_peak = pool->held;
}

static void piece_free(struct tcpreasm_dir *d, struct tcpreasm_pool *pool,
		       struct tcpreasm_piece *pc)
{
	d->held -= pc->cost;
	pool->held -= pc->cost;
	pool->buffered -= pc->len;
	free(pc);
}

static void pieces_free(struct tcpreasm_dir *d, struct tcpreasm_pool *pool)
{
	while (d->first) {
		struct tcpreasm_piece *pc = d->first;

		d->first = pc->next;
		piece_free(d, pool, pc);
	}
	d->last = NULL;
}

static void head_free(struct tcpreasm_dir *d, struct tcpreasm_pool *pool)
{
	if (!d->head)
		return;
	pool->held -= sizeof *d->head + d->head->cap;
	free(d->head);
	d->head = NULL;
}

/* A head is made when its first byte comes, so that a direction tracked
 * but silent holds nothing. */
static struct tcpreasm_head *head_get(struct tcpreasm_dir *d, struct tcpreasm_pool *pool)
{
	size_t cost = sizeof *d->head + d->head_want;

	if (d->head || !d->head_want)
		return d->head;
	if (pool->held + cost > pool->total_max) {
		pool->stats.heads_refused++;
		d->head_want = 0;
		return NULL;
	}
	d->head = malloc(cost);
	if (!d->head) {
		pool->stats.no_memory++;
		d->head_want = 0;
		return NULL;
	}
	d->head->len = 0;
	d->head->cap = d->head_want;
	d->head->cut = 0;
	pool_take(pool, cost);
	return d->head;
}

/* ---- delivery --------------------------------------------------------------- */

static void give_data(struct tcpreasm_dir *d, struct tcpreasm_pool *pool,
		      const uint8_t *p, uint32_t n, void *ctx)
{
	struct tcpreasm_head *h = d->head_want ? head_get(d, pool) : NULL;

	if (h && !h->cut && h->len < h->cap) {
		uint32_t room = h->cap - h->len, take = n < room ? n : room;

		memcpy(h->bytes + h->len, p, take);
		h->len += take;
	}
	d->next += n;
	pool->stats.bytes += n;
	pool->emit(ctx, p, n);
}

static void give_gap(struct tcpreasm_dir *d, struct tcpreasm_pool *pool, uint32_t n, void *ctx)
{
	if (!n)
		return;
	if (d->head)
		d->head->cut = 1;
	else
		d->head_want = 0;	/* a head must start the stream */
	d->next += n;
	pool->stats.gaps++;
	pool->stats.gap_bytes += n;
	pool->emit(ctx, NULL, n);
}

static void end_dir(struct tcpreasm_dir *d, struct tcpreasm_pool *pool)
{
	pieces_free(d, pool);
	d->state = TCPREASM_ENDED;
}

/* Deliver the pieces now due, and end the direction at its FIN. */
static void drain(struct tcpreasm_dir *d, struct tcpreasm_pool *pool, void *ctx)
{
	while (d->first && d->first->seq == d->next) {
		struct tcpreasm_piece *pc = d->first;

		d->first = pc->next;
		if (!d->first)
			d->last = NULL;
		give_data(d, pool, pc->bytes, pc->len, ctx);
		piece_free(d, pool, pc);
	}
	if ((d->flags & TCPREASM_F_FIN_SEEN) && d->next == d->fin)
		end_dir(d, pool);
}

/* Bytes starting at the next byte due, from the caller's buffer, merged
 * with the pieces they run into: where they overlap, the piece's bytes
 * are the ones delivered. */
static void deliver_in_order(struct tcpreasm_dir *d, struct tcpreasm_pool *pool,
			     const uint8_t *p, uint32_t n, void *ctx)
{
	pool->stats.in_order++;
	while (n) {
		struct tcpreasm_piece *pc = d->first;
		uint32_t run = n;

		if (pc && pc->seq == d->next) {
			run = n < pc->len ? n : pc->len;
			d->first = pc->next;
			if (!d->first)
				d->last = NULL;
			give_data(d, pool, pc->bytes, pc->len, ctx);
			piece_free(d, pool, pc);
		} else {
			if (pc && (uint32_t)(pc->seq - d->next) < run)
				run = pc->seq - d->next;
			give_data(d, pool, p, run, ctx);
		}
		p += run;
		n -= run;
	}
	drain(d, pool, ctx);
}

/* Room is short: report the hole before the first thing known (the
 * segment being placed, at seq, or the first piece) as a gap, and deliver
 * what follows it. */
static void move_on(struct tcpreasm_dir *d, struct tcpreasm_pool *pool, uint32_t seq, void *ctx)
{
	uint32_t to = d->first && seq_after(seq, d->first->seq) > 0 ? d->first->seq : seq;

	give_gap(d, pool, to - d->next, ctx);
	drain(d, pool, ctx);
}

/* ---- holding ---------------------------------------------------------------- */

enum place { PLACED, NO_ROOM_DIR, NO_ROOM_TOTAL, NO_MEMORY };

static enum place piece_add(struct tcpreasm_dir *d, struct tcpreasm_pool *pool,
			    struct tcpreasm_piece *prev, uint32_t seq,
			    const uint8_t *p, uint32_t n)
{
	uint32_t cost = n + TCPREASM_PIECE_COST;
	struct tcpreasm_piece *pc;

	if (d->held + (size_t)cost > pool->dir_max)
		return NO_ROOM_DIR;
	if (pool->held + cost > pool->total_max)
		return NO_ROOM_TOTAL;
	pc = malloc(sizeof *pc + n);
	if (!pc)
		return NO_MEMORY;
	pc->seq = seq;
	pc->len = n;
	pc->cost = cost;
	memcpy(pc->bytes, p, n);
	pc->next = prev ? prev->next : d->first;
	if (prev)
		prev->next = pc;
	else
		d->first = pc;
	if (!pc->next)
		d->last = pc;
	d->held += cost;
	pool_take(pool, cost);
	pool->buffered += n;
	pool->stats.pieces++;
	return PLACED;
}

/* Hold the bytes of [*seq, *seq + *n) that fill holes between the pieces.
 * On a shortage, *seq, *p and *n are what is left to place. */
static enum place hold(struct tcpreasm_dir *d, struct tcpreasm_pool *pool,
		       uint32_t *seq, const uint8_t **p, uint32_t *n)
{
	struct tcpreasm_piece *prev = NULL, *pc = d->first;
	enum place r;

	/* Most often the segment goes after everything held. */
	if (d->last && seq_after(*seq, d->last->seq + d->last->len) >= 0)
		prev = d->last, pc = NULL;
	for (; pc && *n; prev = pc, pc = pc->next) {
		uint32_t take;

		if (seq_after(pc->seq + pc->len, *seq) <= 0)
			continue;
		if (seq_after(pc->seq, *seq) > 0) {
			take = pc->seq - *seq < *n ? pc->seq - *seq : *n;
			if ((r = piece_add(d, pool, prev, *seq, *p, take)) != PLACED)
				return r;
			prev = prev ? prev->next : d->first;
			*seq += take, *p += take, *n -= take;
		}
		take = pc->seq + pc->len - *seq < *n ? pc->seq + pc->len - *seq : *n;
		*seq += take, *p += take, *n -= take;
	}
	if (*n && (r = piece_add(d, pool, prev, *seq, *p, *n)) != PLACED)
		return r;
	*n = 0;
	return PLACED;
}

/* ---- a segment -------------------------------------------------------------- */

/* Count what [seq, seq + n) shares with bytes delivered or held; returns
 * 1 when it brings nothing not delivered already. */
static int note_overlaps(struct tcpreasm_dir *d, struct tcpreasm_pool *pool,
			 uint32_t seq, const uint8_t *p, uint32_t n)
{
	struct tcpreasm_piece *pc_start = d->first;
	uint64_t known = 0;
	int differ = 0;

	if (seq_after(seq + n, d->next) <= 0) {
		pool->stats.retransmits++;
		return 1;
	}
	if (seq_after(d->next, seq) > 0)
		known = d->next - seq;
	/* Most often the segment is due, or goes after everything held. */
	if (d->last && seq_after(seq, d->last->seq + d->last->len) >= 0)
		pc_start = NULL;
	for (struct tcpreasm_piece *pc = pc_start; pc; pc = pc->next) {
		int32_t from = seq_after(pc->seq, seq), to = seq_after(pc->seq + pc->len, seq);

		if (from >= (int32_t)n)
			break;
		if (to <= 0)
			continue;
		if (from < 0)
			from = 0;
		if (to > (int32_t)n)
			to = (int32_t)n;
		known += (uint32_t)(to - from);
		differ |= memcmp(p + from, pc->bytes + (seq + (uint32_t)from - pc->seq),
				 (size_t)(to - from)) != 0;
	}
	if (known) {
		pool->stats.overlaps++;
		pool->stats.overlap_bytes += known;
		pool->stats.overlaps_differ += differ;
	}
	return 0;
}

/* Place a segment's payload: deliver it if due, else hold it, moving on
 * past holes when there is no room. */
static void place(struct tcpreasm_dir *d, struct tcpreasm_pool *pool,
		  uint32_t seq, const uint8_t *p, uint32_t n, void *ctx)
{
	if (n > pool->window || seq_after(seq, d->next) > (int64_t)pool->window) {
		pool->stats.out_of_window++;
		return;
	}
	if (note_overlaps(d, pool, seq, p, n))
		return;
	while (n && d->state == TCPREASM_OPEN) {
		enum place r;

		if (seq_after(d->next, seq) > 0) {
			uint32_t old = d->next - seq;

			if (old >= n)
				return;
			seq += old, p += old, n -= old;
		}
		if (seq == d->next) {
			deliver_in_order(d, pool, p, n, ctx);
			return;
		}
		r = hold(d, pool, &seq, &p, &n);
		if (r == PLACED)
			return;
		if (r == NO_MEMORY) {
			pool->stats.no_memory++;
			return;
		}
		if (r == NO_ROOM_DIR)
			pool->stats.dir_limit++;
		else
			pool->stats.total_limit++;
		move_on(d, pool, seq, ctx);
	}
}

/* A FIN: note where the direction ends, and let go of what is held past it. */
static void note_fin(struct tcpreasm_dir *d, struct tcpreasm_pool *pool, uint32_t fin)
{
	struct tcpreasm_piece **link = &d->first, *pc;
	int cut = 0;

	if ((d->flags & TCPREASM_F_FIN_SEEN) || seq_after(fin, d->next) < 0)
		return;
	d->flags |= TCPREASM_F_FIN_SEEN;
	d->fin = fin;
	d->last = NULL;
	while ((pc = *link)) {
		if (seq_after(pc->seq, fin) >= 0) {
			*link = pc->next;
			piece_free(d, pool, pc);
			cut = 1;
			continue;
		}
		if (seq_after(pc->seq + pc->len, fin) > 0) {
			pool->buffered -= pc->len - (fin - pc->seq);
			pc->len = fin - pc->seq;
			cut = 1;
		}
		d->last = pc;
		link = &pc->next;
	}
	pool->stats.after_end += cut;
}

enum tcpreasm_state tcpreasm_segment(struct tcpreasm_dir *d, struct tcpreasm_pool *pool,
				     uint32_t seq, unsigned flags,
				     const uint8_t *data, uint32_t len, void *ctx)
{
	if (d->state == TCPREASM_OFF)
		return TCPREASM_OFF;
	pool->stats.segments++;
	if (d->state == TCPREASM_ENDED) {
		pool->stats.after_end += len > 0;
		return TCPREASM_ENDED;
	}
	if (flags & TCPREASM_SYN)
		seq++;
	if (d->state == TCPREASM_WAITING) {
		d->state = TCPREASM_OPEN;
		d->next = seq;
		if (!(flags & TCPREASM_SYN)) {
			d->flags |= TCPREASM_F_MIDSTREAM;
			pool->stats.midstream++;
		}
	}
	if (flags & TCPREASM_RST) {
		tcpreasm_flush(d, pool, ctx);
		return TCPREASM_ENDED;
	}
	if (flags & TCPREASM_FIN)
		note_fin(d, pool, seq + len);
	if ((d->flags & TCPREASM_F_FIN_SEEN) && seq_after(seq + len, d->fin) > 0) {
		pool->stats.after_end++;
		len = seq_after(d->fin, seq) > 0 ? d->fin - seq : 0;
	}
	if (len)
		place(d, pool, seq, data, len, ctx);
	if (d->state == TCPREASM_OPEN)
		drain(d, pool, ctx);
	return (enum tcpreasm_state)d->state;
}

void tcpreasm_flush(struct tcpreasm_dir *d, struct tcpreasm_pool *pool, void *ctx)
{
	if (d->state == TCPREASM_OFF || d->state == TCPREASM_ENDED)
		return;
	if (d->state == TCPREASM_OPEN) {
		while (d->first && d->state == TCPREASM_OPEN)
			move_on(d, pool, d->first->seq, ctx);
		if (d->state == TCPREASM_OPEN && (d->flags & TCPREASM_F_FIN_SEEN))
			give_gap(d, pool, d->fin - d->next, ctx);
	}
	end_dir(d, pool);
}

void tcpreasm_release(struct tcpreasm_dir *d, struct tcpreasm_pool *pool)
{
	pieces_free(d, pool);
	head_free(d, pool);
	memset(d, 0, sizeof *d);
}

const uint8_t *tcpreasm_head(const struct tcpreasm_dir *d, uint32_t *len, int *complete)
{
	const struct tcpreasm_head *h = d->head;

	*complete = d->state == TCPREASM_ENDED || (h ? h->cut || h->len == h->cap : !d->head_want);
	*len = h ? h->len : 0;
	return h ? h->bytes : NULL;
}

void tcpreasm_head_release(struct tcpreasm_dir *d, struct tcpreasm_pool *pool)
{
	head_free(d, pool);
	d->head_want = 0;
}
