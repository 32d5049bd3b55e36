/* dumplings hub: kitchens connect to the in-port, eaters to the out-port;
 * both ports are vhosts of one lws context served by one event loop. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hub.h"
#include "hub_http.h"
#include "hub_link.h"
#include "base/roles.h"
#include "base/util.h"
#include "net/wsutil.h"

/* seconds a connection has to send a whole HTTP request */
#define HUB_REQUEST_SECONDS 10

static const char hub_usage_text[] =
	"usage: dumplings hub [-q | -v] [-a ADDRESS] [--in-port N] [--out-port N]\n"
	"                     [--status-freq SECONDS] [--queue N] [--queue-bytes BYTES]\n"
	"                     [--latest-memory BYTES]\n"
	"                     [--max-message BYTES] [--max-hello BYTES]\n"
	"                     [--max-connections N] [--hello-timeout SECONDS]\n"
	"                     [--slow-eater skip|disconnect] [--web DIR]\n"
	"                     [--kitchen-token-file FILE] [--eater-token-file FILE]\n"
	"                     [--cert FILE --key FILE] [--allow-origin ORIGIN]...\n"
	"                     [--nats URL[,URL...] [--nats-creds FILE]\n"
	"                      [--nats-token-file FILE] [--nats-ca FILE]\n"
	"                      [--nats-cert FILE --nats-key FILE]\n"
	"                      [--nats-stream NAME [--retain AGE,SIZE]\n"
	"                       [--nats-replicas N]]]\n";

static const char hub_options_text[] =
	"\n"
	"  -a, --address ADDRESS    address to listen on (default localhost)\n"
	"      --in-port N          port for kitchens (default 11347)\n"
	"      --out-port N         port for eaters (default 11348)\n"
	"      --status-freq SECONDS  SystemStatusChef interval (default 5)\n"
	"      --queue N            dumplings held for eaters (default 8192)\n"
	"      --queue-bytes BYTES  bytes held for eaters (default 16777216)\n"
	"      --latest-memory BYTES  bytes held of each kitchen and chef's latest\n"
	"                           dumpling, for eaters that ask (default\n"
	"                           16777216; 0: none)\n"
	"      --max-message BYTES  largest message accepted (default 1048576)\n"
	"      --max-hello BYTES    largest hello accepted (default 16384)\n"
	"      --max-connections N  connections open at once, on both ports\n"
	"                           (default 1024)\n"
	"      --hello-timeout SECONDS  time allowed for a hello (default 10)\n"
	"      --slow-eater POLICY  skip (default) or disconnect an eater that\n"
	"                           falls a full queue behind\n"
	"      --web DIR            serve DIR on the eater port instead of the\n"
	"                           bundled dashboard\n"
	"      --kitchen-token-file FILE  kitchens must present the token in FILE\n"
	"                           (default: $DUMPLINGS_KITCHEN_TOKEN, if set)\n"
	"      --eater-token-file FILE  eaters (and GET /metrics) must present the\n"
	"                           token in FILE (default: $DUMPLINGS_EATER_TOKEN)\n"
	"      --cert FILE          TLS certificate (PEM): serve wss:// and https://\n"
	"      --key FILE           its private key (PEM)\n"
	"      --allow-origin ORIGIN  let web pages from ORIGIN (scheme://host[:port],\n"
	"                           or * for any) open WebSockets; repeatable\n"
	"      --nats URL[,URL...]  join the NATS servers at URL (nats:// or tls://),\n"
	"                           exchanging dumplings with the other hubs there\n"
	"      --nats-creds FILE    NATS user credentials (JWT and NKey seed)\n"
	"      --nats-token-file FILE  the NATS token in FILE\n"
	"      --nats-ca FILE       TLS to NATS, trusting the CA certificates in FILE\n"
	"      --nats-cert FILE     TLS client certificate for NATS (PEM)\n"
	"      --nats-key FILE      its private key (PEM)\n"
	"      --nats-stream NAME   keep the federation's dumplings in the JetStream\n"
	"                           stream NAME, for eaters that ask for history\n"
	"      --retain AGE,SIZE    how long and how much it keeps, e.g. 2h,512M\n"
	"                           (default 24h,1G; either alone is fine)\n"
	"      --nats-replicas N    copies of the stream in the cluster (default 1)\n"
	"  -q, --quiet              log errors only\n"
	"  -v, --verbose            log debugging detail, libwebsockets' too\n"
	"      --config FILE        read long options from FILE first, one a line\n"
	"  -h, --help               show this help\n"
	"  -V, --version            show the version and those of the libraries in use\n";

