/* The shared WebSocket client: connection set-up, fragment reassembly,
 * close codes and timers over one lws context. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

#include <libwebsockets.h>
#include <openssl/ssl.h>

#include "base/log.h"
#include "base/util.h"
#include "wsclient.h"
#include "wsframe.h"
#include "wsutil.h"

struct wsclient {
	const struct wsclient_ops *ops;
	void *user;
	struct lws_context *ctx;
	struct lws *wsi;
	struct wsclient_target t;
	int cur;		/* t.hub[cur] has its turn */
	int failures;		/* losses since a hub last proved itself */
	double since;		/* the connection was established then, or 0 */
	size_t max_message;
	int established;
	int closing, close_code, close_sent;
	char close_why[64];
	int peer_code;
	int peer_closed;	/* the peer's close frame came */
	char peer_why[124];	/* its reason (RFC 6455 allows 123 bytes) */
	int reported;		/* ops->lost ran during wsclient_connect() */
	char cert_error[160];	/* why the hub's certificate was refused */
	char why[256];
	struct ws_message rx;
	lws_sorted_usec_list_t sul;
	uint64_t mask_state;	/* xorshift64: a fresh masking key per frame */
	/* a hub that stops answering (wsclient_idle_limit()) */
	double idle_limit;	/* 0: never hang up */
	unsigned long received;	/* frames and pongs, counted as they come */
	unsigned long seen;	/* received, as the last check saw it */
	double heard;		/* when a check last saw received move */
	double pinged;		/* when our ping went, unanswered, or 0 */
	int want_ping;
	int silent;		/* hung up on for its silence */
	lws_sorted_usec_list_t idle_sul;
};

static void client_mask(struct wsclient *c, unsigned char k[4]);

/* ---- the target -------------------------------------------------------- */

/* HOST:PORT, ws://HOST:PORT or wss://HOST:PORT, with a trailing "/" as
 * addresses copied from elsewhere have; no other scheme, no other path. */
int wsclient_parse_hub(const char *arg, struct wsclient_target *t)
{
	struct wsclient_hub *h;
	char hostport[300];
	size_t n;

	if (t->nhubs == WSCLIENT_MAX_HUBS)
		return -1;
	h = &t->hub[t->nhubs];
	h->tls = 0;
	h->port = t->default_port;
	if (!strncmp(arg, "wss://", 6)) {
		h->tls = 1;
		arg += 6;
	} else if (!strncmp(arg, "ws://", 5)) {
		arg += 5;
	}
	n = strlen(arg);
	if (n && arg[n - 1] == '/')
		n--;
	if (n >= sizeof hostport || memchr(arg, '/', n))
		return -1;
	memcpy(hostport, arg, n);
	hostport[n] = '\0';
	if (parse_host_port(hostport, h->host, sizeof h->host, &h->port) < 0)
		return -1;
	t->nhubs++;
	return 0;
}

static int target_tls(const struct wsclient_target *t)
{
	for (int i = 0; i < t->nhubs; i++)
		if (t->hub[i].tls)
			return 1;
	return 0;
}

int wsclient_option(struct wsclient_target *t, int ch, const char *arg)
{
	switch (ch) {
	case WSCLIENT_OPT_TOKEN_FILE:
		t->token_file = arg;
		return 1;
	case WSCLIENT_OPT_CA:
		t->ca = arg;
		return 1;
	case WSCLIENT_OPT_INSECURE:
		t->insecure = 1;
		return 1;
	default:
		return 0;
	}
}

int wsclient_target_ready(struct wsclient_target *t)
{
	char *token;
	int rc;

	if (!t->nhubs) {
		snprintf(t->hub[0].host, sizeof t->hub[0].host, "localhost");
		t->hub[0].port = t->default_port;
		t->nhubs = 1;
	}
	if ((t->ca || t->insecure) && !target_tls(t)) {
		log_error("%s applies to wss:// hubs only (-H wss://HOST:PORT)",
			  t->ca ? "--ca" : "--insecure");
		return -1;
	}
	if (t->ca && access(t->ca, R_OK) < 0) {
		log_error("cannot read --ca %s: %s", t->ca, strerror(errno));
		return -1;
	}
	rc = token_load(t->token_file, "DUMPLINGS_TOKEN", &token);
	if (rc < 0)
		return -1;
	t->token[0] = '\0';
	if (rc > 0) {
		snprintf(t->token, sizeof t->token, "%s", token);
		free(token);
	}
	return 0;
}

