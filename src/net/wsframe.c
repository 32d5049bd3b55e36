/* WebSocket frames written by hand (see wsframe.h). */
#include <string.h>

#include "wsframe.h"

static size_t frame_header(unsigned char *h, unsigned op, size_t len, int masked)
{
	unsigned char m = masked ? 0x80 : 0;

	h[0] = (unsigned char)(0x80 | op);	/* FIN */
	if (len < 126) {
		h[1] = m | (unsigned char)len;
		return 2;
	}
	if (len < 65536) {
		h[1] = m | 126;
		h[2] = (unsigned char)(len >> 8);
		h[3] = (unsigned char)len;
		return 4;
	}
	h[1] = m | 127;
	for (int i = 0; i < 8; i++)
		h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	return 10;
}

size_t ws_frame(unsigned char *dst, unsigned op, const void *payload, size_t len,
		const unsigned char mask[4])
{
	const unsigned char *src = payload;
	size_t h = frame_header(dst, op, len, mask != NULL);

	if (!mask) {
		memcpy(dst + h, src, len);
		return h + len;
	}
	memcpy(dst + h, mask, 4);
	h += 4;
	for (size_t i = 0; i < len; i++)
		dst[h + i] = src[i] ^ mask[i & 3];
	return h + len;
}

size_t ws_close_frame(unsigned char *dst, int code, const char *why,
		      const unsigned char mask[4])
{
	unsigned char payload[WS_CONTROL_MAX];
	size_t n = strlen(why);

	if (n > WS_CONTROL_MAX - 2)
		n = WS_CONTROL_MAX - 2;
	payload[0] = (unsigned char)(code >> 8);
	payload[1] = (unsigned char)code;
	memcpy(payload + 2, why, n);
	return ws_frame(dst, WS_OP_CLOSE, payload, n + 2, mask);
}
