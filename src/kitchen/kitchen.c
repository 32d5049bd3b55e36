/* dumplings kitchen: read packets from interfaces or capture files, decode
 * each once, run every chef over them in batches, and hand the dumplings to
 * a sink (standard output or the hub).
 *
 * A pipeline of three stages, each the one owner of what it holds: the
 * decode stage (reader.c: the sources, the batches, decoding, on a thread
 * of its own), the cook stage (chef.c: the chefs, on this thread, filling
 * plates) and the emit stage (emit.c: the envelope, seq numbers, printing
 * and the sink, on a thread of its own). This file holds the command line,
 * the start-up order, the stop flag, the pokes (poke.c) and the loop that
 * moves batches from one stage to the next. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "capture.h"
#include "chef.h"
#include "chefpath.h"
#include "emit.h"
#include "health.h"
#include "base/log.h"
#include "flowcap.h"
#include "pcapng.h"
#include "poke.h"
#include "privdrop.h"
#include "progress.h"
#include "reader.h"
#include "base/roles.h"
#include "sink.h"
#include "base/util.h"
#include "watch.h"
#include "net/wsclient.h"

struct kitchen_opts {
	const char *name;
	struct wsclient_target hub;
	int to_stdout;
	const char **ifaces;
	int nifaces;
	const char **files;
	int nfiles;
	char **chef_args;		/* -c: chef names or files, */
	char **chef_params;		/* and their arguments (or NULL) */
	int nchef_args;
	const char **chef_dirs;
	int nchef_dirs;
	int chef_list;
	int no_reload;
	double poke_interval;
	double speed;			/* replay files at this pace; 0: at once */
	const char *user;		/* -Z: run as this user once capturing */
	double chef_timeout;
	long chef_memory_mib;
	long max_dumpling;
	long reassembly_mib;		/* IP fragment reassembly; 0: none */
	double status_interval;		/* KitchenStatusChef; 0: none */
	int status_interval_given;
	struct capture_options capture;
	char *joined_filter;		/* the words after the options */
	const char *write_path;		/* -w: the packets read, as pcapng */
	uint64_t write_max;		/* --write-max, in bytes; 0: one file */
	unsigned long count;		/* --count: stop after so many; 0: all */
	const char *capture_dir;	/* dumplings.capture(); NULL: none */
	uint64_t capture_max;		/* bytes; 0: no bound */
	double lookback;		/* seconds; 0: no ring */
	uint64_t lookback_bytes;
	int list_interfaces;		/* -D */
	struct flow_config flows;
};

struct kitchen {
	struct kitchen_opts opt;
	struct capture_source *sources;
	int nsources;
	const char **source_names;
	struct chef_runtime *chefs;
	struct watch *watch;
	struct reader *reader;		/* reads and decodes the sources */
	struct emit *emit;		/* prints and sends the dumplings */
	struct pcapng *out;		/* -w */
	struct progress *progress;	/* the progress line, if shown */
	struct flowcap *captures;	/* dumplings.capture(), or NULL */
	struct poke_clock pokes;
	_Atomic unsigned long packets;	/* the guard's last words read it too */
	double started, next_health;	/* monotonic_seconds() */
	unsigned described;		/* chef_runtime_names_changed() in the hello */
	int failed;
};

/* The kitchen's stop flag, set by signals (atomic, and lock-free, so safe
 * there) and read by other threads: the chef guard interrupts Lua, and the
 * emit stage tells the sink to stop waiting for room. */
static _Atomic int stop_requested;
static volatile sig_atomic_t reload_requested;
static volatile sig_atomic_t stats_requested;	/* SIGUSR1 */

static const char usage_text[] =
	"usage: dumplings kitchen [-n NAME] [-H [ws[s]://]HOST:PORT | --stdout] [--token-file FILE]\n"
	"                         [--ca FILE] [--insecure] [-i IFACE]... [-r FILE]...\n"
	"                         [-f FILTER] [-c CHEF[:ARGS]]... [--chef-arg ARGS]...\n"
	"                         [-w FILE [--write-max MB]] [--count N]\n"
	"                         [--capture-dir DIR [--capture-max MB]]\n"
	"                         [--lookback SECONDS [--lookback-bytes MB]]\n"
	"                         [--chef-dir DIR]... [--chef-list]\n"
	"                         [--no-reload] [-p SECONDS] [--speed FACTOR] [-s SNAPLEN]\n"
	"                         [--no-promisc] [-Z USER] [--chef-timeout SECONDS]\n"
	"                         [--chef-memory MIB] [--max-dumpling BYTES]\n"
	"                         [--status-interval SECONDS] [--reassembly-memory MIB]\n"
	"                         [--flow-timeout SPEC] [--max-flows N]\n"
	"                         [--stream-memory MIB] [--stream-dir-memory KIB] [-q | -v]\n"
	"                         [EXPRESSION]\n"
	"       dumplings kitchen -D\n";

static void usage(FILE *out)
{
	fputs(usage_text, out);
}

