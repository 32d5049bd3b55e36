/* Fuzz target: the hub's handling of incoming messages (src/hub/hub_conn.c
 * and src/hub/hub_ingest.c), with fan-out (src/hub/hub_fanout.c, to eaters
 * by src/hub/hub_eater.c) and the status dumpling (src/hub/hub_status.c)
 * behind it.
 *
 * The hub reads messages only inside its libwebsockets protocol callbacks,
 * so this target drives the real callbacks (hub_kitchen_protocols and
 * hub_eater_protocols) over fake connections: the handful of lws calls they
 * make about a connection (is this frame binary, final, writable...) are
 * defined here and answer from the fuzz input, while the ring buffer is the
 * real lws_ring. Definitions in the executable take precedence over the
 * shared library's, so the hub objects are linked unchanged.
 *
 * Input: two control bytes, then messages separated by newlines. Eater A's
 * hello comes first, then eater B's, then the kitchen's hello and its
 * dumplings. Control byte 0: bit 0 the slow-eater policy, bit 1 whether
 * eater B stops reading, bit 2 whether pieces are fragments or parts of
 * one frame, bit 3 whether hellos go as binary frames, bits 4-7 the queue
 * length. Control byte 1: bits 0-4 the size of the pieces a message
 * arrives in (0: whole), bits 5-7 which connections negotiated
 * permessage-deflate (eater A, eater B, kitchen), which decides how the
 * hub writes to an eater. A message starting with 0x01 goes as a binary
 * frame.
 *
 * Checked: no crash or leak; every message an eater gets is valid JSON
 * whose metadata.chef passes that eater's chef filter, in well-formed
 * frames when the hub frames them itself; an eater that keeps up and
 * filters nothing gets every dumpling; the counts add up once everyone
 * has left; and forwarded dumplings are strictly valid (no bytes after
 * the document, valid UTF-8), as DESIGN.md asks of the hub's validation.
 * DUMPLINGS_FUZZ_LAX=1 drops that last check. Every kitchen message also
 * goes to the hub's checker (src/base/jsonscan.c) directly: what it accepts,
 * cJSON must parse to the same metadata.chef, .kitchen and .driver. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "hub/hub.h"
#include "base/jsonscan.h"

enum { EATER_A, EATER_B, KITCHEN, NCONNS, MAX_MESSAGES = 256 };

struct fake_wsi {
	struct hub_conn conn;	/* lws' per-session user data */
	int open, want_write, stalled, deflate;
	int sent_close;		/* the hub wrote its close frame */
	unsigned long received;
};

static struct hub hub;
static struct fake_wsi conns[NCONNS];
static int frame_binary, frame_final;
static size_t frame_remaining;
static int strict;
static struct {
	lws_sorted_usec_list_t *sul;
	sul_cb_t cb;
} status_timer;

/* ---- the lws calls the hub makes, answered by the fake ------------------- */

static struct fake_wsi *fake(const struct lws *wsi)
{
	return (struct fake_wsi *)wsi;
}

struct lws_context *lws_get_context(const struct lws *wsi)
{
	return (struct lws_context *)&hub;
}

void *lws_context_user(struct lws_context *context)
{
	return &hub;
}

lws_sockfd_type lws_get_socket_fd(struct lws *wsi)
{
	return -1;
}

int lws_frame_is_binary(struct lws *wsi)
{
	return frame_binary;
}

int lws_is_final_fragment(struct lws *wsi)
{
	return frame_final;
}

size_t lws_remaining_packet_payload(struct lws *wsi)
{
	return frame_remaining;
}

int lws_callback_on_writable(struct lws *wsi)
{
	fake(wsi)->want_write = 1;
	return 1;
}

/* Holding kitchens back for a lossless eater: nothing to stop here. */
int lws_rx_flow_control(struct lws *wsi, int enable)
{
	return 0;
}

int lws_send_pipe_choked(struct lws *wsi)
{
	return 0;
}

int lws_partial_buffered(struct lws *wsi)
{
	return 0;
}

/* Only asked for the extensions header: whether permessage-deflate was
 * negotiated. */
int lws_hdr_total_length(struct lws *wsi, enum lws_token_indexes h)
{
	return fake(wsi)->deflate ? 18 : 0;
}

/* Asked by the upgrade's checks only, which this target does not reach:
 * no such header. */
