/* The hub's two WebSocket protocols: kitchens on the in-port, eaters on the
 * out-port. Both start with a hello; kitchens then send dumplings, which are
 * reassembled from fragments and handed to ingest (hub_ingest.c); eaters
 * then only receive. Every problem with one message is counted and logged
 * (rate-limited); only a missing, broken or oversized hello, a message over
 * its bounds, or a frame that is not masked ends a connection. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hub.h"
#include "hub_link.h"
#include "hub_http.h"
#include "hub_ingest.h"
#include "base/util.h"
#include "net/wsframe.h"
#include "net/wsutil.h"

static struct hub *conn_hub(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

static const char *role_name(const struct hub_conn *c)
{
	return c->role == HUB_KITCHEN ? "kitchen" : "eater";
}

/* Ask for the connection to be closed from its next WRITEABLE callback,
 * the one place lws lets us send the close frame. */
void hub_conn_close(struct hub_conn *c, int code, const char *why)
{
	if (c->closing)
		return;
	c->closing = 1;
	c->close_code = code;
	c->close_why = why;
	lws_callback_on_writable(c->wsi);
	/* a peer that never reads would never be writable */
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, 3);
}

/* Send the close frame ourselves and wait for the peer's answer: returning
 * -1 would make lws close the socket at once, and with the peer's data
 * still unread the kernel resets the connection, so a kitchen in mid-stream
 * would never see our close code. */
static int conn_close_now(struct hub_conn *c)
{
	unsigned char buf[LWS_PRE + WS_CONTROL_MAX + WS_FRAME_OVERHEAD];
	size_t n;

	if (c->close_sent)
		return 0;
	n = ws_close_frame(buf + LWS_PRE, c->close_code, c->close_why, NULL);
	if (lws_write(c->wsi, buf + LWS_PRE, n, LWS_WRITE_RAW) < 0)
		return -1;
	c->close_sent = 1;
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_ACK, 2);
	return 0;
}

static void conn_list_add(struct hub_conn **head, struct hub_conn *c)
{
	c->prev = NULL;
	c->next = *head;
	if (*head)
		(*head)->prev = c;
	*head = c;
}

static void conn_list_del(struct hub_conn **head, struct hub_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else if (*head == c)
		*head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

static void conn_log(struct hub *hub, struct hub_conn *c, const char *what)
{
	unsigned long suppressed;

	if (log_allow(&hub->invalid_log, &suppressed))
		log_warn("%s %s:%d: %s%s", role_name(c), c->host, c->port, what,
			 suppressed ? " (similar messages suppressed)" : "");
}

/* ---- connection life ---------------------------------------------------- */

static int conn_established(struct lws *wsi, struct hub_conn *c, enum hub_role role)
{
	struct hub *hub = conn_hub(wsi);

	memset(c, 0, sizeof *c);
	c->wsi = wsi;
	c->role = role;
	c->since = monotonic_seconds();
	wsutil_peer(wsi, c->host, sizeof c->host, &c->port);
	c->fd = lws_get_socket_fd(wsi);
	/* we offer one extension, so whatever the client asked for is it */
	c->deflate = lws_hdr_total_length(wsi, WSI_TOKEN_EXTENSIONS) > 0;
	/* with permessage-deflate, lws hands over a frame's inflated bytes a
	 * kilobyte at a time, and pieces no longer tell frames apart */
	/* until the hello is in, and from eaters always, nothing larger
	 * than a hello is expected */
	ws_message_init(&c->rx, hub->cfg.max_hello, c->deflate ? 0 : WS_MESSAGE_MAX_FRAMES);
	conn_list_add(role == HUB_KITCHEN ? &hub->kitchens : &hub->eaters, c);
	lws_set_timer_usecs(wsi, (lws_usec_t)(hub->cfg.hello_timeout * LWS_US_PER_SEC));
	log_debug("%s connected from %s:%d", role_name(c), c->host, c->port);
	return 0;
}

static void conn_closed(struct lws *wsi, struct hub_conn *c)
{
	struct hub *hub = conn_hub(wsi);

	if (!c->wsi)
		return;		/* never established */
	if (c->role == HUB_EATER) {
		hub_fanout_leave(hub, &c->sub);
		hub_replay_stop(hub, c);
	} else
		hub_ack_close(c);
	if (c->greeted) {
		if (c->role == HUB_KITCHEN)
			hub->nkitchens--;
		else
			hub_link_rescope(hub);
		log_info("%s %s:%d left", role_name(c), c->host, c->port);
	}
	conn_list_del(c->role == HUB_KITCHEN ? &hub->kitchens : &hub->eaters, c);
	latest_batch_free(c->latest);
	c->latest = NULL;
	hub_hello_free(c);
	ws_message_free(&c->rx);
	c->wsi = NULL;
}

static int conn_timer(struct lws *wsi, struct hub_conn *c)
{
	struct hub *hub = conn_hub(wsi);

	if (c->greeted || c->closing)
		return 0;
	hub->count.no_hello++;
	conn_log(hub, c, "no hello in time, closing");
	hub_conn_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "no hello");
	return 0;
}