static void help(void)
{
	usage(stdout);
	printf("\nSniff packets, run Lua chefs on them, and send the dumplings they make.\n\n"
	       "  -n, --kitchen-name NAME  name in every dumpling (default: default_kitchen)\n"
	       "  -H, --hub [ws[s]://]HOST:PORT  hub to send dumplings to (default:\n"
	       "                           localhost:11347; wss:// for TLS); repeatable:\n"
	       "                           the hubs are tried in turn\n"
	       WSCLIENT_OPTIONS_HELP
	       "      --stdout             write dumplings to standard output, one per line\n"
	       "  -i, --interface IFACE    capture on IFACE (repeatable; default: any)\n"
	       "  -r, --read FILE          read a pcap or pcapng file (repeatable)\n"
	       "  -f, --filter FILTER      BPF filter (default: tcp, udp or arp, also inside\n"
	       "                           VLAN tags, MPLS and PPPoE; an empty FILTER captures\n"
	       "                           everything)\n"
	       "  -c, --chef CHEF[:ARGS]   chef file, or the name of a bundled chef (repeatable;\n"
	       "                           default: every bundled chef), with its arguments\n"
	       "                           as key=value,key2=value2 (self.args)\n"
	       "      --chef-arg ARGS      more arguments (key=value,...) for the preceding -c\n"
	       "      --chef-dir DIR       load every *.lua in DIR, and follow the directory as\n"
	       "                           files are added, changed and removed (repeatable)\n"
	       "      --chef-list          list the chefs in the given (or bundled) files, then exit\n"
	       "  -w, --write FILE         write the packets read (after the filter) to FILE as\n"
	       "                           pcapng; - for standard output\n"
	       "      --write-max MB       start FILE.1, FILE.2 ... rather than let a file grow\n"
	       "                           past MB million bytes\n"
	       "      --capture-dir DIR    where dumplings.capture() writes its pcapng files\n"
	       "      --capture-max MB     keep the capture files this run made within MB\n"
	       "                           million bytes, deleting the oldest first\n"
	       "      --lookback SECONDS   keep this much of the latest packets, by packet time,\n"
	       "                           for captures to start in the past (default: off)\n"
	       "      --lookback-bytes MB  ... in at most MB million bytes (default: 64)\n"
	       "      --count N            stop after reading N packets\n"
	       "  -D, --list-interfaces    list the interfaces libpcap can open, then exit\n"
	       "      --no-reload          do not reload chef files when they change\n"
	       "  -p, --poke-interval SECS seconds between interval handlers (default: 5)\n"
	       "      --speed FACTOR       replay files at FACTOR times their recorded pace\n"
	       "                           (default: as fast as possible)\n"
	       "  -s, --snaplen N          bytes captured per packet (default: 262144)\n"
	       "      --no-promisc         do not put interfaces in promiscuous mode\n"
	       "  -Z, --user USER          once the captures are open, run as USER\n"
	       "      --chef-timeout SECS  a call into the chefs (a batch of packets, an\n"
	       "                           interval, loading a file) may take this long\n"
	       "                           before the chef running it is stopped (default: 10)\n"
	       "      --chef-memory MIB    Lua memory the chefs may hold (default: 1024)\n"
	       "      --status-interval SECS a KitchenStatusChef dumpling this often, and one\n"
	       "                           at the end (default: 5 to a hub, none to --stdout)\n"
	       "      --max-dumpling BYTES largest dumpling sent; a larger one is skipped\n"
	       "                           and logged with its chef (default: 524288)\n"
	       "      --reassembly-memory MIB  memory for reassembling IP fragments; 0 leaves\n"
	       "                           each fragment as it is (default: 4)\n"
	       "      --flow-timeout SPEC  seconds of packet time a flow may be idle before it\n"
	       "                           ends: one number, or KIND=SECS,... with kinds tcp,\n"
	       "                           udp, icmp, other and closed (a closed TCP flow's\n"
	       "                           last packets) (default: tcp=300,udp=60,icmp=60,\n"
	       "                           other=60,closed=5)\n"
	       "      --max-flows N        flows tracked at once; when full, the one idle\n"
	       "                           longest is evicted (default: 100000)\n"
	       "      --stream-memory MIB  memory for reassembling the TCP streams chefs\n"
	       "                           ask for, in all (default: 64)\n"
	       "      --stream-dir-memory KIB  ... and per direction of a connection\n"
	       "                           (default: 256)\n"
	       "  -q, --quiet              log errors only\n"
	       "  -v, --verbose            log debugging detail\n"
	       "      --config FILE        read long options from FILE first, one a line\n"
	       "  -h, --help               show this help\n"
	       "  -V, --version            show the version and those of the libraries in use\n"
	       "\nA BPF EXPRESSION after the options is the filter, as with tcpdump (not with -f).\n");
}

static void add_arg(const char ***list, int *n, const char *arg)
{
	*list = xrealloc(*list, (*n + 1) * sizeof **list);
	(*list)[(*n)++] = arg;
}

/* An interface named twice would be opened twice and every packet cooked
 * twice: once is meant. */
static void add_interface(struct kitchen_opts *o, const char *name)
{
	for (int i = 0; i < o->nifaces; i++) {
		if (!strcmp(o->ifaces[i], name)) {
			log_warn("interface %s given twice: capturing on it once", name);
			return;
		}
	}
	add_arg(&o->ifaces, &o->nifaces, name);
}

/* Whether text is chef arguments: key=value pairs, comma-separated, each
 * key a Lua name; a value runs to the next comma. */
static int looks_like_args(const char *text)
{
	for (;;) {
		const char *p = text;

		if (!isalpha((unsigned char)*p) && *p != '_')
			return 0;
		while (isalnum((unsigned char)*p) || *p == '_')
			p++;
		if (*p != '=')
			return 0;
		if (!(p = strchr(p, ',')))
			return 1;
		text = p + 1;
	}
}

/* -c CHEF[:ARGS]. A chef file's path may hold ':' itself: an argument
 * that names an existing file is that file; otherwise what follows the
 * last ':' is the arguments when it reads as key=value pairs, and nothing
 * when it is empty (so "a:b=c.lua:" is the file a:b=c.lua, no arguments). */
static void add_chef(struct kitchen_opts *o, const char *arg)
{
	const char *colon = strrchr(arg, ':');
	char *name, *params = NULL;

	if (colon && access(arg, F_OK) != 0 && (!colon[1] || looks_like_args(colon + 1))) {
		name = xstrdup(arg);
		name[colon - arg] = '\0';
		if (colon[1])
			params = xstrdup(colon + 1);
	} else {
		name = xstrdup(arg);
	}
	o->chef_args = xrealloc(o->chef_args, (o->nchef_args + 1) * sizeof *o->chef_args);
	o->chef_params = xrealloc(o->chef_params, (o->nchef_args + 1) * sizeof *o->chef_params);
	o->chef_args[o->nchef_args] = name;
	o->chef_params[o->nchef_args++] = params;
}

/* --chef-arg ARGS: more arguments for the chef of the preceding -c. */
static int add_chef_params(struct kitchen_opts *o, const char *arg)
{
	char **params;
	size_t n;

	if (!o->nchef_args)
		return log_usage(usage_text, "--chef-arg %s: no -c CHEF before it", arg);
	if (!looks_like_args(arg))
		return log_usage(usage_text, "--chef-arg '%s': want key=value[,key=value...]", arg);
	params = &o->chef_params[o->nchef_args - 1];
	n = *params ? strlen(*params) + 1 : 0;
	*params = xrealloc(*params, n + strlen(arg) + 1);
	if (n)
		(*params)[n - 1] = ',';
	strcpy(*params + n, arg);
	return -1;
}

