/* Origins: which web pages may open a WebSocket to the hub. A browser lets
 * any page it shows open a WebSocket anywhere, and says which page asked
 * in the Origin header; without a check, any site the operator visits
 * could eat from a hub on localhost that has no token, or publish to it.
 * So an upgrade that carries an Origin is let in only from the hub's own
 * pages (the scheme the hub serves, and the host and port the request was
 * sent to, as its Host header says) or from an origin named with
 * --allow-origin ("*" names them all). Programs that are not browsers send
 * no Origin and are not affected. A refusal is answered 403, counted by
 * role and logged. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hub.h"

/* An Origin is short: scheme, host and port. */
#define ORIGIN_MAX 256

/* --allow-origin: "*", or scheme://host[:port], with no path. */
int hub_origin_option(const char *arg)
{
	const char *host;

	if (!strcmp(arg, "*"))
		return 0;
	if (!strncasecmp(arg, "http://", 7))
		host = arg + 7;
	else if (!strncasecmp(arg, "https://", 8))
		host = arg + 8;
	else
		return -1;
	return *host && !strchr(host, '/') && strlen(arg) < ORIGIN_MAX ? 0 : -1;
}

static int origin_allowed(const struct hub *hub, const char *origin)
{
	for (int i = 0; i < hub->cfg.nallow_origins; i++) {
		const char *a = hub->cfg.allow_origins[i];

		if (!strcmp(a, "*") || !strcasecmp(a, origin))
			return 1;
	}
	return 0;
}


/* The hub's own pages: served over the scheme the hub speaks, from the
 * host and port the request went to. */
static int origin_is_ours(const struct hub *hub, struct lws *wsi, const char *origin)
{
	const char *scheme = hub->cfg.cert ? "https://" : "http://";
	size_t n = strlen(scheme);
	char host[ORIGIN_MAX];

	if (strncasecmp(origin, scheme, n))
		return 0;
	if (lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST) <= 0)
		return 0;
	return !strcasecmp(origin + n, host);
}

/* What the peer sent, fit for a log line: printable ASCII only. */
static void printable(char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			*s = '?';
}

static int origin_refuse(struct hub *hub, struct lws *wsi, enum hub_role role,
			 const char *what, char *origin)
{
	unsigned long suppressed;
	char host[64];
	int port;

	if (role == HUB_KITCHEN)
		hub->count.kitchens_origin_refused++;
	else
		hub->count.eaters_origin_refused++;
	wsutil_peer(wsi, host, sizeof host, &port);
	printable(origin);
	if (log_allow(&hub->auth_log, &suppressed))
		log_warn("refused %s from %s:%d with 403: Origin %.100s is not this hub's "
			 "(see --allow-origin)%s", what, host, port, origin,
			 suppressed ? " (similar messages suppressed)" : "");
	return hub_refuse(wsi, HTTP_STATUS_FORBIDDEN, "Forbidden", NULL, NULL);
}

int hub_origin_check(struct hub *hub, struct lws *wsi, enum hub_role role, const char *what)
{
	char origin[ORIGIN_MAX];
	int n = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);

	if (n <= 0 || origin_allowed(hub, "*"))
		return 0;	/* not a browser, or every page may */
	if (n >= (int)sizeof origin || lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) <= 0)
		snprintf(origin, sizeof origin, "(too long)");
	else if (origin_allowed(hub, origin) || origin_is_ours(hub, wsi, origin))
		return 0;
	return origin_refuse(hub, wsi, role, what, origin);
}
