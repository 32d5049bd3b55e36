/* dumplings eat: connect to a hub's eater port, say hello (with the
 * filters, so the hub filters at the source), and consume dumplings in one
 * of the modes. Filters are applied here too, for hubs that ignore them. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <libwebsockets.h>

#include "eat.h"
#include "base/jsonscan.h"
#include "base/log.h"
#include "base/seqbook.h"
#include "base/roles.h"
#include "base/util.h"
#include "net/wsclient.h"
#include "net/wsutil.h"

static const char eat_usage_text[] =
	"usage: dumplings eat [--print | --json | --status | --details | --lua EATER.lua]\n"
	"                     [-H [ws[s]://]HOST:PORT] [--token-file FILE] [--ca FILE]\n"
	"                     [--insecure] [-c CHEF]... [-k KITCHEN]... [-n NAME]\n"
	"                     [--count N] [--no-payload] [--no-interval] [--no-packet]\n"
	"                     [--color auto|always|never] [--retry] [--lossless]\n"
	"                     [--latest | --since TIME] [--idle-timeout SECONDS]\n"
	"                     [-q | -v]\n";

static const char eat_options_text[] =
	"\n"
	"  -p, --print              print each dumpling for people (default)\n"
	"  -j, --json               one dumpling per line, as received but for\n"
	"                           controls, which are escaped\n"
	"  -s, --status             one updating line of hub status\n"
	"  -d, --details            print one hub status dumpling, then exit\n"
	"  -l, --lua EATER.lua      hand each dumpling to a Lua script\n"
	"  -H, --hub [ws[s]://]HOST:PORT  the hub's eater port (default\n"
	"                           localhost:11348; wss:// for TLS); repeatable:\n"
	"                           the hubs are tried in turn\n"
	WSCLIENT_OPTIONS_HELP
	"  -c, --chef CHEF          only dumplings from this chef (repeatable)\n"
	"  -k, --kitchen KITCHEN    only dumplings from this kitchen (repeatable)\n"
	"  -n, --eater-name NAME    the name given to the hub\n"
	"  -N, --count N            exit after N dumplings\n"
	"      --no-payload         print headers only\n"
	"      --no-interval        skip interval dumplings\n"
	"      --no-packet          skip packet dumplings\n"
	"      --color WHEN         auto (default), always or never\n"
	"      --retry              keep trying when the hub is not there\n"
	"      --lossless           never be skipped: the hub stops reading kitchens\n"
	"                           while this eater is a full queue behind\n"
	"      --latest             first the latest dumpling of each kitchen and\n"
	"                           chef the hub has, then the live stream\n"
	"      --since TIME         first every dumpling the federation kept since\n"
	"                           TIME (10m, 2h, 1d ago, or an RFC 3339 time such\n"
	"                           as 2026-12-02T07:00:00Z), then the live stream,\n"
	"                           from a hub that keeps history\n"
	"      --idle-timeout SECONDS  hang up on a hub that sends nothing, not even\n"
	"                           an answer to a ping, for SECONDS (default 30;\n"
	"                           0: never)\n"
	"  -q, --quiet              log errors only\n"
	"  -v, --verbose            log debugging detail, libwebsockets' too\n"
	"      --config FILE        read long options from FILE first, one a line\n"
	"  -h, --help               show this help\n"
	"  -V, --version            show the version and those of the libraries in use\n";

#define EAT_MAX_MESSAGE (64u << 20)
/* A hub that sends nothing for this long, not even a pong, is gone. */
#define EAT_IDLE_TIMEOUT 30

struct eat {
	struct eat_config cfg;
	struct wsclient *ws;
	struct eat_lua *lua;
	int tty;
	int hello_pending;
	int full;		/* ate what --count asked for */
	int done, rc;
	long eaten;
	double backoff;
	double stop_deadline;
	unsigned long bad;
	struct log_limit bad_log, retry_log;
	/* Gaps are counted unless the hub filters by chef or driver, which
	 * makes gaps of their own; the book drops what was seen already (a
	 * kitchen resends what a broken hub had not acknowledged) either way. */
	int count_gaps;
	struct seq_book seq;
	/* what the hub said it skipped for us, and how many of those had a
	 * seq (and so show as gaps) */
	unsigned long long skipped, skipped_numbered;
	/* the latest dumplings the hub said come first: not in the books,
	 * as the jump from each to the live stream is no loss */
	unsigned long long latest_left;
	/* when the last live dumpling of a kitchen came (after the hub's
	 * {"notice": "live"}), for --since after a reconnection */
	double last_heard;
	int live;
	char *scratch;		/* eat_message_json()'s */
	size_t scratch_len;
};

