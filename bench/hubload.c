/* hubload: a load generator for `dumplings hub`.
 *
 * K kitchen connections send ~SIZE-byte dumplings, each carrying its send
 * time; E eater connections receive them. Reports delivered dumplings per
 * second, p50/p99 latency (send to receive, same host, CLOCK_MONOTONIC),
 * and the hub's peak RSS (VmHWM) when given its pid.
 *
 *   hubload [-a ADDR] [-i IN_PORT] [-o OUT_PORT[,OUT_PORT...]] [-k K] [-e E] [-n N]
 *           [-r RATE] [-s SIZE] [-S STALLED] [-T SECONDS] [-p HUB_PID] [-A] [-F]
 *
 * Eaters go to the eater ports in turn (several hubs of a federation).
 * -n is dumplings per kitchen, -r a steady rate per kitchen (0: flat out),
 * -S adds eaters that say hello and then never read, -A has eaters ask
 * for every chef (the hub's status dumplings too), -F measures, with no
 * hub, what the kernel takes to send one dumpling to E loopback sockets
 * from one thread (the floor of a fan-out's latency here), -T bounds the time
 * kitchens send (default 60 s; the run ends at most 5 s after). Up to 1024
 * kitchens and 4096 eaters (mind ulimit -n), dumplings of 150 bytes to
 * 100 KB. Given the hub's pid, it also reports the hub's CPU time per
 * delivery over the run.
 *
 * It speaks just enough WebSocket over plain sockets to be cheaper than the
 * hub it measures: each kitchen is a thread writing many frames per
 * write(), and one thread reads every eater in large reads and walks the
 * frames in place. A generator built on a general WebSocket library spent
 * several times the hub's CPU per dumpling, and so measured itself. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define HIST_BUCKETS 100000	/* 10 us buckets up to 1 s */
#define HIST_US 10
#define BATCH 65536
#define READ_BUF (256 * 1024)
#define KITCHEN_NICE 10
#define EATER_RCVBUF (4 << 20)
#define MAX_SIZE 100000
#define MAX_FRAME (MAX_SIZE + 14)

struct load {
	const char *addr;
	int in_port, kitchens, eaters, stalled, size;
	int out_ports[8], nout;
	long per_kitchen;
	double rate;
	int hub_pid;
	int all_chefs;
	int floor;
	double seconds;
	double hub_cpu;			/* the hub's CPU seconds at the start */
	char *pad;
	long expected;
	/* the eater thread's */
	long delivered;
	uint64_t *hist;
	double t_last;
	/* shared */
	_Atomic double t_first;		/* the first send */
	pthread_barrier_t ready, go;	/* every kitchen has said hello; send */
	_Atomic double t_stop;		/* kitchens send until then */
	_Atomic int kitchens_done;
	_Atomic long sent;		/* by the kitchens that are done */
};

static struct load L;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "hubload: %s: %s\n", what, errno ? strerror(errno) : "failed");
	exit(1);
}

/* ---- the socket and the handshake ----------------------------------------- */

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write to the hub");
		p += n;
		len -= (size_t)n;
	}
}

/* A text frame as a client sends it: masked, with a zero key, so the
 * payload stays as it is (RFC 6455 allows any key). */
