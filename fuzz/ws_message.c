/* Fuzz target: collecting WebSocket messages from the pieces lws hands
 * over (src/net/wsmsg.c), as the client (src/net/wsclient.c) and the hub
 * (src/hub/hub_conn.c) both do in their RECEIVE callbacks.
 *
 * Input: three bytes of bounds, then pieces. Bytes 0 and 1 (little-endian)
 * give the byte bound, 1 + 4 * value; byte 2 & 31 the frame bound (0: none).
 * Each piece is a flags byte and a length byte: flag bit 0, the piece ends
 * its frame; bit 1, that frame ends the message; bit 2, the piece is
 * length times 256 bytes of one filler byte (the next input byte) rather
 * than length bytes of input; bit 3, the connection starts over first
 * (ws_message_clear). After each whole message the caller's reset runs.
 *
 * Checked against a model of the rules, beside the sanitizers: a message is
 * handed over exactly when it ends within both bounds, holding exactly its
 * pieces; a message over a bound is refused once, frames first, and the
 * rest of it is dropped; the buffer never holds more than the byte bound
 * and is NUL-terminated; a reset lets a big buffer go. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "net/wsmsg.h"

#define MAX_PIECES 4096
/* bytes handed over per run: past every bound, and no slower than that */
#define MAX_TOTAL (1u << 20)
#define MAX_BOUND (1 + (0xffffu << 2))
#define MAX_PIECE (0xffu << 8)

/* static, so that each run costs no large allocation */
static unsigned char piece_buf[MAX_PIECE], model_buf[MAX_BOUND];

/* What the rules say about the message being collected. */
struct model {
	unsigned char *bytes;	/* the message so far, up to the bound */
	size_t len;
	unsigned frames;
	int in_frame, refused;
};

struct input {
	const uint8_t *data;
	size_t size, pos;
};

static unsigned next_byte(struct input *in)
{
	return in->pos < in->size ? in->data[in->pos++] : 0;
}

static void model_clear(struct model *md)
{
	md->len = 0;
	md->frames = 0;
	md->in_frame = 0;
	md->refused = 0;
}

/* The outcome the rules give for one piece, updating the model; the
 * caller clears it once a message has ended. */
static enum ws_piece model_piece(struct model *md, const struct ws_message *m,
				 const unsigned char *p, size_t len, int frame_done, int final)
{
	int ends = frame_done && final;
	enum ws_piece want;

	if (!md->in_frame)
		md->frames++;
	md->in_frame = !frame_done;
	if (md->refused) {
		want = WS_PIECE_MORE;
	} else if (m->max_frames && md->frames > m->max_frames) {
		md->refused = 1;
		want = WS_PIECE_TOO_MANY_FRAMES;
	} else if (md->len + len > m->max) {
		md->refused = 1;
		want = WS_PIECE_TOO_BIG;
	} else {
		memcpy(md->bytes + md->len, p, len);
		md->len += len;
		want = ends ? WS_PIECE_MESSAGE : WS_PIECE_MORE;
	}
	return want;
}

static void model_next_message(struct model *md)
{
	md->len = 0;
	md->frames = 0;
	md->refused = 0;
}

static void check_buffer(const struct ws_message *m)
{
	fuzz_assert(m->len <= m->max, "the buffer holds no more than the bound");
	fuzz_assert(m->cap <= m->max + 1, "the buffer is never larger than the bound");
	fuzz_assert(!m->data || m->data[m->len] == '\0', "the buffer is NUL-terminated");
}

/* The piece's bytes: from the input, or a run of one filler byte. */
static size_t piece_bytes(struct input *in, unsigned flags, unsigned len, unsigned char *buf)
{
	if (flags & 4) {
		size_t n = (size_t)len << 8;

		memset(buf, (int)next_byte(in), n);
		return n;
	}
	for (unsigned i = 0; i < len; i++)
		buf[i] = (unsigned char)next_byte(in);
	return len;
}

/* One piece through the real code and the model; returns its size. */
static size_t one_piece(struct ws_message *m, struct model *md, struct input *in,
			unsigned char *buf)
{
	unsigned flags = next_byte(in), len = next_byte(in);
	int frame_done = flags & 1, final = (flags & 2) != 0;
	size_t n;
	enum ws_piece got, want;

	if (flags & 8) {
		ws_message_clear(m);
		model_clear(md);
	}
	n = piece_bytes(in, flags, len, buf);
	/* lws hands over NULL with an empty piece */
	got = ws_message_piece(m, n ? buf : NULL, n, frame_done, final);
	check_buffer(m);
	want = model_piece(md, m, buf, n, frame_done, final);
	fuzz_assert(got == want, "the outcome the rules give");
	if (got == WS_PIECE_MESSAGE)
		fuzz_assert(m->len == md->len && (!m->len || !memcmp(m->data, md->bytes, m->len)),
			    "a message holds exactly its pieces");
	if (frame_done && final)
		model_next_message(md);
	if (got == WS_PIECE_MESSAGE) {
		ws_message_reset(m);
		fuzz_assert(m->len == 0 && m->cap <= 65536, "a reset lets a big buffer go");
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size, 0 };
	struct ws_message m;
	struct model md = { model_buf, 0, 0, 0, 0 };
	size_t max, total = 0;
	unsigned max_frames;

	max = 1 + ((size_t)(next_byte(&in) | next_byte(&in) << 8) << 2);
	max_frames = next_byte(&in) & 31;
	ws_message_init(&m, max, max_frames);
	for (int i = 0; i < MAX_PIECES && in.pos < in.size && total < MAX_TOTAL; i++)
		total += one_piece(&m, &md, &in, piece_buf);
	ws_message_free(&m);
	return 0;
}