void wsclient_hub_name(const struct wsclient_hub *h, int scheme, char *buf, size_t size)
{
	int v6 = strchr(h->host, ':') != NULL;

	snprintf(buf, size, "%s%s%s%s:%d", h->tls ? "wss://" : scheme ? "ws://" : "",
		 v6 ? "[" : "", h->host, v6 ? "]" : "", h->port);
}

void wsclient_hubs_name(const struct wsclient_target *t, char *buf, size_t size)
{
	size_t used = 0;
	char one[300];
	int n;

	buf[0] = '\0';
	for (int i = 0; i < t->nhubs; i++) {
		wsclient_hub_name(&t->hub[i], 0, one, sizeof one);
		n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", one);
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
	}
}

const struct wsclient_hub *wsclient_current(const struct wsclient *c)
{
	return &c->t.hub[c->cur];
}

/* A hub has proved itself once a connection to it lasted this long: one
 * that takes the upgrade and then refuses us at once (the hello, a token
 * that changed) must not keep the round from ending. */
#define WSCLIENT_PROVEN_SECONDS 2.0

int wsclient_next_hub(struct wsclient *c)
{
	if (c->since && monotonic_seconds() - c->since >= WSCLIENT_PROVEN_SECONDS)
		c->failures = 0;
	c->since = 0;
	c->failures++;
	c->cur = (c->cur + 1) % c->t.nhubs;
	if (c->failures < c->t.nhubs)
		return 0;
	c->failures = 0;
	return 1;
}

static struct wsclient *client_of(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

static void client_lost(struct wsclient *c, const char *why)
{
	int was = c->established;

	c->wsi = NULL;
	c->established = 0;
	c->closing = 0;
	c->close_sent = 0;
	c->reported = 1;
	ws_message_clear(&c->rx);
	c->ops->lost(c->user, was, c->peer_code, why);
	/* a loss from one of lws' timers (a silent hub's) comes before its
	 * poll, which would otherwise wait for the next timer to return */
	lws_cancel_service(c->ctx);
}

/* ---- a hub that stops answering ------------------------------------------ */

/* A hub whose process is stopped, or whose host has left the network,
 * keeps the connection open and silent. Half the idle limit after the
 * last byte from it a ping goes; a hub that sends nothing for the other
 * half, not even the pong, is hung up on. Bytes waiting in the socket
 * mean that this side was busy, not that the hub is silent. What comes
 * is only counted, and the clock read by the check, an eighth of the
 * limit apart, not for every dumpling. */
static void client_heard(struct wsclient *c, double now)
{
	c->seen = c->received;
	c->heard = now;
	c->pinged = 0;
}

static int client_bytes_waiting(struct wsclient *c)
{
	int n = 0;

	return ioctl(lws_get_socket_fd(c->wsi), FIONREAD, &n) == 0 && n > 0;
}

static void client_idle_check(lws_sorted_usec_list_t *sul)
{
	struct wsclient *c = lws_container_of(sul, struct wsclient, idle_sul);
	double now = monotonic_seconds(), half = c->idle_limit / 2;

	if (!c->wsi || !c->established || c->closing)
		return;
	if (c->received != c->seen)
		client_heard(c, now);
	if (c->pinged && now - c->pinged >= half && !client_bytes_waiting(c)) {
		c->silent = 1;
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		return;
	}
	if (!c->pinged && now - c->heard >= half) {
		c->want_ping = 1;
		lws_callback_on_writable(c->wsi);
	}
	lws_sul_schedule(c->ctx, 0, &c->idle_sul, client_idle_check,
			 (lws_usec_t)(half / 4 * LWS_US_PER_SEC));
}

static int client_send_ping(struct wsclient *c, struct lws *wsi)
{
	unsigned char buf[LWS_PRE + WS_FRAME_OVERHEAD];
	unsigned char k[4];
	size_t len;

	client_mask(c, k);
	len = ws_frame(buf + LWS_PRE, WS_OP_PING, "", 0, k);
	if (wsclient_write_frames(c, buf + LWS_PRE, len) < 0)
		return -1;
	c->want_ping = 0;
	c->pinged = monotonic_seconds();
	lws_callback_on_writable(wsi);	/* what the user would write */
	return 0;
}

void wsclient_idle_limit(struct wsclient *c, double seconds)
{
	c->idle_limit = seconds;
}

static int client_established(struct wsclient *c)
{
	c->established = 1;
	c->since = monotonic_seconds();
	c->peer_code = 0;
	c->peer_closed = 0;
	c->want_ping = 0;
	c->silent = 0;
	client_heard(c, c->since);
	if (c->idle_limit > 0)
		client_idle_check(&c->idle_sul);
	c->ops->established(c->user);
	return 0;
}

/* A message over a bound is refused from outside the receive path: lws
 * 4.1.6, told to close from here with a reason, goes on writing the rest
 * of the frame past the end of its receive buffer. So the rest of the
 * message is dropped as it comes, and the close frame goes out from the
 * next WRITEABLE. */
static int client_refuse(struct wsclient *c, enum ws_piece r)
{
	log_error("message from %s:%d refused: %s (the limit is %zu bytes in at most %d "
		  "fragments)", wsclient_current(c)->host, wsclient_current(c)->port, ws_piece_refusal(r), c->max_message,
		  WS_MESSAGE_MAX_FRAMES);
	wsclient_close(c, ws_piece_close_code(r), ws_piece_refusal(r));
	return 0;
}

static int client_receive(struct wsclient *c, struct lws *wsi, const void *in, size_t len)
{
	enum ws_piece r;
	int rc;

	c->received++;
	if (c->closing)
		return 0;	/* we are leaving: nothing more is read */
	r = ws_message_add(&c->rx, wsi, in, len);
	if (r == WS_PIECE_MORE)
		return 0;
	if (r != WS_PIECE_MESSAGE)
		return client_refuse(c, r);
	rc = c->ops->message(c->user, c->rx.data, c->rx.len);
	ws_message_reset(&c->rx);
	return rc;
}

/* Send our close frame ourselves and keep reading until the peer answers
 * with its own: returning -1 here instead would make lws close the socket
 * at once, and with data from the peer still unread the kernel resets the
 * connection, so the peer never learns our close code. */
static int client_send_close(struct wsclient *c, struct lws *wsi)
{
	unsigned char buf[LWS_PRE + WS_CONTROL_MAX + WS_FRAME_OVERHEAD];
	unsigned char k[4];
	size_t len;

	/* lws 4.1 has no public way to send just a close frame: frame it */
	client_mask(c, k);
	len = ws_close_frame(buf + LWS_PRE, c->close_code, c->close_why, k);

	if (wsclient_write_frames(c, buf + LWS_PRE, len) < 0)
		return -1;
	c->close_sent = 1;
	lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_ACK, 3);
	return 0;
}

