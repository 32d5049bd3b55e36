/* Fuzz target: TCP stream reassembly (src/decode/tcpreasm.c), four
 * directions sharing one pool.
 *
 * Input: three bytes of limits (the direction limit, 64 bytes per unit
 * over 64; the pool limit, 128 per unit over 64; the window, 256 per unit
 * over 1), then operations. Each starts with a byte: its low two bits
 * pick the direction, the next two what to do. 0: a segment, followed by
 * two bytes of sequence offset from the direction's first number
 * (little-endian, signed, so segments land behind as well as ahead), a
 * flags byte (bit 0 FIN, 1 SYN, 2 RST, 3: the bytes are the direction's
 * own stream rather than the next ones of the input) and a length byte
 * (times 8 when bit 4 of the op is set). 1: start tracking, keeping a head
 * of the next byte times 64 bytes. 2: flush. 3: release. Bits 4 and up of
 * the op byte vary the segment. A direction's first number comes from the
 * operation that first feeds it; bit 5 puts it near 2^32, to wrap.
 *
 * Checked beside the sanitizers, against a model of each direction:
 * every byte is reported once, in order, as data or in a gap (the
 * reported count always matches how far the engine says it got); each
 * byte delivered is the one the first segment to carry it had; the head
 * is the stream's first bytes; the counters of bytes and gap bytes add
 * up; memory stays within both limits and is all given back. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "decode/tcpreasm.h"

#define DIRS 4
#define SPAN 65536		/* stream offsets the model follows */
#define MAX_OPS 4096

struct model {
	uint32_t start;		/* the sequence number of the stream's first byte */
	int started;
	uint64_t reported;	/* bytes delivered or skipped as gaps */
	uint64_t delivered, gaps;
	uint8_t first[SPAN];	/* the first byte to arrive at each offset */
	uint32_t seen[SPAN];	/* == gen: first[] holds the byte at that offset */
	uint32_t gen;
	uint8_t got[TCPREASM_HEAD_MAX];	/* the stream's first bytes, as delivered */
	int gapped;		/* a gap came before the head was full */
};

static struct model models[DIRS];
static struct tcpreasm_dir dirs[DIRS];
static struct tcpreasm_pool pool;
static uint8_t own[DIRS][256 * 8 + SPAN];	/* each direction's own stream */
static uint64_t emitted_bytes, emitted_gaps;

struct input {
	const uint8_t *data;
	size_t size, pos;
};

static unsigned next_byte(struct input *in)
{
	return in->pos < in->size ? in->data[in->pos++] : 0;
}

static void check_emit(void *ctx, const uint8_t *data, uint32_t len)
{
	struct model *m = &models[(intptr_t)ctx];

	fuzz_assert(len > 0, "an empty delivery");
	fuzz_assert(m->reported + len <= UINT32_MAX, "more than a stream's numbers");
	if (!data) {
		m->gaps += len;
		emitted_gaps += len;
		if (m->reported < TCPREASM_HEAD_MAX)
			m->gapped = 1;
	} else {
		for (uint32_t i = 0; i < len; i++) {
			uint64_t off = m->reported + i;

			if (off < SPAN && m->seen[off] == m->gen)
				fuzz_assert(data[i] == m->first[off],
					    "a byte delivered is not the first to arrive");
			if (off < TCPREASM_HEAD_MAX && !m->gapped)
				m->got[off] = data[i];
		}
		m->delivered += len;
		emitted_bytes += len;
	}
	m->reported += len;
}

/* Note the first arrival of each byte the engine can use: not those of a
 * segment it drops as too far ahead, nor a RST's. */
static void model_segment(int dir, uint32_t seq, unsigned flags, const uint8_t *p, uint32_t n)
{
	struct model *m = &models[dir];
	struct tcpreasm_dir *d = &dirs[dir];
	uint32_t next;

	if (flags & TCPREASM_SYN)
		seq++;
	if (!m->started && d->state == TCPREASM_WAITING) {
		m->started = 1;
		m->start = seq;
	}
	if (d->state != TCPREASM_WAITING && d->state != TCPREASM_OPEN)
		return;
	if ((flags & TCPREASM_RST) || !n)
		return;
	next = d->state == TCPREASM_OPEN ? d->next : seq;
	if (n > pool.window || (int32_t)(seq - next) > (int32_t)pool.window)
		return;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t off = seq + i - m->start;

		if (off < SPAN && m->seen[off] != m->gen) {
			m->seen[off] = m->gen;
			m->first[off] = p[i];
		}
	}
}

