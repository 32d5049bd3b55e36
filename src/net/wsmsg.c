/* Collecting a WebSocket message from its pieces, within bounds. */
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "wsmsg.h"

/* a buffer larger than this is freed between messages */
#define WS_MESSAGE_KEEP 65536

void ws_message_init(struct ws_message *m, size_t max, unsigned max_frames)
{
	memset(m, 0, sizeof *m);
	m->max = max;
	m->max_frames = max_frames;
}

static void message_grow(struct ws_message *m, size_t need)
{
	if (need <= m->cap)
		return;
	m->cap = need * 2;
	if (m->cap > m->max + 1)
		m->cap = m->max + 1;
	m->data = xrealloc(m->data, m->cap);
}

/* Let the bytes go and drop what is still to come of this message. */
static enum ws_piece message_refuse(struct ws_message *m, enum ws_piece why, int ends)
{
	ws_message_free(m);
	m->dropping = !ends;
	if (ends)
		m->frames = 0;
	return why;
}

/* The rest of a refused message goes nowhere, until its last piece. */
static enum ws_piece message_drop(struct ws_message *m, int frame_done, int final)
{
	m->in_frame = !frame_done;
	if (frame_done && final) {
		m->dropping = 0;
		m->frames = 0;
	}
	return WS_PIECE_MORE;
}

enum ws_piece ws_message_piece(struct ws_message *m, const void *in, size_t len,
			       int frame_done, int final)
{
	int ends = frame_done && final;

	if (m->dropping)
		return message_drop(m, frame_done, final);
	if (!m->in_frame)
		m->frames++;
	m->in_frame = !frame_done;
	if (m->max_frames && m->frames > m->max_frames)
		return message_refuse(m, WS_PIECE_TOO_MANY_FRAMES, ends);
	if (len > m->max - m->len)
		return message_refuse(m, WS_PIECE_TOO_BIG, ends);
	message_grow(m, m->len + len + 1);
	if (len)	/* a final fragment may be empty, with in == NULL */
		memcpy(m->data + m->len, in, len);
	m->len += len;
	m->data[m->len] = '\0';
	if (!ends)
		return WS_PIECE_MORE;
	m->frames = 0;
	return WS_PIECE_MESSAGE;
}

void ws_message_reset(struct ws_message *m)
{
	m->len = 0;
	m->frames = 0;
	if (m->cap > WS_MESSAGE_KEEP)
		ws_message_free(m);
}

void ws_message_clear(struct ws_message *m)
{
	ws_message_free(m);
	m->frames = 0;
	m->in_frame = 0;
	m->dropping = 0;
}

void ws_message_free(struct ws_message *m)
{
	free(m->data);
	m->data = NULL;
	m->len = m->cap = 0;
}

const char *ws_piece_refusal(enum ws_piece r)
{
	return r == WS_PIECE_TOO_MANY_FRAMES ? "too many fragments" : "message too big";
}

int ws_piece_close_code(enum ws_piece r)
{
	return r == WS_PIECE_TOO_MANY_FRAMES ? 1008 : 1009;
}
