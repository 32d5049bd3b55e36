/* hubload: a load generator for `dumplings hub`.
 *
 * K kitchen connections send ~SIZE-byte dumplings, each carrying its send
 * time; E eater connections receive them. Reports delivered dumplings per
 * second, p50/p99 latency (send to receive, same host, CLOCK_MONOTONIC),
 * and the hub's peak RSS (VmHWM) when given its pid. One thread, one lws
 * context, so the generator costs one core.
 *
 *   hubload [-a ADDR] [-i IN_PORT] [-o OUT_PORT] [-k K] [-e E] [-n N]
 *           [-r RATE] [-s SIZE] [-S STALLED] [-p HUB_PID]
 *
 * -n is dumplings per kitchen, -r a steady rate per kitchen (0: flat out),
 * -S adds eaters that say hello and then never read. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libwebsockets.h>

#define HIST_BUCKETS 100000	/* 10 us buckets up to 1 s */
#define HIST_US 10

struct load {
	const char *addr;
	int in_port, out_port, kitchens, eaters, stalled, size;
	long per_kitchen;
	double rate;
	int hub_pid;
	struct lws_context *ctx;
	int eaters_ready, kitchens_started, kitchens_done;
	long delivered, expected, late;
	uint64_t *hist;
	double t_first, t_last, t_progress;
	lws_sorted_usec_list_t tick;
	char *pad;
};

struct session {
	int kitchen, stalled, hello_sent;
	long sent, allowed;
};

static struct load L;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int send_text(struct lws *wsi, const char *s, size_t n)
{
	unsigned char buf[LWS_PRE + 4096];

	memcpy(buf + LWS_PRE, s, n);
	return lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT) < 0 ? -1 : 0;
}

/* Frame one dumpling into the batch as a client frame: masked, with a
 * zero key, so the payload bytes stay as they are (RFC 6455 allows any). */
static size_t kitchen_frame(unsigned char *p, struct session *s)
{
	char msg[4096];
	size_t h = 0;
	int n;

	n = snprintf(msg, sizeof msg, "{\"metadata\":{\"chef\":\"BenchChef\",\"kitchen\":"
		     "\"bench\",\"creation_time\":%.6f,\"driver\":\"packet\"},\"payload\":"
		     "{\"t\":%.9f,\"seq\":%ld,\"pad\":\"%s\"}}", now_s(), now_s(), s->sent, L.pad);
	p[h++] = 0x81;
	if (n < 126) {
		p[h++] = 0x80 | (unsigned char)n;
	} else {
		p[h++] = 0x80 | 126;
		p[h++] = (unsigned char)(n >> 8);
		p[h++] = (unsigned char)n;
	}
	memset(p + h, 0, 4);
	h += 4;
	memcpy(p + h, msg, (size_t)n);
	if (!L.t_first)
		L.t_first = now_s();
	L.t_progress = now_s();
	s->sent++;
	return h + (size_t)n;
}

static int kitchen_writable(struct lws *wsi, struct session *s)
{
	int batch = 0;

	if (!s->hello_sent) {
		const char *h = "{\"kitchen_name\":\"bench\",\"interface\":\"load\","
				"\"filter\":\"\",\"chefs\":[\"BenchChef\"],\"poke_interval\":5}";
		s->hello_sent = 1;
		lws_callback_on_writable(wsi);
		return send_text(wsi, h, strlen(h));
	}
	/* many frames per write(), as the hub does: the generator must not be
	 * the bottleneck */
	static unsigned char buf[LWS_PRE + 65536];
	unsigned char *p = buf + LWS_PRE;

	while (s->sent < L.per_kitchen && (L.rate == 0 || s->sent < s->allowed) &&
	       p - (buf + LWS_PRE) < 65536 - 4200)
		p += kitchen_frame(p, s);
	batch = (int)(p - (buf + LWS_PRE));
	if (batch && lws_write(wsi, buf + LWS_PRE, (size_t)batch, LWS_WRITE_RAW) < 0)
		return -1;
	if (s->sent >= L.per_kitchen) {
		L.kitchens_done++;
		return 0;
	}
	if (L.rate == 0 || s->sent < s->allowed)
		lws_callback_on_writable(wsi);
	return 0;
}