static int conn_writable(struct lws *wsi, struct hub_conn *c)
{
	if (c->closing)
		return conn_close_now(c);
	if (c->role == HUB_EATER)
		return hub_eater_writable(conn_hub(wsi), c);
	return hub_ack_writable(c);
}

void hub_kitchens_hold(struct hub *hub, int hold)
{
	for (struct hub_conn *c = hub->kitchens; c; c = c->next)
		if (c->greeted)
			lws_rx_flow_control(c->wsi, !hold);
}

/* ---- a loop turn's reading ------------------------------------------------
 * A loop turn reads up to 16 KiB from every kitchen before any eater writes,
 * so that with enough kitchens one turn brings more than the queue holds and
 * every eater is skipped before it had a chance. Once a turn has brought a
 * quarter of the queue, the kitchens are held for the rest of it; the next
 * turn, eaters write first and reading starts again. */
static void conn_turn_taken(struct hub *hub, size_t len)
{
	hub->turn_in++;
	hub->turn_bytes += len;
	if (hub->turn_held || (hub->turn_in < (unsigned long)hub->cfg.queue_len / 4 &&
			       hub->turn_bytes < hub->cfg.queue_bytes / 4))
		return;
	hub->turn_held = 1;
	hub->count.turn_holds++;
	hub_kitchens_hold(hub, 1);
}

void hub_turn_end(struct hub *hub)
{
	hub->turn_in = 0;
	hub->turn_bytes = 0;
	if (!hub->turn_held)
		return;
	hub->turn_held = 0;
	if (!hub->fan.held)	/* a lossless eater still holds them */
		hub_kitchens_hold(hub, 0);
}

/* ---- hellos ------------------------------------------------------------- */

static int conn_bad_hello(struct hub *hub, struct hub_conn *c, const char *why)
{
	char what[128];

	hub->count.bad_hello++;
	snprintf(what, sizeof what, "hello refused (%s), closing", why);
	conn_log(hub, c, what);
	/* why is a literal, so it outlives the close: the peer hears it */
	hub_conn_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, why ? why : "invalid hello");
	return 0;
}

static int conn_hello(struct hub *hub, struct hub_conn *c, const char *msg, size_t len)
{
	const char *why = "a binary frame";

	if (c->rx_binary || hub_hello_take(c, msg, len, &why) < 0)
		return conn_bad_hello(hub, c, why);
	c->greeted = 1;
	lws_set_timer_usecs(c->wsi, LWS_SET_TIMER_USEC_CANCEL);
	if (c->role == HUB_KITCHEN) {
		hub->nkitchens++;
		/* from now on, dumplings */
		c->rx.max = hub->cfg.max_message;
		if (hub->fan.held || hub->turn_held)	/* held: for a lossless
							 * eater, or this turn */
			lws_rx_flow_control(c->wsi, 0);
	} else {
		hub_eater_join(hub, c);
		hub_link_rescope(hub);
	}
	log_info("%s %s:%d joined", role_name(c), c->host, c->port);
	return 0;
}

/* ---- dumplings ---------------------------------------------------------- */

static int conn_invalid(struct hub *hub, struct hub_conn *c, const char *why)
{
	hub_ingest_reject(hub, &c->src);
	conn_log(hub, c, why);
	return 0;
}

/* A kitchen whose chefs changed says hello again, between dumplings: a
 * message with kitchen_name and no metadata. Anything else without
 * metadata.chef is an invalid dumpling. */