static volatile sig_atomic_t eat_stop;
static struct wsclient *eat_signal_ws;

static void eat_on_signal(int sig)
{
	eat_stop = 1;
	if (eat_signal_ws)
		wsclient_wake(eat_signal_ws);
}

/* ---- the command line ------------------------------------------------- */

enum { OPT_NOPAYLOAD = 256, OPT_NOINTERVAL, OPT_NOPACKET, OPT_COLOR, OPT_RETRY, OPT_LOSSLESS,
       OPT_LATEST, OPT_SINCE, OPT_IDLE_TIMEOUT };

static const struct option eat_long_options[] = {
	{ "print", no_argument, NULL, 'p' },
	{ "json", no_argument, NULL, 'j' },
	{ "status", no_argument, NULL, 's' },
	{ "details", no_argument, NULL, 'd' },
	{ "lua", required_argument, NULL, 'l' },
	{ "hub", required_argument, NULL, 'H' },
	{ "chef", required_argument, NULL, 'c' },
	{ "kitchen", required_argument, NULL, 'k' },
	{ "eater-name", required_argument, NULL, 'n' },
	{ "count", required_argument, NULL, 'N' },
	{ "no-payload", no_argument, NULL, OPT_NOPAYLOAD },
	{ "no-interval", no_argument, NULL, OPT_NOINTERVAL },
	{ "no-packet", no_argument, NULL, OPT_NOPACKET },
	{ "color", required_argument, NULL, OPT_COLOR },
	{ "colour", required_argument, NULL, OPT_COLOR },
	{ "retry", no_argument, NULL, OPT_RETRY },
	{ "lossless", no_argument, NULL, OPT_LOSSLESS },
	{ "latest", no_argument, NULL, OPT_LATEST },
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
	WSCLIENT_LONG_OPTIONS,
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

struct eat_flags {
	int modes, no_interval, no_packet;
	const char *color;
};

static void list_add(struct eat_list *l, const char *s)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n++] = s;
}

static int eat_set_mode(struct eat_config *cfg, struct eat_flags *fl, enum eat_mode m)
{
	cfg->mode = m;
	fl->modes++;
	return 0;
}

static int eat_hub_arg(struct eat_config *cfg, const char *arg)
{
	if (cfg->hub.nhubs == WSCLIENT_MAX_HUBS)
		return log_usage(eat_usage_text, "too many hubs (--hub at most %d times)", WSCLIENT_MAX_HUBS), -1;
	if (wsclient_parse_hub(arg, &cfg->hub) < 0)
		return log_usage(eat_usage_text, "--hub '%s': expected [ws://|wss://]HOST:PORT with a port in 1..65535", arg), -1;
	return 0;
}

/* --since: a span back from now, or a time. */
static int eat_since_arg(struct eat_config *cfg, const char *arg)
{
	const char *why, *why_time;
	double ago;

	if (parse_duration(arg, &ago, &why) == 0) {
		cfg->since = wall_seconds() - ago;
		if (cfg->since < 0)
			cfg->since = 0;		/* all there is */
		return 0;
	}
	if (parse_rfc3339(arg, &cfg->since, &why_time) == 0 && cfg->since >= 0)
		return 0;
	if (strchr(arg, '-') && strchr(arg, ':'))
		why = why_time;
	fprintf(stderr, "dumplings eat: --since '%s': %s (expected a span such as 10m, 2h or 1d, "
		"or an RFC 3339 time such as 2026-12-02T07:00:00Z)\n%s", arg, why, eat_usage_text);
	return -1;
}