static volatile sig_atomic_t hub_stop, hub_reload;
static struct lws_context *hub_signal_ctx;

static void hub_on_signal(int sig)
{
	if (sig == SIGHUP)
		hub_reload = 1;
	else
		hub_stop = 1;
	if (hub_signal_ctx)
		lws_cancel_service(hub_signal_ctx);
}

static int hub_number(const char *opt, const char *arg, long min, long max, long *out)
{
	const char *why;

	if (parse_long(arg, min, max, out, &why) == 0)
		return 0;
	log_usage(hub_usage_text, "%s '%s': %s (allowed %ld..%ld)", opt, arg, why, min, max);
	return -1;
}

static int hub_seconds(const char *opt, const char *arg, double min, double max, double *out)
{
	const char *why;

	if (parse_seconds(arg, min, max, out, &why) == 0)
		return 0;
	log_usage(hub_usage_text, "%s '%s': %s (allowed %g..%g)", opt, arg, why, min, max);
	return -1;
}

enum { OPT_IN = 256, OPT_OUT, OPT_FREQ, OPT_QUEUE, OPT_QBYTES, OPT_MAXMSG,
       OPT_MAXHELLO, OPT_MAXCONN, OPT_HELLO, OPT_SLOW, OPT_WEB, OPT_KTOKEN,
       OPT_ETOKEN, OPT_CERT, OPT_KEY, OPT_ORIGIN, OPT_LATEST, OPT_NATS,
       OPT_NATS_CREDS, OPT_NATS_TOKEN, OPT_NATS_CA, OPT_NATS_CERT, OPT_NATS_KEY,
       OPT_NATS_STREAM, OPT_RETAIN, OPT_NATS_REPLICAS };

