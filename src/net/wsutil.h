#ifndef WSUTIL_H
#define WSUTIL_H

#include <stddef.h>

struct lws;

/* Close codes of the dumplings protocol (see DESIGN.md). */
#define WS_CLOSE_CANCELLED	4101	/* "connection cancelled" */
#define WS_CLOSE_EATER_FULL	4102	/* "dumpling eater is full" */

/* Route libwebsockets' own log lines through our logger: errors always,
 * warnings and notices only when verbose. */
void wsutil_log_init(int verbose);

/* The numeric address and port of a connection's peer. */
void wsutil_peer(struct lws *wsi, char *host, size_t hostlen, int *port);

/* Resolve a host name to a numeric address, preferring IPv4 because
 * "localhost" should mean 127.0.0.1 for the original's clients. Returns
 * 0 and sets *is_v6, or -1. */
int wsutil_resolve(const char *name, char *out, size_t outlen, int *is_v6);

/* A message collected from the RECEIVE callbacks that bring it: a frame
 * may come in pieces, and a message in several frames. */
struct ws_message {
	char *data;		/* NUL-terminated once complete */
	size_t len, cap;
};

/* Add what one RECEIVE callback brought (in may be NULL when len is 0).
 * Returns 1 when the message is complete, 0 when more is to come, or -1,
 * adding nothing, when it would grow past max bytes. */
int ws_message_add(struct ws_message *m, struct lws *wsi, const void *in, size_t len,
		   size_t max);

/* Start on the next message. A buffer grown by one huge message is let
 * go rather than kept for the life of the connection. */
void ws_message_reset(struct ws_message *m);
void ws_message_free(struct ws_message *m);

#endif
