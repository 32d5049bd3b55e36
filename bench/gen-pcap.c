/*
 * gen-pcap: deterministic synthetic captures for the benchmark and the demo.
 *
 *   gen-pcap mix COUNT OUT.pcap   Ethernet/802.1Q, IPv4/IPv6, TCP, UDP, DNS,
 *                                 ARP, ICMP, ICMPv6; frames of 60-1514 bytes
 *   gen-pcap dns COUNT OUT.pcap   DNS queries and responses only
 *   gen-pcap sample OUT.pcap      ~200 packets of one laptop's life (README)
 *
 * The file is classic pcap (microseconds, little-endian, LINKTYPE_ETHERNET)
 * written by hand, so the tool needs no libpcap. The PRNG is our own with a
 * fixed seed, so the same arguments always give the same bytes on any host:
 * benchmark figures stay comparable between machines and runs. Every length
 * field is right and every checksum is computed, so tcpdump and tshark read
 * the captures as clean traffic.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EPOCH      1700000000u	/* 2023-11-14, first packet's timestamp */
#define SNAPLEN    65535
#define MTU        1500
#define MIN_FRAME  60		/* Ethernet minimum without the FCS */

enum { FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16 };
enum { P_ICMP = 1, P_TCP = 6, P_UDP = 17, P_ICMP6 = 58 };
enum { T_A = 1, T_NS = 2, T_CNAME = 5, T_SOA = 6, T_AAAA = 28, T_OPT = 41 };

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("gen-pcap: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* ---- randomness: xorshift64*, fixed seed ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545f4914f6cdd1dull) >> 32);
}

/* Uniform in [0, n) without division (Lemire's multiply-shift). */
static uint32_t below(uint32_t n)
{
	return (uint32_t)(((uint64_t)rnd() * n) >> 32);
}

static int chance(unsigned percent)
{
	return below(100) < percent;
}

/* FNV-1a: a name's answers derive from its hash, so they never vary. */
static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

/* ---- output: classic pcap ---- */

static FILE *out;
static const char *out_path;
static uint64_t now_us = (uint64_t)EPOCH * 1000000;
static unsigned long written;

static void le16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static void le32(uint8_t *p, uint32_t v)
{
	le16(p, v & 0xffff);
	le16(p + 2, v >> 16);
}

static void out_write(const void *buf, size_t n)
{
	if (fwrite(buf, 1, n, out) != n)
		die("%s: %s", out_path, strerror(errno));
}

static void pcap_open(const char *path)
{
	uint8_t h[24];

	out_path = path;
	if (!(out = fopen(path, "wb")))
		die("%s: %s", path, strerror(errno));
	setvbuf(out, NULL, _IOFBF, 1 << 20);
	le32(h, 0xa1b2c3d4);
	le16(h + 4, 2);
	le16(h + 6, 4);
	le32(h + 8, 0);		/* thiszone */
	le32(h + 12, 0);	/* sigfigs */
	le32(h + 16, SNAPLEN);
	le32(h + 20, 1);	/* LINKTYPE_ETHERNET */
	out_write(h, sizeof h);
}

static void pcap_record(const uint8_t *frame, size_t len)
{
	uint8_t h[16];

	le32(h, (uint32_t)(now_us / 1000000));
	le32(h + 4, (uint32_t)(now_us % 1000000));
	le32(h + 8, (uint32_t)len);
	le32(h + 12, (uint32_t)len);
	out_write(h, sizeof h);
	out_write(frame, len);
	written++;
}

static void pcap_close(void)
{
	if (fclose(out) != 0)
		die("%s: %s", out_path, strerror(errno));
}

/* ---- frame building: headers appended in order, lengths fixed at the end ---- */

struct host {
	uint8_t mac[6];		/* for an off-link host: the router's */
	uint32_t ip4;
	uint8_t ip6[16];
	uint16_t vlan;		/* 802.1Q VLAN id of its link, 0 if untagged */
	uint8_t ttl;		/* as seen on arrival, so remote hosts look remote */
};

struct pkt {
	uint8_t b[2048];
	size_t len;
	size_t l3, l4;		/* offsets of the network and transport headers */
	int net;		/* 4, 6, or 0 for ARP */
	uint8_t proto;
};

static void put(struct pkt *p, const void *m, size_t n)
{
	if (n == 0)		/* m may be NULL then, which memcpy forbids */
		return;
	if (p->len + n > sizeof p->b)
		die("internal error: frame overflow");
	memcpy(p->b + p->len, m, n);
	p->len += n;
}

static void put8(struct pkt *p, unsigned v)
{
	uint8_t b = (uint8_t)v;

	put(p, &b, 1);
}

static void put16(struct pkt *p, unsigned v)
{
	put8(p, v >> 8);
	put8(p, v);
}

static void put32(struct pkt *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p, v & 0xffff);
}

static void set16(struct pkt *p, size_t off, unsigned v)
{
	p->b[off] = (uint8_t)(v >> 8);
	p->b[off + 1] = (uint8_t)v;
}

static void eth(struct pkt *p, const uint8_t *dst, const uint8_t *src,
		uint16_t vlan, uint16_t type)
{
	p->len = 0;
	put(p, dst, 6);
	put(p, src, 6);
	if (vlan) {
		put16(p, 0x8100);
		put16(p, (vlan % 7) << 13 | vlan);	/* some priority, why not */
	}
	put16(p, type);
}