static const struct option hub_long_options[] = {
	{ "address", required_argument, NULL, 'a' },
	{ "in-port", required_argument, NULL, OPT_IN },
	{ "out-port", required_argument, NULL, OPT_OUT },
	{ "status-freq", required_argument, NULL, OPT_FREQ },
	{ "queue", required_argument, NULL, OPT_QUEUE },
	{ "queue-bytes", required_argument, NULL, OPT_QBYTES },
	{ "latest-memory", required_argument, NULL, OPT_LATEST },
	{ "max-message", required_argument, NULL, OPT_MAXMSG },
	{ "max-hello", required_argument, NULL, OPT_MAXHELLO },
	{ "max-connections", required_argument, NULL, OPT_MAXCONN },
	{ "hello-timeout", required_argument, NULL, OPT_HELLO },
	{ "slow-eater", required_argument, NULL, OPT_SLOW },
	{ "web", required_argument, NULL, OPT_WEB },
	{ "kitchen-token-file", required_argument, NULL, OPT_KTOKEN },
	{ "eater-token-file", required_argument, NULL, OPT_ETOKEN },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "allow-origin", required_argument, NULL, OPT_ORIGIN },
	{ "nats", required_argument, NULL, OPT_NATS },
	{ "nats-creds", required_argument, NULL, OPT_NATS_CREDS },
	{ "nats-token-file", required_argument, NULL, OPT_NATS_TOKEN },
	{ "nats-ca", required_argument, NULL, OPT_NATS_CA },
	{ "nats-cert", required_argument, NULL, OPT_NATS_CERT },
	{ "nats-key", required_argument, NULL, OPT_NATS_KEY },
	{ "nats-stream", required_argument, NULL, OPT_NATS_STREAM },
	{ "retain", required_argument, NULL, OPT_RETAIN },
	{ "nats-replicas", required_argument, NULL, OPT_NATS_REPLICAS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static int hub_allow_origin(struct hub_config *cfg, const char *arg)
{
	if (hub_origin_option(arg) < 0) {
		log_usage(hub_usage_text, "--allow-origin '%s': expected *, or http:// or "
			  "https:// and a host with an optional port, and no path", arg);
		return -1;
	}
	cfg->allow_origins = xrealloc(cfg->allow_origins,
				      (cfg->nallow_origins + 1) * sizeof *cfg->allow_origins);
	cfg->allow_origins[cfg->nallow_origins++] = arg;
	return 0;
}

/* --nats: a comma-separated list of nats:// or tls:// URLs (cnats takes
 * host:port alone as nats://). */
static int hub_nats_urls(struct hub_config *cfg, const char *arg)
{
	const char *p = arg;

	if (!*arg || strchr(arg, ' ') || strstr(arg, ",,") || arg[strlen(arg) - 1] == ',')
		return log_usage(hub_usage_text, "--nats '%s': expected URL[,URL...]", arg), -1;
	for (; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strstr(p, "://") && strncmp(p, "nats://", 7) && strncmp(p, "tls://", 6))
			return log_usage(hub_usage_text, "--nats '%s': a URL is nats:// or tls://",
					 arg), -1;
	cfg->nats = arg;
	return 0;
}

/* A JetStream stream's name: what NATS allows, kept to letters, digits,
 * - and _ so that it is also a file name on every server. */
static int hub_nats_stream(struct hub_config *cfg, const char *arg)
{
	size_t n = strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_");

	if (!*arg || arg[n] || n > 200)
		return log_usage(hub_usage_text, "--nats-stream '%s': a name is up to 200 letters, "
				 "digits, - and _", arg), -1;
	cfg->nats_stream = arg;
	return 0;
}

/* --retain AGE,SIZE: each term tells which it is by its unit. */
static int hub_retain(struct hub_config *cfg, const char *arg)
{
	char *copy = xstrdup(arg), *save = NULL, *term;
	const char *why = NULL;
	int ages = 0, sizes = 0, rc = 0;

	for (term = strtok_r(copy, ",", &save); term && !rc; term = strtok_r(NULL, ",", &save)) {
		double age;
		long long size;

		if (parse_duration(term, &age, &why) == 0 && strpbrk(term, "smhd") && age >= 1 &&
		    age <= 100 * 365 * 86400.0) {
			cfg->retain_age = age;
			ages++;
		} else if (parse_size(term, &size, &why) == 0 && size >= 1024) {
			cfg->retain_bytes = size;
			sizes++;
		} else {
			rc = -1;
		}
	}
	free(copy);
	if (rc || ages > 1 || sizes > 1 || !(ages + sizes))
		return log_usage(hub_usage_text, "--retain '%s': expected AGE,SIZE, either or both, "
				 "such as 2h,512M (an age of 1s to 100 years, a size of at least 1K)",
				 arg), -1;
	return 0;
}

/* One option; returns 0, 1 to exit successfully, or -1 (already reported). */
static int hub_option(struct hub_config *cfg, int ch, const char *arg)
{
	long v;

	switch (ch) {
	case 'a':
		cfg->address = arg;
		return 0;
	case OPT_IN:
		if (hub_number("--in-port", arg, 1, 65535, &v) < 0)
			return -1;
		cfg->in_port = (int)v;
		return 0;
	case OPT_OUT:
		if (hub_number("--out-port", arg, 1, 65535, &v) < 0)
			return -1;
		cfg->out_port = (int)v;
		return 0;
	case OPT_FREQ:
		return hub_seconds("--status-freq", arg, 0.01, 86400, &cfg->status_freq);
	case OPT_QUEUE:
		return hub_number("--queue", arg, 1, 10000000, &cfg->queue_len);
	case OPT_QBYTES:
		if (hub_number("--queue-bytes", arg, 1024, 1L << 40, &v) < 0)
			return -1;
		cfg->queue_bytes = (size_t)v;
		return 0;
	case OPT_LATEST:
		if (hub_number("--latest-memory", arg, 0, 1L << 40, &v) < 0)
			return -1;
		cfg->latest_bytes = (size_t)v;
		return 0;
	case OPT_MAXMSG:
		if (hub_number("--max-message", arg, 64, 1L << 30, &v) < 0)
			return -1;
		cfg->max_message = (size_t)v;
		return 0;
	case OPT_MAXHELLO:
		if (hub_number("--max-hello", arg, 64, 1L << 20, &v) < 0)
			return -1;
		cfg->max_hello = (size_t)v;
		return 0;
	case OPT_MAXCONN:
		return hub_number("--max-connections", arg, 1, 1000000, &cfg->max_connections);
	case OPT_HELLO:
		return hub_seconds("--hello-timeout", arg, 0.01, 86400, &cfg->hello_timeout);
	case OPT_SLOW:
		if (!strcmp(arg, "skip"))
			cfg->slow = HUB_SLOW_SKIP;
		else if (!strcmp(arg, "disconnect"))
			cfg->slow = HUB_SLOW_DISCONNECT;
		else
			return log_usage(hub_usage_text, "--slow-eater '%s': expected skip or disconnect", arg), -1;
		return 0;
	case OPT_WEB:
		cfg->web = arg;
		return 0;
	case OPT_KTOKEN:
		cfg->kitchen_token_file = arg;
		return 0;
	case OPT_ETOKEN:
		cfg->eater_token_file = arg;
		return 0;
	case OPT_CERT:
		cfg->cert = arg;
		return 0;
	case OPT_KEY:
		cfg->key = arg;
		return 0;
	case OPT_ORIGIN:
		return hub_allow_origin(cfg, arg);
	case OPT_NATS:
		return hub_nats_urls(cfg, arg);
	case OPT_NATS_CREDS:
		cfg->nats_creds = arg;
		return 0;
	case OPT_NATS_TOKEN:
		cfg->nats_token_file = arg;
		return 0;
	case OPT_NATS_CA:
		cfg->nats_ca = arg;
		return 0;
	case OPT_NATS_CERT:
		cfg->nats_cert = arg;
		return 0;
	case OPT_NATS_KEY:
		cfg->nats_key = arg;
		return 0;
	case OPT_NATS_STREAM:
		return hub_nats_stream(cfg, arg);
	case OPT_RETAIN:
		cfg->retain_given = 1;
		return hub_retain(cfg, arg);
	case OPT_NATS_REPLICAS:
		if (hub_number("--nats-replicas", arg, 1, 5, &v) < 0)
			return -1;
		cfg->nats_replicas = (int)v;
		cfg->replicas_given = 1;
		return 0;
	case 'q':
		cfg->verbose = -1;
		return 0;
	case 'v':
		cfg->verbose = 1;
		return 0;
	case 'h':
		printf("%s%s", hub_usage_text, hub_options_text);
		return 1;
	case 'V':
		print_versions(stdout);
		return 1;
	default:
		return -1;
	}
}

/* Returns -1 to go on, or an exit status. */
static int hub_parse(struct hub_config *cfg, int argc, char **argv)
{
	int ch, rc;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":a:qvhV", hub_long_options, NULL)) != -1) {
		if (ch == '?' || ch == ':')
			return log_bad_option(hub_usage_text, argv, ch);
		rc = hub_option(cfg, ch, optarg);
		if (rc)
			return rc > 0 ? 0 : 2;
	}
	if (optind < argc)
		return log_usage(hub_usage_text, "unexpected argument '%s'", argv[optind]);
	if (cfg->in_port == cfg->out_port)
		return log_usage(hub_usage_text, "--in-port and --out-port must differ");
	if (!cfg->cert != !cfg->key)
		return log_usage(hub_usage_text, "--cert and --key go together");
	if (!cfg->nats_cert != !cfg->nats_key)
		return log_usage(hub_usage_text, "--nats-cert and --nats-key go together");
	if (!cfg->nats && (cfg->nats_creds || cfg->nats_token_file || cfg->nats_ca || cfg->nats_cert ||
			   cfg->nats_stream))
		return log_usage(hub_usage_text, "the --nats-* options need --nats");
	if (!cfg->nats_stream && (cfg->retain_given || cfg->replicas_given))
		return log_usage(hub_usage_text, "--retain and --nats-replicas need --nats-stream");
	return -1;
}

