#ifndef WSFRAME_H
#define WSFRAME_H

/* WebSocket frames written by hand (RFC 6455 5.2), for the places that hand
 * libwebsockets finished bytes: many frames in one write (the hub to its
 * eaters, a kitchen's uplink to the hub), and close frames, which lws 4.1
 * has no public way to send alone. Every frame is final and never
 * compressed; a client's is masked, a server's not. Knows nothing of lws. */

#include <stddef.h>
#include <stdint.h>

#define WS_OP_TEXT	0x1
#define WS_OP_CLOSE	0x8
#define WS_OP_PING	0x9

/* Bytes a frame adds to its payload, at most: two, eight of length, four
 * of mask. */
#define WS_FRAME_OVERHEAD 14
/* A control frame's payload, at most (a close frame's: code and reason). */
#define WS_CONTROL_MAX 125

/* Write one whole frame of opcode op at dst: the header, with the length
 * in its shortest form, then the len bytes of payload, XORed with mask if
 * mask is not NULL (a client's frame). dst has room for len +
 * WS_FRAME_OVERHEAD bytes; returns how many it took. */
size_t ws_frame(unsigned char *dst, unsigned op, const void *payload, size_t len,
		const unsigned char mask[4]);

/* A close frame: code, then at most WS_CONTROL_MAX - 2 bytes of why
 * (cut there, as a control frame must be). dst has room for
 * WS_CONTROL_MAX + WS_FRAME_OVERHEAD bytes. */
size_t ws_close_frame(unsigned char *dst, int code, const char *why,
		      const unsigned char mask[4]);

#endif
