/* Tokens at the hub's door. With --kitchen-token-file, a kitchen must
 * present the kitchen token to be upgraded to a WebSocket on the in-port;
 * with --eater-token-file, the same goes for eaters (and GET /metrics) on
 * the out-port. A token comes as "Authorization: Bearer TOKEN" or, since
 * browsers cannot set headers on a WebSocket, as ?token=TOKEN. Refusals
 * are answered with 401, counted and logged by peer and reason; the token
 * itself is never logged, not even a wrong one. */
#include <string.h>
#include <strings.h>

#include "hub.h"
#include "token.h"

static const char *role_token(const struct hub *hub, enum hub_role role)
{
	return role == HUB_KITCHEN ? hub->kitchen_token : hub->eater_token;
}

/* The token the request presents, or NULL; "Bearer" is case-insensitive
 * (RFC 7235), the token is not. */
static const char *presented(struct lws *wsi, char *buf, int len)
{
	const char *t;

	if (lws_hdr_copy(wsi, buf, len, WSI_TOKEN_HTTP_AUTHORIZATION) > 0) {
		if (strncasecmp(buf, "Bearer ", 7))
			return NULL;
		for (t = buf + 7; *t == ' '; t++)
			;
		return t;
	}
	return lws_get_urlarg_by_name(wsi, "token=", buf, len);
}

static int refuse(struct lws *wsi)
{
	static const char challenge[] = "Bearer realm=\"dumplings\"";
	unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start;
	unsigned char *end = buf + sizeof buf - 1;

	if (lws_add_http_header_status(wsi, HTTP_STATUS_UNAUTHORIZED, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_WWW_AUTHENTICATE,
					 (const unsigned char *)challenge,
					 sizeof challenge - 1, &p, end) ||
	    lws_add_http_header_content_length(wsi, 0, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	return 1;
}

static const char *refusal(const struct hub *hub, enum hub_role role, const char *got)
{
	const char *other = role_token(hub, role == HUB_KITCHEN ? HUB_EATER : HUB_KITCHEN);

	if (!got)
		return "no token";
	if (other && token_matches(other, got, strlen(got)))
		return role == HUB_KITCHEN ? "an eater's token" : "a kitchen's token";
	return "a wrong token";
}

int hub_auth_check(struct hub *hub, struct lws *wsi, enum hub_role role, const char *what)
{
	const char *want = role_token(hub, role), *got;
	char buf[TOKEN_MAX + 64], host[64];
	unsigned long suppressed;
	int port;

	if (!want)
		return 0;
	got = presented(wsi, buf, sizeof buf);
	if (got && token_matches(want, got, strlen(got)))
		return 0;
	hub->unauthorized[role]++;
	wsutil_peer(wsi, host, sizeof host, &port);
	if (log_allow(&hub->auth_log, &suppressed))
		log_warn("refused %s from %s:%d with 401: %s%s", what, host, port,
			 refusal(hub, role, got),
			 suppressed ? " (similar messages suppressed)" : "");
	return refuse(wsi);
}