static int client_writable(struct wsclient *c, struct lws *wsi)
{
	if (c->close_sent)
		return 0;
	if (c->closing)
		return client_send_close(c, wsi);
	if (c->want_ping)
		return client_send_ping(c, wsi);
	return c->ops->writable(c->user);
}

/* The peer's close frame: two bytes of code, then a reason. A frame
 * without a code is 1005 (RFC 6455, 7.1.5), so that 0 means no frame. */
static int client_peer_close(struct wsclient *c, const unsigned char *in, size_t len)
{
	size_t n = len > 2 ? len - 2 : 0;

	c->peer_closed = 1;
	c->peer_code = len >= 2 ? in[0] << 8 | in[1] : LWS_CLOSE_STATUS_NO_STATUS;
	if (n >= sizeof c->peer_why)
		n = sizeof c->peer_why - 1;
	memcpy(c->peer_why, in + (len > 2 ? 2 : 0), n);
	c->peer_why[n] = '\0';
	return c->close_sent;	/* the handshake is complete: no echo */
}

/* How an established connection ended, for ops->lost: with the peer's
 * close frame (its code and reason) or without one, as when the peer
 * died or the network went. */
static const char *client_close_story(struct wsclient *c)
{
	if (c->silent) {
		snprintf(c->why, sizeof c->why, "it sent nothing for %.0f s, not even an answer "
			 "to a ping", c->idle_limit);
		return c->why;
	}
	if (!c->peer_closed)
		return "connection closed without a close frame";
	if (c->peer_code == LWS_CLOSE_STATUS_NO_STATUS)
		snprintf(c->why, sizeof c->why, "close frame without a code");
	else if (c->peer_why[0])
		snprintf(c->why, sizeof c->why, "close code %d: %s", c->peer_code, c->peer_why);
	else
		snprintf(c->why, sizeof c->why, "close code %d", c->peer_code);
	return c->why;
}

/* The token goes in the upgrade request: p points at lws' write position
 * in it, room is what is left. */
