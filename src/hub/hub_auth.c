/* The hub's door: tokens and TLS. With --kitchen-token-file, a kitchen must
 * present the kitchen token to be upgraded to a WebSocket on the in-port;
 * with --eater-token-file, the same goes for eaters (and GET /metrics) on
 * the out-port. A token comes as "Authorization: Bearer TOKEN" or, since
 * browsers cannot set headers on a WebSocket, as ?token=TOKEN. Refusals
 * are answered with 401, counted and logged by peer and reason; the token
 * itself is never logged, not even a wrong one. The token files and the
 * TLS certificate and key are read before anything listens, so that a bad
 * one is a clear error at start rather than refusals later. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "hub.h"
#include "net/token.h"

static const char *tls_reason(void)
{
	const char *r = ERR_reason_error_string(ERR_peek_error());

	return r ? r : "not understood";
}

/* Load the certificate and key once with OpenSSL, to say which file is
 * wrong and why; lws would only fail to create the listener. */
static int hub_check_tls(const char *cert, const char *key)
{
	SSL_CTX *ssl = SSL_CTX_new(TLS_server_method());
	int rc = -1;

	ERR_clear_error();
	if (!ssl)
		log_error("cannot set up TLS: %s", tls_reason());
	else if (access(cert, R_OK) < 0)
		log_error("cannot read --cert %s: %s", cert, strerror(errno));
	else if (access(key, R_OK) < 0)
		log_error("cannot read --key %s: %s", key, strerror(errno));
	else if (SSL_CTX_use_certificate_chain_file(ssl, cert) != 1)
		log_error("--cert %s: %s (a PEM certificate is expected)", cert, tls_reason());
	else if (SSL_CTX_use_PrivateKey_file(ssl, key, SSL_FILETYPE_PEM) != 1)
		log_error("--key %s: %s (the PEM private key of --cert %s is expected)",
			  key, tls_reason(), cert);
	else
		rc = 0;
	SSL_CTX_free(ssl);
	ERR_clear_error();
	return rc;
}

int hub_auth_open(struct hub *hub)
{
	const struct hub_config *cfg = &hub->cfg;

	if (token_load(cfg->kitchen_token_file, "DUMPLINGS_KITCHEN_TOKEN", &hub->kitchen_token) < 0 ||
	    token_load(cfg->eater_token_file, "DUMPLINGS_EATER_TOKEN", &hub->eater_token) < 0)
		return -1;
	if (hub->kitchen_token && hub->eater_token && !strcmp(hub->kitchen_token, hub->eater_token)) {
		log_error("the kitchen token and the eater token must differ, or a kitchen could eat");
		return -1;
	}
	return cfg->cert ? hub_check_tls(cfg->cert, cfg->key) : 0;
}

static int is_loopback(const char *numeric)
{
	return !strncmp(numeric, "127.", 4) || !strcmp(numeric, "::1");
}

void hub_auth_warn(struct hub *hub, const char *iface)
{
	if (is_loopback(iface))
		return;
	if (!hub->kitchen_token)
		log_warn("listening on %s without a kitchen token: anyone who can reach "
			 "port %d can publish (see --kitchen-token-file)", iface, hub->cfg.in_port);
	if (!hub->eater_token)
		log_warn("listening on %s without an eater token: anyone who can reach "
			 "port %d can eat (see --eater-token-file)", iface, hub->cfg.out_port);
}

/* A token file read again: the new token, or the old one kept if the
 * file is now unreadable or empty, or the two roles' would be the same. */
static void reload_token(const char *file, char **token, const char *other, const char *role)
{
	char *fresh;

	if (!file)
		return;		/* from the environment, or none: as it was */
	if (token_load(file, NULL, &fresh) <= 0) {
		log_error("keeping the %s token in use: %s could not be read again", role, file);
		return;
	}
	if (other && !strcmp(fresh, other)) {
		log_error("keeping the %s token in use: %s now holds the other role's token",
			  role, file);
		free(fresh);
		return;
	}
	free(*token);
	*token = fresh;
	log_info("%s token read again from %s", role, file);
}

void hub_auth_reload(struct hub *hub)
{
	const struct hub_config *cfg = &hub->cfg;

	reload_token(cfg->kitchen_token_file, &hub->kitchen_token, hub->eater_token, "kitchen");
	reload_token(cfg->eater_token_file, &hub->eater_token, hub->kitchen_token, "eater");
	if (!cfg->cert)
		return;
	/* lws loads the new pair into the live context with no way back: a
	 * key that does not fit would leave it unable to serve, so the pair
	 * is checked first. Connections open now keep the session they have. */
	if (hub_check_tls(cfg->cert, cfg->key) < 0) {
		log_error("keeping the certificate in use");
		return;
	}
	lws_tls_cert_updated(hub->ctx, cfg->cert, cfg->key, NULL, 0, NULL, 0);
	log_info("certificate read again from %s", cfg->cert);
}

void hub_auth_close(struct hub *hub)
{
	free(hub->kitchen_token);
	free(hub->eater_token);
	hub->kitchen_token = hub->eater_token = NULL;
}

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

/* The status line ourselves: lws words it from the request's HTTP version,
 * which at the upgrade it has not read yet, and would answer "HTTP/1.0",
 * which clients that speak only HTTP/1.1 (python3-websockets) do not take
 * for an answer at all. */
static int status_line(struct lws *wsi, unsigned int code, const char *phrase,
		       unsigned char **p, unsigned char *end)
{
	char line[64];
	int n = snprintf(line, sizeof line, "HTTP/1.1 %u %s", code, phrase);

	return lws_add_http_header_by_name(wsi, NULL, (const unsigned char *)line, n, p, end);
}

int hub_refuse(struct lws *wsi, unsigned int code, const char *phrase,
	       const char *header, const char *value)
{
	unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start;
	unsigned char *end = buf + sizeof buf - 1;

	if (status_line(wsi, code, phrase, &p, end) ||
	    (header && lws_add_http_header_by_name(wsi, (const unsigned char *)header,
						   (const unsigned char *)value,
						   (int)strlen(value), &p, end)) ||
	    lws_add_http_header_content_length(wsi, 0, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	return 1;
}

static int refuse(struct lws *wsi)
{
	return hub_refuse(wsi, HTTP_STATUS_UNAUTHORIZED, "Unauthorized",
			  "www-authenticate:", "Bearer realm=\"dumplings\"");
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
	if (role == HUB_KITCHEN)
		hub->count.kitchens_unauthorized++;
	else
		hub->count.eaters_unauthorized++;
	wsutil_peer(wsi, host, sizeof host, &port);
	if (log_allow(&hub->auth_log, &suppressed))
		log_warn("refused %s from %s:%d with 401: %s%s", what, host, port,
			 refusal(hub, role, got),
			 suppressed ? " (similar messages suppressed)" : "");
	return refuse(wsi);
}