static int conn_new_hello(struct hub *hub, struct hub_conn *c, const char *msg, size_t len)
{
	cJSON *d = len <= hub->cfg.max_hello ? cJSON_ParseWithLength(msg, len) : NULL;
	int is_hello = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(d, "kitchen_name")) &&
		       !cJSON_GetObjectItemCaseSensitive(d, "metadata");
	const char *why;

	cJSON_Delete(d);
	if (!is_hello)
		return conn_invalid(hub, c, "dumpling without metadata.chef dropped");
	hub_hello_free(c);
	if (hub_hello_take(c, msg, len, &why) < 0)
		return conn_bad_hello(hub, c, why);
	c->hellos_again++;
	log_info("kitchen %s:%d says hello again (its chefs changed)", c->host, c->port);
	return 0;
}

/* A kitchen's message after its hello: ingest's, unless the kitchen
 * protocol knows it better. */
static int conn_dumpling(struct hub *hub, struct hub_conn *c, const char *msg, size_t len)
{
	const char *why;

	if (c->rx_binary)
		return conn_invalid(hub, c, "binary frame dropped");
	switch (hub_ingest(hub, &c->src, msg, len, &why)) {
	case HUB_INVALID:
		conn_log(hub, c, why);
		return 0;
	case HUB_NO_CHEF:
		return conn_new_hello(hub, c, msg, len);
	case HUB_TAKEN:
		conn_turn_taken(hub, len);
		break;
	case HUB_REPEATED:
		break;
	}
	return 0;
}

static int conn_message(struct hub *hub, struct hub_conn *c, const char *msg, size_t len)
{
	if (c->closing)
		return 0;
	if (!c->greeted)
		return conn_hello(hub, c, msg, len);
	if (c->role == HUB_KITCHEN)
		return conn_dumpling(hub, c, msg, len);
	return 0;	/* eaters have nothing more to say */
}

/* A message over its bounds (--max-hello before the hello and from eaters,
 * --max-message from kitchens, WS_MESSAGE_MAX_FRAMES frames) is refused
 * from outside the receive path, as the client does (see wsmsg.h): the rest of it is dropped as it comes,
 * and the close frame goes out from the next WRITEABLE. */
static int conn_refuse(struct hub *hub, struct hub_conn *c, enum ws_piece r)
{
	if (r == WS_PIECE_TOO_MANY_FRAMES) {
		hub->count.fragmented++;
		conn_log(hub, c, "message in too many fragments, closing");
	} else if (!c->greeted) {
		hub->count.big_hello++;
		conn_log(hub, c, "hello larger than --max-hello, closing");
		hub_conn_close(c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "hello too big");
		return 0;
	} else if (c->role == HUB_EATER) {
		hub->count.oversized++;
		conn_log(hub, c, "eater message larger than --max-hello, closing");
	} else {
		hub->count.oversized++;
		conn_log(hub, c, "message larger than --max-message, closing");
	}
	hub_conn_close(c, ws_piece_close_code(r), ws_piece_refusal(r));
	return 0;
}

/* What lws lets through and RFC 6455 does not: a frame that is not masked
 * (1002), or with permessage-deflate, where pieces do not count frames, a
 * message in too many (1008). Seen under lws by hub_wire.c, as soon as the
 * bytes are read, so what the same read brought before them goes too. */
static int conn_wire_fault(struct hub *hub, struct hub_conn *c, int faults)
{
	if (faults & HUB_WIRE_UNMASKED) {
		hub->count.unmasked++;
		conn_log(hub, c, "frame not masked, closing");
		hub_conn_close(c, LWS_CLOSE_STATUS_PROTOCOL_ERR, "frames must be masked");
		return 0;
	}
	return conn_refuse(hub, c, WS_PIECE_TOO_MANY_FRAMES);
}

/* A message may come in several RECEIVE callbacks (fragments, or pieces of
 * one large frame): collect it, then handle it whole. */
