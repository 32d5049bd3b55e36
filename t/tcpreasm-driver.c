/* Drives the TCP reassembly engine (src/decode/tcpreasm.c) from a script
 * on standard input, for t/15-tcp-reasm.t. One command a line:
 *
 *   limits DIR_MAX TOTAL_MAX [WINDOW]   the pool's limits
 *   track DIR [HEAD]        track direction DIR (0-15), keeping HEAD bytes
 *                           of head; seg tracks an untracked one by itself
 *   ignore DIR              leave DIR untracked: its segments must do nothing
 *   seg DIR SEQ FLAGS DATA  FLAGS: "-" or letters of S, F, R; DATA: "-"
 *                           for none, 'text, or hex digits
 *   flush DIR | release DIR | head DIR | stats
 *   random SEED ROUNDS      the randomized self-check below; it starts
 *                           afresh, and leaves a fresh pool behind
 *
 * It prints what is delivered ("DIR data 'text" when the bytes are all
 * printable, else "DIR data HEX"; "DIR gap N"; "DIR end"), the head, and
 * the counters that are not zero. After every command it checks that the
 * pool's memory adds up and is within its limits; a broken rule exits 1. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/tcpreasm.h"

#define DIRS 16
#define LINE_MAX_LEN 70000

static struct tcpreasm_pool pool;
static struct tcpreasm_dir dirs[DIRS];
static int ignored[DIRS], ended_shown[DIRS];

static void die(const char *what, const char *line)
{
	printf("error: %s: %s\n", what, line ? line : "");
	exit(1);
}

static void print_bytes(const uint8_t *p, uint32_t n)
{
	int text = n > 0;

	for (uint32_t i = 0; i < n; i++)
		text &= p[i] > ' ' && p[i] < 0x7f;
	if (text) {
		printf("'%.*s", (int)n, (const char *)p);
		return;
	}
	for (uint32_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

static void print_emit(void *ctx, const uint8_t *data, uint32_t len)
{
	int dir = (int)(intptr_t)ctx;

	if (!data) {
		printf("%d gap %" PRIu32 "\n", dir, len);
		return;
	}
	printf("%d data ", dir);
	print_bytes(data, len);
	printf("\n");
}

static void show_end(int dir)
{
	if (tcpreasm_ended(&dirs[dir]) && !ended_shown[dir]) {
		printf("%d end\n", dir);
		ended_shown[dir] = 1;
	}
}

/* What the pool says it holds is what its directions hold. */
static void check_pool(void)
{
	size_t pieces = 0;
	int heads = 0;

	for (int i = 0; i < DIRS; i++) {
		pieces += dirs[i].held;
		heads += dirs[i].head != NULL;
		if (dirs[i].held > pool.dir_max)
			die("a direction holds more than its limit", NULL);
		if (ignored[i] && tcpreasm_tracking(&dirs[i]))
			die("an ignored direction is tracked", NULL);
	}
	if (pool.held > pool.total_max)
		die("the pool holds more than its limit", NULL);
	if (heads ? pool.held <= pieces : pool.held != pieces)
		die("the pool's memory does not add up", NULL);
	if (pool.buffered > pieces)
		die("more bytes buffered than held", NULL);
	if (pool.held_peak < pool.held)
		die("the peak is below what is held", NULL);
}

static size_t parse_data(const char *s, uint8_t *out)
{
	size_t n = 0;

	if (!strcmp(s, "-"))
		return 0;
	if (s[0] == '\'') {
		n = strlen(s + 1);
		memcpy(out, s + 1, n);
		return n;
	}
	for (; s[0] && s[1]; s += 2) {
		unsigned v;

		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]) ||
		    sscanf(s, "%2x", &v) != 1)
			die("bad hex", s);
		out[n++] = (uint8_t)v;
	}
	if (s[0])
		die("odd hex", s);
	return n;
}

static unsigned parse_flags(const char *s)
{
	unsigned f = 0;

	for (; *s && *s != '-'; s++) {
		if (*s == 'S')
			f |= TCPREASM_SYN;
		else if (*s == 'F')
			f |= TCPREASM_FIN;
		else if (*s == 'R')
			f |= TCPREASM_RST;
		else
			die("bad flag", s);
	}
	return f;
}