static int eat_count_arg(struct eat_config *cfg, const char *arg)
{
	const char *why;

	if (parse_long(arg, 1, 1000000000000L, &cfg->count, &why) == 0)
		return 0;
	fprintf(stderr, "dumplings eat: --count '%s': %s (allowed 1..1000000000000)\n%s",
		arg, why, eat_usage_text);
	return -1;
}

static int eat_idle_arg(struct eat_config *cfg, const char *arg)
{
	const char *why = "under a second";

	if (parse_seconds(arg, 0, 86400, &cfg->idle_timeout, &why) == 0 &&
	    (cfg->idle_timeout == 0 || cfg->idle_timeout >= 1))
		return 0;
	fprintf(stderr, "dumplings eat: --idle-timeout '%s': %s (allowed 0, or 1..86400 "
		"seconds)\n%s", arg, why, eat_usage_text);
	return -1;
}

/* One option; returns 0, 1 to exit successfully, or -1 (reported). */
static int eat_option(struct eat_config *cfg, struct eat_flags *fl, int ch, const char *arg)
{
	if (wsclient_option(&cfg->hub, ch, arg))
		return 0;
	switch (ch) {
	case 'p': return eat_set_mode(cfg, fl, EAT_PRINT);
	case 'j': return eat_set_mode(cfg, fl, EAT_JSON);
	case 's': return eat_set_mode(cfg, fl, EAT_STATUS);
	case 'd': return eat_set_mode(cfg, fl, EAT_DETAILS);
	case 'l':
		cfg->lua_path = arg;
		return eat_set_mode(cfg, fl, EAT_LUA);
	case 'H': return eat_hub_arg(cfg, arg);
	case 'c': list_add(&cfg->chefs, arg); return 0;
	case 'k': list_add(&cfg->kitchens, arg); return 0;
	case 'n': cfg->name = arg; return 0;
	case 'N': return eat_count_arg(cfg, arg);
	case OPT_NOPAYLOAD: cfg->no_payload = 1; return 0;
	case OPT_NOINTERVAL: fl->no_interval = 1; return 0;
	case OPT_NOPACKET: fl->no_packet = 1; return 0;
	case OPT_COLOR: fl->color = arg; return 0;
	case OPT_RETRY: cfg->retry = 1; return 0;
	case OPT_LOSSLESS: cfg->lossless = 1; return 0;
	case OPT_LATEST: cfg->latest = 1; return 0;
	case OPT_SINCE: return eat_since_arg(cfg, arg);
	case OPT_IDLE_TIMEOUT: return eat_idle_arg(cfg, arg);
	case 'q': cfg->verbose = -1; return 0;
	case 'v': cfg->verbose = 1; return 0;
	case 'h':
		printf("%s%s", eat_usage_text, eat_options_text);
		return 1;
	case 'V':
		print_versions(stdout);
		return 1;
	default:
		return -1;
	}
}

static int eat_color(struct eat_config *cfg, const char *when)
{
	const char *no = getenv("NO_COLOR");

	if (!when || !strcmp(when, "auto"))
		cfg->color = isatty(STDOUT_FILENO) && !(no && *no);
	else if (!strcmp(when, "always"))
		cfg->color = 1;
	else if (!strcmp(when, "never"))
		cfg->color = 0;
	else
		return log_usage(eat_usage_text, "--color '%s': expected auto, always or never", when), -1;
	return 0;
}

/* What the options mean together; returns -1 to go on or an exit status. */
static int eat_settle(struct eat_config *cfg, struct eat_flags *fl)
{
	if (fl->modes > 1)
		return log_usage(eat_usage_text, "choose one of --print, --json, --status, --details, --lua");
	if (cfg->latest && cfg->since >= 0)
		return log_usage(eat_usage_text, "choose one of --latest and --since");
	if (fl->no_interval && fl->no_packet)
		return log_usage(eat_usage_text, "--no-interval and --no-packet together leave nothing to eat");
	if (fl->no_interval)
		list_add(&cfg->drivers, "packet");
	if (fl->no_packet)
		list_add(&cfg->drivers, "interval");
	if (cfg->mode == EAT_STATUS || cfg->mode == EAT_DETAILS) {
		if (cfg->chefs.n || cfg->kitchens.n || cfg->drivers.n)
			return log_usage(eat_usage_text, "--status and --details take no filters");
		list_add(&cfg->chefs, "SystemStatusChef");
	}
	if (cfg->mode == EAT_DETAILS)
		cfg->count = 1;
	if (eat_color(cfg, fl->color) < 0 || wsclient_target_ready(&cfg->hub) < 0)
		return 2;
	return -1;
}

