/* HTTP on the eater port: GET /metrics, and the files of the web directory
 * for GET anything else ("/" is index.html). Only GET is served; anything
 * the directory does not hold, or a path that tries to leave it, is 404. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hub.h"
#include "hub_http.h"
#include "hub_metrics.h"
#include "base/util.h"

/* bytes of a generated body sent per WRITEABLE callback */
#define HTTP_CHUNK 16384

const struct lws_http_mount hub_http_mount = {
	.mountpoint = "/",
	.mountpoint_len = 1,
	.origin = HUB_HTTP_PROTOCOL_NAME,
	.origin_protocol = LWSMPRO_CALLBACK,
};

static struct hub *http_hub(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- finding the web directory ------------------------------------------- */

static char *http_bundled_root(void)
{
	static const char *const places[] = { "web", "../share/dumplings/web" };
	char exe[PATH_MAX / 2], dir[PATH_MAX];

	exe_dir(exe, sizeof exe);
	for (size_t i = 0; i < sizeof places / sizeof *places; i++) {
		snprintf(dir, sizeof dir, "%s/%s", exe, places[i]);
		if (is_dir(dir))
			return realpath(dir, NULL);
	}
	return NULL;
}

int hub_http_open(struct hub *hub)
{
	const char *web = hub->cfg.web;

	if (web) {
		hub->web_root = realpath(web, NULL);
		if (!hub->web_root || !is_dir(hub->web_root)) {
			log_error("--web %s: not a directory", web);
			return -1;
		}
	} else {
		hub->web_root = http_bundled_root();
		if (!hub->web_root) {
			log_warn("the dashboard's files are not installed; serving /metrics only");
			return 0;
		}
	}
	log_info("serving %s on the eater port", hub->web_root);
	return 0;
}

void hub_http_close(struct hub *hub)
{
	free(hub->web_root);
	hub->web_root = NULL;
}

/* ---- mapping a request path to a file ----------------------------------- */

/* lws has already percent-decoded the path (so "%2e%2e" and "%2f" arrive
 * as ".." and "/") and tidied "//" and "/../" in it. We do not rely on
 * that: every segment must be an ordinary name, not empty and not starting
 * with a dot (no ".", "..", or hidden file), with no backslash. */
static int http_path_ok(const char *path)
{
	if (path[0] != '/' || strchr(path, '\\'))
		return 0;
	for (const char *p = path; (p = strchr(p, '/')); p++)
		if (p[1] == '.' || p[1] == '/')
			return 0;
	return 1;
}

/* The regular file under root that a request path names, in real (symlink
 * free) form, so that a symlink cannot lead out of root either. */
static int http_resolve(const char *root, const char *path, char *out)
{
	size_t rlen = strlen(root), plen = strlen(path);
	char file[PATH_MAX];
	struct stat st;

	if (!http_path_ok(path))
		return -1;
	if (snprintf(file, sizeof file, "%s%s%s", root, path,
		     path[plen - 1] == '/' ? "index.html" : "") >= (int)sizeof file)
		return -1;
	if (!realpath(file, out))
		return -1;
	if (strncmp(out, root, rlen) || out[rlen] != '/')
		return -1;
	return stat(out, &st) == 0 && S_ISREG(st.st_mode) ? 0 : -1;
}

static const char *http_mime(const char *file)
{
	static const char *const types[][2] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".json", "application/json" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ ".txt", "text/plain; charset=utf-8" },
	};
	const char *dot = strrchr(file, '.');

	for (size_t i = 0; dot && i < sizeof types / sizeof *types; i++)
		if (!strcmp(dot, types[i][0]))
			return types[i][1];
	return "application/octet-stream";
}

/* ---- responses ------------------------------------------------------------ */

static int http_status(struct lws *wsi, unsigned int code)
{
	if (lws_return_http_status(wsi, code, NULL))
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static void http_session_free(struct hub_http_session *s)
{
	if (!s)
		return;
	free(s->body);
	s->body = NULL;
	s->len = s->sent = 0;
}

/* Send the headers now and the body (malloc'd, now ours) from WRITEABLE. */
static int http_send(struct lws *wsi, struct hub_http_session *s, char *body,
		     size_t len, const char *type)
{
	unsigned char buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start;
	unsigned char *end = buf + sizeof buf - 1;

	if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, type, len, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
					 (const unsigned char *)"no-store", 8, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end)) {
		free(body);
		return -1;
	}
	http_session_free(s);
	s->body = body;
	s->len = len;
	lws_callback_on_writable(wsi);
	return 0;
}

static int http_metrics(struct lws *wsi, struct hub_http_session *s)
{
	size_t len;
	char *text;
	int rc = hub_auth_check(http_hub(wsi), wsi, HUB_EATER, "GET /metrics");

	if (rc)
		return rc < 0 || lws_http_transaction_completed(wsi) ? -1 : 0;
	text = hub_metrics_text(http_hub(wsi), &len);
	if (!text)
		return http_status(wsi, HTTP_STATUS_INTERNAL_SERVER_ERROR);
	return http_send(wsi, s, text, len, "text/plain; version=0.0.4; charset=utf-8");
}

static int http_file(struct lws *wsi, const char *path)
{
	const char *root = http_hub(wsi)->web_root;
	char file[PATH_MAX];
	int n;

	if (!root || http_resolve(root, path, file) < 0)
		return http_status(wsi, HTTP_STATUS_NOT_FOUND);
	n = lws_serve_http_file(wsi, file, http_mime(file), NULL, 0);
	/* > 0: sent already; then the connection may serve another request */
	if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
		return -1;
	return 0;
}

static int http_request(struct lws *wsi, struct hub_http_session *s)
{
	char path[1024];

	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0) {
		/* a body may follow that we will not read: answer, then close */
		lws_return_http_status(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED, NULL);
		return -1;
	}
	if (lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI) <= 0)
		return http_status(wsi, HTTP_STATUS_NOT_FOUND);
	if (!strcmp(path, "/metrics"))
		return http_metrics(wsi, s);
	return http_file(wsi, path);
}

/* One chunk of a generated body per call, the last one ending the
 * transaction (the connection then waits for another request). */
static int http_writable(struct lws *wsi, struct hub_http_session *s)
{
	unsigned char buf[LWS_PRE + HTTP_CHUNK];
	size_t n;
	int final;

	if (!s || !s->body)
		return 0;	/* not ours: lws sends files itself */
	n = s->len - s->sent < HTTP_CHUNK ? s->len - s->sent : HTTP_CHUNK;
	final = s->sent + n == s->len;
	memcpy(buf + LWS_PRE, s->body + s->sent, n);
	if (lws_write(wsi, buf + LWS_PRE, n,
		      final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
		return -1;
	s->sent += n;
	if (!final) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	http_session_free(s);
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int hub_http_callback(struct lws *wsi, enum lws_callback_reasons reason,
		      void *user, void *in, size_t len)
{
	struct hub_http_session *s = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return http_request(wsi, s);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return http_writable(wsi, s);
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return -1;	/* HTTP only: no WebSocket may ask for us by name */
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
		http_session_free(s);
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}