/* ---- the event loop ------------------------------------------------------ */

/* Whether address:port can be listened on, saying why not. libwebsockets
 * only logs a failed bind and serves a vhost with nothing behind it. */
static int check_listenable(const char *address, int v6, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, rc = 0;

	memset(&ss, 0, sizeof ss);
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		rc = inet_pton(AF_INET6, address, &a->sin6_addr);
		len = sizeof *a;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		rc = inet_pton(AF_INET, address, &a->sin_addr);
		len = sizeof *a;
	}
	if (rc != 1) {
		log_error("cannot listen on %s port %d: not a numeric address", address, port);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_error("cannot listen on %s port %d: %s", address, port, strerror(errno));
		return -1;
	}
	/* as lws will: a port in TIME_WAIT is free to take */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	rc = bind(fd, (struct sockaddr *)&ss, len);
	if (rc < 0)
		log_error("cannot listen on %s port %d: %s", address, port, strerror(errno));
	close(fd);
	return rc < 0 ? -1 : 0;
}

static struct lws_vhost *hub_vhost(struct hub *hub, const char *name, int port,
				   const struct lws_protocols *protocols,
				   const struct lws_http_mount *mounts,
				   const char *iface, int v6)
{
	/* Python's websockets offers permessage-deflate by default; accept it */
	static const struct lws_extension exts[] = {
		{ "permessage-deflate", lws_extension_callback_pm_deflate,
		  "permessage-deflate; client_no_context_takeover; client_max_window_bits" },
		{ NULL, NULL, NULL }
	};
	struct lws_context_creation_info info;
	struct lws_vhost *vh;

	if (check_listenable(iface, v6, port) < 0)
		return NULL;
	memset(&info, 0, sizeof info);
	info.vhost_name = name;
	info.port = port;
	info.iface = iface;
	info.protocols = protocols;
	info.mounts = mounts;
	info.extensions = exts;
	info.options = v6 ? 0 : LWS_SERVER_OPTION_DISABLE_IPV6;
	/* lws' default, named here because dumplings.1 promises it: a
	 * request, the upgrade included, sent slower than this is cut off */
	info.timeout_secs_ah_idle = HUB_REQUEST_SECONDS;
	if (hub->cfg.cert) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = hub->cfg.cert;
		info.ssl_private_key_filepath = hub->cfg.key;
		/* WebSocket over HTTP/2 is not what clients of the original expect */
		info.alpn = "http/1.1";
	}
	vh = lws_create_vhost(hub->ctx, &info);
	if (!vh)
		log_error("cannot listen on %s port %d", iface, port);
	return vh;
}

