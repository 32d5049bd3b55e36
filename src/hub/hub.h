#ifndef HUB_H
#define HUB_H

/* Internals shared by the hub's modules: hub.c (command line, event loop,
 * shutdown), hub_conn.c (the two protocols: hellos, reassembly),
 * hub_ingest.c (checking and publishing dumplings),
 * hub_fanout.c (the shared ring, subscribers and the slow-eater policy),
 * hub_eater.c (eaters as subscribers),
 * hub_status.c (SystemStatusChef dumplings), hub_http.c and hub_metrics.c
 * (HTTP on the eater port: the dashboard's files and /metrics),
 * hub_health.c (kitchens' own reports, for /metrics), hub_auth.c (tokens
 * and TLS files), hub_link.c (other hubs, over NATS). */

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "base/log.h"
#include "base/seqbook.h"
#include "hub_fanout.h"
#include "hub_health.h"
#include "hub_inbox.h"
#include "hub_ingest.h"
#include "hub_latest.h"
#include "hub_replay.h"
#include "hub_stats.h"
#include "net/wsutil.h"

struct cJSON;

enum hub_slow_policy { HUB_SLOW_SKIP, HUB_SLOW_DISCONNECT };
enum hub_role { HUB_KITCHEN, HUB_EATER, HUB_ROLES };

struct hub_config {
	const char *address;
	int in_port, out_port;
	double status_freq;
	double hello_timeout;
	size_t max_message;	/* bytes; larger messages close with 1009 */
	size_t max_hello;	/* bytes of a hello, and of anything an eater sends */
	long max_connections;	/* sockets open at once, on both ports */
	long queue_len;		/* dumplings held for eaters */
	size_t queue_bytes;	/* bytes held for eaters */
	size_t latest_bytes;	/* held for "latest" (hub_latest.c); 0: none */
	enum hub_slow_policy slow;
	const char *web;	/* --web DIR, or NULL for the bundled page */
	const char *kitchen_token_file, *eater_token_file;
	const char *cert, *key;	/* TLS on both ports when set */
	const char **allow_origins;	/* --allow-origin, repeatable */
	/* --nats and its options: the link to other hubs, or NULL */
	const char *nats, *nats_creds, *nats_token_file, *nats_ca, *nats_cert, *nats_key;
	/* --nats-stream: the JetStream stream of the federation's history,
	 * kept --retain long and big, in --nats-replicas copies */
	const char *nats_stream;
	double retain_age;	/* seconds */
	long long retain_bytes;
	int nats_replicas;
	int retain_given, replicas_given;
	int nallow_origins;
	int verbose;		/* -v: 1, -q: -1 */
};

/* What a kitchen that asked for acknowledgements has been told (hub_ack.c):
 * the seq of the last of its dumplings the hub is done with, i.e. every
 * eater was sent it or told it was skipped. Held by the connection and by
 * each of its dumplings in the ring, so it outlives whichever goes first. */
struct hub_ledger {
	struct hub_conn *conn;		/* NULL once the kitchen has gone */
	unsigned long refs;
	unsigned long long done, told;
};

/* Per-connection state, lws' per-session user data. */
struct hub_conn {
	struct hub_conn *prev, *next;	/* in hub->kitchens or hub->eaters */
	struct lws *wsi;
	enum hub_role role;
	int greeted;			/* the hello has arrived */
	unsigned long hellos_again;	/* a kitchen's, when its chefs changed */
	int closing;			/* close on the next WRITEABLE */
	int close_sent;			/* our close frame is out */
	int close_code;
	const char *close_why;
	char host[64];
	int port;
	int fd;				/* the socket, for hub_wire_faults() */
	double since;
	char *hello;			/* what is kept of it, as JSON text */
	size_t hello_len;
	char *name;			/* kitchen_name or eater_name, or "" */
	/* a message being reassembled from fragments */
	struct ws_message rx;
	int rx_binary;
	/* kitchens: a source of dumplings, acknowledged if it asked
	 * ("acks": true; src.ledger) */
	struct hub_source src;
	int ack_armed;
	/* eaters: a subscriber to fan-out (hub_eater.c) */
	struct hub_subscriber sub;
	int notices;			/* it is told what it was not sent */
	int wants_latest;		/* "latest": true in its hello */
	int latest_told;		/* the notice of how many is out */
	struct latest_batch *latest;	/* the latest dumplings still to send it */
	int wants_since;		/* "since" in its hello: history first */
	double replay_since;		/* from when, in seconds since the epoch */
	struct hub_replay *replay;	/* what history still sends it (hub_replay.c) */
	int deflate;			/* permessage-deflate was negotiated */
	unsigned long told, told_numbered;	/* of sub.dropped, in notices */
};

