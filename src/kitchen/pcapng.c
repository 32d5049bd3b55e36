/* pcapng files, as the format's specification lays them out (in the
 * writer's byte order, which the section header's magic announces):
 *
 *   section header   type 0x0A0D0D0A, byte-order magic, version 1.0,
 *                    section length unknown (-1), shb_userappl
 *   interfaces       type 1: link type, snaplen, if_name, if_tsresol
 *   packets          type 6: interface id, 64-bit timestamp, captured and
 *                    original lengths, the bytes padded to 32 bits
 *
 * Every block starts and ends with its total length. A file of a series
 * (max_bytes) starts over with a section header and every interface, so
 * each file reads on its own. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "pcapng.h"

enum {
	BLOCK_SHB = 0x0A0D0D0A,
	BLOCK_IDB = 1,
	BLOCK_EPB = 6,
	BYTE_ORDER_MAGIC = 0x1A2B3C4D,
	OPT_END = 0,
	OPT_SHB_USERAPPL = 4,
	OPT_IF_NAME = 2,
	OPT_IF_TSRESOL = 9,
	EPB_HEAD = 28,		/* the packet block before the bytes */
	BLOCK_TAIL = 4,		/* the total length, again */
	BUFFER = 1 << 20,	/* written out when full */
	/* libpcap's DLT_ numbers are the file format's LINKTYPE_ ones but
	 * for a few that differ by platform; of those, the ones a Linux
	 * libpcap opens */
	LINKTYPE_ATM_RFC1483 = 100,
	LINKTYPE_RAW = 101,
};

struct pcapng {
	const char *path;
	char *name;			/* of the file being written */
	int fd;				/* -1: none open */
	uint8_t *buf;			/* what is not written out yet */
	size_t used;
	uint64_t max_bytes;		/* 0: one file */
	uint64_t file_bytes;		/* written to this file */
	unsigned long file_packets;	/* written to this file */
	unsigned long packets;
	unsigned files;
	struct pcapng_interface *ifs;
	int nifs;
	int failed;
};

static void write_failed(struct pcapng *w)
{
	if (!w->failed)
		log_error("writing %s: %s", w->name, strerror(errno));
	w->failed = 1;
}

static void write_all(struct pcapng *w, const uint8_t *p, size_t n)
{
	while (n && !w->failed) {
		ssize_t done = write(w->fd, p, n);

		if (done < 0 && errno == EINTR)
			continue;
		if (done < 0) {
			write_failed(w);
			return;
		}
		p += done;
		n -= (size_t)done;
	}
}

static void flush_buffer(struct pcapng *w)
{
	write_all(w, w->buf, w->used);
	w->used = 0;
}

/* Into the buffer, a copy and nothing more for most: a packet costs no
 * call into stdio or the kernel of its own. */
static void put(struct pcapng *w, const void *p, size_t n)
{
	if (w->failed)
		return;
	w->file_bytes += n;
	if (n > BUFFER - w->used)
		flush_buffer(w);
	if (n >= BUFFER) {
		write_all(w, p, n);
		return;
	}
	memcpy(w->buf + w->used, p, n);
	w->used += n;
}

/* A block being built: its body, with room for a path as an option. */
struct block {
	uint8_t b[4352];
	size_t n;
};

static void add(struct block *bl, const void *p, size_t n)
{
	memcpy(bl->b + bl->n, p, n);
	bl->n += n;
}

static void add32(struct block *bl, uint32_t v)
{
	add(bl, &v, 4);
}

static void add16(struct block *bl, uint16_t v)
{
	add(bl, &v, 2);
}

/* An option: code, length, value padded to 32 bits. A value longer than
 * the room left (after this option's header, one short option more and
 * the end of options) is cut short, never overrun. */
static void add_option(struct block *bl, uint16_t code, const void *value, size_t len)
{
	static const uint8_t zeros[4];
	size_t reserve = 4 + 8 + 4;
	size_t room = bl->n + reserve < sizeof bl->b ? sizeof bl->b - bl->n - reserve : 0;

	if (len > room)
		len = room & ~(size_t)3;
	add16(bl, code);
	add16(bl, (uint16_t)len);
	add(bl, value, len);
	add(bl, zeros, (4 - len % 4) % 4);
}

/* Frame the body as a block of the given type and write it. */
static void put_block(struct pcapng *w, uint32_t type, const struct block *body)
{
	uint32_t total = (uint32_t)(8 + body->n + BLOCK_TAIL);

	put(w, &type, 4);
	put(w, &total, 4);
	put(w, body->b, body->n);
	put(w, &total, 4);
}

static void put_section_header(struct pcapng *w)
{
	struct block bl = { .n = 0 };
	char app[64];
	int64_t unknown = -1;

	add32(&bl, BYTE_ORDER_MAGIC);
	add16(&bl, 1);
	add16(&bl, 0);
	add(&bl, &unknown, 8);
	snprintf(app, sizeof app, "dumplings %s", dumplings_version);
	add_option(&bl, OPT_SHB_USERAPPL, app, strlen(app));
	add32(&bl, OPT_END);
	put_block(w, BLOCK_SHB, &bl);
}

static uint16_t linktype_of(int dlt)
{
	switch (dlt) {
	case DLT_RAW: return LINKTYPE_RAW;
	case DLT_ATM_RFC1483: return LINKTYPE_ATM_RFC1483;
	default: return (uint16_t)dlt;
	}
}