static int client_add_token(struct wsclient *c, struct lws *wsi, unsigned char **p, size_t room)
{
	char value[sizeof "Bearer " + TOKEN_MAX];
	int n;

	if (!c->t.token[0])
		return 0;
	n = snprintf(value, sizeof value, "Bearer %s", c->t.token);
	return lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
					    (unsigned char *)value, n, p, *p + room) ? -1 : 0;
}

/* Without --ca, trust what OpenSSL trusts by default: the system's store
 * (or SSL_CERT_FILE / SSL_CERT_DIR). lws would look only in its own
 * build-time directory. */
static int client_trust(struct wsclient *c, SSL_CTX *ssl)
{
	if (!c->t.ca && SSL_CTX_set_default_verify_paths(ssl) != 1)
		log_warn("cannot load the system's trusted certificates");
	return 0;
}

/* OpenSSL's verdict on the hub's certificate chain, kept to tell the
 * user why the handshake failed (lws says only "SSL err 1"). Returning 0
 * leaves the decision to lws and OpenSSL. */
static int client_check_cert(struct wsclient *c, X509_STORE_CTX *store, int ok)
{
	int err = X509_STORE_CTX_get_error(store);

	if (!ok && err != X509_V_OK && !c->cert_error[0])
		snprintf(c->cert_error, sizeof c->cert_error, "%s",
			 X509_verify_cert_error_string(err));
	return 0;
}

/* lws' words for why a connection failed, or ours where theirs would not
 * tell a user what to do. */
static const char *client_error(struct wsclient *c, const char *lws_why)
{
	if (c->cert_error[0] && !c->t.insecure) {
		snprintf(c->why, sizeof c->why, "the hub's certificate is refused: %.160s "
			 "(see --ca and --insecure)", c->cert_error);
		return c->why;
	}
	if (!lws_why)
		return "connection failed";
	if (strstr(lws_why, "unauthorized"))
		return c->t.token[0] ? "the hub refused our token (401 Unauthorized)"
				     : "the hub wants a token (401 Unauthorized; see --token-file)";
	return lws_why;
}

static int client_callback(struct lws *wsi, enum lws_callback_reasons reason,
			   void *user, void *in, size_t len)
{
	struct wsclient *c = client_of(wsi);

	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		return client_add_token(c, wsi, in, len);
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS:
		return client_trust(c, user);
	case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
		return client_check_cert(c, user, (int)len);
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		return client_established(c);
	case LWS_CALLBACK_CLIENT_RECEIVE:
		return client_receive(c, wsi, in, len);
	case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
		c->received++;
		return 0;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return client_writable(c, wsi);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		return client_peer_close(c, in, len);
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (c->wsi && c->wsi != wsi)
			return 0;	/* an earlier connection's, reported */
		client_lost(c, client_error(c, in));
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		client_lost(c, client_close_story(c));
		return 0;
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
		/* lws 4.1 reports a connection that went (or timed out) while
		 * the upgrade was unanswered with this, not a connection error:
		 * without it, a silent peer would leave us waiting for ever */
		if (c->wsi == wsi && !c->established)
			client_lost(c, "no answer to the WebSocket upgrade");
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (c && c->ops->woken)
			c->ops->woken(c->user);
		return 0;
	default:
		return 0;
	}
}