enum { OPT_STDOUT = 256, OPT_CHEF_LIST, OPT_CHEF_ARG, OPT_NO_PROMISC, OPT_CHEF_DIR, OPT_NO_RELOAD,
       OPT_SPEED, OPT_CHEF_TIMEOUT, OPT_CHEF_MEMORY, OPT_MAX_DUMPLING, OPT_STATUS_INTERVAL,
       OPT_REASSEMBLY_MEMORY, OPT_FLOW_TIMEOUT, OPT_MAX_FLOWS, OPT_STREAM_MEMORY,
       OPT_STREAM_DIR_MEMORY, OPT_WRITE_MAX, OPT_COUNT,
       OPT_CAPTURE_DIR, OPT_CAPTURE_MAX, OPT_LOOKBACK, OPT_LOOKBACK_BYTES };

static const struct option long_opts[] = {
	{ "kitchen-name", required_argument, NULL, 'n' },
	{ "hub", required_argument, NULL, 'H' },
	{ "stdout", no_argument, NULL, OPT_STDOUT },
	{ "interface", required_argument, NULL, 'i' },
	{ "read", required_argument, NULL, 'r' },
	{ "filter", required_argument, NULL, 'f' },
	{ "chef", required_argument, NULL, 'c' },
	{ "chef-list", no_argument, NULL, OPT_CHEF_LIST },
	{ "chef-arg", required_argument, NULL, OPT_CHEF_ARG },
	{ "chef-dir", required_argument, NULL, OPT_CHEF_DIR },
	{ "no-reload", no_argument, NULL, OPT_NO_RELOAD },
	{ "speed", required_argument, NULL, OPT_SPEED },
	{ "user", required_argument, NULL, 'Z' },
	{ "chef-timeout", required_argument, NULL, OPT_CHEF_TIMEOUT },
	{ "chef-memory", required_argument, NULL, OPT_CHEF_MEMORY },
	{ "max-dumpling", required_argument, NULL, OPT_MAX_DUMPLING },
	{ "status-interval", required_argument, NULL, OPT_STATUS_INTERVAL },
	{ "reassembly-memory", required_argument, NULL, OPT_REASSEMBLY_MEMORY },
	{ "flow-timeout", required_argument, NULL, OPT_FLOW_TIMEOUT },
	{ "max-flows", required_argument, NULL, OPT_MAX_FLOWS },
	{ "stream-memory", required_argument, NULL, OPT_STREAM_MEMORY },
	{ "stream-dir-memory", required_argument, NULL, OPT_STREAM_DIR_MEMORY },
	{ "write", required_argument, NULL, 'w' },
	{ "write-max", required_argument, NULL, OPT_WRITE_MAX },
	{ "capture-dir", required_argument, NULL, OPT_CAPTURE_DIR },
	{ "capture-max", required_argument, NULL, OPT_CAPTURE_MAX },
	{ "lookback", required_argument, NULL, OPT_LOOKBACK },
	{ "lookback-bytes", required_argument, NULL, OPT_LOOKBACK_BYTES },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "list-interfaces", no_argument, NULL, 'D' },
	{ "poke-interval", required_argument, NULL, 'p' },
	{ "snaplen", required_argument, NULL, 's' },
	{ "no-promisc", no_argument, NULL, OPT_NO_PROMISC },
	WSCLIENT_LONG_OPTIONS,
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* --write-max MB and the like: in millions of bytes, as tcpdump's -C
 * counts them. */
static int parse_mb(const char *option, const char *arg, uint64_t *bytes)
{
	const char *why;
	double mb;

	if (parse_seconds(arg, 0.001, 1e9, &mb, &why) < 0)
		return log_usage(usage_text, "bad %s '%s': %s (millions of bytes)", option, arg, why);
	*bytes = (uint64_t)(mb * 1e6);
	return -1;
}

static int parse_capture_option(struct kitchen_opts *o, int c, const char *arg)
{
	const char *why;

	switch (c) {
	case OPT_CAPTURE_DIR: o->capture_dir = arg; return -1;
	case OPT_CAPTURE_MAX: return parse_mb("--capture-max", arg, &o->capture_max);
	case OPT_LOOKBACK_BYTES: return parse_mb("--lookback-bytes", arg, &o->lookback_bytes);
	default:
		if (parse_seconds(arg, 0.001, 86400, &o->lookback, &why) < 0)
			return log_usage(usage_text, "bad --lookback '%s': %s", arg, why);
		return -1;
	}
}

