/* The frames under lws: what libwebsockets 4.1.6 does not check for a
 * server, the hub checks here. RFC 6455 5.1 wants every frame from a
 * client masked, and a server to close with 1002 on one that is not; lws
 * 4.1.6 accepts unmasked frames as they are, and says nothing about the mask
 * bit to its callbacks. And with permessage-deflate its RECEIVE callbacks
 * hand over inflated bytes a kilobyte at a time, so they no longer tell how
 * many frames a message came in.
 *
 * So the hub follows the bytes lws reads from each of its connections:
 * recv() and SSL_read() are defined here, in the executable, so that lws'
 * calls land here first (an executable's definitions win over a shared
 * library's); both pass everything through unchanged and, for the sockets
 * the hub registered, read the stream alongside lws: request headers up to
 * the end of an upgrade request (one with a Sec-WebSocket-Key), then each
 * frame header, skipping payloads without looking at them. What it finds is
 * kept per socket as faults that the hub's RECEIVE callback asks about.
 *
 * The parser never trusts the peer: a stream it cannot follow (headers lws
 * reads differently, a request with a body) at worst leaves it looking for
 * frames where there are none, so it fails open, and the byte and frame
 * bounds of ws_message_piece() still hold. The cost is a table lookup per
 * read and a few bytes per frame header. */
#include <ctype.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "hub.h"
#include "base/util.h"
#include "net/wsmsg.h"

enum wire_state { WIRE_HTTP, WIRE_FRAMES };

struct wire {
	unsigned char watched, tls;
	unsigned char state;		/* enum wire_state */
	/* request headers */
	unsigned short line;		/* bytes in this line, CRs aside */
	signed char key;		/* how much of the key header the line starts with */
	unsigned char upgrade;		/* this request carries a Sec-WebSocket-Key */
	/* frames */
	unsigned char head[14], have;	/* a header split between reads */
	uint64_t left;			/* payload of this frame still to come */
	unsigned frames;		/* frames of the data message under way */
	unsigned char faults;		/* HUB_WIRE_UNMASKED, HUB_WIRE_FRAGMENTS */
};

static const char key_header[] = "sec-websocket-key:";

/* By socket; grown as the hub registers sockets, only by the hub's thread. */
static struct wire *wires;
static size_t nwires;
/* Set on the hub's thread when it registers a socket. Other threads read
 * too (the NATS client's, hub_link.c, through the same recv() and
 * SSL_read()): they must not touch the table, and their sockets are none
 * of the hub's connections. */
static __thread int wire_hub_thread;

/* ---- request headers ------------------------------------------------------ */

static void wire_header_char(struct wire *w, unsigned char c)
{
	if (w->key >= 0 && (size_t)w->key < sizeof key_header - 1) {
		if (tolower(c) == key_header[w->key])
			w->key++;
		else
			w->key = -1;
		if ((size_t)w->key == sizeof key_header - 1)
			w->upgrade = 1;
	}
	w->line++;
}

/* An empty line ends a request: after an upgrade, frames follow; after
 * anything else, another request may. */
static void wire_end_of_line(struct wire *w)
{
	if (!w->line) {
		if (w->upgrade)
			w->state = WIRE_FRAMES;
		w->upgrade = 0;
	}
	w->line = 0;
	w->key = 0;
}

static size_t wire_http(struct wire *w, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && w->state == WIRE_HTTP; i++) {
		if (p[i] == '\n')
			wire_end_of_line(w);
		else if (p[i] != '\r')
			wire_header_char(w, p[i]);
	}
	return i;
}

/* ---- frames ------------------------------------------------------------------ */

/* The second byte says how long the header is: extended length, mask key. */
static unsigned wire_header_size(const unsigned char *h)
{
	unsigned len7 = h[1] & 0x7f;

	return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (h[1] & 0x80 ? 4 : 0);
}

static uint64_t wire_length(const unsigned char *h)
{
	unsigned len7 = h[1] & 0x7f;
	uint64_t len = 0;

	if (len7 < 126)
		return len7;
	for (unsigned i = 0; i < (len7 == 126 ? 2u : 8u); i++)
		len = len << 8 | h[2 + i];
	return len;
}

