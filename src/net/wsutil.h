#ifndef WSUTIL_H
#define WSUTIL_H

#include <stddef.h>

#include "wsmsg.h"

struct lws;

/* Close codes of the dumplings protocol (see DESIGN.md). */
#define WS_CLOSE_CANCELLED	4101	/* "connection cancelled" */
#define WS_CLOSE_EATER_FULL	4102	/* "dumpling eater is full" */

/* Route libwebsockets' own log lines through our logger: errors always,
 * warnings and notices only when verbose. */
void wsutil_log_init(int verbose);

/* The numeric address and port of a connection's peer, by its wsi or its
 * socket. */
void wsutil_peer(struct lws *wsi, char *host, size_t hostlen, int *port);
void wsutil_fd_peer(int fd, char *host, size_t hostlen, int *port);

/* Resolve a host name to a numeric address, preferring IPv4 because
 * "localhost" should mean 127.0.0.1 for the original's clients. Returns
 * 0 and sets *is_v6, or -1. */
int wsutil_resolve(const char *name, char *out, size_t outlen, int *is_v6);

/* Add what one RECEIVE callback brought to m (see wsmsg.h). lws says
 * whether the piece ends its frame and the frame its message. */
enum ws_piece ws_message_add(struct ws_message *m, struct lws *wsi, const void *in,
			     size_t len);

#endif