/* Returns -1 to go on, or the exit status. */
static int parse_option(struct kitchen_opts *o, int c, const char *arg)
{
	const char *why;
	long n;

	if (wsclient_option(&o->hub, c, arg))
		return -1;
	switch (c) {
	case 'n': o->name = arg; break;
	case 'H':
		if (o->hub.nhubs == WSCLIENT_MAX_HUBS)
			return log_usage(usage_text, "too many hubs (-H at most %d times)", WSCLIENT_MAX_HUBS);
		if (wsclient_parse_hub(arg, &o->hub) < 0)
			return log_usage(usage_text, "bad hub address '%s' (want [ws://|wss://]HOST:PORT)", arg);
		break;
	case OPT_STDOUT: o->to_stdout = 1; break;
	case 'i': add_interface(o, arg); break;
	case 'r': add_arg(&o->files, &o->nfiles, arg); break;
	case 'f': o->capture.filter = arg; break;
	case 'c': add_chef(o, arg); break;
	case OPT_CHEF_ARG: return add_chef_params(o, arg);
	case OPT_CHEF_LIST: o->chef_list = 1; break;
	case OPT_CHEF_DIR: add_arg(&o->chef_dirs, &o->nchef_dirs, arg); break;
	case OPT_NO_RELOAD: o->no_reload = 1; break;
	case 'Z': o->user = arg; break;
	case OPT_CHEF_TIMEOUT:
		if (parse_seconds(arg, 0.01, 86400, &o->chef_timeout, &why) < 0)
			return log_usage(usage_text, "bad chef timeout '%s': %s", arg, why);
		break;
	case OPT_CHEF_MEMORY:
		if (parse_long(arg, 1, 1 << 20, &o->chef_memory_mib, &why) < 0)
			return log_usage(usage_text, "bad chef memory limit '%s': %s (MiB)", arg, why);
		break;
	case OPT_STATUS_INTERVAL:
		if (parse_seconds(arg, 0, 86400, &o->status_interval, &why) < 0)
			return log_usage(usage_text, "bad --status-interval '%s': %s", arg, why);
		o->status_interval_given = 1;
		break;
	case OPT_MAX_DUMPLING:
		if (parse_long(arg, 64, 1L << 30, &o->max_dumpling, &why) < 0)
			return log_usage(usage_text, "bad --max-dumpling '%s': %s (bytes)", arg, why);
		break;
	case OPT_REASSEMBLY_MEMORY:
		if (parse_long(arg, 0, 1024, &o->reassembly_mib, &why) < 0)
			return log_usage(usage_text, "bad --reassembly-memory '%s': %s (MiB, 0 to 1024)",
					 arg, why);
		break;
	case OPT_FLOW_TIMEOUT:
		if (flow_parse_timeouts(arg, o->flows.timeout, &why) < 0)
			return log_usage(usage_text, "bad --flow-timeout '%s': %s", arg, why);
		break;
	case OPT_MAX_FLOWS:
		if (parse_long(arg, 1, 100000000, &n, &why) < 0)
			return log_usage(usage_text, "bad --max-flows '%s': %s", arg, why);
		o->flows.max_flows = (uint32_t)n;
		break;
	case OPT_STREAM_MEMORY:
		if (parse_long(arg, 1, 65536, &n, &why) < 0)
			return log_usage(usage_text, "bad --stream-memory '%s': %s (MiB, 1 to 65536)",
					 arg, why);
		o->flows.stream_total_max = (size_t)n << 20;
		break;
	case OPT_STREAM_DIR_MEMORY:
		if (parse_long(arg, 1, 1 << 20, &n, &why) < 0)
			return log_usage(usage_text, "bad --stream-dir-memory '%s': %s (KiB, 1 to 1048576)",
					 arg, why);
		o->flows.stream_dir_max = (size_t)n << 10;
		break;
	case OPT_SPEED:
		if (parse_seconds(arg, 0.001, 1e6, &o->speed, &why) < 0)
			return log_usage(usage_text, "bad speed '%s': %s (a factor such as 1 or 0.5)", arg, why);
		break;
	case OPT_NO_PROMISC: o->capture.promisc = 0; break;
	case 'w': o->write_path = arg; break;
	case OPT_WRITE_MAX: return parse_mb("--write-max", arg, &o->write_max);
	case OPT_CAPTURE_DIR: case OPT_CAPTURE_MAX: case OPT_LOOKBACK: case OPT_LOOKBACK_BYTES:
		return parse_capture_option(o, c, arg);
	case OPT_COUNT:
		if (parse_long(arg, 1, LONG_MAX, &n, &why) < 0)
			return log_usage(usage_text, "bad --count '%s': %s", arg, why);
		o->count = (unsigned long)n;
		break;
	case 'D': o->list_interfaces = 1; break;
	case 'q': log_set_level(LOG_ERROR); break;
	case 'v': log_set_level(LOG_DEBUG); break;
	case 'p':
		if (parse_seconds(arg, 0.001, 86400, &o->poke_interval, &why) < 0)
			return log_usage(usage_text, "bad poke interval '%s': %s", arg, why);
		break;
	case 's':
		if (parse_long(arg, 64, MAX_SNAPLEN, &n, &why) < 0)
			return log_usage(usage_text, "bad snaplen '%s': %s (64 to 262144)", arg, why);
		o->capture.snaplen = (int)n;
		break;
	case 'h': help(); return 0;
	case 'V': print_versions(stdout); return 0;
	default: usage(stderr); return 2;
	}
	return -1;
}

/* What the options say together. Returns -1 to go on, or the exit status. */
static int check_write(const struct kitchen_opts *o)
{
	if (o->write_max && !o->write_path)
		return log_usage(usage_text, "--write-max needs -w FILE");
	if (o->capture_max && !o->capture_dir)
		return log_usage(usage_text, "--capture-max needs --capture-dir DIR");
	if (o->lookback && !o->capture_dir)
		return log_usage(usage_text, "--lookback needs --capture-dir DIR");
	if (o->lookback_bytes && !o->lookback)
		return log_usage(usage_text, "--lookback-bytes needs --lookback SECONDS");
	if (!o->write_path || strcmp(o->write_path, "-"))
		return -1;
	if (o->to_stdout)
		return log_usage(usage_text, "-w - and --stdout both want standard output");
	if (o->write_max)
		return log_usage(usage_text, "--write-max needs a file name, not -w -");
	return -1;
}

/* What follows the options is a BPF expression, its words joined with
 * spaces, as tcpdump joins them. Returns -1 to go on, or the exit status. */
static int join_filter(struct kitchen_opts *o, int nwords, char **words)
{
	size_t len = 0;
	char *end;

	if (o->capture.filter)
		return log_usage(usage_text, "a filter both with -f and after the options ('%s')",
				 words[0]);
	for (int i = 0; i < nwords; i++)
		len += strlen(words[i]) + 1;
	end = o->joined_filter = xmalloc(len);
	*end = '\0';
	for (int i = 0; i < nwords; i++) {
		if (i)
			*end++ = ' ';
		end = stpcpy(end, words[i]);
	}
	o->capture.filter = o->joined_filter;
	return -1;
}