int lws_hdr_copy(struct lws *wsi, char *dest, int len, enum lws_token_indexes h)
{
	return -1;
}

void lws_set_timer_usecs(struct lws *wsi, lws_usec_t usecs)
{
}

void lws_set_timeout(struct lws *wsi, enum pending_timeout reason, int secs)
{
}

void lws_close_reason(struct lws *wsi, enum lws_close_status status,
		      unsigned char *buf, size_t len)
{
}

int lws_callback_http_dummy(struct lws *wsi, enum lws_callback_reasons reason,
			    void *user, void *in, size_t len)
{
	return 0;
}

void lws_sul_schedule(struct lws_context *ctx, int tsi, lws_sorted_usec_list_t *sul,
		      sul_cb_t cb, lws_usec_t us)
{
	status_timer.sul = sul;
	status_timer.cb = cb;
}

static int passes_filter(const struct hub_filter *f, const char *s)
{
	if (!f->n)
		return 1;
	for (int i = 0; s && i < f->n; i++)
		if (!strcmp(f->v[i], s))
			return 1;
	return 0;
}

/* One dumpling as an eater receives it. */
static void check_received(struct fake_wsi *w, const unsigned char *buf, size_t len)
{
	const struct hub_conn *c = &w->conn;
	const cJSON *meta, *chef;
	cJSON *doc;

	if (strict)
		fuzz_check_json((const char *)buf, len);
	doc = cJSON_ParseWithLength((const char *)buf, len);
	fuzz_assert(cJSON_IsObject(doc), "an eater gets JSON objects");
	meta = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
	chef = cJSON_GetObjectItemCaseSensitive(meta, "chef");
	fuzz_assert(cJSON_IsString(chef), "an eater gets dumplings with metadata.chef");
	fuzz_assert(passes_filter(&c->sub.chefs, chef->valuestring), "the chef filter holds");
	cJSON_Delete(doc);
	w->received++;
}

static uint64_t get_be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

/* Frames the hub built itself (LWS_WRITE_RAW): final, text, unmasked,
 * each length in its shortest form (RFC 6455 5.2). */
static void check_frames(struct fake_wsi *w, const unsigned char *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		const unsigned char *h = buf + off;
		size_t hlen = 2;
		uint64_t n;

		fuzz_assert(len - off >= 2 && h[0] == 0x81 && h[1] < 128, "a final text frame");
		n = h[1];
		if (n == 126) {
			fuzz_assert(len - off >= 4, "16-bit length present");
			n = get_be(h + 2, 2);
			hlen = 4;
			fuzz_assert(n >= 126, "16-bit length in shortest form");
		} else if (n == 127) {
			fuzz_assert(len - off >= 10, "64-bit length present");
			n = get_be(h + 2, 8);
			hlen = 10;
			fuzz_assert(n >= 65536, "64-bit length in shortest form");
		}
		fuzz_assert(n <= len - off - hlen, "frame within the write");
		check_received(w, h + hlen, (size_t)n);
		off += hlen + (size_t)n;
	}
}

/* A close frame the hub wrote itself: final, unmasked, a code and a
 * reason that fit a control frame, sent only when closing. */
static void check_close(const struct fake_wsi *w, const unsigned char *buf, size_t len)
{
	unsigned code;

	fuzz_assert(w->conn.closing, "a close frame only when closing");
	fuzz_assert(len >= 4 && buf[1] < 126 && buf[1] >= 2 && len == 2u + buf[1],
		    "a close frame holds a code and fits a control frame");
	code = (unsigned)get_be(buf + 2, 2);
	fuzz_assert(code >= 1000 && code < 5000, "a close code in range");
}

/* What an eater receives, and close frames. */
int lws_write(struct lws *wsi, unsigned char *buf, size_t len, enum lws_write_protocol protocol)
{
	struct fake_wsi *w = fake(wsi);

	if (protocol == LWS_WRITE_RAW && len && buf[0] == 0x88) {
		check_close(w, buf, len);
		w->sent_close = 1;
		return (int)len;
	}
	fuzz_assert(w->conn.role == HUB_EATER && w->conn.greeted,
		    "only greeted eaters are written to");
	if (protocol == LWS_WRITE_RAW) {
		fuzz_assert(!w->conn.deflate, "no raw frames to a compressed eater");
		check_frames(w, buf, len);
	} else {
		fuzz_assert(protocol == LWS_WRITE_TEXT, "dumplings go as text frames");
		check_received(w, buf, len);
	}
	return (int)len;
}