static int conn_receive(struct lws *wsi, struct hub_conn *c, const void *in, size_t len)
{
	struct hub *hub = conn_hub(wsi);
	enum ws_piece r;
	int rc, faults;

	if (c->closing)
		return 0;	/* on its way out: nothing more is read */
	faults = hub_wire_faults(c->fd);
	if (faults)
		return conn_wire_fault(hub, c, faults);
	if (!c->rx.len && !c->rx.in_frame)
		c->rx_binary = lws_frame_is_binary(wsi);
	r = ws_message_add(&c->rx, wsi, in, len);
	if (r == WS_PIECE_MORE)
		return 0;
	if (r != WS_PIECE_MESSAGE)
		return conn_refuse(hub, c, r);
	rc = conn_message(hub, c, c->rx.data, c->rx.len);
	ws_message_reset(&c->rx);
	return rc;
}

/* ---- the callbacks ------------------------------------------------------ */

/* A socket just accepted, before lws reads from it: refused at once (lws
 * closes it) if --max-connections are open, so that what the hub holds for
 * connections stays bounded whoever connects. */
static int conn_accept(struct hub *hub, int fd)
{
	unsigned long suppressed;
	char host[64];
	int port;

	if (hub->connections < hub->cfg.max_connections) {
		hub_wire_watch(fd, hub->cfg.cert != NULL);
		return 0;
	}
	hub->count.refused++;
	if (log_allow(&hub->conn_log, &suppressed)) {
		wsutil_fd_peer(fd, host, sizeof host, &port);
		log_warn("refused a connection from %s:%d: %ld connections are open "
			 "(--max-connections)%s", host, port, hub->connections,
			 suppressed ? " (similar messages suppressed)" : "");
	}
	return 1;
}

/* not among lws' HTTP_STATUS_ names */
enum { HTTP_UPGRADE_REQUIRED = 426 };

/* A key of 16 bytes in base64: 22 characters of its alphabet, then "==". */
static int key_is_16_bytes(const char *key, int len)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	if (len != 24 || strcmp(key + 22, "=="))
		return 0;
	for (int i = 0; i < 22; i++)
		if (!key[i] || !strchr(alphabet, key[i]))
			return 0;
	return 1;
}

/* What RFC 6455 (4.2.1) says a server must not upgrade, and lws 4.1.6
 * upgrades all the same: a method other than GET, a version other than
 * 13 (answered 426 with the one the hub speaks), a key that is not 16
 * bytes. NULL when the request is sound. */
static const char *upgrade_flaw(struct lws *wsi, unsigned int *code)
{
	char version[8], key[32];
	int n;

	*code = HTTP_STATUS_BAD_REQUEST;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0)
		return "its method is not GET";
	if (lws_hdr_copy(wsi, version, sizeof version, WSI_TOKEN_VERSION) <= 0 ||
	    strcmp(version, "13")) {
		*code = HTTP_UPGRADE_REQUIRED;
		return "its Sec-WebSocket-Version is not 13";
	}
	n = lws_hdr_copy(wsi, key, sizeof key, WSI_TOKEN_KEY);
	if (!key_is_16_bytes(key, n))
		return "its Sec-WebSocket-Key is not 16 bytes in base64";
	return NULL;
}

/* Count a request refused at the door, and say so (within the log's
 * rate): "<done> <host>:<port><why>". */
static void request_refused(struct hub *hub, struct lws *wsi, const char *done, const char *why)
{
	unsigned long suppressed;
	char host[64];
	int port;

	hub->count.requests_refused++;
	if (log_allow(&hub->conn_log, &suppressed)) {
		wsutil_peer(wsi, host, sizeof host, &port);
		log_warn("%s %s:%d%s%s", done, host, port, why,
			 suppressed ? " (similar messages suppressed)" : "");
	}
}

static int conn_upgrade_refuse(struct hub *hub, struct lws *wsi, const char *what,
			       const char *flaw, unsigned int code)
{
	char done[64], why[96];

	snprintf(done, sizeof done, "refused %s from", what);
	snprintf(why, sizeof why, " with %u: %s", code, flaw);
	request_refused(hub, wsi, done, why);
	if (code == HTTP_UPGRADE_REQUIRED)
		return hub_refuse(wsi, code, "Upgrade Required", "sec-websocket-version:", "13");
	return hub_refuse(wsi, code, "Bad Request", NULL, NULL);
}

/* Whether to let a WebSocket upgrade through the door: the request
 * itself, its Origin if a browser sent it, then its token. */