static void eater_receive(const char *in, size_t len)
{
	const char *t = memmem(in, len, "\"t\":", 4);
	double lat;
	long b;

	if (!t)
		return;		/* a status dumpling */
	lat = now_s() - strtod(t + 4, NULL);
	b = (long)(lat * 1e6 / HIST_US);
	if (b >= HIST_BUCKETS) {
		b = HIST_BUCKETS - 1;
		L.late++;
	}
	L.hist[b < 0 ? 0 : b]++;
	L.delivered++;
	L.t_last = L.t_progress = now_s();
}

static int eater_writable(struct lws *wsi, struct session *s)
{
	const char *h = s->stalled ? "{\"eater_name\":\"stalled\"}"
				   : "{\"eater_name\":\"hubload\",\"chefs\":[\"BenchChef\"]}";

	if (s->hello_sent)
		return 0;
	s->hello_sent = 1;
	L.eaters_ready++;
	if (s->stalled) {	/* stop reading: the hub sees a stalled eater */
		lws_rx_flow_control(wsi, 0);
	}
	return send_text(wsi, h, strlen(h));
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		    void *in, size_t len)
{
	struct session *s = user;

	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return s->kitchen ? kitchen_writable(wsi, s) : eater_writable(wsi, s);
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (!s->kitchen && lws_is_final_fragment(wsi))
			eater_receive(in, len);
		return 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		fprintf(stderr, "hubload: connection failed: %s\n", in ? (char *)in : "?");
		exit(1);
	default:
		return 0;
	}
}