/* Ethernet + IPv4/IPv6 from src to dst; a tagged link tags both directions. */
static void ip_begin(struct pkt *p, const struct host *src,
		     const struct host *dst, int v6, uint8_t proto)
{
	eth(p, dst->mac, src->mac, src->vlan ? src->vlan : dst->vlan,
	    v6 ? 0x86dd : 0x0800);
	p->l3 = p->len;
	p->net = v6 ? 6 : 4;
	p->proto = proto;
	if (v6) {
		put32(p, 0x60000000u | below(1u << 20));
		put16(p, 0);		/* payload length, set in finish() */
		put8(p, proto);
		put8(p, src->ttl);
		put(p, src->ip6, 16);
		put(p, dst->ip6, 16);
	} else {
		put16(p, 0x4500);
		put16(p, 0);		/* total length, set in finish() */
		put16(p, below(65536));
		put16(p, 0x4000);	/* DF */
		put8(p, src->ttl);
		put8(p, proto);
		put16(p, 0);
		put32(p, src->ip4);
		put32(p, dst->ip4);
	}
	p->l4 = p->len;
}

static uint32_t sum16(const uint8_t *d, size_t n, uint32_t s)
{
	for (; n > 1; d += 2, n -= 2)
		s += (uint32_t)d[0] << 8 | d[1];
	if (n)
		s += (uint32_t)d[0] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint32_t pseudo_sum(const struct pkt *p, size_t l4len)
{
	const uint8_t *ip = p->b + p->l3;

	if (p->net == 6)
		return sum16(ip + 8, 32, 0) + (uint32_t)(l4len >> 16) +
		       (uint32_t)(l4len & 0xffff) + p->proto;
	return sum16(ip + 12, 8, 0) + (uint32_t)l4len + p->proto;
}

/* Fill in lengths and checksums, pad to the Ethernet minimum, write. */
static void finish(struct pkt *p)
{
	size_t l4len = p->len - p->l4, ck;
	uint16_t c;

	if (p->net == 4) {
		set16(p, p->l3 + 2, (unsigned)(p->len - p->l3));
		set16(p, p->l3 + 10, fold(sum16(p->b + p->l3, 20, 0)));
	} else if (p->net == 6) {
		set16(p, p->l3 + 4, (unsigned)l4len);
	}
	if (p->net) {
		switch (p->proto) {
		case P_UDP:
			set16(p, p->l4 + 4, (unsigned)l4len);
			ck = 6;
			break;
		case P_TCP:
			ck = 16;
			break;
		default:
			ck = 2;
			break;
		}
		c = fold(sum16(p->b + p->l4, l4len,
			       p->proto == P_ICMP ? 0 : pseudo_sum(p, l4len)));
		if (p->proto == P_UDP && c == 0)
			c = 0xffff;	/* 0 would mean "no checksum" */
		set16(p, p->l4 + ck, c);
	}
	while (p->len < MIN_FRAME)
		put8(p, 0);
	pcap_record(p->b, p->len);
}

/* ---- payload material ---- */

static uint8_t noise[4096];

static const uint8_t *random_bytes(size_t n)
{
	if (n > sizeof noise / 2)
		die("internal error: payload of %zu bytes", n);
	return noise + below(sizeof noise / 2);
}

/* Most data segments fill the MSS; the rest spread the sizes evenly. */
static size_t pick_size(size_t max)
{
	return chance(35) ? max : 1 + below((uint32_t)max);
}

/* ---- DNS messages, with real name compression ---- */

struct dnsw {
	struct pkt *p;
	size_t start;			/* offset of the DNS header in the frame */
	char arena[1024];		/* copies of the names written so far */
	size_t used;
	int n;
	struct {
		const char *name;	/* a suffix inside arena */
		uint16_t off;		/* its offset in the message */
	} sfx[48];
};

static void dns_name(struct dnsw *w, const char *name)
{
	size_t len = strlen(name) + 1;
	const char *s;

	if (w->used + len > sizeof w->arena)
		die("internal error: DNS name arena full");
	s = memcpy(w->arena + w->used, name, len);
	w->used += len;
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s), off;

		for (int i = 0; i < w->n; i++)
			if (!strcmp(w->sfx[i].name, s)) {
				put16(w->p, 0xc000 | w->sfx[i].off);
				return;
			}
		off = w->p->len - w->start;
		if (w->n < (int)(sizeof w->sfx / sizeof w->sfx[0]) && off < 0x3fff) {
			w->sfx[w->n].name = s;
			w->sfx[w->n++].off = (uint16_t)off;
		}
		put8(w->p, (unsigned)l);
		put(w->p, s, l);
		s += l + (dot != NULL);
	}
	put8(w->p, 0);
}

/* Resource record header; returns where RDLENGTH goes. */
static size_t dns_rr(struct dnsw *w, const char *owner, unsigned type,
		     unsigned class, uint32_t ttl)
{
	dns_name(w, owner);
	put16(w->p, type);
	put16(w->p, class);
	put32(w->p, ttl);
	put16(w->p, 0);
	return w->p->len - 2;
}

static void dns_rdlen(struct dnsw *w, size_t at)
{
	set16(w->p, at, (unsigned)(w->p->len - at - 2));
}