static int parse_args(struct kitchen_opts *o, int argc, char **argv)
{
	int c, rc;

	o->name = "default_kitchen";
	o->poke_interval = 5.0;
	o->capture.snaplen = MAX_SNAPLEN;
	o->capture.promisc = 1;
	o->capture.buffer_bytes = 16 << 20;
	o->chef_timeout = 10;
	o->chef_memory_mib = 1024;
	o->max_dumpling = 512 << 10;
	o->reassembly_mib = 4;
	o->flows = (struct flow_config){ .timeout = FLOW_DEFAULT_TIMEOUTS,
					 .max_flows = FLOW_DEFAULT_MAX };
	o->hub.default_port = 11347;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":n:H:i:r:f:c:p:s:w:Z:DqvhV", long_opts, NULL)) != -1) {
		if (c == '?' || c == ':')
			return log_bad_option(usage_text, argv, c);
		if ((rc = parse_option(o, c, optarg)) >= 0)
			return rc;
	}
	if (optind < argc && (rc = join_filter(o, argc - optind, argv + optind)) >= 0)
		return rc;
	if (o->list_interfaces)
		return capture_list_interfaces(stdout);
	if (o->hub.nhubs && o->to_stdout)
		return log_usage(usage_text, "--hub and --stdout cannot be combined");
	if ((rc = check_write(o)) >= 0)
		return rc;
	if (!o->to_stdout && wsclient_target_ready(&o->hub) < 0)
		return 2;
	if (o->nifaces && o->nfiles)
		return log_usage(usage_text, "-i and -r cannot be combined");
	if (o->speed && !o->nfiles)
		return log_usage(usage_text, "--speed needs capture files (-r)");
	if (!o->nifaces && !o->nfiles)
		add_arg(&o->ifaces, &o->nifaces, "any");
	return -1;
}

/* ---------------------------------------------------------------- chefs */

static int list_chefs(struct kitchen *k, char **paths, int n)
{
	int rc = 0;

	for (int i = 0; i < n; i++)
		if (chef_runtime_list(k->chefs, paths[i]) < 0)
			rc = 1;
	return rc;
}

static void free_paths(char **paths, int n)
{
	for (int i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

/* -c NAME that is no bundled file's stem: the bundled file that defines
 * a chef of that name (as --chef-list shows it), or NULL after logging. */
static char *bundled_chef_named(struct kitchen *k, const char *name)
{
	char **paths = NULL;
	char *found = NULL;
	int n = 0;

	if (chefpath_bundled(&paths, &n) < 0) {
		free_paths(paths, n);
		return NULL;
	}
	for (int i = 0; i < n && !found; i++)
		if (chef_runtime_defines(k->chefs, paths[i], name) > 0)
			found = xstrdup(paths[i]);
	free_paths(paths, n);
	if (!found)
		log_error("no bundled chef named '%s' (see 'dumplings kitchen --chef-list')", name);
	return found;
}

static int has_path(char **paths, int n, const char *path)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(paths[i], path))
			return 1;
	return 0;
}

/* Grow a NULL-filled array of arguments from have to want entries. */
static void extend_params(const char ***params, int have, int want)
{
	if (want <= have)
		return;
	*params = xrealloc(*params, (size_t)want * sizeof **params);
	memset(*params + have, 0, (size_t)(want - have) * sizeof **params);
}

/* The chef files to load, each with its arguments (params[i], or NULL;
 * the options' strings): those named with -c, then those in each
 * --chef-dir; the bundled ones when neither is given. */
static int chef_files(struct kitchen *k, char ***paths, const char ***params, int *n)
{
	const struct kitchen_opts *o = &k->opt;

	int rc;

	*paths = NULL;
	*params = NULL;
	*n = 0;
	if (!o->nchef_args && !o->nchef_dirs) {
		rc = chefpath_bundled(paths, n);
		*params = xcalloc((size_t)*n + 1, sizeof **params);
		return rc;
	}
	*params = xcalloc((size_t)o->nchef_args + 1, sizeof **params);
	for (int i = 0; i < o->nchef_args; i++) {
		const char *arg = o->chef_args[i];
		char *path = chefpath_resolve(arg);

		if (!path && !chefpath_is_path(arg))
			path = bundled_chef_named(k, arg);
		if (!path)
			return -1;
		if (has_path(*paths, *n, path)) {
			log_warn("chef %s given twice: loading it once%s", arg,
				 o->chef_params[i] ? ", with the arguments given first" : "");
			free(path);
			continue;
		}
		*paths = xrealloc(*paths, (*n + 1) * sizeof **paths);
		(*params)[*n] = o->chef_params[i];
		(*paths)[(*n)++] = path;
	}
	rc = 0;
	for (int i = 0; i < o->nchef_dirs && rc == 0; i++)
		rc = chefpath_in_dir(o->chef_dirs[i], paths, n);
	/* what the directories added takes no arguments */
	extend_params(params, o->nchef_args + 1, *n + 1);
	return rc;
}

static int register_chefs(struct kitchen *k, char **paths, const char **params, int n)
{
	int registered = 0;

	for (int i = 0; i < n; i++) {
		int got = chef_runtime_load(k->chefs, paths[i], params[i]);

		if (got < 0)
			return 1;
		registered += got;
	}
	/* A chef directory may start empty and fill up later. */
	if (registered == 0 && !k->opt.nchef_dirs) {
		log_error("no chefs to run: every chef given is assignable = false");
		return 1;
	}
	return -1;
}

/* Load (or, with --chef-list, list) every chef file. Returns -1 to go on,
 * or the exit status. */
static int load_chefs(struct kitchen *k)
{
	char **paths;
	const char **params;
	int n, rc;

	if (chef_files(k, &paths, &params, &n) < 0)
		rc = 1;
	else if (k->opt.chef_list)
		rc = list_chefs(k, paths, n);
	else
		rc = register_chefs(k, paths, params, n);
	free_paths(paths, n);
	free(params);
	return rc;
}

/* What the kitchen tells the hub about itself in its hello. */
static void describe_kitchen(struct kitchen *k, struct kitchen_info *info)
{
	info->name = k->opt.name;
	info->interfaces = k->source_names;
	info->ninterfaces = k->nsources;
	info->filter = k->sources[0].filter;
	info->chefs = chef_runtime_names(k->chefs, &info->nchefs);
	info->poke_interval = k->opt.poke_interval;
	k->described = chef_runtime_names_changed(k->chefs);
}

/* ------------------------------------------------------------ reloading */