static const struct lws_protocols client_protocols[] = {
	{ "dumplings-client", client_callback, 0, 16384, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

struct wsclient *wsclient_new(const struct wsclient_target *t, const struct wsclient_ops *ops,
			      void *user, size_t max_message)
{
	struct wsclient *c = xcalloc(1, sizeof *c);
	struct lws_context_creation_info info;

	c->ops = ops;
	c->user = user;
	c->t = *t;
	c->max_message = max_message;
	ws_message_init(&c->rx, max_message, WS_MESSAGE_MAX_FRAMES);
	if (getrandom(&c->mask_state, sizeof c->mask_state, 0) != sizeof c->mask_state)
		c->mask_state = (uint64_t)(uintptr_t)c ^ (uint64_t)monotonic_seconds();
	c->mask_state |= 1;
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = client_protocols;
	info.user = c;
	if (target_tls(t)) {
		info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.client_ssl_ca_filepath = t->ca;
	}
	c->ctx = lws_create_context(&info);
	if (!c->ctx) {
		log_error("cannot create the libwebsockets context");
		free(c);
		return NULL;
	}
	return c;
}

void wsclient_free(struct wsclient *c)
{
	if (!c)
		return;
	lws_sul_cancel(&c->sul);
	lws_sul_cancel(&c->idle_sul);
	lws_context_destroy(c->ctx);
	ws_message_free(&c->rx);
	free(c);
}

int wsclient_connect(struct wsclient *c)
{
	const struct wsclient_hub *h = wsclient_current(c);
	struct lws_client_connect_info ci;

	memset(&ci, 0, sizeof ci);
	ci.context = c->ctx;
	ci.address = h->host;
	ci.port = h->port;
	ci.path = "/";
	ci.host = h->host;
	/* no Origin: that is for browsers, and hubs refuse origins they do
	 * not know */
	if (h->tls)
		ci.ssl_connection = LCCSCF_USE_SSL | (c->t.insecure
			? LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
			  LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE : 0);
	ci.ietf_version_or_minus_one = -1;
	ci.protocol = NULL;	/* the original hub knows no subprotocol */
	ci.local_protocol_name = client_protocols[0].name;
	ci.pwsi = &c->wsi;
	c->peer_code = 0;
	c->peer_closed = 0;
	c->reported = 0;
	c->cert_error[0] = '\0';
	/* lws may already have reported the failure through the callback; if
	 * not, report it here, so ops->lost is the one place that handles it */
	if (!lws_client_connect_via_info(&ci)) {
		if (!c->reported)
			client_lost(c, "cannot start the connection");
		return -1;
	}
	return 0;
}

int wsclient_connected(const struct wsclient *c)
{
	return c->wsi && c->established;
}

int wsclient_service(struct wsclient *c)
{
	return lws_service(c->ctx, 0);
}

void wsclient_want_write(struct wsclient *c)
{
	if (c->wsi && c->established)
		lws_callback_on_writable(c->wsi);
}

int wsclient_write(struct wsclient *c, unsigned char *buf, size_t len)
{
	return lws_write(c->wsi, buf, len, LWS_WRITE_TEXT) < 0 ? -1 : 0;
}

int wsclient_write_copy(struct wsclient *c, const char *s, size_t len)
{
	unsigned char *buf = xmalloc(LWS_PRE + len);
	int rc;

	memcpy(buf + LWS_PRE, s, len);
	rc = wsclient_write(c, buf + LWS_PRE, len);
	free(buf);
	return rc;
}

/* A client masks every frame with a fresh key (RFC 6455 5.3). */
static void client_mask(struct wsclient *c, unsigned char k[4])
{
	uint32_t key;

	c->mask_state ^= c->mask_state << 13;
	c->mask_state ^= c->mask_state >> 7;
	c->mask_state ^= c->mask_state << 17;
	key = (uint32_t)(c->mask_state >> 32);
	k[0] = (unsigned char)(key >> 24);
	k[1] = (unsigned char)(key >> 16);
	k[2] = (unsigned char)(key >> 8);
	k[3] = (unsigned char)key;
}

size_t wsclient_frame(struct wsclient *c, unsigned char *dst, const void *msg, size_t len)
{
	unsigned char k[4];

	client_mask(c, k);
	return ws_frame(dst, WS_OP_TEXT, msg, len, k);
}

/* The bytes go to the socket as they are: lws' own framing is bypassed,
 * which is why no extension is ever negotiated on this client. */
int wsclient_write_frames(struct wsclient *c, unsigned char *buf, size_t len)
{
	return lws_write(c->wsi, buf, len, LWS_WRITE_RAW) < 0 ? -1 : 0;
}

int wsclient_buffered(struct wsclient *c)
{
	return c->wsi && lws_partial_buffered(c->wsi);
}

void wsclient_close(struct wsclient *c, int code, const char *why)
{
	c->closing = 1;
	c->close_code = code;
	snprintf(c->close_why, sizeof c->close_why, "%s", why);
	if (c->wsi)
		lws_callback_on_writable(c->wsi);
}

static void client_timer(lws_sorted_usec_list_t *sul)
{
	struct wsclient *c = lws_container_of(sul, struct wsclient, sul);

	if (c->ops->timer)
		c->ops->timer(c->user);
}

void wsclient_after(struct wsclient *c, double seconds)
{
	lws_sul_schedule(c->ctx, 0, &c->sul, client_timer,
			 (lws_usec_t)(seconds * LWS_US_PER_SEC));
}

void wsclient_wake(struct wsclient *c)
{
	lws_cancel_service(c->ctx);
}