static size_t frame(unsigned char *p, const char *msg, size_t n)
{
	size_t h = 0;

	p[h++] = 0x81;
	if (n < 126) {
		p[h++] = 0x80 | (unsigned char)n;
	} else if (n < 65536) {
		p[h++] = 0x80 | 126;
		p[h++] = (unsigned char)(n >> 8);
		p[h++] = (unsigned char)n;
	} else {
		p[h++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			p[h++] = (unsigned char)((uint64_t)n >> (8 * i));
	}
	memset(p + h, 0, 4);
	memcpy(p + h + 4, msg, n);
	return h + 4 + n;
}

static void send_text(int fd, const char *msg)
{
	unsigned char buf[512];

	write_all(fd, buf, frame(buf, msg, strlen(msg)));
}

/* Connect and upgrade; bytes read past the response go to *extra. */
static int ws_open(int port, int eater, char *extra, size_t *extra_len)
{
	char req[256], resp[4096], service[16];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	size_t got = 0;
	char *end;
	int fd, one = 1, rcvbuf = EATER_RCVBUF;

	snprintf(service, sizeof service, "%d", port);
	if (getaddrinfo(L.addr, service, &hints, &ai) != 0)
		die("resolve the hub's address");
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	/* an eater's window as large as a real client's would grow to, from the
	 * start: one that must grow first stalls behind many kitchens */
	if (fd >= 0 && eater)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		die("connect to the hub");
	/* a dumpling at a time at a steady rate: Nagle would hold them back */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	freeaddrinfo(ai);
	snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
		 "Connection: Upgrade\r\nSec-WebSocket-Key: aHVibG9hZCBsb2FkIGtleQ==\r\n"
		 "Sec-WebSocket-Version: 13\r\n\r\n", L.addr, port);
	write_all(fd, req, strlen(req));
	while (!(end = memmem(resp, got, "\r\n\r\n", 4))) {
		ssize_t n = read(fd, resp + got, sizeof resp - got);

		if (n <= 0)
			die("read the hub's handshake");
		got += (size_t)n;
	}
	if (strncmp(resp, "HTTP/1.1 101", 12)) {
		errno = 0;
		die("the hub refused the upgrade");
	}
	*extra_len = got - (size_t)(end + 4 - resp);
	memcpy(extra, end + 4, *extra_len);
	return fd;
}

/* ---- kitchens ------------------------------------------------------------------ */