struct hub {
	struct hub_config cfg;
	struct lws_context *ctx;
	struct lws_vhost *vh_in, *vh_out;
	struct hub_fanout fan;		/* the ring and its subscribers */
	struct hub_latest latest;	/* each (kitchen, chef)'s last dumpling */
	struct hub_conn *kitchens, *eaters;	/* every connection, by role */
	int nkitchens;			/* the greeted ones */
	struct hub_counts count;		/* see hub_stats.h */
	long connections;		/* sockets open now, past the listeners */
	double start;
	lws_sorted_usec_list_t status_sul;
	double rate_t;
	unsigned long rate_in, rate_out;
	struct log_limit invalid_log, drop_log, conn_log;
	char *web_root;			/* what HTTP serves (hub_http.c), or NULL */
	char *scratch;			/* the strings read from a dumpling (hub_ingest.c) */
	size_t scratch_len;
	char *kitchen_token, *eater_token;	/* NULL: that port is open */
	struct log_limit auth_log;
	/* Loss accounting (hub_seq.c): each kitchen run's last seq, and the
	 * dumplings missing before it. */
	struct seq_book seq;
	/* each kitchen's latest KitchenStatusChef report (hub_health.c) */
	struct hub_health_book health;
	/* dumplings from other threads, for ingest (hub_inbox.c) */
	struct hub_inbox inbox;
	/* the link to other hubs over NATS (hub_link.c), or NULL */
	struct hub_link *link;
	/* eaters being sent history (hub_replay.c) */
	struct hub_replay *replays;
	int nreplays;
	/* what kitchens brought in this loop turn (hub_conn.c) */
	unsigned long turn_in;
	size_t turn_bytes;
	int turn_held;
};

extern const struct lws_protocols hub_kitchen_protocols[];
extern const struct lws_protocols hub_eater_protocols[];

/* An eater's connection, as a subscriber to fan-out (hub_eater.c). */
void hub_eater_join(struct hub *hub, struct hub_conn *c);
int hub_eater_writable(struct hub *hub, struct hub_conn *c);

/* Read from every kitchen, or from none (receive flow control), while
 * fan-out holds publishers back for a lossless eater (hub_conn.c). */
void hub_kitchens_hold(struct hub *hub, int hold);
/* After each loop turn: kitchens held for having brought a quarter of the
 * queue in one turn are read again (hub_conn.c). */
void hub_turn_end(struct hub *hub);

void hub_status_start(struct hub *hub);

struct cJSON;
/* kitchen_runs, those heard from last first, while they fit in budget
 * bytes; kitchen_runs_unlisted counts the rest. */
void hub_seq_status(struct hub *hub, struct cJSON *payload, size_t budget);
void hub_seq_by_kitchen(struct hub *hub, void (*each)(void *ctx, const char *kitchen,
						     double last_seq, double lost), void *ctx);

void hub_conn_close(struct hub_conn *c, int code, const char *why);

/* Acknowledgements to kitchens (hub_ack.c). */
struct hub_ledger *hub_ack_open(struct hub_conn *kitchen);
void hub_ack_hold(struct hub_ledger *l);
void hub_ack_release(struct hub_ledger *l);	/* drops a hold */
void hub_ack_close(struct hub_conn *kitchen);	/* the kitchen has gone */
void hub_ack_done(struct hub_ledger *l, unsigned long long seq);
int hub_ack_writable(struct hub_conn *kitchen);	/* -1 if the write failed */

/* Keep what the hub needs of a hello (hub_hello.c): c->hello, c->name and
 * an eater's filters. Returns -1 and why if the hello is refused. */
int hub_hello_take(struct hub_conn *c, const char *msg, size_t len, const char **why);
void hub_hello_free(struct hub_conn *c);

/* What the bytes under lws say about a connection (hub_wire.c): frames
 * that are not masked, a message in too many frames. hub_wire_watch()
 * starts following a newly accepted socket. */
#define HUB_WIRE_UNMASKED	1
#define HUB_WIRE_FRAGMENTS	2
void hub_wire_watch(int fd, int tls);
int hub_wire_faults(int fd);
void hub_wire_free(void);

/* Read the token files and check the TLS files (hub_auth.c); -1 after
 * saying what is wrong. hub_auth_warn() warns of ports open to anyone on
 * an address beyond loopback; hub_auth_close() lets the tokens go. */
int hub_auth_open(struct hub *hub);
void hub_auth_warn(struct hub *hub, const char *iface);
void hub_auth_close(struct hub *hub);
/* SIGHUP: the token files and the certificate and key again, for new
 * connections; what fails to load is said, and the old one kept. */
void hub_auth_reload(struct hub *hub);

/* Whether the request on wsi presents the token of role (what names the
 * request in the log). Returns 0 if it does, or if the role needs none;
 * otherwise answers 401 and returns 1, or -1 if even that failed. */
int hub_auth_check(struct hub *hub, struct lws *wsi, enum hub_role role, const char *what);

/* Whether a WebSocket upgrade from a browser comes from a page that may
 * open one (hub_origin.c): 0 if so, or if it carries no Origin; otherwise
 * answers 403 and returns 1, or -1 if even that failed.
 * hub_origin_option() checks an --allow-origin, 0 or -1. */
int hub_origin_check(struct hub *hub, struct lws *wsi, enum hub_role role, const char *what);
int hub_origin_option(const char *arg);

/* Answer a request with code and an empty body, in HTTP/1.1 (with one
 * header more unless NULL, its name ending in a colon, as lws wants it);
 * returns 1, or -1 if that failed. */
int hub_refuse(struct lws *wsi, unsigned int code, const char *phrase,
	       const char *header, const char *value);

#endif