static int parse_dir(const char *s, const char *line)
{
	char *end;
	long d = s ? strtol(s, &end, 10) : -1;

	if (!s || *end || d < 0 || d >= DIRS)
		die("bad direction", line);
	return (int)d;
}

#define STAT(name) { #name, offsetof(struct tcpreasm_stats, name) }
static const struct { const char *name; size_t off; } stat_names[] = {
	STAT(directions), STAT(midstream), STAT(segments), STAT(bytes), STAT(in_order),
	STAT(pieces), STAT(retransmits), STAT(overlaps), STAT(overlap_bytes),
	STAT(overlaps_differ), STAT(gaps), STAT(gap_bytes), STAT(dir_limit),
	STAT(total_limit), STAT(out_of_window), STAT(after_end), STAT(no_memory),
	STAT(heads_refused),
};

static void print_stats(void)
{
	printf("stats");
	for (size_t i = 0; i < sizeof stat_names / sizeof stat_names[0]; i++) {
		uint64_t v;

		memcpy(&v, (const char *)&pool.stats + stat_names[i].off, sizeof v);
		if (v)
			printf(" %s=%" PRIu64, stat_names[i].name, v);
	}
	printf(" held=%zu buffered=%zu\n", pool.held, pool.buffered);
}

static void print_head(int dir)
{
	uint32_t len;
	int complete;
	const uint8_t *h = tcpreasm_head(&dirs[dir], &len, &complete);

	printf("%d head %s%s ", dir, complete ? "complete" : "growing",
	       tcpreasm_midstream(&dirs[dir]) ? " midstream" : "");
	if (h && len)
		print_bytes(h, len);
	else
		printf("-");
	printf("\n");
}

/* ---- the randomized self-check -------------------------------------------- */

/* Streams cut into segments (a partition, then extra segments that
 * overlap, some with other bytes), shuffled over several directions and
 * fed. Whatever the limits, each direction must be delivered whole, every
 * byte once, as data or gap, and each byte delivered must be the one the
 * first segment to carry it had. With limits too large to reach, there
 * must be no gap at all. */

#define R_DIRS 3
#define R_MAX_LEN 3000
#define R_MAX_SEGS 400

struct r_seg { int dir; uint32_t off, len; unsigned flags; int corrupt; };

static uint64_t rng_state;
static uint64_t rounds_gapped, limit_hits, differing;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return n ? (uint32_t)(rng_state % n) : 0;
}

static struct {
	uint8_t bytes[R_MAX_LEN];	/* the stream */
	uint8_t first[R_MAX_LEN];	/* the bytes of the first segment to carry each */
	uint8_t seen[R_MAX_LEN];
	uint32_t len, isn, got;		/* got: bytes reported so far */
	uint64_t gaps;
	int bad;
} rs[R_DIRS];

static void random_emit(void *ctx, const uint8_t *data, uint32_t len)
{
	int dir = (int)(intptr_t)ctx;

	if (rs[dir].got + (uint64_t)len > rs[dir].len) {
		rs[dir].bad = 1;
		return;
	}
	if (!data)
		rs[dir].gaps += len;
	else if (memcmp(data, rs[dir].first + rs[dir].got, len))
		rs[dir].bad = 1;
	rs[dir].got += len;
}

static uint32_t make_segments(int dir, struct r_seg *segs, uint32_t nsegs)
{
	uint32_t len = rs[dir].len;

	for (uint32_t off = 0; off < len && nsegs < R_MAX_SEGS;) {
		uint32_t n = 1 + rnd(rnd(4) ? 200 : 1500);

		n = n < len - off ? n : len - off;
		segs[nsegs++] = (struct r_seg){ dir, off, n, off + n == len ? TCPREASM_FIN : 0, 0 };
		off += n;
	}
	for (uint32_t extra = rnd(30); extra && nsegs < R_MAX_SEGS; extra--) {
		uint32_t off = rnd(len), n = 1 + rnd(400);

		n = n < len - off ? n : len - off;
		segs[nsegs++] = (struct r_seg){ dir, off, n, 0, rnd(3) == 0 };
	}
	return nsegs;
}