static char *put_u64(char *p, uint64_t v)
{
	char tmp[24];
	int n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while (v /= 10);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *put_str(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

/* One dumpling, its times written as integers (the creation time as
 * seconds and six decimals), so that neither side spends its time
 * formatting or parsing floating point. */
static size_t dumpling(char *msg, long seq)
{
	uint64_t t = now_ns(), us = t / 1000 % 1000000;
	char *p = msg;

	p = put_str(p, "{\"metadata\":{\"chef\":\"BenchChef\",\"kitchen\":\"bench\","
		       "\"creation_time\":");
	p = put_u64(p, t / 1000000000u);
	*p++ = '.';
	for (int i = 5; i >= 0; i--, us /= 10)
		p[i] = (char)('0' + us % 10);
	p += 6;
	p = put_str(p, ",\"driver\":\"packet\"},\"payload\":{\"t\":");
	p = put_u64(p, t);
	p = put_str(p, ",\"seq\":");
	p = put_u64(p, (uint64_t)seq);
	p = put_str(p, ",\"pad\":\"");
	p = put_str(p, L.pad);
	p = put_str(p, "\"}}");
	return (size_t)(p - msg);
}

static void wait_until(double t)
{
	double d = t - now_s();
	struct timespec ts;

	if (d <= 0)
		return;
	ts.tv_sec = (time_t)d;
	ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

static void *kitchen_run(void *arg)
{
	static const char hello[] = "{\"kitchen_name\":\"bench\",\"interface\":\"load\","
				    "\"filter\":\"\",\"chefs\":[\"BenchChef\"],\"poke_interval\":5}";
	unsigned char *buf = malloc(BATCH + MAX_FRAME);
	char extra[4096], *msg = malloc(MAX_FRAME);
	size_t extra_len;
	double start;
	long seq = 0;
	int fd = ws_open(L.in_port, 0, extra, &extra_len);

	(void)arg;
	/* Below the eater thread: with many kitchen threads flat out, the
	 * scheduler would give the one thread reading every eater a share of
	 * the machine per kitchen, and the run would measure hubload. */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), KITCHEN_NICE);
	send_text(fd, hello);
	/* all start at once: a thousand connections take a while to open, and
	 * the first kitchen's rate alone would be taken for theirs */
	pthread_barrier_wait(&L.ready);
	pthread_barrier_wait(&L.go);
	start = now_s();
	if (L.t_first == 0)
		L.t_first = start;
	while (seq < L.per_kitchen && now_s() < L.t_stop) {
		size_t used = 0;
		/* at a steady rate, what is due now (at least one, then wait) */
		long due = L.rate > 0 ? (long)((now_s() - start) * L.rate) + 1 : L.per_kitchen;

		while (seq < L.per_kitchen && seq < due && used < BATCH)
			used += frame(buf + used, msg, dumpling(msg, seq++));
		if (used)
			write_all(fd, buf, used);
		if (L.rate > 0 && seq >= due)
			wait_until(start + (double)seq / L.rate);
	}
	L.sent += seq;
	L.kitchens_done++;
	free(msg);
	free(buf);
	return (void *)(intptr_t)fd;	/* left open: the hub keeps the kitchen */
}

/* ---- eaters -------------------------------------------------------------------- */

struct eater {
	int fd;
	unsigned char *buf;
	size_t len;
};

static void record(const unsigned char *msg, size_t n)
{
	const unsigned char *t = memmem(msg, n, "\"t\":", 4);
	uint64_t sent = 0;
	long b;

	if (!t)
		return;		/* not ours */
	for (t += 4; t < msg + n && *t >= '0' && *t <= '9'; t++)
		sent = sent * 10 + (uint64_t)(*t - '0');
	b = (long)((double)(now_ns() - sent) / 1000.0 / HIST_US);
	if (b >= HIST_BUCKETS)
		b = HIST_BUCKETS - 1;
	L.hist[b < 0 ? 0 : b]++;
	L.delivered++;
}

/* Walk the whole frames in e->buf (a server's: never masked); keep a
 * partial one for the next read. */
static void eat_frames(struct eater *e)
{
	size_t off = 0;

	for (;;) {
		const unsigned char *p = e->buf + off;
		size_t left = e->len - off, h = 2, n;

		if (left < 2)
			break;
		n = p[1] & 0x7f;
		if (n == 126) {
			if (left < 4)
				break;
			n = (size_t)p[2] << 8 | p[3];
			h = 4;
		} else if (n == 127) {
			if (left < 10)
				break;
			n = 0;
			for (int i = 0; i < 8; i++)
				n = n << 8 | p[2 + i];
			h = 10;
		}
		if (left < h + n)
			break;
		if ((p[0] & 0x0f) == 1 && (p[0] & 0x80))
			record(p + h, n);
		off += h + n;
	}
	memmove(e->buf, e->buf + off, e->len - off);
	e->len -= off;
}

/* -o PORT[,PORT...] */
static void eater_ports(const char *arg)
{
	const char *p = arg;

	L.nout = 0;
	while (*p && L.nout < (int)(sizeof L.out_ports / sizeof *L.out_ports)) {
		L.out_ports[L.nout++] = atoi(p);
		p += strcspn(p, ",");
		p += *p == ',';
	}
	if (!L.nout)
		die("-o: expected PORT[,PORT...]");
}

static int eater_open(struct eater *e, int i, int stalled)
{
	char extra[4096];
	size_t extra_len;

	e->fd = ws_open(L.out_ports[i % L.nout], 1, extra, &extra_len);
	send_text(e->fd, stalled ? "{\"eater_name\":\"stalled\"}"
			 : L.all_chefs ? "{\"eater_name\":\"hubload\"}"
			 : "{\"eater_name\":\"hubload\",\"chefs\":[\"BenchChef\"]}");
	if (stalled)
		return e->fd;
	e->buf = malloc(READ_BUF + MAX_FRAME);
	memcpy(e->buf, extra, extra_len);
	e->len = extra_len;
	return e->fd;
}

/* Read until everything arrived, or nothing for 5 s once sending ended. */
static void eat_all(struct eater *es)
{
	struct pollfd *pfd = calloc((size_t)L.eaters, sizeof *pfd);
	double quiet_since = now_s();

	for (int i = 0; i < L.eaters; i++)
		pfd[i] = (struct pollfd){ es[i].fd, POLLIN, 0 };
	while (L.delivered < L.expected) {
		int n = poll(pfd, (nfds_t)L.eaters, 100);

		if (n < 0 && errno != EINTR)
			die("poll");
		if (n <= 0) {
			if (L.kitchens_done == L.kitchens && now_s() - quiet_since > 5)
				break;
			if (now_s() > L.t_stop + 5)
				break;
			continue;
		}
		for (int i = 0; i < L.eaters; i++) {
			struct eater *e = &es[i];
			ssize_t got;

			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			got = read(e->fd, e->buf + e->len, READ_BUF + MAX_FRAME - e->len);
			if (got <= 0) {
				pfd[i].fd = -1;	/* the hub closed it */
				continue;
			}
			e->len += (size_t)got;
			eat_frames(e);
		}
		L.t_last = quiet_since = now_s();
		/* a kitchen stopped by -T sent fewer than -n */
		if (L.kitchens_done == L.kitchens)
			L.expected = L.sent * L.eaters;
		if (quiet_since > L.t_stop + 5)
			break;
	}
	free(pfd);
}

/* ---- the report ------------------------------------------------------------------ */

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

/* The hub's CPU time so far (user and system), in seconds, or -1. */
static double cpu_seconds(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* past the command's name, which may hold spaces: state is field 3 */
	if (!(p = strrchr(buf, ')')) ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double percentile(double p)
{
	uint64_t want = (uint64_t)(p * (double)L.delivered), seen = 0;

	for (long b = 0; b < HIST_BUCKETS; b++) {
		seen += L.hist[b];
		if (seen > want)
			return (double)(b + 0.5) * HIST_US / 1000.0;
	}
	return HIST_BUCKETS * HIST_US / 1000.0;
}

static void report(void)
{
	double el = L.t_last - L.t_first;

	printf("kitchens %d eaters %d stalled %d size %d: %ld/%ld delivered in %.3f s = %.0f/s, "
	       "p50 %.3f ms, p99 %.3f ms", L.kitchens, L.eaters, L.stalled, L.size,
	       L.delivered, L.expected, el, el > 0 ? (double)L.delivered / el : 0,
	       percentile(0.5), percentile(0.99));
	if (L.delivered < L.expected)	/* skipped by the hub, or still queued */
		printf(", %ld not delivered", L.expected - L.delivered);
	if (L.hub_pid) {
		double cpu = cpu_seconds(L.hub_pid) - L.hub_cpu;

		printf(", hub VmHWM %ld KiB", hwm_kib(L.hub_pid));
		if (L.delivered)
			printf(", hub CPU %.3f s = %.3f us/delivery", cpu,
			       cpu * 1e6 / (double)L.delivered);
	}
	putchar('\n');
}

/* ---- the floor ------------------------------------------------------------------- */

#define FLOOR_ROUNDS 200

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One frame of SIZE bytes to each of E sockets, a round at a time, as a hub
 * fans a dumpling out: what the median eater waits for is half a round.
 * The receivers never read: FLOOR_ROUNDS frames fit their buffers. */
static void measure_floor(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	int *tx = calloc((size_t)L.eaters, sizeof *tx), *rx = calloc((size_t)L.eaters, sizeof *rx);
	unsigned char *msg = calloc(1, (size_t)L.size);
	double rounds[FLOOR_ROUNDS];

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 4096) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) < 0)
		die("listen on loopback");
	for (int i = 0; i < L.eaters; i++) {
		rx[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (rx[i] < 0 || connect(rx[i], (struct sockaddr *)&a, sizeof a) < 0 ||
		    (tx[i] = accept(lfd, NULL, NULL)) < 0)
			die("connect a loopback pair");
		setsockopt(tx[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	for (int r = 0; r < FLOOR_ROUNDS; r++) {
		double t0 = now_s();

		for (int i = 0; i < L.eaters; i++)
			if (send(tx[i], msg, (size_t)L.size, 0) != L.size)
				die("send to a loopback socket");
		rounds[r] = now_s() - t0;
	}
	qsort(rounds, FLOOR_ROUNDS, sizeof rounds[0], cmp_double);
	printf("floor: one %d-byte send to each of %d loopback sockets takes %.3f ms "
	       "(median of %d), so p50 >= %.3f ms\n", L.size, L.eaters,
	       rounds[FLOOR_ROUNDS / 2] * 1e3, FLOOR_ROUNDS, rounds[FLOOR_ROUNDS / 2] * 1e3 / 2);
	exit(0);
}

static void usage(void)
{
	fprintf(stderr, "usage: hubload [-a ADDR] [-i IN_PORT] [-o OUT_PORT] [-k K] [-e E] "
		"[-n N] [-r RATE] [-s SIZE] [-S STALLED] [-T SECONDS] [-p HUB_PID] [-A] [-F]\n");
	exit(2);
}

static void parse(int argc, char **argv)
{
	int ch;

	L.addr = "127.0.0.1";
	L.in_port = 11347;
	L.out_ports[0] = 11348;
	L.nout = 1;
	L.kitchens = L.eaters = 1;
	L.per_kitchen = 100000;
	L.size = 200;
	L.seconds = 60;
	while ((ch = getopt(argc, argv, "a:i:o:k:e:n:r:s:S:T:p:AF")) != -1) {
		switch (ch) {
		case 'a': L.addr = optarg; break;
		case 'i': L.in_port = atoi(optarg); break;
		case 'o': eater_ports(optarg); break;
		case 'k': L.kitchens = atoi(optarg); break;
		case 'e': L.eaters = atoi(optarg); break;
		case 'n': L.per_kitchen = atol(optarg); break;
		case 'r': L.rate = atof(optarg); break;
		case 's': L.size = atoi(optarg); break;
		case 'S': L.stalled = atoi(optarg); break;
		case 'p': L.hub_pid = atoi(optarg); break;
		case 'T': L.seconds = atof(optarg); break;
		case 'A': L.all_chefs = 1; break;
		case 'F': L.floor = 1; break;
		default: usage();
		}
	}
	if (L.kitchens < 1 || L.kitchens > 1024 || L.eaters < 0 || L.eaters > 4096 ||
	    L.stalled < 0 || L.stalled > 4096 || L.per_kitchen < 1 || L.size < 150 ||
	    L.size > MAX_SIZE || !(L.seconds > 0 && L.seconds <= 3600))
		usage();
}

int main(int argc, char **argv)
{
	struct eater *eaters, *stalled;
	pthread_t *threads;
	pthread_attr_t attr;
	int padlen;

	parse(argc, argv);
	if (L.floor)
		measure_floor();
	padlen = L.size - 150;	/* the rest of the dumpling is ~150 bytes */
	L.pad = malloc((size_t)padlen + 1);
	memset(L.pad, 'x', (size_t)padlen);
	L.pad[padlen] = '\0';
	L.hist = calloc(HIST_BUCKETS, sizeof *L.hist);
	L.expected = L.per_kitchen * L.kitchens * L.eaters;
	eaters = calloc((size_t)L.eaters + 1, sizeof *eaters);
	stalled = calloc((size_t)L.stalled + 1, sizeof *stalled);
	for (int i = 0; i < L.eaters; i++)
		eater_open(&eaters[i], i, 0);
	for (int i = 0; i < L.stalled; i++)
		eater_open(&stalled[i], i, 1);
	/* let the hub register the hellos before anything is sent */
	wait_until(now_s() + 0.3 + (L.eaters + L.stalled + L.kitchens) / 2000.0);
	threads = calloc((size_t)L.kitchens, sizeof *threads);
	pthread_barrier_init(&L.ready, NULL, (unsigned)L.kitchens + 1);
	pthread_barrier_init(&L.go, NULL, (unsigned)L.kitchens + 1);
	/* a kitchen needs little stack, and there may be a thousand */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (int i = 0; i < L.kitchens; i++)
		if (pthread_create(&threads[i], &attr, kitchen_run, NULL) != 0)
			die("start a kitchen thread");
	pthread_barrier_wait(&L.ready);
	/* let the hub register the kitchens' hellos too */
	wait_until(now_s() + 0.1 + L.kitchens / 2000.0);
	if (L.hub_pid)
		L.hub_cpu = cpu_seconds(L.hub_pid);
	L.t_stop = now_s() + L.seconds;
	pthread_barrier_wait(&L.go);
	eat_all(eaters);
	if (L.kitchens_done == L.kitchens)
		L.expected = L.sent * L.eaters;
	report();
	for (int i = 0; i < L.kitchens; i++)
		pthread_join(threads[i], NULL);
	return 0;
}