static void reload_chef(struct kitchen *k, const char *path, int force)
{
	struct plate *p = emit_plate(k->emit);

	chef_runtime_reload(k->chefs, path, force, p);
	emit_send(k->emit, p);
}

static void on_chef_change(void *ctx, enum watch_event event, const char *path)
{
	struct kitchen *k = ctx;
	struct plate *p;

	/* A file that vanished from a chef directory may be mid-save by
	 * rename; if it is back already, it changed rather than went away. */
	if (event == WATCH_GONE && access(path, F_OK) != 0) {
		p = emit_plate(k->emit);
		chef_runtime_remove(k->chefs, path, p);
		emit_send(k->emit, p);
	} else {
		reload_chef(k, path, 0);
	}
}

/* Apply chef changes; called between batches, so every packet is seen by
 * exactly one version of each chef. */
static void service_reloads(struct kitchen *k)
{
	if (reload_requested) {
		reload_requested = 0;
		log_info("SIGHUP: reloading every chef file");
		for (int i = 0; i < chef_runtime_file_count(k->chefs); i++) {
			char *path = xstrdup(chef_runtime_file(k->chefs, i));

			reload_chef(k, path, 1);
			free(path);
		}
	}
	if (k->watch)
		watch_poll(k->watch, on_chef_change, k);
	/* Streams are reassembled while some chef asks for them. */
	if (k->reader)
		reader_want_streams(k->reader, chef_runtime_stream_chefs(k->chefs) > 0);
	/* The hello follows the chefs. */
	if (chef_runtime_names_changed(k->chefs) != k->described) {
		struct kitchen_info info;

		describe_kitchen(k, &info);
		emit_describe(k->emit, &info);
	}
}

static void start_watching(struct kitchen *k)
{
	if (k->opt.no_reload)
		return;
	k->watch = watch_new();
	for (int i = 0; i < chef_runtime_file_count(k->chefs); i++)
		watch_file(k->watch, chef_runtime_file(k->chefs, i));
	for (int i = 0; i < k->opt.nchef_dirs; i++)
		watch_dir(k->watch, k->opt.chef_dirs[i]);
	log_info("reloading chefs when their files change (%d files, %d directories)",
		 chef_runtime_file_count(k->chefs), k->opt.nchef_dirs);
}

/* -------------------------------------------------------------- batches */

static void tell_user(struct kitchen *k);

/* A KitchenStatusChef dumpling every --status-interval, and a last one
 * on the way out. */
static void report_health(struct kitchen *k, int final)
{
	struct health_report r = {
		.sources = k->sources, .nsources = k->nsources, .reader = k->reader,
		.chefs = k->chefs, .emit = k->emit, .started = k->started,
		.pokes_skipped = k->pokes.skipped, .final = final,
		.captures = k->captures,
	};

	if (!k->opt.status_interval)
		return;
	if (!final && monotonic_seconds() < k->next_health)
		return;
	k->next_health = monotonic_seconds() + k->opt.status_interval;
	health_report(&r);
}

static void poke(struct kitchen *k)
{
	struct plate *p = emit_plate(k->emit);

	chef_runtime_poke(k->chefs, p);
	emit_send(k->emit, p);
}

/* Live, pokes follow the clock, between batches. */
static void poke_if_due(struct kitchen *k)
{
	if (!k->opt.nfiles && poke_due(&k->pokes, monotonic_seconds()))
		poke(k);
}

/* Cook the packets from start to end, with the flows that ended among
 * them: those before end, and at the batch's end those after its last
 * packet. *ev is the first event not yet cooked. */
static void cook_packets(struct kitchen *k, struct batch *b, int start, int end, int *ev)
{
	const struct flow_events *fe = &b->events;
	int first = *ev;
	struct plate *p;

	while (*ev < fe->n && ((int)fe->ev[*ev].at < end || end == b->n))
		(*ev)++;
	if (end == start && *ev == first)
		return;
	p = emit_plate(k->emit);
	if (k->captures)
		flowcap_feed(k->captures, b->pkts + start, end - start);
	chef_runtime_batch(k->chefs, b->pkts + start, end - start, fe->ev + first, *ev - first,
			   start, fe->bytes, p);
	if (k->captures)
		flowcap_packets(k->captures, b->pkts + start, end - start);
	emit_send(k->emit, p);
}

/* Chefs run on a whole batch at a time, and chef changes are applied
 * between batches, so every packet is seen by exactly one version of each
 * chef. Reading files, a poke due before a packet splits the batch there.
 * Each run and each poke goes out on its own plate, as soon as it is made;
 * the batch is given back once the chefs are done with it (batch.h). */
static void cook_batch(struct kitchen *k, struct batch *b)
{
	int start = 0, ev = 0;

	for (int i = 0; i < b->n; i++) {
		k->sources[b->pkts[i].source].packets++;
		if (k->opt.nfiles && poke_due(&k->pokes, b->pkts[i].time)) {
			cook_packets(k, b, start, i, &ev);
			poke(k);
			start = i;
		}
	}
	cook_packets(k, b, start, b->n, &ev);
	k->packets += b->n;
	reader_release(k->reader, b);
	if (emit_sink_gone(k->emit))
		stop_requested = 1;
	poke_if_due(k);
	service_reloads(k);
	report_health(k, 0);
	tell_user(k);
}

/* How long to wait for the next batch: live, no later than the next poke. */
static int wait_ms(struct kitchen *k)
{
	double wait = k->opt.nfiles ? 1 : poke_wait(&k->pokes, monotonic_seconds());

	if (wait <= 0)
		return 0;
	return wait > 1.0 ? 1000 : (int)(wait * 1000) + 1;
}

/* The decode stage reads and decodes every source on its own thread; this
 * thread cooks what it hands over, pokes the chefs, and applies chef
 * changes while it waits. */