static const char *const cdns[] = {
	"akamaiedge.net", "cloudfront.net", "fastly.net", "edgekey.net",
};

/*
 * Answers derive from the name's hash: a third of names sit behind a CNAME
 * into their own domain (compressed against the question), a ninth chain on
 * to a CDN name, 1-3 addresses at the end.
 */
static void dns_answers(struct dnsw *w, const char *qname, unsigned qtype,
			uint32_t h, uint16_t *ancount)
{
	char target[2][128];
	const char *owner = qname, *parent = strchr(qname, '.');
	uint32_t ttl = 60 + h % 3540;
	int depth = h % 9 == 0 ? 2 : h % 3 == 0 ? 1 : 0;
	unsigned naddr = 1 + (h >> 8) % 3;

	snprintf(target[0], sizeof target[0], "cdn%u.%s", h % 10,
		 parent && strchr(parent + 1, '.') ? parent + 1 : qname);
	snprintf(target[1], sizeof target[1], "e%u.a.%s", (h >> 4) % 10000,
		 cdns[(h >> 12) % 4]);
	for (int i = 0; i < depth; i++) {
		size_t at = dns_rr(w, owner, T_CNAME, 1, ttl);

		dns_name(w, target[i]);
		dns_rdlen(w, at);
		owner = target[i];
		++*ancount;
	}
	for (unsigned i = 0; i < naddr; i++) {
		size_t at = dns_rr(w, owner, qtype, 1, ttl);
		uint32_t a = (h + i * 40503u) * 2654435761u;

		if (qtype == T_A) {
			static const uint8_t nets[][3] = {
				{ 192, 0, 2 }, { 198, 51, 100 }, { 203, 0, 113 },
			};
			put(w->p, nets[a % 3], 3);
			put8(w->p, 1 + (a >> 8) % 254);
		} else {
			put32(w->p, 0x20010db8);
			put32(w->p, a & 0xffff);
			put32(w->p, 0);
			put32(w->p, 1 + (a >> 16));
		}
		dns_rdlen(w, at);
		++*ancount;
	}
}

static void dns_soa(struct dnsw *w, const char *qname, uint32_t h)
{
	const char *tld = strrchr(qname, '.');
	char mname[80], rname[80];
	size_t at;

	tld = tld ? tld + 1 : qname;
	snprintf(mname, sizeof mname, "a.nic.%s", tld);
	snprintf(rname, sizeof rname, "hostmaster.nic.%s", tld);
	at = dns_rr(w, tld, T_SOA, 1, 900);
	dns_name(w, mname);
	dns_name(w, rname);
	put32(w->p, 2023110000 + h % 100);
	put32(w->p, 1800);
	put32(w->p, 900);
	put32(w->p, 604800);
	put32(w->p, 86400);
	dns_rdlen(w, at);
}

/* One name in nx_one_in gets NXDOMAIN (0: none, for the sample); names
 * under .lan never exist, like the wpad lookups of home machines. */
static unsigned nx_one_in = 31;

static int name_missing(const char *name, uint32_t h)
{
	size_t n = strlen(name);

	return (nx_one_in && h % nx_one_in == 0) ||
	       (n > 4 && !strcmp(name + n - 4, ".lan"));
}

/* One DNS message appended to the frame (after a UDP header). */
static void dns_message(struct pkt *p, uint16_t id, int response,
			const char *qname, unsigned qtype, int edns)
{
	static struct dnsw w;	/* 2 KiB, and never re-entered */
	uint32_t h = hash(qname);
	int nx = response && name_missing(qname, h);
	uint16_t an = 0;

	w.p = p;
	w.start = p->len;
	w.used = 0;
	w.n = 0;
	put16(p, id);
	put16(p, response ? 0x8180 | (nx ? 3 : 0) : 0x0100);
	put16(p, 1);
	put16(p, 0);		/* ANCOUNT, known at the end */
	put16(p, nx);
	put16(p, edns);
	dns_name(&w, qname);
	put16(p, qtype);
	put16(p, 1);
	if (response && !nx)
		dns_answers(&w, qname, qtype, h, &an);
	if (nx)
		dns_soa(&w, qname, h);
	if (edns) {		/* OPT pseudo-RR: root name, UDP size 1232 */
		put8(p, 0);
		put16(p, T_OPT);
		put16(p, 1232);
		put32(p, 0);
		put16(p, 0);
	}
	set16(p, w.start + 6, an);
}

struct query {
	const struct host *cli, *srv;
	const char *name;
	int v6;
	uint16_t sport, id, qtype;
};

static void dns_packet(const struct query *q, int response)
{
	struct pkt p;

	ip_begin(&p, response ? q->srv : q->cli, response ? q->cli : q->srv,
		 q->v6, P_UDP);
	put16(&p, response ? 53 : q->sport);
	put16(&p, response ? q->sport : 53);
	put32(&p, 0);		/* length and checksum, set in finish() */
	dns_message(&p, q->id, response, q->name, q->qtype, q->id % 3 != 0);
	finish(&p);
}

/* ---- TCP conversations ---- */

struct flow {
	const struct host *cli, *srv;
	int v6;
	uint16_t sport, dport;
	uint32_t cseq, sseq;	/* next sequence number of each side */
	int stage, left, requested, responded;
	int fresh[2];		/* [1]: the client has data to acknowledge, [0]: the server */
	const char *host;	/* for the HTTP Host header and TLS SNI */
};

