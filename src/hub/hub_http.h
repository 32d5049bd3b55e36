#ifndef HUB_HTTP_H
#define HUB_HTTP_H

/* The hub's HTTP side, on the eater port beside the WebSocket: GET /metrics
 * and the files of a web directory (the bundled dashboard, or --web DIR).
 * The eater vhost lists HUB_HTTP_PROTOCOL after its WebSocket protocol and
 * mounts hub_http_mount at "/". lws looks for a WebSocket upgrade before it
 * looks at mounts, so eaters still connect on "/" (or any path). */

#include <stddef.h>

#include <libwebsockets.h>

struct hub;

/* A generated response (/metrics) while it is being sent. */
struct hub_http_session {
	char *body;
	size_t len, sent;
};

int hub_http_callback(struct lws *wsi, enum lws_callback_reasons reason,
		      void *user, void *in, size_t len);

#define HUB_HTTP_PROTOCOL_NAME "dumpling-http"
#define HUB_HTTP_PROTOCOL \
	{ HUB_HTTP_PROTOCOL_NAME, hub_http_callback, \
	  sizeof(struct hub_http_session), 0, 0, NULL, 0 }

extern const struct lws_http_mount hub_http_mount;

/* Find the web directory: hub->cfg.web, or the bundled one beside the
 * binary (web/, in a source tree) or installed (../share/dumplings/web).
 * Returns -1 after logging if --web is not a directory; a missing bundled
 * directory is only a warning, since the hub works without it. */
int hub_http_open(struct hub *hub);
void hub_http_close(struct hub *hub);

#endif