static void check_dir(int dir)
{
	struct model *m = &models[dir];
	struct tcpreasm_dir *d = &dirs[dir];
	uint32_t hlen;
	int complete;
	const uint8_t *h = tcpreasm_head(d, &hlen, &complete);

	fuzz_assert(d->held <= pool.dir_max, "a direction holds more than its limit");
	if (d->state == TCPREASM_OPEN)
		fuzz_assert(d->next == (uint32_t)(m->start + m->reported),
			    "the engine's next byte is not what it reported");
	if (d->state == TCPREASM_ENDED)
		fuzz_assert(!d->first && !d->held, "an ended direction holds pieces");
	if (h) {
		fuzz_assert(hlen <= TCPREASM_HEAD_MAX && hlen <= m->reported, "a head too long");
		fuzz_assert(!memcmp(h, m->got, hlen), "the head is not the stream's start");
	}
}

static void check_pool(void)
{
	size_t pieces = 0;

	for (int i = 0; i < DIRS; i++) {
		check_dir(i);
		pieces += dirs[i].held;
	}
	fuzz_assert(pool.held <= pool.total_max, "the pool holds more than its limit");
	fuzz_assert(pool.held >= pieces && pool.buffered <= pieces, "the pool's memory does not add up");
	fuzz_assert(pool.stats.bytes == emitted_bytes, "bytes delivered and counted differ");
	fuzz_assert(pool.stats.gap_bytes == emitted_gaps, "gap bytes reported and counted differ");
}

/* Forget a direction's model; offsets seen are forgotten by starting a
 * new generation, so that a run costs no large memset. */
static void reset_model(int dir)
{
	struct model *m = &models[dir];
	static uint32_t gen;

	m->start = 0;
	m->started = 0;
	m->reported = m->delivered = m->gaps = 0;
	m->gapped = 0;
	m->gen = ++gen;
	if (!gen) {
		memset(models, 0, sizeof models);
		m->gen = gen = 1;
	}
}

static void op_segment(struct input *in, int dir, unsigned op)
{
	static uint8_t buf[256 * 8];
	int16_t off = (int16_t)(next_byte(in) | next_byte(in) << 8);
	unsigned flags = next_byte(in), len = next_byte(in);
	struct model *m = &models[dir];
	uint32_t seq, base;

	if (op & 0x10)
		len *= 8;
	if (!m->started && dirs[dir].state != TCPREASM_OPEN)
		base = op & 0x20 ? UINT32_MAX - (op >> 6) * 300 : 1000u * (op >> 4);
	else
		base = m->start;
	seq = base + (uint32_t)(int32_t)off;
	if (flags & 8) {
		memcpy(buf, own[dir] + (uint16_t)off % SPAN, len);
	} else {
		for (unsigned i = 0; i < len; i++)
			buf[i] = (uint8_t)next_byte(in);
	}
	model_segment(dir, seq, flags & 7, buf, len);
	tcpreasm_segment(&dirs[dir], &pool, seq, flags & 7, len ? buf : NULL, len,
			 (void *)(intptr_t)dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size, 0 };

	tcpreasm_pool_init(&pool, check_emit);
	pool.dir_max = 64 + 64 * next_byte(&in);
	pool.total_max = 64 + 128 * next_byte(&in);
	pool.window = 1 + 256 * next_byte(&in);
	memset(dirs, 0, sizeof dirs);
	emitted_bytes = emitted_gaps = 0;
	for (int i = 0; i < DIRS; i++)
		reset_model(i);
	if (!own[1][0])
		for (int i = 0; i < DIRS; i++)
			for (size_t j = 0; j < sizeof own[i]; j++)
				own[i][j] = (uint8_t)(j * 7 + i);
	for (int ops = 0; in.pos < in.size && ops < MAX_OPS; ops++) {
		unsigned op = next_byte(&in);
		int dir = op & 3;

		switch (op >> 2 & 3) {
		case 0:
			op_segment(&in, dir, op);
			break;
		case 1:
			if (dirs[dir].state == TCPREASM_OFF)
				reset_model(dir);
			tcpreasm_track(&dirs[dir], &pool, 64 * next_byte(&in));
			break;
		case 2:
			tcpreasm_flush(&dirs[dir], &pool, (void *)(intptr_t)dir);
			fuzz_assert(dirs[dir].state == TCPREASM_OFF || tcpreasm_ended(&dirs[dir]),
				    "a flush did not end the direction");
			break;
		default:
			tcpreasm_release(&dirs[dir], &pool);
			fuzz_assert(!tcpreasm_tracking(&dirs[dir]), "a release left the direction tracked");
			reset_model(dir);
			break;
		}
		check_pool();
	}
	for (int i = 0; i < DIRS; i++) {
		tcpreasm_flush(&dirs[i], &pool, (void *)(intptr_t)i);
		check_dir(i);
		tcpreasm_release(&dirs[i], &pool);
	}
	fuzz_assert(pool.held == 0 && pool.buffered == 0, "memory not all given back");
	return 0;
}