static void cook_sources(struct kitchen *k)
{
	struct pollfd fds[2];
	int done = 0;

	/* before the first packet is read, so that its flow is streamed */
	k->opt.flows.want_streams = chef_runtime_stream_chefs(k->chefs) > 0;
	k->reader = reader_start(k->sources, k->nsources, &(struct reader_config){
		.speed = k->opt.speed, .frag_memory = (size_t)k->opt.reassembly_mib << 20,
		.flows = &k->opt.flows, .max_packets = k->opt.count, .out = k->out,
		.ring = k->captures });
	if (!k->reader) {
		k->failed = 1;
		return;
	}
	if (!k->opt.nfiles)
		poke_clock_start(&k->pokes, monotonic_seconds());
	k->progress = progress_start(k->sources, k->nsources, monotonic_seconds());
	fds[0] = (struct pollfd){ reader_fd(k->reader), POLLIN, 0 };
	fds[1] = (struct pollfd){ k->watch ? watch_fd(k->watch) : -1, POLLIN, 0 };
	while (!stop_requested && !done) {
		struct batch *b;
		int n;

		while (!stop_requested && (b = reader_next(k->reader, &done)))
			cook_batch(k, b);
		if (done || stop_requested)
			break;
		n = poll(fds, 2, wait_ms(k));
		if (n < 0 && errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			k->failed = 1;
			break;
		}
		if (n > 0 && fds[1].revents)
			service_reloads(k);
		poke_if_due(k);
		report_health(k, 0);
		tell_user(k);
	}
	if (reader_stop(k->reader) < 0)
		k->failed = 1;
	progress_end(k->progress);
	k->progress = NULL;
}

/* ------------------------------------------------------------ lifecycle */

/* A link type libpcap has no name for is named by its number; one the
 * decoder does not know is said so, since its packets reach the chefs
 * as nothing but Raw (and PacketCountChef counts them so). */
static void log_source(const struct capture_source *src, const char *doing)
{
	char number[16];
	const char *name = capture_linktype_name(src->linktype, number, sizeof number);

	log_info("%s %s, link-type %s", doing, src->name, name);
	if (!packet_decodes_linktype(src->linktype))
		log_warn("%s: link-type %s is not decoded: its packets reach the chefs as Raw",
			 src->name, name);
}

static int open_sources(struct kitchen *k)
{
	const struct kitchen_opts *o = &k->opt;
	int n = o->nfiles ? o->nfiles : o->nifaces;

	k->sources = xcalloc(n, sizeof *k->sources);
	k->source_names = xcalloc(n, sizeof *k->source_names);
	for (int i = 0; i < n; i++) {
		int rc = o->nfiles
			? capture_open_file(&k->sources[i], o->files[i], &o->capture)
			: capture_open_live(&k->sources[i], o->ifaces[i], &o->capture);

		if (rc < 0)
			return -1;
		k->source_names[i] = k->sources[i].name;
		k->nsources++;
		log_source(&k->sources[i], o->nfiles ? "reading" : "capturing on");
	}
	return 0;
}

/* -w: one interface per source, numbered as the sources are, each with
 * the largest snaplen of them all: libpcap, and so tcpdump, reads a
 * pcapng file only when its interfaces agree on it. */
static int open_writer(struct kitchen *k)
{
	int snaplen = 0;

	if (!k->opt.write_path)
		return 0;
	for (int i = 0; i < k->nsources; i++)
		if (pcap_snapshot(k->sources[i].pcap) > snaplen)
			snaplen = pcap_snapshot(k->sources[i].pcap);
	k->out = pcapng_open(k->opt.write_path, k->opt.write_max);
	if (!k->out)
		return -1;
	for (int i = 0; i < k->nsources; i++) {
		const struct capture_source *src = &k->sources[i];
		struct pcapng_interface ifc = {
			.linktype = src->linktype, .snaplen = snaplen,
			.ts_nanos = src->tick == 1e-9, .write_nanos = src->nanos,
			.name = src->name,
		};

		if (pcapng_add_interface(k->out, &ifc) < 0)
			return -1;
	}
	return 0;
}

static struct sink *open_sink(struct kitchen *k)
{
	struct kitchen_info info;

	k->started = monotonic_seconds();
	k->next_health = k->started + k->opt.status_interval;	/* --stdout: if asked */
	if (k->opt.to_stdout)
		return sink_stdout_open();
	/* A hub hears of the kitchen's health unless told otherwise. */
	if (!k->opt.status_interval_given)
		k->opt.status_interval = 5;
	k->next_health = k->started + k->opt.status_interval;
	describe_kitchen(k, &info);
	return sink_hub_open(&k->opt.hub, &info, k->opt.nfiles > 0);
}

static int start_emit(struct kitchen *k)
{
	struct sink *sink = open_sink(k);

	if (!sink)
		return -1;
	k->emit = emit_start(sink, k->opt.name, (size_t)k->opt.max_dumpling, &stop_requested);
	return 0;
}

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else if (sig == SIGUSR1)
		stats_requested = 1;
	else
		stop_requested = 1;
}


static void report_totals(struct kitchen *k);

/* A chef is stuck in a loop LuaJIT compiled and the process exits with 3:
 * what the other chefs made before it still goes out, with the summary.
 * This runs on the guard's thread while the kitchen's own stays stuck. */
static void last_words(void *ctx)
{
	struct kitchen *k = ctx;

	stop_requested = 1;
	if (!k->emit)
		return;
	log_status(NULL);
	report_totals(k);
	emit_close(k->emit);
}

enum { LOOKBACK_BYTES_DEFAULT = 64000000 };

/* dumplings.capture(): a file per capture, an interface per source in
 * each, as -w writes them. */
static int open_captures(struct kitchen *k)
{
	struct flowcap_source *src;

	if (!k->opt.capture_dir)
		return 0;
	src = xcalloc(k->nsources ? (size_t)k->nsources : 1, sizeof *src);
	for (int i = 0; i < k->nsources; i++)
		src[i] = (struct flowcap_source){ k->sources[i].linktype,
						  pcap_snapshot(k->sources[i].pcap),
						  k->sources[i].name };
	k->captures = flowcap_new(&(struct flowcap_config){
		.dir = k->opt.capture_dir, .max_bytes = k->opt.capture_max,
		.lookback = k->opt.lookback,
		.lookback_bytes = k->opt.lookback_bytes ? (size_t)k->opt.lookback_bytes
							: LOOKBACK_BYTES_DEFAULT,
		.sources = src, .nsources = k->nsources, .decode_ahead = reader_bytes_ahead() });
	free(src);
	return k->captures ? 0 : -1;
}