static void tcp_segment(struct flow *f, int from_cli, unsigned flags,
			const void *data, size_t n)
{
	struct pkt p;
	uint32_t *seq = from_cli ? &f->cseq : &f->sseq;

	ip_begin(&p, from_cli ? f->cli : f->srv, from_cli ? f->srv : f->cli,
		 f->v6, P_TCP);
	put16(&p, from_cli ? f->sport : f->dport);
	put16(&p, from_cli ? f->dport : f->sport);
	put32(&p, *seq);
	put32(&p, flags & ACK ? (from_cli ? f->sseq : f->cseq) : 0);
	put8(&p, (flags & SYN ? 7 : 5) << 4);
	put8(&p, flags);
	put16(&p, from_cli ? 64240 : 65160);
	put32(&p, 0);		/* checksum, urgent pointer */
	if (flags & SYN) {	/* MSS, NOP, NOP, SACK permitted */
		static const uint8_t opt[] = { 2, 4, 0x05, 0xb4, 1, 1, 4, 2 };
		put(&p, opt, sizeof opt);
	}
	put(&p, data, n);
	*seq += (uint32_t)n + ((flags & (SYN | FIN)) != 0);
	f->fresh[from_cli] = 0;
	if (n)
		f->fresh[!from_cli] = 1;
	finish(&p);
}

static size_t tcp_mss(const struct flow *f)
{
	return MTU - (f->v6 ? 40 : 20) - 20;
}