/* ---- driving the callbacks ----------------------------------------------- */

static int callback(int i, enum lws_callback_reasons reason, void *in, size_t len)
{
	const struct lws_protocols *p = i == KITCHEN ? hub_kitchen_protocols : hub_eater_protocols;

	return p->callback((struct lws *)&conns[i], reason, &conns[i].conn, in, len);
}

/* lws closes a connection whose callback returns -1. */
static void call(int i, enum lws_callback_reasons reason, void *in, size_t len)
{
	if (!conns[i].open)
		return;
	if (callback(i, reason, in, len) < 0) {
		conns[i].open = 0;
		callback(i, LWS_CALLBACK_CLOSED, NULL, 0);
	}
}

/* A peer answers the hub's close frame with its own; lws hands that to
 * the hub, which has nothing to echo, and closes. */
static void answer_close(int i)
{
	static const unsigned char code[2] = { 0x03, 0xe8 };	/* 1000 */

	if (!conns[i].open || !conns[i].sent_close)
		return;
	fuzz_assert(callback(i, LWS_CALLBACK_WS_PEER_INITIATED_CLOSE, (void *)code, 2) != 0,
		    "the hub, having sent its close, does not echo the peer's");
	conns[i].open = 0;
	callback(i, LWS_CALLBACK_CLOSED, NULL, 0);
}

/* Give every connection that asked for it, and is reading, its WRITEABLE. */
static void service(int everyone)
{
	for (int round = 0; round < 64; round++) {
		int any = 0;

		for (int i = 0; i < NCONNS; i++) {
			struct fake_wsi *w = &conns[i];

			if (!w->open || !w->want_write || (w->stalled && !everyone && !w->conn.closing))
				continue;
			w->want_write = 0;
			any = 1;
			call(i, LWS_CALLBACK_SERVER_WRITEABLE, NULL, 0);
			answer_close(i);
		}
		if (!any)
			return;
	}
}

/* One message, as one frame or in pieces: fragments of a message, or
 * parts of one large frame. */
static void deliver(int i, const uint8_t *msg, size_t len, int binary,
		    size_t piece, int one_frame)
{
	size_t off = 0;

	if (len && msg[0] == 1) {
		binary = 1;
		msg++;
		len--;
	}
	if (!piece || piece > len)
		piece = len;
	frame_binary = binary;
	do {
		size_t n = len - off < piece ? len - off : piece;
		int last = off + n == len;

		frame_final = one_frame || last;
		frame_remaining = one_frame && !last ? len - off - n : 0;
		call(i, LWS_CALLBACK_RECEIVE, n ? (void *)(msg + off) : NULL, n);
		off += n;
	} while (off < len && conns[i].open);
}

static void start(unsigned ctl, unsigned deflate)
{
	memset(&hub, 0, sizeof hub);
	hub.cfg.address = "localhost";
	hub.cfg.status_freq = 5;
	hub.cfg.hello_timeout = 10;
	hub.cfg.max_message = 4096;
	hub.cfg.max_hello = 1024;
	hub.cfg.max_connections = 16;
	hub.cfg.queue_len = 1 + (ctl >> 4);
	hub.cfg.queue_bytes = 2048;
	hub.cfg.slow = ctl & 1 ? HUB_SLOW_DISCONNECT : HUB_SLOW_SKIP;
	fuzz_assert(hub_fanout_init(&hub) == 0, "ring created");
	hub_status_start(&hub);
	memset(conns, 0, sizeof conns);
	for (int i = 0; i < NCONNS; i++) {
		conns[i].open = 1;
		conns[i].deflate = deflate >> i & 1;
		call(i, LWS_CALLBACK_ESTABLISHED, NULL, 0);
	}
	conns[EATER_B].stalled = ctl & 2;
}

/* Time passes: hellos time out, a status dumpling goes out, everyone
 * drains and leaves; then the hub must be back to empty. */