static int eat_parse(struct eat_config *cfg, int argc, char **argv)
{
	struct eat_flags fl = { 0 };
	int ch, rc;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":pjsdl:H:c:k:n:N:qvhV", eat_long_options, NULL)) != -1) {
		if (ch == '?' || ch == ':')
			return log_bad_option(eat_usage_text, argv, ch);
		rc = eat_option(cfg, &fl, ch, optarg);
		if (rc)
			return rc > 0 ? 0 : 2;
	}
	if (optind < argc)
		return log_usage(eat_usage_text, "unexpected argument '%s'", argv[optind]);
	return eat_settle(cfg, &fl);
}

/* ---- the conversation with the hub ------------------------------------- */

static void add_list(cJSON *o, const char *key, const struct eat_list *l)
{
	cJSON *a;

	if (!l->n)
		return;
	a = cJSON_AddArrayToObject(o, key);
	for (int i = 0; i < l->n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(l->v[i]));
}

/* History from --since or, once some came, from a little before the last
 * dumpling: a hub gone in mid-stream costs an eater on the next nothing
 * (what comes twice, the books drop). */
#define EAT_SINCE_OVERLAP 5.0

static double eat_since(const struct eat *e)
{
	double since = e->cfg.since;

	if (e->last_heard && e->last_heard - EAT_SINCE_OVERLAP > since)
		since = e->last_heard - EAT_SINCE_OVERLAP;
	return since;
}

static char *eat_hello(const struct eat *e)
{
	const struct eat_config *cfg = &e->cfg;
	cJSON *h = cJSON_CreateObject();
	char *json;

	cJSON_AddStringToObject(h, "eater_name", cfg->name);
	add_list(h, "chefs", &cfg->chefs);
	add_list(h, "kitchens", &cfg->kitchens);
	add_list(h, "drivers", &cfg->drivers);
	cJSON_AddBoolToObject(h, "notices", 1);
	if (cfg->lossless)
		cJSON_AddBoolToObject(h, "lossless", 1);
	if (cfg->latest)
		cJSON_AddBoolToObject(h, "latest", 1);
	if (cfg->since >= 0)
		cJSON_AddNumberToObject(h, "since", eat_since(e));
	/* every connection's entry in the status, not the summary */
	if (cfg->mode == EAT_DETAILS)
		cJSON_AddBoolToObject(h, "details", 1);
	json = cJSON_PrintUnformatted(h);
	cJSON_Delete(h);
	return json;
}

static void eat_established(void *user)
{
	struct eat *e = user;
	char hub[300];

	e->backoff = 0.1;
	e->hello_pending = 1;
	e->latest_left = 0;
	e->live = 0;
	wsclient_hub_name(wsclient_current(e->ws), 0, hub, sizeof hub);
	log_debug("connected to hub %s", hub);
	wsclient_want_write(e->ws);
	if (e->lua)
		eat_lua_connect(e->lua);
}

static int eat_writable(void *user)
{
	struct eat *e = user;
	char *hello;
	int rc;

	if (!e->hello_pending)
		return 0;
	e->hello_pending = 0;
	hello = eat_hello(e);
	rc = wsclient_write_copy(e->ws, hello, strlen(hello));
	free(hello);
	return rc;
}