static int start_chefs(struct kitchen *k)
{
	int *linktypes = xcalloc(k->nsources ? (size_t)k->nsources : 1, sizeof *linktypes);
	struct chef_options co = {
		.kitchen_name = k->opt.name,
		.poke_interval = k->opt.poke_interval,
		.sources = k->opt.nfiles ? k->opt.files : k->opt.ifaces,
		.nsources = k->opt.nfiles ? k->opt.nfiles : k->opt.nifaces,
		.linktypes = k->nsources ? linktypes : NULL,
		.time_limit = k->opt.chef_timeout,
		.memory_limit = (size_t)k->opt.chef_memory_mib << 20,
		.stopping = &stop_requested,
		.on_stuck = last_words,
		.ctx = k,
	};

	for (int i = 0; i < k->nsources; i++)
		linktypes[i] = k->sources[i].linktype;
	if (open_captures(k) < 0) {
		free(linktypes);
		return 1;
	}
	co.captures = k->captures;
	k->chefs = chef_runtime_new(&co);
	free(linktypes);
	return k->chefs ? load_chefs(k) : 1;
}

/* The kitchen's numbers, as tcpdump gives its own: what the chefs saw
 * and made, then what was read, what the filter passed and what was
 * dropped before the kitchen could read it. Asked for (SIGUSR1), they are
 * printed even with -q. */
static void log_statistics(struct kitchen *k, int asked, const char *what)
{
	const struct chef_stats *st = chef_runtime_stats(k->chefs);
	struct capture_counts all = { 0, 0, 0, 0 };
	unsigned long printed, failed;
	char line[512];

	emit_counts(k->emit, &printed, &failed);
	for (int i = 0; k->reader && i < k->nsources; i++) {
		struct capture_counts c;

		reader_counts(k->reader, i, &c);
		all.read += c.read;
		all.passed += c.passed;
		all.kernel_dropped += c.kernel_dropped;
		all.interface_dropped += c.interface_dropped;
	}
	snprintf(line, sizeof line, "%s%lu packets, %lu dumplings, %lu handler errors, "
		 "%lu unserializable results; %lu packets read, %lu passed the filter, "
		 "%lu dropped by the kernel, %lu by the interface", what,
		 (unsigned long)k->packets, printed, st->handler_errors,
		 st->serialize_errors + failed, all.read, all.passed, all.kernel_dropped,
		 all.interface_dropped);
	if (asked)
		log_always("%s", line);
	else
		log_info("%s", line);
}

/* Waits until every dumpling made has gone to the sink. */
static void report_totals(struct kitchen *k)
{
	emit_wait(k->emit);
	log_statistics(k, 0, "");
}

/* What the user sees while the kitchen runs: the statistics SIGUSR1 asks
 * for (as tcpdump's SIGINFO), and the progress line. */
static void tell_user(struct kitchen *k)
{
	unsigned long printed, failed;

	if (stats_requested) {
		char what[64];

		stats_requested = 0;
		snprintf(what, sizeof what, "after %.1f s: ", monotonic_seconds() - k->started);
		log_statistics(k, 1, what);
	}
	if (progress_due(k->progress)) {
		emit_counts(k->emit, &printed, &failed);
		progress_show(k->progress, k->packets, printed);
	}
}

static int cook(struct kitchen *k)
{
	if (start_emit(k) < 0)
		return 1;
	poke_clock_init(&k->pokes, k->opt.poke_interval);
	start_watching(k);
	cook_sources(k);
	/* One last poke so summary chefs report their totals. */
	poke(k);
	flowcap_close_all(k->captures);
	report_health(k, 1);
	report_totals(k);
	return k->failed;
}

/* Returns -1 when dumplings that had to reach the hub did not. */
static int kitchen_free(struct kitchen *k)
{
	int lost = 0;

	/* What is left goes out before the sink closes. */
	if (k->emit)
		lost = emit_close(k->emit);
	emit_free(k->emit);
	reader_free(k->reader);
	chef_runtime_free(k->chefs);
	flowcap_free(k->captures);
	watch_free(k->watch);
	for (int i = 0; i < k->nsources; i++)
		capture_close(&k->sources[i]);
	free(k->sources);
	free(k->source_names);
	free(k->opt.ifaces);
	free(k->opt.files);
	for (int i = 0; i < k->opt.nchef_args; i++) {
		free(k->opt.chef_args[i]);
		free(k->opt.chef_params[i]);
	}
	free(k->opt.chef_args);
	free(k->opt.chef_params);
	free(k->opt.chef_dirs);
	free(k->opt.joined_filter);
	return lost;
}

int kitchen_main(int argc, char **argv)
{
	struct kitchen k;
	int rc;

	memset(&k, 0, sizeof k);
	/* Statistics asked for before there are any: no answer, and no death
	 * either (SIGUSR1's default) while the captures open. */
	signal(SIGUSR1, SIG_IGN);
	rc = parse_args(&k.opt, argc, argv);
	if (rc < 0)
		log_set_name(k.opt.name);
	/* Captures are opened, and their filters set, before privileges are
	 * dropped and before any chef code runs or any packet is decoded. */
	if (rc < 0 && !k.opt.chef_list && open_sources(&k) < 0)
		rc = 1;
	if (rc < 0 && k.opt.user && privdrop_to(k.opt.user) < 0)
		rc = 1;
	/* as tcpdump -Z does: the files written, and the next ones of a
	 * series, belong to the user the kitchen runs as */
	if (rc < 0 && !k.opt.chef_list && open_writer(&k) < 0)
		rc = 1;
	/* From the first chef code on, a signal stops the kitchen in order:
	 * even a chef file whose top level never returns is interrupted. */
	if (rc < 0)
		catch_signals(on_signal, (const int[]){ SIGHUP, SIGUSR1, 0 });
	if (rc < 0)
		rc = start_chefs(&k);
	if (rc < 0)
		rc = cook(&k);
	if (kitchen_free(&k) < 0 && rc == 0)
		rc = 1;
	if (pcapng_close(k.out) < 0 && rc == 0)
		rc = 1;
	return rc;
}