static int hub_open(struct hub *hub)
{
	struct lws_context_creation_info info;
	char iface[64];
	int v6;

	if (hub_auth_open(hub) < 0)
		return -1;
	if (wsutil_resolve(hub->cfg.address, iface, sizeof iface, &v6) < 0) {
		log_error("cannot resolve address '%s'", hub->cfg.address);
		return -1;
	}
	memset(&info, 0, sizeof info);
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	if (hub->cfg.cert)
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.user = hub;
	info.pt_serv_buf_size = 32768;
	hub->ctx = lws_create_context(&info);
	if (!hub->ctx) {
		log_error("cannot create the libwebsockets context");
		return -1;
	}
	if (hub_http_open(hub) < 0)
		return -1;
	hub->vh_in = hub_vhost(hub, "kitchens", hub->cfg.in_port, hub_kitchen_protocols,
			       NULL, iface, v6);
	if (!hub->vh_in)
		return -1;
	/* the eater port also answers HTTP: the dashboard and /metrics */
	hub->vh_out = hub_vhost(hub, "eaters", hub->cfg.out_port, hub_eater_protocols,
				&hub_http_mount, iface, v6);
	if (!hub->vh_in || !hub->vh_out || hub_fanout_init(hub) < 0)
		return -1;
	log_info("listening on %s: kitchens on port %d, eaters on port %d%s",
		 iface, hub->cfg.in_port, hub->cfg.out_port,
		 hub->cfg.cert ? " (TLS)" : "");
	hub_auth_warn(hub, iface);
	return 0;
}

static void hub_signals(struct hub *hub)
{
	static const int hup[] = { SIGHUP, 0 };

	hub_signal_ctx = hub->ctx;
	catch_signals(hub_on_signal, hup);
}