static int list_has(const struct eat_list *l, const char *s)
{
	if (!l->n)
		return 1;
	for (int i = 0; s && i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return 1;
	return 0;
}

static const char *get_string(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A tree's metadata, as the scanner reads it from text. */
static void meta_from_tree(const cJSON *meta, struct json_meta *m)
{
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(meta, "seq");

	m->chef = get_string(meta, "chef");
	m->kitchen = get_string(meta, "kitchen");
	m->driver = get_string(meta, "driver");
	m->run = get_string(meta, "run");
	m->seq = cJSON_IsNumber(seq) && seq->valuedouble >= 1 ? (unsigned long long)seq->valuedouble : 0;
}

/* Note the dumpling's place in its kitchen run, for the loss count, and
 * say whether this eater wants it: not if it had it already. */
static int eat_wanted(struct eat *e, const struct json_meta *m)
{
	if (e->live && m->kitchen)
		e->last_heard = wall_seconds();
	if (e->latest_left)
		e->latest_left--;
	else if (!seq_book_note(&e->seq, m->kitchen, m->run, m->seq))
		return 0;
	return list_has(&e->cfg.chefs, m->chef) && list_has(&e->cfg.kitchens, m->kitchen) &&
	       list_has(&e->cfg.drivers, m->driver);
}

static int eat_show(struct eat *e, const cJSON *d, const char *msg, size_t len)
{
	switch (e->cfg.mode) {
	case EAT_PRINT: return eat_print_dumpling(&e->cfg, d, msg, len);
	case EAT_JSON: return eat_print_json(msg, len);
	case EAT_STATUS: return eat_print_status(d, e->tty);
	case EAT_DETAILS: return eat_print_details(msg, len);
	case EAT_LUA: eat_lua_dumpling(e->lua, msg, len); return 0;
	}
	return 0;
}

static void eat_stdout_gone(struct eat *e)
{
	if (errno != EPIPE)
		log_error("writing to standard output: %s", strerror(errno));
	e->rc = errno == EPIPE ? 0 : 1;
	e->done = 1;
}

static void eat_bad_dumpling(struct eat *e)
{
	unsigned long suppressed;

	e->bad++;
	if (log_allow(&e->bad_log, &suppressed))
		log_warn("ignoring a message from the hub that is not a dumpling "
			 "(%lu so far)", e->bad);
}

static void eat_counted(struct eat *e)
{
	if (e->cfg.count && ++e->eaten >= e->cfg.count) {
		e->full = 1;
		wsclient_close(e->ws, WS_CLOSE_EATER_FULL, "dumpling eater is full");
	}
}

/* --json writes each dumpling as it came: checked and its metadata read
 * by the strict scanner the hub uses, without building a tree. Returns -1
 * for what the scanner refuses (a lenient hub may pass raw controls,
 * which --json escapes): the general path takes it. */
static int eat_message_json(struct eat *e, const char *msg, size_t len)
{
	struct json_meta meta;

	if (e->scratch_len < len + 3) {
		free(e->scratch);
		e->scratch = xmalloc(e->scratch_len = len + 3);
	}
	if (json_scan(msg, len, &meta, e->scratch) < 0 || !meta.chef)
		return -1;
	if (!eat_wanted(e, &meta))
		return 0;
	if (eat_print_json(msg, len) < 0)
		eat_stdout_gone(e);
	else
		eat_counted(e);
	return 0;
}

/* The hub's word, in line with the dumplings: {"notice": "skipped",
 * "count": N, "numbered": K}, dumplings it did not send us because we
 * were a full queue behind. Returns 0 if d is no notice. */
static int eat_notice(struct eat *e, const cJSON *d)
{
	const char *what = get_string(d, "notice");
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(d, "count");
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(d, "numbered");

	if (what && !strcmp(what, "live")) {
		e->live = e->cfg.since >= 0;	/* history is over */
		return 1;
	}
	if (what && !strcmp(what, "latest")) {
		if (cJSON_IsNumber(n) && n->valuedouble > 0 && n->valuedouble < 1e18)
			e->latest_left = (unsigned long long)n->valuedouble;
		return 1;
	}
	if (!what || strcmp(what, "skipped"))
		return 0;
	if (cJSON_IsNumber(n) && n->valuedouble > 0 && n->valuedouble < 1e18) {
		e->skipped += (unsigned long long)n->valuedouble;
		log_debug("the hub skipped %.0f dumplings for this eater", n->valuedouble);
	}
	if (cJSON_IsNumber(k) && k->valuedouble > 0 && k->valuedouble < 1e18)
		e->skipped_numbered += (unsigned long long)k->valuedouble;
	return 1;
}

static int eat_message(void *user, const char *msg, size_t len)
{
	struct eat *e = user;
	struct json_meta m;
	cJSON *d;

	if (e->full || e->done)
		return 0;
	if (e->cfg.mode == EAT_JSON && eat_message_json(e, msg, len) == 0)
		return 0;
	d = cJSON_ParseWithLength(msg, len);
	meta_from_tree(cJSON_GetObjectItemCaseSensitive(d, "metadata"), &m);
	if (cJSON_IsObject(d) && !m.chef && eat_notice(e, d)) {
		/* counted */
	} else if (!cJSON_IsObject(d) || !m.chef) {
		eat_bad_dumpling(e);
	} else if (eat_wanted(e, &m)) {
		if (eat_show(e, d, msg, len) < 0)
			eat_stdout_gone(e);
		else
			eat_counted(e);
	}
	cJSON_Delete(d);
	return 0;
}

static void eat_retry_later(struct eat *e, const char *hub, const char *why)
{
	unsigned long suppressed;

	if (log_allow(&e->retry_log, &suppressed))
		log_warn("hub %s: %s; retrying in %.1f s", hub, why, e->backoff);
	wsclient_after(e->ws, e->backoff);
	e->backoff = e->backoff * 2 > 5 ? 5 : e->backoff * 2;
}

/* Several hubs: the one lost, or never reached, hands over to the next. */
static void eat_next_hub(struct eat *e, const char *hub, const char *why)
{
	unsigned long suppressed;
	char next[300];

	wsclient_hub_name(wsclient_current(e->ws), 1, next, sizeof next);
	if (log_allow(&e->retry_log, &suppressed))
		log_warn("hub %s: %s; trying hub %s", hub, why, next);
	wsclient_after(e->ws, 0);
}

/* The hub ended the conversation: a close with 1000 or 1001 is the end
 * of the stream (exit 0); another code, or a connection that just went,
 * is a failure (exit 1), reported as one. */
static void eat_hub_gone(struct eat *e, const char *hub, int code, const char *why)
{
	if (code == LWS_CLOSE_STATUS_NORMAL || code == LWS_CLOSE_STATUS_GOINGAWAY) {
		log_info("hub %s closed the connection (%s)", hub, why);
		e->rc = 0;
	} else if (code) {
		log_error("hub %s closed the connection (%s)", hub, why);
		e->rc = 1;
	} else {
		log_error("hub %s went away (%s)", hub, why);
		e->rc = 1;
	}
}

/* With one hub, a loss ends the eater (or, with --retry, waits to try
 * again); with several, the next hub is tried at once, and only when all
 * have failed in a row does the eater give up or wait. */
static void eat_lost(void *user, int was_established, int code, const char *why)
{
	struct eat *e = user;
	char hub[300], at[300];

	if (e->lua && was_established)
		eat_lua_lost(e->lua);
	if (e->full || eat_stop || e->done) {
		e->done = 1;
		return;
	}
	wsclient_hub_name(wsclient_current(e->ws), 1, hub, sizeof hub);
	wsclient_hub_name(wsclient_current(e->ws), 0, at, sizeof at);
	if (!wsclient_next_hub(e->ws)) {
		eat_next_hub(e, hub, why);
		return;
	}
	if (e->cfg.retry) {
		eat_retry_later(e, hub, why);
		return;
	}
	e->done = 1;
	if (!was_established) {
		log_error("cannot connect to hub at %s: %s", at, why);
		e->rc = 1;
		return;
	}
	eat_hub_gone(e, hub, code, why);
}

static void eat_timer(void *user)
{
	struct eat *e = user;

	if (!e->done && !eat_stop)
		wsclient_connect(e->ws);
}

static const struct wsclient_ops eat_ops = {
	.established = eat_established,
	.message = eat_message,
	.writable = eat_writable,
	.lost = eat_lost,
	.timer = eat_timer,
};

/* ---- main -------------------------------------------------------------- */

static void eat_signals(struct eat *e)
{
	eat_signal_ws = e->ws;
	catch_signals(eat_on_signal, NULL);
}

/* Interrupted: say goodbye with 4101 and wait a moment for the hub. */
static void eat_check_stop(struct eat *e)
{
	if (!eat_stop || e->done)
		return;
	if (!wsclient_connected(e->ws)) {
		e->done = 1;
		return;
	}
	if (!e->stop_deadline) {
		e->stop_deadline = monotonic_seconds() + 2;
		wsclient_close(e->ws, WS_CLOSE_CANCELLED, "connection cancelled");
	} else if (monotonic_seconds() > e->stop_deadline) {
		e->done = 1;
		return;
	}
	wsclient_after(e->ws, 0.1);	/* come back to check the deadline */
}

static int eat_run(struct eat *e)
{
	e->ws = wsclient_new(&e->cfg.hub, &eat_ops, e, EAT_MAX_MESSAGE);
	if (!e->ws)
		return 1;
	wsclient_idle_limit(e->ws, e->cfg.idle_timeout);
	eat_signals(e);
	e->backoff = 0.1;
	wsclient_connect(e->ws);
	while (!e->done) {
		if (wsclient_service(e->ws) < 0)
			break;
		if (eat_flush() < 0 && !e->done)
			eat_stdout_gone(e);
		eat_check_stop(e);
	}
	eat_flush();
	eat_signal_ws = NULL;
	wsclient_free(e->ws);
	return e->rc;
}

/* On the way out: what this eater missed, and where. The hub says what
 * it skipped; the gaps in the sequence numbers that it does not explain
 * were lost before the hub (or by a hub that went away). With a filter by
 * chef or driver gaps mean nothing, and only the hub's word counts.
 * Returns whether it missed any. */
static int eat_report_losses(const struct eat *e)
{
	const struct seq_book *b = &e->seq;
	unsigned long long before = 0, lost;

	if (e->count_gaps && b->lost > e->skipped_numbered)
		before = b->lost - e->skipped_numbered;
	lost = before + e->skipped;
	if (b->repeated)
		log_info("ignored %llu dumplings sent again after a connection broke",
			 b->repeated);
	if (lost && e->count_gaps)
		log_warn("lost %llu: %llu skipped by the hub because this eater was slow, "
			 "%llu lost before the hub (%d kitchen run%s)", lost, e->skipped,
			 before, b->n, b->n == 1 ? "" : "s");
	else if (lost)
		log_warn("lost %llu: skipped by the hub because this eater was slow "
			 "(with --chef, --no-interval or --no-packet, losses before the hub "
			 "are not counted)", lost);
	else if (e->count_gaps && b->n)
		log_info("lost no dumplings of %d kitchen run%s", b->n, b->n == 1 ? "" : "s");
	return lost > 0;
}

int eat_main(int argc, char **argv)
{
	struct eat e;
	int rc;

	memset(&e, 0, sizeof e);
	e.seq.max = SEQ_BOOK_RUNS;
	e.cfg.hub.default_port = 11348;
	e.cfg.name = "dumplings_eat";
	e.cfg.since = -1;
	e.cfg.idle_timeout = EAT_IDLE_TIMEOUT;
	rc = eat_parse(&e.cfg, argc, argv);
	if (rc < 0) {
		log_set_level(e.cfg.verbose > 0 ? LOG_DEBUG : e.cfg.verbose < 0 ? LOG_ERROR : LOG_INFO);
		wsutil_log_init(e.cfg.verbose > 0);
		e.tty = isatty(STDOUT_FILENO);
		rc = 1;
		if (e.cfg.mode == EAT_LUA)
			setvbuf(stdout, NULL, _IOLBF, 0);	/* print() from the script */
		else
			setvbuf(stdout, NULL, _IOFBF, 1 << 16);
		e.count_gaps = !e.cfg.chefs.n && !e.cfg.drivers.n;
		if (e.cfg.mode != EAT_LUA || (e.lua = eat_lua_open(e.cfg.lua_path)))
			rc = eat_run(&e);
		if (e.tty && e.cfg.mode == EAT_STATUS)
			putchar('\n');
		eat_lua_close(e.lua);
		if (eat_report_losses(&e) && e.cfg.count && rc == 0)
			rc = 1;
		seq_book_free(&e.seq);
		free(e.scratch);
	}
	free(e.cfg.chefs.v);
	free(e.cfg.kitchens.v);
	free(e.cfg.drivers.v);
	return rc;
}