static void feed_random(struct r_seg *sg, uint8_t *buf)
{
	memcpy(buf, rs[sg->dir].bytes + sg->off, sg->len);
	if (sg->corrupt)
		for (uint32_t i = 0; i < sg->len; i++)
			buf[i] ^= (uint8_t)(1 + rnd(255));
	for (uint32_t i = 0; i < sg->len; i++) {
		if (!rs[sg->dir].seen[sg->off + i]) {
			rs[sg->dir].seen[sg->off + i] = 1;
			rs[sg->dir].first[sg->off + i] = buf[i];
		}
	}
	tcpreasm_segment(&dirs[sg->dir], &pool, rs[sg->dir].isn + 1 + sg->off, sg->flags,
			 buf, sg->len, (void *)(intptr_t)sg->dir);
	check_pool();
}

static int random_round(void)
{
	static struct r_seg segs[R_MAX_SEGS];
	static uint8_t buf[R_MAX_LEN];
	uint32_t nsegs = 0;
	int ndirs = 1 + (int)rnd(R_DIRS), tight = rnd(2);

	tcpreasm_pool_init(&pool, random_emit);
	if (tight) {
		pool.dir_max = 64 + rnd(4096);
		pool.total_max = 64 + rnd(8192);
	}
	memset(rs, 0, sizeof rs);
	for (int d = 0; d < ndirs; d++) {
		rs[d].len = 1 + rnd(R_MAX_LEN);
		rs[d].isn = rnd(4) ? (uint32_t)rng_state : UINT32_MAX - rnd(2 * R_MAX_LEN);
		for (uint32_t i = 0; i < rs[d].len; i++)
			rs[d].bytes[i] = (uint8_t)rnd(256);
		tcpreasm_track(&dirs[d], &pool, rnd(2) ? 0 : 1 + rnd(2000));
		tcpreasm_segment(&dirs[d], &pool, rs[d].isn, TCPREASM_SYN, NULL, 0,
				 (void *)(intptr_t)d);
		nsegs = make_segments(d, segs, nsegs);
	}
	for (uint32_t i = nsegs; i > 1; i--) {
		uint32_t j = rnd(i);
		struct r_seg t = segs[i - 1];

		segs[i - 1] = segs[j];
		segs[j] = t;
	}
	for (uint32_t i = 0; i < nsegs; i++)
		feed_random(&segs[i], buf);
	for (int d = 0; d < ndirs; d++) {
		uint32_t hlen;
		int complete;
		const uint8_t *h;

		tcpreasm_flush(&dirs[d], &pool, (void *)(intptr_t)d);
		h = tcpreasm_head(&dirs[d], &hlen, &complete);
		if (rs[d].bad || rs[d].got != rs[d].len || (!tight && rs[d].gaps) ||
		    !tcpreasm_ended(&dirs[d]) || !complete ||
		    (h && memcmp(h, rs[d].first, hlen)) ||
		    (!tight && dirs[d].head_want && hlen != (rs[d].len < dirs[d].head_want ?
							      rs[d].len : dirs[d].head_want)))
		{
			if (getenv("TCPREASM_DEBUG"))
				fprintf(stderr, "dir %d: bad %d got %u len %u gaps %llu tight %d ended %d complete %d hlen %u want %u\n",
					d, rs[d].bad, rs[d].got, rs[d].len, (unsigned long long)rs[d].gaps, tight,
					tcpreasm_ended(&dirs[d]), complete, hlen, dirs[d].head_want);
			return -1;
		}
		rounds_gapped += rs[d].gaps > 0;
		tcpreasm_release(&dirs[d], &pool);
	}
	limit_hits += pool.stats.dir_limit + pool.stats.total_limit;
	differing += pool.stats.overlaps_differ;
	return pool.held || pool.buffered ? -1 : 0;
}