static void finish(void)
{
	const struct hub_conn *a = &conns[EATER_A].conn;
	int a_takes_all = a->greeted && !a->sub.chefs.n && !a->sub.kitchens.n && !a->sub.drivers.n;

	for (int i = 0; i < NCONNS; i++)
		call(i, LWS_CALLBACK_TIMER, NULL, 0);
	fuzz_assert(status_timer.cb != NULL, "status timer scheduled");
	status_timer.cb(status_timer.sul);
	service(1);
	for (int i = 0; i < NCONNS; i++) {
		if (conns[i].open) {
			conns[i].open = 0;
			callback(i, LWS_CALLBACK_CLOSED, NULL, 0);
		}
	}
	fuzz_assert(hub.nkitchens == 0 && hub.fan.nsubs == 0, "everyone has left");
	fuzz_assert(!hub.kitchens && !hub.eaters, "connection lists are empty");
	fuzz_assert(hub.count.out <= hub.count.in * 2 + 2, "no eater got more than was sent");
	/* Eater A reads after every message, so with no filter it gets
	 * every dumpling, and the status dumpling. */
	if (a_takes_all)
		fuzz_assert(conns[EATER_A].received == hub.count.in + 1,
			    "an eater that keeps up gets every dumpling");
	hub_fanout_free(&hub);
	hub_ingest_free(&hub);	/* hub_main's to free */
	fuzz_assert(hub.fan.bytes == 0, "the ring's bytes are all released");
}

static const char *meta_string(const cJSON *meta, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void same_string(const char *ours, const char *cjson, const char *what)
{
	fuzz_assert(!ours == !cjson && (!ours || !strcmp(ours, cjson)), what);
}

/* cJSON reads "\u0000" in a key as the end of it ("chef\u0000x" is
 * "chef" to it), where the checker compares whole keys. */
static int has_nul_escape(const char *msg, size_t len)
{
	for (size_t i = 0; i + 6 <= len; i++)
		if (msg[i] == '\\' && msg[i + 1] == 'u' && !memcmp(msg + i + 2, "0000", 4))
			return 1;
	return 0;
}

static void check_scan(const uint8_t *data, size_t len)
{
	const char *msg = (const char *)data;
	char *scratch = malloc(len + 3);
	struct json_meta m;
	const cJSON *meta;
	cJSON *doc;

	fuzz_assert(scratch != NULL, "out of memory");
	if (json_scan(msg, len, &m, scratch) == 0) {
		doc = cJSON_ParseWithLength(msg, len);
		fuzz_assert(doc != NULL, "what the checker accepts, cJSON parses");
		meta = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
		if (!has_nul_escape(msg, len)) {
			meta = cJSON_IsObject(meta) ? meta : NULL;
			same_string(m.chef, meta ? meta_string(meta, "chef") : NULL, "same chef");
			same_string(m.kitchen, meta ? meta_string(meta, "kitchen") : NULL, "same kitchen");
			same_string(m.driver, meta ? meta_string(meta, "driver") : NULL, "same driver");
		}
		cJSON_Delete(doc);
	}
	free(scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned ctl, piece;
	size_t off = 2;
	int n;

	if (size < 2)
		return 0;
	log_set_level(LOG_ERROR);	/* bad peers are logged as warnings */
	strict = getenv("DUMPLINGS_FUZZ_LAX") == NULL;
	ctl = data[0];
	piece = data[1] & 0x1f;
	start(ctl, data[1] >> 5);
	for (n = 0; n < MAX_MESSAGES && off <= size; n++) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t len = nl ? (size_t)(nl - (data + off)) : size - off;
		int to = n < KITCHEN ? n : KITCHEN;

		if (n > KITCHEN)
			check_scan(data + off, len);
		deliver(to, data + off, len, n <= KITCHEN && (ctl & 8), piece, ctl & 4);
		service(0);
		off += len + 1;
	}
	/* Every message a greeted kitchen sent after its hello is published,
	 * counted invalid, or a new hello (its chefs changed). */
	if (conns[KITCHEN].open && conns[KITCHEN].conn.greeted)
		fuzz_assert(conns[KITCHEN].conn.src.in + conns[KITCHEN].conn.src.invalid +
			    conns[KITCHEN].conn.hellos_again == (unsigned long)(n - KITCHEN - 1) &&
			    hub.count.in == conns[KITCHEN].conn.src.in,
			    "every dumpling is published or counted invalid");
	finish();
	return 0;
}