static void hub_close_all(struct hub *hub)
{
	for (struct hub_conn *c = hub->kitchens; c; c = c->next)
		hub_conn_close(c, LWS_CLOSE_STATUS_GOINGAWAY, "hub shutting down");
	for (struct hub_conn *c = hub->eaters; c; c = c->next)
		hub_conn_close(c, LWS_CLOSE_STATUS_GOINGAWAY, "hub shutting down");
}

static void hub_tick(lws_sorted_usec_list_t *sul)
{
	/* only here to make lws_service() return while shutting down */
}

/* Say goodbye (1001) to everyone, and give them a moment to answer. */
static void hub_shutdown(struct hub *hub)
{
	lws_sorted_usec_list_t tick;
	double deadline = monotonic_seconds() + 2;

	log_info("shutting down");
	lws_sul_cancel(&hub->status_sul);
	memset(&tick, 0, sizeof tick);
	hub_close_all(hub);
	while ((hub->kitchens || hub->eaters) && monotonic_seconds() < deadline) {
		lws_sul_schedule(hub->ctx, 0, &tick, hub_tick, 50 * LWS_US_PER_MS);
		lws_service(hub->ctx, 0);
	}
	lws_sul_cancel(&tick);
}

/* Bounds of the inbox (hub_inbox.h): a second or so of a busy link. */
#define HUB_INBOX_DUMPLINGS 65536
#define HUB_INBOX_BYTES (64 << 20)

/* From any thread: the one lws call that is safe there. */
static void hub_wake(void *arg)
{
	struct hub *hub = arg;

	if (hub->ctx)
		lws_cancel_service(hub->ctx);
}

static void hub_defaults(struct hub_config *cfg)
{
	cfg->address = "localhost";
	cfg->in_port = 11347;
	cfg->out_port = 11348;
	cfg->status_freq = 5;
	cfg->hello_timeout = 10;
	cfg->max_message = 1 << 20;
	cfg->max_hello = 16 << 10;
	cfg->max_connections = 1024;
	cfg->queue_len = 8192;
	cfg->queue_bytes = 16 << 20;
	cfg->latest_bytes = 16 << 20;
	cfg->slow = HUB_SLOW_SKIP;
	cfg->retain_age = 24 * 3600;
	cfg->retain_bytes = 1LL << 30;
	cfg->nats_replicas = 1;
}

int hub_main(int argc, char **argv)
{
	struct hub hub;
	int rc;

	memset(&hub, 0, sizeof hub);
	hub_defaults(&hub.cfg);
	hub.seq.max = SEQ_BOOK_RUNS;
	rc = hub_parse(&hub.cfg, argc, argv);
	if (rc >= 0)
		return rc;
	log_set_level(hub.cfg.verbose > 0 ? LOG_DEBUG : hub.cfg.verbose < 0 ? LOG_ERROR : LOG_INFO);
	wsutil_log_init(hub.cfg.verbose > 0);
	hub.start = monotonic_seconds();
	hub_inbox_init(&hub.inbox, HUB_INBOX_DUMPLINGS, HUB_INBOX_BYTES, hub_wake, &hub);
	hub_latest_init(&hub.latest, hub.cfg.latest_bytes);
	rc = 1;
	if (hub_open(&hub) == 0 && hub_link_open(&hub) == 0) {
		hub_signals(&hub);
		hub_status_start(&hub);
		while (!hub_stop && lws_service(hub.ctx, 0) >= 0) {
			hub_turn_end(&hub);
			if (hub_reload) {
				hub_reload = 0;
				hub_auth_reload(&hub);
			}
		}
		hub_shutdown(&hub);
		rc = 0;
	}
	/* before the context: the link's drain is an lws timer */
	hub_link_close(&hub);
	hub_signal_ctx = NULL;
	if (hub.ctx)
		lws_context_destroy(hub.ctx);
	hub_inbox_free(&hub.inbox);
	hub_fanout_free(&hub);
	hub_latest_free(&hub.latest);
	seq_book_free(&hub.seq);
	hub_health_free(&hub.health);
	hub_http_close(&hub);
	hub_auth_close(&hub);
	hub_wire_free();
	free(hub.cfg.allow_origins);
	hub_ingest_free(&hub);
	return rc;
}
