/* Fuzz target: the hub's reading of the bytes under lws (src/hub/hub_wire.c):
 * request headers up to an upgrade, then frame headers.
 *
 * The bytes go the way lws' do: written into a socket pair and read back
 * with recv(), which hub_wire.c defines, from a socket the hub watches.
 * Byte 0 chooses the mode. Bit 7 clear: the rest of the input is a raw
 * stream, read once whole from one socket and in pieces of (byte 0 & 63)
 * + 1 bytes from another; both must end with the same faults, whatever
 * the stream. Bit 7 set: the rest describes frames after a well-formed
 * upgrade request, three bytes each (bits 0-3 the opcode, bit 4 FIN, bit 5
 * masked, bit 6 a 16-bit length, bit 7 a 64-bit one; then the length,
 * then how many times the frame repeats), and the faults must be exactly
 * what those frames deserve: unmasked if any frame was, too many
 * fragments if a message ran past WS_MESSAGE_MAX_FRAMES frames. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "hub/hub.h"
#include "net/wsmsg.h"

/* enough for more than WS_MESSAGE_MAX_FRAMES empty frames; more would
 * only make each run slower */
#define MAX_STREAM (16 << 10)

static unsigned char stream[MAX_STREAM];

/* Two socket pairs, made once and drained after every run; watching a
 * socket again starts its reading afresh. */
static int pair[2][2] = { { -1, -1 }, { -1, -1 } };

static void watch_pairs(void)
{
	for (int i = 0; i < 2; i++) {
		if (pair[i][0] < 0)
			fuzz_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, pair[i]) == 0, "socketpair");
		hub_wire_watch(pair[i][1], 0);
	}
}

/* Through socket pair i, read back in pieces of at most piece bytes. */
static void pass(int i, const unsigned char *p, size_t n, size_t piece)
{
	unsigned char buf[4096];
	size_t off = 0;

	while (off < n) {
		size_t chunk = n - off < sizeof buf ? n - off : sizeof buf;
		ssize_t w = write(pair[i][0], p + off, chunk);
		size_t got = 0;

		fuzz_assert(w > 0, "write to the socket pair");
		while (got < (size_t)w) {
			size_t want = (size_t)w - got < piece ? (size_t)w - got : piece;
			ssize_t r = recv(pair[i][1], buf, want, 0);

			fuzz_assert(r > 0, "recv from the socket pair");
			got += (size_t)r;
		}
		off += (size_t)w;
	}
}

static void raw_stream(const uint8_t *data, size_t size, size_t piece)
{
	if (size > MAX_STREAM)
		size = MAX_STREAM;
	pass(0, data, size, size ? size : 1);
	pass(1, data, size, piece);
	fuzz_assert(hub_wire_faults(pair[0][1]) == hub_wire_faults(pair[1][1]),
		    "the same faults, however the stream is cut");
}

static const char upgrade[] =
	"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
	"Connection: Upgrade\r\nSEC-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	"Sec-WebSocket-Version: 13\r\n\r\n";

/* One frame header for flags and length, as a client writes it (with a
 * 7-bit length, len is taken modulo 126). */
static size_t frame(unsigned char *h, unsigned flags, uint64_t len)
{
	unsigned mask = flags & 0x20 ? 0x80 : 0;
	size_t n = 0;

	h[n++] = (unsigned char)((flags & 0x10 ? 0x80 : 0) | (flags & 0x0f));
	if (flags & 0x80) {
		h[n++] = (unsigned char)(mask | 127);
		for (int i = 7; i >= 0; i--)
			h[n++] = (unsigned char)(len >> (8 * i));
	} else if (flags & 0x40) {
		h[n++] = (unsigned char)(mask | 126);
		h[n++] = (unsigned char)(len >> 8);
		h[n++] = (unsigned char)len;
	} else {
		h[n++] = (unsigned char)(mask | (len % 126));
	}
	if (mask)
		for (int i = 0; i < 4; i++)
			h[n++] = 0x5a;
	return n;
}

static uint64_t frame_length(const unsigned char *h)
{
	unsigned len7 = h[1] & 0x7f;
	uint64_t len = 0;

	if (len7 < 126)
		return len7;
	for (unsigned i = 0; i < (len7 == 126 ? 2u : 8u); i++)
		len = len << 8 | h[2 + i];
	return len;
}

static void built_frames(const uint8_t *data, size_t size, size_t piece)
{
	size_t n = sizeof upgrade - 1;
	int want = 0;
	unsigned frames = 0;

	memcpy(stream, upgrade, n);
	for (size_t i = 0; i + 3 <= size; i += 3) {
		unsigned flags = data[i], opcode = flags & 0x0f;
		uint64_t len = data[i + 1] << (flags & 0xc0 ? 4 : 0);

		for (unsigned r = 0; r <= data[i + 2]; r++) {
			unsigned char h[14];
			size_t hn = frame(h, flags, len);

			len = frame_length(h);
			if (n + hn + len > MAX_STREAM)
				goto done;
			memcpy(stream + n, h, hn);
			n += hn;
			memset(stream + n, 'x', (size_t)len);
			n += (size_t)len;
			if (!(flags & 0x20))
				want |= HUB_WIRE_UNMASKED;
			if (opcode < 8) {
				frames = opcode ? 1 : frames + 1;
				if (frames > WS_MESSAGE_MAX_FRAMES)
					want |= HUB_WIRE_FRAGMENTS;
				if (flags & 0x10)
					frames = 0;
			}
		}
	}
done:
	pass(1, stream, n, piece);
	fuzz_assert(hub_wire_faults(pair[1][1]) == want, "the faults the frames deserve");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t piece;

	if (!size)
		return 0;
	piece = (data[0] & 63) + 1;
	watch_pairs();
	if (data[0] & 0x80)
		built_frames(data + 1, size - 1, piece);
	else
		raw_stream(data + 1, size - 1, piece);
	return 0;
}