static const struct lws_protocols protocols[] = {
	{ "hubload", callback, sizeof(struct session), 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static struct lws *connect_one(int port, int kitchen, int stalled)
{
	struct lws_client_connect_info ci;
	struct lws *wsi;
	struct session *s;

	memset(&ci, 0, sizeof ci);
	ci.context = L.ctx;
	ci.address = L.addr;
	ci.port = port;
	ci.path = "/";
	ci.host = L.addr;
	ci.origin = L.addr;
	ci.ietf_version_or_minus_one = -1;
	ci.local_protocol_name = "hubload";
	wsi = lws_client_connect_via_info(&ci);
	if (!wsi) {
		fprintf(stderr, "hubload: cannot connect to %s:%d\n", L.addr, port);
		exit(1);
	}
	s = lws_wsi_user(wsi);
	s->kitchen = kitchen;
	s->stalled = stalled;
	return wsi;
}

static struct lws **kitchen_wsi;

/* Every millisecond: release the next share of a steady rate. */
static void tick(lws_sorted_usec_list_t *sul)
{
	for (int i = 0; kitchen_wsi && i < L.kitchens && L.rate > 0; i++) {
		struct session *s = lws_wsi_user(kitchen_wsi[i]);

		s->allowed = (long)((now_s() - L.t_first) * L.rate) + 1;
		if (s->hello_sent)
			lws_callback_on_writable(kitchen_wsi[i]);
	}
	lws_sul_schedule(L.ctx, 0, &L.tick, tick, L.rate > 0 ? LWS_US_PER_MS : 100 * LWS_US_PER_MS);
}

static long hwm_kib(int pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmHWM: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static double percentile(double p)
{
	uint64_t want = (uint64_t)(p * L.delivered), seen = 0;

	for (long b = 0; b < HIST_BUCKETS; b++) {
		seen += L.hist[b];
		if (seen > want)
			return (b + 0.5) * HIST_US / 1000.0;
	}
	return HIST_BUCKETS * HIST_US / 1000.0;
}

static void report(void)
{
	double el = L.t_last - L.t_first;

	printf("kitchens %d eaters %d stalled %d size %d: %ld/%ld delivered in %.3f s = %.0f/s, "
	       "p50 %.3f ms, p99 %.3f ms", L.kitchens, L.eaters, L.stalled, L.size,
	       L.delivered, L.expected, el, el > 0 ? L.delivered / el : 0,
	       percentile(0.5), percentile(0.99));
	if (L.hub_pid)
		printf(", hub VmHWM %ld KiB", hwm_kib(L.hub_pid));
	putchar('\n');
}

static void usage(void)
{
	fprintf(stderr, "usage: hubload [-a ADDR] [-i IN_PORT] [-o OUT_PORT] [-k K] [-e E] "
		"[-n N] [-r RATE] [-s SIZE] [-S STALLED] [-p HUB_PID]\n");
	exit(2);
}

static void parse(int argc, char **argv)
{
	int ch;

	L.addr = "127.0.0.1";
	L.in_port = 11347;
	L.out_port = 11348;
	L.kitchens = L.eaters = 1;
	L.per_kitchen = 100000;
	L.size = 200;
	while ((ch = getopt(argc, argv, "a:i:o:k:e:n:r:s:S:p:")) != -1) {
		switch (ch) {
		case 'a': L.addr = optarg; break;
		case 'i': L.in_port = atoi(optarg); break;
		case 'o': L.out_port = atoi(optarg); break;
		case 'k': L.kitchens = atoi(optarg); break;
		case 'e': L.eaters = atoi(optarg); break;
		case 'n': L.per_kitchen = atol(optarg); break;
		case 'r': L.rate = atof(optarg); break;
		case 's': L.size = atoi(optarg); break;
		case 'S': L.stalled = atoi(optarg); break;
		case 'p': L.hub_pid = atoi(optarg); break;
		default: usage();
		}
	}
	if (L.kitchens < 1 || L.eaters < 0 || L.per_kitchen < 1 || L.size < 150 || L.size > 3000)
		usage();
}

int main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	int padlen;

	parse(argc, argv);
	lws_set_log_level(LLL_ERR, NULL);
	padlen = L.size - 150;	/* the rest of the dumpling is ~150 bytes */
	L.pad = malloc(padlen + 1);
	memset(L.pad, 'x', padlen);
	L.pad[padlen] = '\0';
	L.hist = calloc(HIST_BUCKETS, sizeof *L.hist);
	L.expected = L.per_kitchen * L.kitchens * L.eaters;
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.pt_serv_buf_size = 65536;
	info.fd_limit_per_thread = 1024;
	L.ctx = lws_create_context(&info);
	/* the tick also keeps lws_service() from sleeping through our waits */
	lws_sul_schedule(L.ctx, 0, &L.tick, tick, LWS_US_PER_MS);
	for (int i = 0; i < L.eaters; i++)
		connect_one(L.out_port, 0, 0);
	for (int i = 0; i < L.stalled; i++)
		connect_one(L.out_port, 0, 1);
	while (L.eaters_ready < L.eaters + L.stalled)
		lws_service(L.ctx, 0);
	/* let the hub register the hellos before anything is sent */
	for (double until = now_s() + 0.3; now_s() < until;)
		lws_service(L.ctx, 0);
	kitchen_wsi = calloc(L.kitchens, sizeof *kitchen_wsi);
	for (int i = 0; i < L.kitchens; i++)
		kitchen_wsi[i] = connect_one(L.in_port, 1, 0);
	L.t_progress = now_s();
	/* until everything arrived, or nothing moved for 5 s (the tick keeps
	 * lws_service() returning) */
	while (L.delivered < L.expected && now_s() - L.t_progress < 5)
		lws_service(L.ctx, 0);
	report();
	lws_context_destroy(L.ctx);
	return 0;	/* the report says what was lost */
}