static void random_check(const char *line)
{
	unsigned long long seed;
	unsigned rounds;

	if (sscanf(line, "random %llu %u", &seed, &rounds) != 2)
		die("bad random", line);
	for (int d = 0; d < DIRS; d++)
		tcpreasm_release(&dirs[d], &pool);
	memset(ignored, 0, sizeof ignored);
	memset(ended_shown, 0, sizeof ended_shown);
	rng_state = seed | 1;
	for (unsigned r = 0; r < rounds; r++) {
		if (random_round() < 0) {
			printf("random: round %u of seed %llu failed\n", r, seed);
			exit(1);
		}
	}
	printf("random ok %u rounds: %" PRIu64 " streams with gaps, %" PRIu64
	       " limit hits, %" PRIu64 " differing overlaps\n",
	       rounds, rounds_gapped, limit_hits, differing);
	rounds_gapped = limit_hits = differing = 0;
	tcpreasm_pool_init(&pool, print_emit);
}

/* ---- the script --------------------------------------------------------------- */

static void run_seg(char *args, const char *line)
{
	static uint8_t data[LINE_MAX_LEN / 2];
	char *dir_s = strtok(args, " \t"), *seq_s = strtok(NULL, " \t"),
	     *flags_s = strtok(NULL, " \t"), *data_s = strtok(NULL, " \t");
	int dir = parse_dir(dir_s, line);
	size_t n;
	enum tcpreasm_state st;

	if (!seq_s || !flags_s || !data_s)
		die("seg needs DIR SEQ FLAGS DATA", line);
	n = parse_data(data_s, data);
	if (!ignored[dir])
		tcpreasm_track(&dirs[dir], &pool, 0);
	st = tcpreasm_segment(&dirs[dir], &pool, (uint32_t)strtoul(seq_s, NULL, 0),
			      parse_flags(flags_s), n ? data : NULL, (uint32_t)n,
			      (void *)(intptr_t)dir);
	if (ignored[dir] && st != TCPREASM_OFF)
		die("an ignored direction took a segment", line);
	show_end(dir);
}

static void run_line(char *line)
{
	char copy[LINE_MAX_LEN], *cmd, *rest;

	snprintf(copy, sizeof copy, "%s", line);
	cmd = strtok(line, " \t");
	rest = strtok(NULL, "");
	if (!cmd || cmd[0] == '#')
		return;
	if (!strcmp(cmd, "seg")) {
		run_seg(rest ? rest : (char *)"", copy);
	} else if (!strcmp(cmd, "limits")) {
		unsigned long long a, b, w = TCPREASM_WINDOW_DEFAULT;

		if (!rest || sscanf(rest, "%llu %llu %llu", &a, &b, &w) < 2)
			die("limits needs DIR_MAX TOTAL_MAX", copy);
		pool.dir_max = a;
		pool.total_max = b;
		pool.window = (uint32_t)w;
	} else if (!strcmp(cmd, "track")) {
		char *d = strtok(rest, " \t"), *h = strtok(NULL, " \t");

		tcpreasm_track(&dirs[parse_dir(d, copy)], &pool, h ? (uint32_t)atoi(h) : 0);
	} else if (!strcmp(cmd, "ignore")) {
		ignored[parse_dir(rest, copy)] = 1;
	} else if (!strcmp(cmd, "flush")) {
		int d = parse_dir(rest, copy);

		tcpreasm_flush(&dirs[d], &pool, (void *)(intptr_t)d);
		show_end(d);
	} else if (!strcmp(cmd, "release")) {
		int d = parse_dir(rest, copy);

		tcpreasm_release(&dirs[d], &pool);
		ended_shown[d] = 0;
	} else if (!strcmp(cmd, "head")) {
		print_head(parse_dir(rest, copy));
	} else if (!strcmp(cmd, "stats")) {
		print_stats();
	} else if (!strcmp(cmd, "random")) {
		random_check(copy);
	} else {
		die("unknown command", copy);
	}
	check_pool();
}

int main(void)
{
	static char line[LINE_MAX_LEN];

	tcpreasm_pool_init(&pool, print_emit);
	while (fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\r\n")] = '\0';
		run_line(line);
		fflush(stdout);
	}
	return 0;
}