/* A whole frame header h: what it says about masking and fragments. */
static void wire_frame(struct wire *w, const unsigned char *h)
{
	unsigned opcode = h[0] & 0x0f, fin = h[0] >> 7;

	if (!(h[1] & 0x80))
		w->faults |= HUB_WIRE_UNMASKED;
	if (opcode < 8) {	/* data: continuation, text or binary */
		w->frames = opcode ? 1 : w->frames + 1;
		if (w->frames > WS_MESSAGE_MAX_FRAMES)
			w->faults |= HUB_WIRE_FRAGMENTS;
		if (fin)
			w->frames = 0;
	}
	w->left = wire_length(h);
}

/* A header split between reads, collected a byte at a time. */
static void wire_header_byte(struct wire *w, unsigned char c)
{
	w->head[w->have++] = c;
	if (w->have >= 2 && w->have == wire_header_size(w->head)) {
		wire_frame(w, w->head);
		w->have = 0;
	}
}

/* Payloads are skipped whole; a header that is all in the buffer is read
 * where it lies, which is nearly always. */
static void wire_frames(struct wire *w, const unsigned char *p, size_t n)
{
	const unsigned char *end = p + n;

	while (p < end) {
		size_t avail = (size_t)(end - p);

		if (w->left) {
			size_t skip = w->left < avail ? (size_t)w->left : avail;

			w->left -= skip;
			p += skip;
			continue;
		}
		if (!w->have && avail >= 2) {
			unsigned size = wire_header_size(p);

			if (avail >= size) {
				wire_frame(w, p);
				p += size;
				continue;
			}
		}
		wire_header_byte(w, *p++);
	}
}

static void wire_feed(struct wire *w, const unsigned char *p, size_t n)
{
	if (w->state == WIRE_HTTP) {
		size_t used = wire_http(w, p, n);

		p += used;
		n -= used;
	}
	if (n)
		wire_frames(w, p, n);
}

/* ---- the hub's side ----------------------------------------------------------- */

void hub_wire_watch(int fd, int tls)
{
	if (fd < 0)
		return;
	wire_hub_thread = 1;
	if ((size_t)fd >= nwires) {
		size_t n = (size_t)fd + 64;

		wires = xrealloc(wires, n * sizeof *wires);
		memset(wires + nwires, 0, (n - nwires) * sizeof *wires);
		nwires = n;
	}
	memset(&wires[fd], 0, sizeof wires[fd]);
	wires[fd].watched = 1;
	wires[fd].tls = (unsigned char)tls;
}

int hub_wire_faults(int fd)
{
	return fd >= 0 && (size_t)fd < nwires ? wires[fd].faults : 0;
}

void hub_wire_free(void)
{
	free(wires);
	wires = NULL;
	nwires = 0;
}

static void wire_saw(int fd, int tls, const void *buf, size_t n)
{
	if (wire_hub_thread && fd >= 0 && (size_t)fd < nwires && wires[fd].watched &&
	    wires[fd].tls == tls)
		wire_feed(&wires[fd], buf, n);
}

/* ---- where lws reads ----------------------------------------------------------- */

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	ssize_t n = recvfrom(fd, buf, len, flags, NULL, NULL);

	if (n > 0 && !(flags & MSG_PEEK))
		wire_saw(fd, 0, buf, (size_t)n);
	return n;
}

static int (*real_ssl_read)(SSL *, void *, int);

static void find_ssl_read(void)
{
	real_ssl_read = (int (*)(SSL *, void *, int))dlsym(RTLD_NEXT, "SSL_read");
}

int SSL_read(SSL *ssl, void *buf, int num)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int n;

	pthread_once(&once, find_ssl_read);
	if (!real_ssl_read)
		abort();	/* no libssl: nothing could have called us */
	n = real_ssl_read(ssl, buf, num);
	if (n > 0)
		wire_saw(SSL_get_fd(ssl), 1, buf, (size_t)n);
	return n;
}
