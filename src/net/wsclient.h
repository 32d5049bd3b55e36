#ifndef WSCLIENT_H
#define WSCLIENT_H

/* A WebSocket client on its own lws context, shared by `dumplings eat` and
 * the kitchen's uplink. One thread drives it with wsclient_service(); the
 * only call allowed from another thread is wsclient_wake(). Messages are
 * reassembled from fragments before ops->message sees them. */

#include <stddef.h>

#include "token.h"
#include "wsframe.h"

struct wsclient;

/* Where a client connects, and how: -H [ws://|wss://]HOST[:PORT], given
 * once or more (the hubs are tried in turn: after a hub is lost or cannot
 * be reached, the next one), --ca, --insecure and --token-file (or
 * DUMPLINGS_TOKEN), shared by the kitchen and the eater. */
#define WSCLIENT_MAX_HUBS 16
struct wsclient_hub {
	char host[256];
	int port;
	int tls;			/* wss:// */
};
struct wsclient_target {
	struct wsclient_hub hub[WSCLIENT_MAX_HUBS];
	int nhubs;			/* 0 until -H, then what -H gave */
	int default_port;		/* for -H without one, and no -H */
	const char *ca;			/* certificates to trust, NULL: the system's */
	int insecure;			/* accept any certificate */
	const char *token_file;
	char token[TOKEN_MAX + 1];	/* sent as Authorization: Bearer, or "" */
};

/* The options every client takes, for its getopt_long table, and the
 * lines of --help that tell of them. */
enum { WSCLIENT_OPT_TOKEN_FILE = 200, WSCLIENT_OPT_CA, WSCLIENT_OPT_INSECURE };
#define WSCLIENT_LONG_OPTIONS \
	{ "token-file", required_argument, NULL, WSCLIENT_OPT_TOKEN_FILE }, \
	{ "ca", required_argument, NULL, WSCLIENT_OPT_CA }, \
	{ "insecure", no_argument, NULL, WSCLIENT_OPT_INSECURE }
#define WSCLIENT_OPTIONS_HELP \
	"      --token-file FILE    present the token in FILE (default:\n" \
	"                           $DUMPLINGS_TOKEN, if set)\n" \
	"      --ca FILE            trust the certificates in FILE for wss://\n" \
	"                           (default: the system's)\n" \
	"      --insecure           accept any certificate for wss://\n"
/* Returns 1 if ch is one of those options (now handled), else 0. */
int wsclient_option(struct wsclient_target *t, int ch, const char *arg);

/* Add -H's argument to t's hubs; -1 if it is not a hub address or there
 * are too many. */
int wsclient_parse_hub(const char *arg, struct wsclient_target *t);
/* Load the token and check the TLS options once all options are parsed
 * (no -H: localhost on the default port); returns -1 after saying what
 * is wrong. */
int wsclient_target_ready(struct wsclient_target *t);
/* A hub as messages name it: HOST:PORT, [V6]:PORT, wss://HOST:PORT; with
 * scheme, ws:// too. */
void wsclient_hub_name(const struct wsclient_hub *h, int scheme, char *buf, size_t size);
/* Every hub of t, as above, separated by ", " */
void wsclient_hubs_name(const struct wsclient_target *t, char *buf, size_t size);

struct wsclient_ops {
	void (*established)(void *user);
	/* a whole text or binary message; return -1 to drop the connection */
	int (*message)(void *user, const char *msg, size_t len);
	/* the socket can take a write: use wsclient_write(); -1 closes */
	int (*writable)(void *user);
	/* the connection failed or ended; code is the peer's close code
	 * (1005 for a close frame without one, 0 for no close frame), why
	 * a short text: for an established connection, the peer's code and
	 * reason, or that no close frame came */
	void (*lost)(void *user, int was_established, int code, const char *why);
	void (*woken)(void *user);	/* after wsclient_wake(); optional */
	void (*timer)(void *user);	/* after wsclient_after(); optional */
};

struct wsclient *wsclient_new(const struct wsclient_target *t, const struct wsclient_ops *ops,
			      void *user, size_t max_message);
void wsclient_free(struct wsclient *c);
/* Connects to the hub whose turn it is. */
int wsclient_connect(struct wsclient *c);
/* The hub wsclient_connect() tries, or the connection is on. */
const struct wsclient_hub *wsclient_current(const struct wsclient *c);
/* After a loss: the next hub has its turn. Returns 1 when every hub has
 * failed since one last proved itself (a connection that lasted 2 s):
 * time to back off, or give up; else 0 (try the next one now). With one
 * hub, always 1. */
int wsclient_next_hub(struct wsclient *c);
int wsclient_connected(const struct wsclient *c);
int wsclient_service(struct wsclient *c);
void wsclient_want_write(struct wsclient *c);
/* buf must have LWS_PRE bytes of headroom before it */
int wsclient_write(struct wsclient *c, unsigned char *buf, size_t len);
int wsclient_write_copy(struct wsclient *c, const char *s, size_t len);
/* Many messages in one write(): wsclient_frame() writes one complete,
 * masked text frame of msg at dst (len + WSCLIENT_FRAME_OVERHEAD bytes at
 * most) and returns its size; wsclient_write_frames() sends such frames. */
#define WSCLIENT_FRAME_OVERHEAD WS_FRAME_OVERHEAD
size_t wsclient_frame(struct wsclient *c, unsigned char *dst, const void *msg, size_t len);
int wsclient_write_frames(struct wsclient *c, unsigned char *buf, size_t len);
int wsclient_buffered(struct wsclient *c);
/* Send a close frame with this code from the next WRITEABLE. */
void wsclient_close(struct wsclient *c, int code, const char *why);
void wsclient_after(struct wsclient *c, double seconds);
/* Hang up on a hub that sends nothing for this long, not even the answer
 * to the ping that goes half way (0, the default: never); ops->lost then
 * says so. */
void wsclient_idle_limit(struct wsclient *c, double seconds);
void wsclient_wake(struct wsclient *c);

#endif