static void put_interface(struct pcapng *w, const struct pcapng_interface *ifc)
{
	struct block bl = { .n = 0 };
	uint8_t nanos = 9;

	add16(&bl, linktype_of(ifc->linktype));
	add16(&bl, 0);
	add32(&bl, (uint32_t)ifc->snaplen);
	if (ifc->name)
		add_option(&bl, OPT_IF_NAME, ifc->name, strlen(ifc->name));
	if (ifc->write_nanos)	/* microseconds, when absent */
		add_option(&bl, OPT_IF_TSRESOL, &nanos, 1);
	add32(&bl, OPT_END);
	put_block(w, BLOCK_IDB, &bl);
}

/* The name of file number n of the series: path, path.1, path.2 ... */
static char *file_name(const struct pcapng *w, unsigned n)
{
	size_t len = strlen(w->path) + 16;
	char *name = xmalloc(len);

	if (n == 0)
		snprintf(name, len, "%s", w->path);
	else
		snprintf(name, len, "%s.%u", w->path, n);
	return name;
}

static int open_file(struct pcapng *w)
{
	free(w->name);
	if (!strcmp(w->path, "-")) {
		w->name = xstrdup("standard output");
		w->fd = STDOUT_FILENO;
	} else {
		w->name = file_name(w, w->files);
		w->fd = open(w->name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
		if (w->fd < 0) {
			log_error("cannot write capture file %s: %s", w->name, strerror(errno));
			w->failed = 1;
			return -1;
		}
	}
	w->files++;
	w->file_bytes = 0;
	w->file_packets = 0;
	put_section_header(w);
	for (int i = 0; i < w->nifs; i++)
		put_interface(w, &w->ifs[i]);
	return 0;
}

static int close_file(struct pcapng *w)
{
	int rc;

	if (w->fd < 0)
		return 0;
	flush_buffer(w);
	rc = w->fd == STDOUT_FILENO ? 0 : close(w->fd);
	if (rc != 0)
		write_failed(w);
	w->fd = -1;
	return w->failed ? -1 : 0;
}

struct pcapng *pcapng_open(const char *path, uint64_t max_bytes)
{
	struct pcapng *w = xcalloc(1, sizeof *w);

	w->path = path;
	w->max_bytes = max_bytes;
	w->fd = -1;
	w->buf = xmalloc(BUFFER);
	if (open_file(w) < 0) {
		free(w->name);
		free(w->buf);
		free(w);
		return NULL;
	}
	return w;
}

int pcapng_add_interface(struct pcapng *w, const struct pcapng_interface *ifc)
{
	w->ifs = xrealloc(w->ifs, (size_t)(w->nifs + 1) * sizeof *w->ifs);
	w->ifs[w->nifs] = *ifc;
	if (ifc->name)
		w->ifs[w->nifs].name = xstrdup(ifc->name);
	put_interface(w, ifc);
	if (w->failed) {
		free((char *)w->ifs[w->nifs].name);
		return -1;
	}
	return w->nifs++;
}

static uint64_t timestamp(const struct pcapng_interface *ifc, const struct timeval *ts)
{
	uint64_t frac = (uint64_t)ts->tv_usec;

	if (ifc->ts_nanos && !ifc->write_nanos)
		frac /= 1000;
	else if (!ifc->ts_nanos && ifc->write_nanos)
		frac *= 1000;
	return (uint64_t)ts->tv_sec * (ifc->write_nanos ? 1000000000u : 1000000u) + frac;
}

/* Before a packet that would take the file past the bound, the next
 * file; a file holds at least one packet. */
static void rotate_if_full(struct pcapng *w, uint32_t total)
{
	if (!w->max_bytes || !w->file_packets || w->file_bytes + total <= w->max_bytes)
		return;
	if (close_file(w) == 0)
		open_file(w);
}

void pcapng_write(struct pcapng *w, int iface, const struct pcap_pkthdr *h,
		  const u_char *bytes)
{
	static const uint8_t zeros[4];
	uint32_t caplen = h->caplen, pad = (4 - caplen % 4) % 4;
	uint32_t total = EPB_HEAD + caplen + pad + BLOCK_TAIL;
	uint64_t t;
	uint32_t head[7];

	if (w->failed || iface < 0 || iface >= w->nifs)
		return;
	rotate_if_full(w, total);
	if (w->failed)
		return;
	t = timestamp(&w->ifs[iface], &h->ts);
	head[0] = BLOCK_EPB;
	head[1] = total;
	head[2] = (uint32_t)iface;
	head[3] = (uint32_t)(t >> 32);
	head[4] = (uint32_t)t;
	head[5] = caplen;
	head[6] = h->len;
	put(w, head, sizeof head);
	put(w, bytes, caplen);
	put(w, zeros, pad);
	put(w, &total, 4);
	w->file_packets++;
	w->packets++;
}

unsigned long pcapng_packets(const struct pcapng *w)
{
	return w->packets;
}

uint64_t pcapng_bytes(const struct pcapng *w)
{
	return w->file_bytes;
}

int pcapng_close(struct pcapng *w)
{
	int failed;

	if (!w)
		return 0;
	close_file(w);
	failed = w->failed;
	for (int i = 0; i < w->nifs; i++)
		free((char *)w->ifs[i].name);
	free(w->ifs);
	free(w->name);
	free(w->buf);
	free(w);
	return failed ? -1 : 0;
}
