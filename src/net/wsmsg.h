#ifndef WSMSG_H
#define WSMSG_H

/* A WebSocket message collected from the pieces libwebsockets hands over
 * (a frame may come in several pieces, a message in several frames), with
 * two bounds: bytes and frames. This part knows nothing of lws, so that it
 * can be fuzzed alone (fuzz/wsmsg.c); ws_message_add() in wsutil.h feeds it
 * from a RECEIVE callback.
 *
 * A message over a bound is refused once, its bytes are let go, and the
 * rest of it is dropped as it arrives: the caller closes the connection,
 * but from outside the receive callback (returning -1 there with a close
 * reason makes lws 4.1.6 write the rest of the frame past the end of its
 * own receive buffer). */

#include <stddef.h>

/* Frames one message may take, at both ends: nothing we know of sends a
 * message in more than a few, and an endless run of empty continuation
 * frames must end somewhere. */
#define WS_MESSAGE_MAX_FRAMES 1024

struct ws_message {
	char *data;		/* NUL-terminated once complete */
	size_t len, cap;
	size_t max;		/* bytes a message may hold */
	unsigned max_frames;	/* frames a message may take; 0: no bound */
	unsigned frames;	/* frames of this message so far */
	int in_frame;		/* the last piece did not end its frame */
	int dropping;		/* refused: dropping the rest of the message */
};

enum ws_piece {
	WS_PIECE_MORE,		/* nothing to do yet */
	WS_PIECE_MESSAGE,	/* data and len hold a whole message */
	WS_PIECE_TOO_BIG,	/* the message went past max bytes: refused */
	WS_PIECE_TOO_MANY_FRAMES,	/* ... past max_frames: refused */
};

void ws_message_init(struct ws_message *m, size_t max, unsigned max_frames);

/* One piece of payload (in may be NULL when len is 0). frame_done: the
 * piece ends its frame; final: that frame is the last of its message. */
enum ws_piece ws_message_piece(struct ws_message *m, const void *in, size_t len,
			       int frame_done, int final);

/* Start on the next message. A buffer grown by one huge message is let
 * go rather than kept for the life of the connection. */
void ws_message_reset(struct ws_message *m);
/* Forget everything, a message half collected included (a new connection). */
void ws_message_clear(struct ws_message *m);
void ws_message_free(struct ws_message *m);

/* What a refusal is called in logs and close reasons, and the close code
 * that says it (RFC 6455 7.4.1): 1009 for too big, 1008 for too many
 * fragments. */
const char *ws_piece_refusal(enum ws_piece r);
int ws_piece_close_code(enum ws_piece r);

#endif