static int conn_upgrade(struct hub *hub, struct lws *wsi, enum hub_role role)
{
	const char *what = role == HUB_KITCHEN ? "a kitchen" : "an eater";
	unsigned int code;
	const char *flaw = upgrade_flaw(wsi, &code);
	int rc;

	if (flaw)
		return conn_upgrade_refuse(hub, wsi, what, flaw, code);
	rc = hub_origin_check(hub, wsi, role, what);
	return rc ? rc : hub_auth_check(hub, wsi, role, what);
}

/* lws 4.1.6 turns a CONNECT request into a raw socket of the vhost's
 * first protocol (lws_http_to_fallback), us, with no timeout at all: such
 * connections would stay for ever and fill --max-connections. The hub
 * serves no raw sockets, so they are closed at once. */
static int conn_raw_refuse(struct hub *hub, struct lws *wsi)
{
	request_refused(hub, wsi, "closed a connection from",
			" that asked for no WebSocket and no HTTP the hub serves (CONNECT)");
	return -1;
}

static int conn_callback(struct lws *wsi, enum lws_callback_reasons reason,
			 void *user, void *in, size_t len, enum hub_role role)
{
	struct hub_conn *c = user;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		return conn_established(wsi, c, role);
	case LWS_CALLBACK_RECEIVE:
		return conn_receive(wsi, c, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return conn_writable(wsi, c);
	case LWS_CALLBACK_TIMER:
		return conn_timer(wsi, c);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		return c->close_sent;	/* the handshake is complete: no echo */
	case LWS_CALLBACK_CLOSED:
		conn_closed(wsi, c);
		return 0;
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		/* a new socket, before lws reads from it; user is not ours */
		return conn_accept(conn_hub(wsi), (int)(intptr_t)in);
	case LWS_CALLBACK_WSI_CREATE:
		/* every connection's wsi, whatever it becomes, is created and
		 * destroyed through the vhost's first protocol: us */
		conn_hub(wsi)->connections++;
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		conn_hub(wsi)->connections--;
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		/* woken from another thread (or by a signal): the inbox may
		 * hold dumplings; every protocol hears this, so the first
		 * drains and the others find it empty; not while a lossless
		 * eater holds publishers back (the link's dumplings wait in
		 * the inbox, bounded, until fan-out resumes and wakes us) */
		if (!conn_hub(wsi)->fan.held)
			hub_inbox_drain_some(&conn_hub(wsi)->inbox, conn_hub(wsi), HUB_INBOX_BATCH);
		/* or a replay has moved on */
		if (conn_hub(wsi)->replays)
			hub_replay_poll(conn_hub(wsi));
		return 0;
	case LWS_CALLBACK_RAW_ADOPT:
		return conn_raw_refuse(conn_hub(wsi), wsi);
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		/* lws asks the vhost's first protocol, on both ports: us */
		return conn_upgrade(conn_hub(wsi), wsi, role);
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static int hub_kitchen_callback(struct lws *wsi, enum lws_callback_reasons reason,
				void *user, void *in, size_t len)
{
	return conn_callback(wsi, reason, user, in, len, HUB_KITCHEN);
}

static int hub_eater_callback(struct lws *wsi, enum lws_callback_reasons reason,
			      void *user, void *in, size_t len)
{
	return conn_callback(wsi, reason, user, in, len, HUB_EATER);
}

/* The WebSocket protocol comes first in each list: clients of the original
 * hub ask for no subprotocol, and lws then picks the vhost's first one.
 * Plain HTTP on the eater port (the dashboard, /metrics) goes to the HTTP
 * protocol, which the eater vhost mounts at "/".
 *
 * Without a tx_packet_size lws sends at most the rx buffer (16 KiB) per
 * socket per loop turn and keeps the rest, so that an eater got 16 KiB a
 * turn while each kitchen gave 16 KiB: delivery was 1/K of ingest. An
 * eater's sends are as large as the kernel takes. */
#define HUB_EATER_TX_PACKET (4u << 20)

const struct lws_protocols hub_kitchen_protocols[] = {
	{ "dumpling-kitchen", hub_kitchen_callback, sizeof(struct hub_conn), 16384, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

const struct lws_protocols hub_eater_protocols[] = {
	{ "dumpling-eater", hub_eater_callback, sizeof(struct hub_conn), 16384, 0, NULL,
	  HUB_EATER_TX_PACKET },
	HUB_HTTP_PROTOCOL,
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};