static size_t http_request(uint8_t *b, size_t cap, const char *host)
{
	int n = snprintf((char *)b, cap,
			 "GET / HTTP/1.1\r\nHost: %s\r\n"
			 "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n", host);

	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

static size_t http_response(uint8_t *b, size_t cap, const char *host)
{
	int n = snprintf((char *)b, cap,
			 "HTTP/1.1 301 Moved Permanently\r\n"
			 "Location: https://%s/\r\nContent-Length: 0\r\n"
			 "Connection: close\r\n\r\n", host);

	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

static void be16(uint8_t *b, size_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

/* A TLS 1.3 ClientHello with SNI, as a browser would send it. */
static size_t tls_client_hello(uint8_t *b, const char *host)
{
	static const uint8_t suites[] = {
		0, 8, 0x13, 0x01, 0x13, 0x02, 0x13, 0x03, 0xc0, 0x2f,
	};
	static const uint8_t exts[] = {
		0x00, 0x0a, 0, 6, 0, 4, 0x00, 0x1d, 0x00, 0x17,	/* groups */
		0x00, 0x0d, 0, 8, 0, 6, 4, 3, 8, 4, 4, 1,	/* sig algs */
		0x00, 0x10, 0, 14, 0, 12, 2, 'h', '2',		/* ALPN */
		8, 'h', 't', 't', 'p', '/', '1', '.', '1',
		0x00, 0x2b, 0, 5, 4, 3, 4, 3, 3,		/* versions */
		0x00, 0x33, 0, 38, 0, 36, 0x00, 0x1d, 0, 32,	/* key share */
	};
	size_t hl = strlen(host), n = 0, ext;

	b[n++] = 0x16;		/* record: handshake, TLS 1.0 for compatibility */
	b[n++] = 3;
	b[n++] = 1;
	n += 2;
	b[n++] = 1;		/* ClientHello */
	n += 3;
	b[n++] = 3;
	b[n++] = 3;
	memcpy(b + n, random_bytes(32), 32);	/* random */
	n += 32;
	b[n++] = 32;		/* legacy session id */
	memcpy(b + n, random_bytes(32), 32);
	n += 32;
	memcpy(b + n, suites, sizeof suites);
	n += sizeof suites;
	b[n++] = 1;		/* compression: null */
	b[n++] = 0;
	ext = n;
	n += 2;
	be16(b + n, 0);		/* server_name */
	be16(b + n + 2, hl + 5);
	be16(b + n + 4, hl + 3);
	b[n + 6] = 0;
	be16(b + n + 7, hl);
	memcpy(b + n + 9, host, hl);
	n += 9 + hl;
	memcpy(b + n, exts, sizeof exts);
	n += sizeof exts;
	memcpy(b + n, random_bytes(32), 32);	/* x25519 public key */
	n += 32;
	be16(b + ext, n - ext - 2);
	be16(b + 3, n - 5);
	b[6] = 0;
	be16(b + 7, n - 9);
	return n;
}

/* ServerHello + ChangeCipherSpec + encrypted records, in one segment. */
static size_t tls_server_hello(uint8_t *b, size_t appdata)
{
	static const uint8_t exts[] = {
		0, 46,				/* extensions length */
		0x00, 0x2b, 0, 2, 3, 4,		/* TLS 1.3 */
		0x00, 0x33, 0, 36, 0x00, 0x1d, 0, 32,
	};
	static const uint8_t ccs[] = { 0x14, 3, 3, 0, 1, 1 };
	size_t n = 0;

	b[n++] = 0x16;
	b[n++] = 3;
	b[n++] = 3;
	be16(b + n, 4 + 2 + 32 + 1 + 32 + 3 + sizeof exts + 32);
	n += 2;
	b[n++] = 2;		/* ServerHello */
	b[n++] = 0;
	be16(b + n, 2 + 32 + 1 + 32 + 3 + sizeof exts + 32);
	n += 2;
	b[n++] = 3;
	b[n++] = 3;
	memcpy(b + n, random_bytes(32), 32);
	n += 32;
	b[n++] = 32;
	memcpy(b + n, random_bytes(32), 32);
	n += 32;
	b[n++] = 0x13;		/* TLS_AES_128_GCM_SHA256, no compression */
	b[n++] = 0x01;
	b[n++] = 0;
	memcpy(b + n, exts, sizeof exts);
	n += sizeof exts;
	memcpy(b + n, random_bytes(32), 32);
	n += 32;
	memcpy(b + n, ccs, sizeof ccs);
	n += sizeof ccs;
	b[n++] = 0x17;
	b[n++] = 3;
	b[n++] = 3;
	be16(b + n, appdata);
	n += 2;
	memcpy(b + n, random_bytes(appdata), appdata);
	return n + appdata;
}

/* Opaque data: a TLS application-data record on 443, raw bytes elsewhere. */
static size_t opaque_data(uint8_t *b, const struct flow *f, size_t n)
{
	if (f->dport == 443) {
		if (n < 6)
			n = 6;
		b[0] = 0x17;
		b[1] = 3;
		b[2] = 3;
		be16(b + 3, n - 5);
		memcpy(b + 5, random_bytes(n - 5), n - 5);
	} else {
		memcpy(b, random_bytes(n), n);
	}
	return n;
}

/* ---- the world of the mix and dns captures ---- */

#define NCLIENTS  256
#define NSERVERS  512
#define NNAMES    3000
#define NFLOWS    64
#define NPENDING  16

static struct host router, clients[NCLIENTS], servers[NSERVERS], resolvers[4];
static char names[NNAMES][48];

static const uint8_t router_mac[6] = { 0x00, 0x0d, 0xb9, 0x4a, 0x8c, 0x01 };

static void ip6(uint8_t *a, uint32_t w0, uint32_t w1, uint32_t w2, uint32_t w3)
{
	uint32_t w[4] = { w0, w1, w2, w3 };

	for (int i = 0; i < 16; i++)
		a[i] = (uint8_t)(w[i / 4] >> (24 - 8 * (i % 4)));
}

static void remote(struct host *h, uint32_t ip4, uint8_t ttl)
{
	memcpy(h->mac, router_mac, 6);
	h->ip4 = ip4;
	h->ttl = ttl;
	h->vlan = 0;
}

static void world_init(void)
{
	static const uint8_t ouis[][3] = {
		{ 0x3c, 0x22, 0xfb }, { 0xf4, 0x5c, 0x89 },
		{ 0x00, 0x1b, 0x21 }, { 0xb8, 0x27, 0xeb },
	};
	static const uint8_t first[] = { 23, 34, 52, 93, 104, 142, 151, 185, 199, 203 };
	static const char *const pre[] = {
		"www", "api", "cdn", "mail", "static", "img", "login", "m",
		"app", "news", "shop", "docs", "video", "assets", "auth", "ws",
	};
	static const char *const syl[] = {
		"blue", "red", "fox", "sky", "net", "cloud", "data", "byte",
		"star", "moon", "sun", "leaf", "rock", "wave", "fire", "ice",
		"gold", "iron", "zen", "pixel",
	};
	static const char *const tld[] = {
		"com", "net", "org", "io", "de", "co.uk", "fr", "jp",
	};

	for (size_t i = 0; i < sizeof noise; i++)
		noise[i] = (uint8_t)rnd();
	remote(&router, 0xc0a80101, 64);		/* 192.168.1.1 */
	ip6(router.ip6, 0x20010db8, 1, 0, 1);
	for (unsigned i = 0; i < NCLIENTS; i++) {
		struct host *c = &clients[i];
		uint32_t r = rnd();

		memcpy(c->mac, ouis[i % 4], 3);
		c->mac[3] = (uint8_t)r;
		c->mac[4] = (uint8_t)(r >> 8);
		c->mac[5] = (uint8_t)i;
		c->ip4 = 0xc0a80000 | (1 + i / 250) << 8 | (2 + i % 250);
		ip6(c->ip6, 0x20010db8, 1, 0, 0x1000 + i);
		c->vlan = i % 10 == 0 ? 100 + (i / 10) % 3 : 0;
		c->ttl = 64;
	}
	for (unsigned i = 0; i < NSERVERS; i++) {
		struct host *s = &servers[i];
		uint32_t r = rnd();

		remote(s, (uint32_t)first[i % 10] << 24 | (r & 0xffffff),
		       (uint8_t)(50 + r % 9));
		ip6(s->ip6, 0x2a0000b0 | (r >> 28), r, 0, i + 1);
	}
	remote(&resolvers[0], 0xc0a80101, 64);		/* the router */
	memcpy(resolvers[0].ip6, router.ip6, 16);
	remote(&resolvers[1], 0x08080808, 117);	/* 8.8.8.8 */
	ip6(resolvers[1].ip6, 0x20014860, 0x48600000, 0, 0x8888);
	remote(&resolvers[2], 0x01010101, 57);		/* 1.1.1.1 */
	ip6(resolvers[2].ip6, 0x26064700, 0x47000000, 0, 0x1111);
	remote(&resolvers[3], 0x09090909, 54);		/* 9.9.9.9 */
	ip6(resolvers[3].ip6, 0x26200fe0, 0, 0, 0xfe);
	/* 1237 is prime to 16 * 20 * 20, so j runs over distinct names while
	 * the popular (low) indexes still get varied ones */
	for (unsigned i = 0; i < NNAMES; i++) {
		unsigned j = i * 1237 % (16 * 20 * 20);

		snprintf(names[i], sizeof names[i], "%s.%s%s.%s", pre[j % 16],
			 syl[j / 16 % 20], syl[j / 320 % 20],
			 tld[(j * 7 + j / 16) % 8]);
	}
}

/* Popular names are asked for far more often than the long tail. */
static const char *pick_name(void)
{
	return names[(uint64_t)below(NNAMES) * below(NNAMES) / NNAMES];
}

/* DNS lookups in flight: a new query, or the answer to an earlier one. */
static struct query pending[NPENDING];
static unsigned npending;

static void dns_step(int v6_percent)
{
	struct query q;

	if (npending && (npending == NPENDING || chance(50))) {
		dns_packet(&pending[0], 1);
		memmove(pending, pending + 1, --npending * sizeof *pending);
		return;
	}
	q.cli = &clients[below(NCLIENTS)];
	q.srv = &resolvers[below(4)];
	q.v6 = chance(v6_percent);
	q.name = pick_name();
	q.sport = (uint16_t)(32768 + below(28232));
	q.id = (uint16_t)rnd();
	q.qtype = chance(70) ? T_A : T_AAAA;
	dns_packet(&q, 0);
	pending[npending++] = q;
}

static void flow_start(struct flow *f)
{
	f->cli = &clients[below(NCLIENTS)];
	f->srv = &servers[below(NSERVERS)];
	f->v6 = chance(20);
	f->sport = (uint16_t)(32768 + below(28232));
	f->dport = chance(70) ? 443 : 80;
	f->cseq = rnd();
	f->sseq = rnd();
	f->requested = 0;
	f->responded = 0;
	f->fresh[0] = f->fresh[1] = 0;
	f->host = pick_name();
}

/*
 * After the request the server does most of the talking. On port 80 the
 * client only acknowledges and the server's bytes are the body of one long
 * response, so the stream stays valid HTTP however many segments it runs.
 */
static void flow_data(struct flow *f)
{
	static const char head[] = "HTTP/1.1 200 OK\r\n"
		"Content-Type: application/octet-stream\r\n"
		"Content-Length: 1073741824\r\n\r\n";
	static uint8_t b[MTU];
	int from_cli = chance(30);
	size_t n;

	if (!f->requested) {	/* the client speaks first */
		f->requested = 1;
		n = f->dport == 443 ? tls_client_hello(b, f->host)
				    : http_request(b, sizeof b, f->host);
		tcp_segment(f, 1, PSH | ACK, b, n);
		return;
	}
	/* a pure ACK only ever acknowledges new data, as a real stack's does */
	if (chance(25) || (from_cli && f->dport == 80)) {
		int acker = f->fresh[1] ? 1 : f->fresh[0] ? 0 : -1;

		if (acker >= 0) {
			tcp_segment(f, acker, ACK, NULL, 0);
			return;
		}
	}
	if (f->dport == 80 && !f->responded) {
		f->responded = 1;
		n = pick_size(tcp_mss(f) - sizeof head);
		memcpy(b, head, sizeof head - 1);
		memcpy(b + sizeof head - 1, random_bytes(n), n);
		tcp_segment(f, 0, ACK, b, n + sizeof head - 1);
	} else if (f->dport == 80) {
		n = pick_size(tcp_mss(f));
		tcp_segment(f, 0, ACK, random_bytes(n), n);
	} else {
		n = opaque_data(b, f, pick_size(tcp_mss(f)));
		tcp_segment(f, from_cli, from_cli ? PSH | ACK : ACK, b, n);
	}
}

/* Each call advances one connection by exactly one segment. */
static void flow_step(struct flow *f)
{
	switch (f->stage) {
	case 0:
		flow_start(f);
		tcp_segment(f, 1, SYN, NULL, 0);
		break;
	case 1:
		tcp_segment(f, 0, SYN | ACK, NULL, 0);
		break;
	case 2:
		tcp_segment(f, 1, ACK, NULL, 0);
		f->left = 2 + (int)below(40);
		break;
	case 3:
		flow_data(f);
		if (--f->left > 0)
			return;
		break;
	case 4:
		if (chance(3)) {	/* some servers just reset */
			tcp_segment(f, 0, RST | ACK, NULL, 0);
			f->stage = 0;
			return;
		}
		tcp_segment(f, 1, FIN | ACK, NULL, 0);
		break;
	case 5:
		tcp_segment(f, 0, FIN | ACK, NULL, 0);
		break;
	default:
		tcp_segment(f, 1, ACK, NULL, 0);
		f->stage = 0;
		return;
	}
	f->stage++;
}

/*
 * Non-DNS UDP is WireGuard transport data on port 51820: any size in
 * 16-byte steps is valid, so frame sizes spread while tshark still reads
 * every datagram cleanly (random bytes on random ports trip its heuristic
 * dissectors). Client ports above 51820 keep 51820 the port tshark tries.
 */
static void udp_packet(void)
{
	const struct host *c = &clients[below(NCLIENTS)];
	const struct host *s = &servers[below(NSERVERS)];
	int v6 = chance(20), up = chance(50);
	uint16_t cport = (uint16_t)(51821 + c->mac[3] % 8000), sport = 51820;
	size_t max = (MTU - (v6 ? 40 : 20) - 8 - 32) / 16;
	size_t n = 16 * (chance(35) ? max : below((uint32_t)max + 1));
	uint8_t counter[8] = { 0 };	/* little-endian, as WireGuard sends it */
	struct pkt p;

	ip_begin(&p, up ? c : s, up ? s : c, v6, P_UDP);
	put16(&p, up ? cport : sport);
	put16(&p, up ? sport : cport);
	put32(&p, 0);
	put32(&p, 0x04000000);		/* message type 4: transport data */
	put32(&p, hash(up ? "s" : "c") ^ c->ip4);	/* receiver index */
	le32(counter, rnd() >> 12);
	put(&p, counter, sizeof counter);
	put(&p, random_bytes(n + 16), n + 16);	/* ciphertext and tag */
	finish(&p);
}

static void arp_packet(const struct host *from, const uint8_t *to_mac,
		       unsigned op, const struct host *target)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t zero[6];
	struct pkt p;

	eth(&p, op == 1 ? bcast : to_mac, from->mac, from->vlan, 0x0806);
	p.net = 0;
	put16(&p, 1);		/* Ethernet */
	put16(&p, 0x0800);	/* IPv4 */
	put8(&p, 6);
	put8(&p, 4);
	put16(&p, op);
	put(&p, from->mac, 6);
	put32(&p, from->ip4);
	put(&p, op == 1 ? zero : target->mac, 6);
	put32(&p, target->ip4);
	finish(&p);
}

/* Who-has from a client, then the reply from the router or a neighbour. */
static void arp_step(void)
{
	static const struct host *asker, *asked;

	if (asker) {
		arp_packet(asked, asker->mac, 2, asker);
		asker = NULL;
		return;
	}
	asker = &clients[below(NCLIENTS)];
	asked = chance(60) ? &router : &clients[below(NCLIENTS)];
	if (asked == asker)
		asked = &router;
	if (asked == &router) {	/* the router answers on the asker's VLAN */
		static struct host r;

		r = router;
		r.vlan = asker->vlan;
		asked = &r;
	}
	arp_packet(asker, NULL, 1, asked);
}

static void echo_packet(const struct host *from, const struct host *to,
			int v6, int reply, uint16_t id, uint16_t seq, size_t n)
{
	struct pkt p;

	ip_begin(&p, from, to, v6, v6 ? P_ICMP6 : P_ICMP);
	put8(&p, v6 ? (reply ? 129 : 128) : (reply ? 0 : 8));
	put8(&p, 0);
	put16(&p, 0);
	put16(&p, id);
	put16(&p, seq);
	put32(&p, (uint32_t)(now_us / 1000000));	/* like ping's timestamp */
	put32(&p, (uint32_t)(now_us % 1000000));
	put(&p, random_bytes(n - 8), n - 8);
	finish(&p);
}

/* An echo request, then its reply; one ping in ten is large. */
static void echo_step(int v6)
{
	static struct {
		const struct host *cli, *srv;
		size_t n;
		uint16_t seq;
		int open;
	} e[2];
	int k = v6 != 0;

	if (e[k].open) {
		echo_packet(e[k].srv, e[k].cli, v6, 1, 0x4d00 + k, e[k].seq, e[k].n);
		e[k].open = 0;
		return;
	}
	e[k].cli = &clients[below(NCLIENTS)];
	e[k].srv = &servers[below(NSERVERS)];
	e[k].n = chance(10) ? 64 + below(MTU - 40 - 8 - 64) : 56;
	e[k].seq++;
	e[k].open = 1;
	echo_packet(e[k].cli, e[k].srv, v6, 0, 0x4d00 + k, e[k].seq, e[k].n);
}

static void tick(uint32_t max_us)
{
	now_us += 1 + below(max_us);
}

static void gen_mix(unsigned long count)
{
	static struct flow flows[NFLOWS];

	world_init();
	while (written < count) {
		unsigned r = below(100);

		tick(1000);
		if (r < 55)
			flow_step(&flows[below(NFLOWS)]);
		else if (r < 67)
			udp_packet();
		else if (r < 87)
			dns_step(20);
		else if (r < 92)
			arp_step();
		else if (r < 98)
			echo_step(0);
		else
			echo_step(1);
	}
}

static void gen_dns(unsigned long count)
{
	world_init();
	while (written < count) {
		tick(1000);
		dns_step(10);
	}
}

/* ---- the README's sample: one laptop on a home network ---- */

static void sample_lookup(const struct host *me, const char *name, unsigned qtype)
{
	struct query q = {
		.cli = me, .srv = &router, .name = name, .qtype = (uint16_t)qtype,
		.sport = (uint16_t)(32768 + below(28232)), .id = (uint16_t)rnd(),
	};

	tick(2000);
	dns_packet(&q, 0);
	now_us += 8000 + below(20000);
	dns_packet(&q, 1);
}

static void sample_visit(const struct host *me, const char *name, int https)
{
	static uint8_t b[MTU];
	uint32_t h = hash(name);
	struct host srv = { .ttl = 0 };
	struct flow f = {
		.cli = me, .srv = &srv, .sport = (uint16_t)(32768 + below(28232)),
		.dport = https ? 443 : 80, .cseq = rnd(), .sseq = rnd(),
		.host = name,
	};
	uint32_t rtt = 10000 + h % 40000;
	size_t n;

	/* the address the first A answer gave (see dns_answers) */
	remote(&srv, 0, (uint8_t)(48 + h % 10));
	{
		static const uint32_t nets[] = { 0xc0000200, 0xc6336400, 0xcb007100 };
		uint32_t a = h * 2654435761u;

		srv.ip4 = nets[a % 3] | (1 + (a >> 8) % 254);
	}
	tick(3000);
	tcp_segment(&f, 1, SYN, NULL, 0);
	now_us += rtt;
	tcp_segment(&f, 0, SYN | ACK, NULL, 0);
	tick(300);
	tcp_segment(&f, 1, ACK, NULL, 0);
	tick(500);
	n = https ? tls_client_hello(b, name) : http_request(b, sizeof b, name);
	tcp_segment(&f, 1, PSH | ACK, b, n);
	now_us += rtt;
	n = https ? tls_server_hello(b, 900 + below(400))
		  : http_response(b, sizeof b, name);
	tcp_segment(&f, 0, PSH | ACK, b, n);
	tick(300);
	tcp_segment(&f, 1, ACK, NULL, 0);
	if (https) {
		tick(2000);
		tcp_segment(&f, 1, PSH | ACK, b, opaque_data(b, &f, 80 + below(300)));
		now_us += rtt;
		tcp_segment(&f, 0, PSH | ACK, b, opaque_data(b, &f, tcp_mss(&f)));
		tick(300);
		tcp_segment(&f, 1, ACK, NULL, 0);
	}
	now_us += 200000 + below(800000);
	tcp_segment(&f, 1, FIN | ACK, NULL, 0);
	now_us += rtt;
	tcp_segment(&f, 0, FIN | ACK, NULL, 0);
	tick(300);
	tcp_segment(&f, 1, ACK, NULL, 0);
}

static void sample_arp(const struct host *asker, const struct host *asked)
{
	tick(5000);
	arp_packet(asker, NULL, 1, asked);
	tick(2000);
	arp_packet(asked, asker->mac, 2, asker);
}

static void sample_ping(const struct host *me, const struct host *to, int v6,
			int count)
{
	for (int i = 1; i <= count; i++) {
		tick(3000);
		echo_packet(me, to, v6, 0, 0x1f2e, (uint16_t)i, 56);
		now_us += 5000 + below(15000);
		echo_packet(to, me, v6, 1, 0x1f2e, (uint16_t)i, 56);
		now_us += 1000000 - 20000;
	}
}

static void gen_sample(void)
{
	static const char *const sites[] = {
		"example.com", "www.wikipedia.org", "github.com",
		"api.github.com", "www.debian.org", "deb.debian.org",
		"news.ycombinator.com", "www.openstreetmap.org", "lwn.net",
		"www.kernel.org", "duckduckgo.com", "neverssl.com",
	};
	struct host me, phone, printer, quad9;

	world_init();
	nx_one_in = 0;
	me = clients[22];
	me.vlan = 0;
	phone = clients[56];
	phone.vlan = 0;
	printer = clients[39];
	printer.vlan = 0;
	remote(&quad9, 0x09090909, 54);
	ip6(quad9.ip6, 0x26200fe0, 0, 0, 0xfe);

	sample_arp(&me, &router);
	sample_lookup(&me, "wpad.lan", T_A);
	sample_ping(&me, &router, 0, 2);
	for (unsigned i = 0; i < sizeof sites / sizeof sites[0]; i++) {
		int https = strcmp(sites[i], "neverssl.com") && i != 0;

		sample_lookup(&me, sites[i], T_A);
		if (i % 2)
			sample_lookup(&me, sites[i], T_AAAA);
		sample_visit(&me, sites[i], https);
		if (i % 3 == 1)
			sample_arp(i % 2 ? &phone : &printer, &router);
		if (i % 4 == 3)
			sample_arp(&router, i % 2 ? &printer : &phone);
	}
	sample_lookup(&phone, "time.apple.com", T_A);
	sample_lookup(&printer, "printer-updates.example.net", T_A);
	sample_ping(&me, &quad9, 0, 4);
	sample_ping(&me, &quad9, 1, 2);
}

/* ---- command line ---- */

static void usage(void)
{
	fputs("usage: gen-pcap mix|dns COUNT OUT.pcap\n"
	      "       gen-pcap sample OUT.pcap\n", stderr);
	exit(2);
}

static unsigned long parse_count(const char *s)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || end == s || *end || n == 0 || n > 100000000 || *s == '-')
		die("%s: packet count must be 1 to 100000000", s);
	return n;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "sample")) {
		pcap_open(argv[2]);
		gen_sample();
	} else if (argc == 4 && !strcmp(argv[1], "mix")) {
		unsigned long n = parse_count(argv[2]);

		pcap_open(argv[3]);
		gen_mix(n);
	} else if (argc == 4 && !strcmp(argv[1], "dns")) {
		unsigned long n = parse_count(argv[2]);

		pcap_open(argv[3]);
		gen_dns(n);
	} else {
		usage();
	}
	pcap_close();
	return 0;
}
