/* Opening capture sources with libpcap. Timestamps are asked for in
 * nanoseconds where the source can give them; src->tick says what the
 * tv_usec field really counts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture.h"
#include "base/log.h"
#include "base/util.h"

/* libpcap reads a file through stdio, one header and one packet at a
 * time; stdio's own buffer, a few KiB, made a read() every few packets,
 * the larger part of reading a file. A file smaller than FILE_BUFFER gets
 * a buffer its size: every file is opened at the start, and a kitchen
 * may be given thousands. */
enum { FILE_BUFFER = 1 << 20, FILE_BUFFER_MIN = 4096 };

static size_t buffer_size(FILE *f, long long *file_size)
{
	struct stat st;

	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode))
		return FILE_BUFFER;
	*file_size = st.st_size;
	if (st.st_size >= FILE_BUFFER)
		return FILE_BUFFER;
	return st.st_size < FILE_BUFFER_MIN ? FILE_BUFFER_MIN : (size_t)st.st_size + 1;
}

const char *capture_linktype_name(int linktype, char *buf, size_t len)
{
	const char *name = pcap_datalink_val_to_name(linktype);

	if (name)
		return name;
	snprintf(buf, len, "%d", linktype);
	return buf;
}

/* OpenBSD's number for DLT_RAW, which its captures carry into files;
 * libpcap elsewhere can neither name it nor filter it, and tshark reads
 * it as raw IP. */
enum { LINKTYPE_RAW_OPENBSD = 14 };

static void set_tick(struct capture_source *src)
{
	src->tick = pcap_get_tstamp_precision(src->pcap) == PCAP_TSTAMP_PRECISION_NANO
		? 1e-9 : 1e-6;
	src->linktype = pcap_datalink(src->pcap);
	if (src->linktype == LINKTYPE_RAW_OPENBSD)
		src->linktype = DLT_RAW;
}

/* The filter compiled for the source's link type, which is not libpcap's
 * when set_tick() took it for another. */
static int compile_filter(struct capture_source *src, struct bpf_program *prog,
			  const char *filter, char *why, size_t len)
{
	pcap_t *p = src->pcap;
	int rc;

	if (src->linktype != pcap_datalink(src->pcap) &&
	    !(p = pcap_open_dead(src->linktype, pcap_snapshot(src->pcap)))) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	rc = pcap_compile(p, prog, filter, 1, PCAP_NETMASK_UNKNOWN);
	if (rc < 0)
		snprintf(why, len, "%s", pcap_geterr(p));
	if (p != src->pcap)
		pcap_close(p);
	return rc;
}

/* the longest program a Linux socket takes (BPF_MAXINSNS there) */
enum { JOINED_MAX_INSNS = 4096 };

/* One program that takes a packet when any of the n would: each but the
 * last, where it would refuse one (ret #0), jumps to the start of the next
 * instead. What libpcap compiles ends in returns of constants only. */
static int join_programs(struct bpf_program *progs, int n, struct bpf_program *out)
{
	size_t total = 0, at = 0;
	struct bpf_insn *insns;

	for (int i = 0; i < n; i++)
		total += progs[i].bf_len;
	if (total > JOINED_MAX_INSNS)
		return -1;
	insns = xmalloc(total * sizeof *insns);
	for (int i = 0; i < n; i++) {
		size_t next = at + progs[i].bf_len;

		for (u_int j = 0; j < progs[i].bf_len; j++, at++) {
			insns[at] = progs[i].bf_insns[j];
			if (i < n - 1 && insns[at].code == (BPF_RET | BPF_K) && insns[at].k == 0)
				insns[at] = (struct bpf_insn)BPF_STMT(BPF_JMP | BPF_JA,
								      (bpf_u_int32)(next - at - 1));
		}
	}
	out->bf_len = (u_int)total;
	out->bf_insns = insns;
	return 0;
}

/* Ethernet's default, alternative by alternative (see capture.h). */
static int compile_default_ethernet(struct capture_source *src, struct bpf_program *prog,
				    char *why, size_t len)
{
	static const char *const alternatives[] = {
		CAPTURE_DEFAULT_ETHERNET_PLAIN, CAPTURE_DEFAULT_ETHERNET_MPLS,
		CAPTURE_DEFAULT_ETHERNET_PPPOE, CAPTURE_DEFAULT_ETHERNET_PPPOE_VLAN,
	};
	enum { N = sizeof alternatives / sizeof alternatives[0] };
	struct bpf_program progs[N];
	int n = 0, rc = 0;

	while (n < N && (rc = compile_filter(src, &progs[n], alternatives[n], why, len)) == 0)
		n++;
	if (rc == 0 && join_programs(progs, n, prog) < 0) {
		snprintf(why, len, "the joined program is too long");
		rc = -1;
	}
	while (n--)
		pcap_freecode(&progs[n]);
	return rc;
}

/* BPF knows fewer link types than capture files carry: the default
 * filter, which nobody asked for, then gives way to none, rather than
 * keep the kitchen from reading the file at all. */
static int set_filter(struct capture_source *src, const char *filter)
{
	struct bpf_program prog;
	int given = filter != NULL;
	int ethernet = !given && src->linktype == DLT_EN10MB;
	char number[16], why[PCAP_ERRBUF_SIZE];

	if (!filter)
		filter = ethernet ? CAPTURE_DEFAULT_FILTER_ETHERNET : CAPTURE_DEFAULT_FILTER;
	src->filter = filter;
	if (!*filter)
		return 0;
	if ((ethernet ? compile_default_ethernet(src, &prog, why, sizeof why)
		      : compile_filter(src, &prog, filter, why, sizeof why)) < 0) {
		const char *lt = capture_linktype_name(src->linktype, number, sizeof number);

		if (!given) {
			log_warn("%s: the default filter cannot be used on link-type %s (%s): "
				 "reading every packet", src->name, lt, why);
			src->filter = "";
			return 0;
		}
		log_error("bad filter '%s': %s (%s, link-type %s)", filter, why, src->name, lt);
		return -1;
	}
	if (src->is_file) {
		src->file_filter = prog;
		src->file_filtered = 1;
		return 0;
	}
	if (pcap_setfilter(src->pcap, &prog) < 0) {
		log_error("%s: cannot set filter '%s': %s", src->name, filter,
			  pcap_geterr(src->pcap));
		pcap_freecode(&prog);
		return -1;
	}
	pcap_freecode(&prog);
	return 0;
}

/* Whether a file holds nanosecond stamps, which libpcap, asked for
 * nanoseconds, does not say: a pcap file's magic number does. A pcapng
 * file (its interfaces may each have their own resolution) and a pipe
 * count as nanosecond ones: nanoseconds hold what libpcap gives exactly. */
static int file_has_nanos(FILE *f)
{
	uint32_t magic;
	struct stat st;
	int nanos = 1;

	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode))
		return 1;
	if (fread(&magic, sizeof magic, 1, f) == 1)
		nanos = magic != 0xa1b2c3d4 && magic != 0xd4c3b2a1;
	rewind(f);
	return nanos;
}

/* libpcap reads neither compressed files nor says that they are: its
 * "unknown file format" sends a user looking for a broken capture. The
 * first bytes of a file that failed to open name the usual compressors. */
static const char *compressed_as(FILE *f)
{
	static const struct {
		const char *name;
		unsigned char magic[4];
		size_t len;
	} formats[] = {
		{ "gzip", { 0x1f, 0x8b }, 2 },
		{ "bzip2", { 'B', 'Z', 'h' }, 3 },
		{ "xz", { 0xfd, '7', 'z', 'X' }, 4 },
		{ "zstd", { 0x28, 0xb5, 0x2f, 0xfd }, 4 },
	};
	unsigned char head[4];
	size_t n;

	if (fseek(f, 0, SEEK_SET) != 0)
		return NULL;
	n = fread(head, 1, sizeof head, f);
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
		if (n >= formats[i].len && !memcmp(head, formats[i].magic, formats[i].len))
			return formats[i].name;
	return NULL;
}

int capture_open_file(struct capture_source *src, const char *path,
		      const struct capture_options *opt)
{
	char err[PCAP_ERRBUF_SIZE];

	FILE *f;
	size_t size;

	memset(src, 0, sizeof *src);
	src->name = path;
	src->is_file = 1;
	f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f) {
		log_error("cannot read capture file %s: %s", path, strerror(errno));
		return -1;
	}
	size = buffer_size(f, &src->file_size);
	src->iobuf = xmalloc(size);
	if (setvbuf(f, src->iobuf, _IOFBF, size) != 0) {
		free(src->iobuf);
		src->iobuf = NULL;
	}
	src->nanos = file_has_nanos(f);
	/* pcap_close() closes f, even when it is stdin */
	src->pcap = pcap_fopen_offline_with_tstamp_precision(f,
		PCAP_TSTAMP_PRECISION_NANO, err);
	if (!src->pcap) {
		const char *packer = compressed_as(f);

		if (packer)
			log_error("cannot read capture file %s: it is %s-compressed (libpcap "
				  "reads only uncompressed files; uncompress it, or pipe it "
				  "into -r -)", path, packer);
		else
			log_error("cannot read capture file %s: %s", path, err);
		fclose(f);
		free(src->iobuf);
		src->iobuf = NULL;
		return -1;
	}
	set_tick(src);
	if (set_filter(src, opt->filter) < 0) {
		capture_close(src);
		return -1;
	}
	return 0;
}

static void report_activate(struct capture_source *src, int rc)
{
	const char *detail = pcap_geterr(src->pcap);

	switch (rc) {
	case PCAP_ERROR_NO_SUCH_DEVICE:
		log_error("interface %s: no such interface", src->name);
		break;
	case PCAP_ERROR_PERM_DENIED:
		log_error("interface %s: permission denied (capturing needs root or "
			  "CAP_NET_RAW): %s", src->name, detail);
		break;
	default:
		log_error("interface %s: %s%s%s", src->name, pcap_statustostr(rc),
			  *detail ? ": " : "", detail);
	}
}

static int activate_live(struct capture_source *src, const struct capture_options *opt)
{
	int rc;

	pcap_set_snaplen(src->pcap, opt->snaplen);
	pcap_set_promisc(src->pcap, opt->promisc);
	/* Deliver in bulk, but never hold a packet longer than 100 ms. */
	pcap_set_timeout(src->pcap, 100);
	pcap_set_buffer_size(src->pcap, opt->buffer_bytes);
	pcap_set_tstamp_precision(src->pcap, PCAP_TSTAMP_PRECISION_NANO);
	rc = pcap_activate(src->pcap);
	if (rc < 0) {
		report_activate(src, rc);
		return -1;
	}
	if (rc > 0)
		log_warn("interface %s: %s", src->name, pcap_statustostr(rc));
	return 0;
}

int capture_open_live(struct capture_source *src, const char *iface,
		      const struct capture_options *opt)
{
	char err[PCAP_ERRBUF_SIZE];

	memset(src, 0, sizeof *src);
	src->name = iface;
	src->pcap = pcap_create(iface, err);
	if (!src->pcap) {
		log_error("interface %s: %s", iface, err);
		return -1;
	}
	if (activate_live(src, opt) < 0) {
		capture_close(src);
		return -1;
	}
	set_tick(src);			/* the link type, which the filter needs */
	if (set_filter(src, opt->filter) < 0) {
		capture_close(src);
		return -1;
	}
	if (pcap_setnonblock(src->pcap, 1, err) < 0) {
		log_error("interface %s: %s", iface, err);
		capture_close(src);
		return -1;
	}
	src->nanos = src->tick == 1e-9;
	return 0;
}

void capture_close(struct capture_source *src)
{
	if (src->pcap)
		pcap_close(src->pcap);
	src->pcap = NULL;
	if (src->file_filtered)
		pcap_freecode(&src->file_filter);
	src->file_filtered = 0;
	free(src->iobuf);	/* after the FILE that used it is closed */
	src->iobuf = NULL;
}

void capture_counts(const struct capture_source *src, struct capture_counts *c)
{
	struct pcap_stat st;

	if (src->is_file || !src->pcap || pcap_stats(src->pcap, &st) < 0)
		return;
	c->passed = st.ps_recv;
	c->kernel_dropped = st.ps_drop;
	c->interface_dropped = st.ps_ifdrop;
}

static void list_flag(FILE *out, int *n, const char *word)
{
	fprintf(out, "%s%s", (*n)++ ? ", " : "", word);
}

/* An interface's state in tcpdump's words. */
static void list_flags(FILE *out, bpf_u_int32 flags)
{
	int wireless = (flags & PCAP_IF_WIRELESS) != 0, n = 0;

	fputs(" [", out);
	if (flags & PCAP_IF_UP)
		list_flag(out, &n, "Up");
	if (flags & PCAP_IF_RUNNING)
		list_flag(out, &n, "Running");
	if (wireless)
		list_flag(out, &n, "Wireless");
	if (flags & PCAP_IF_LOOPBACK)
		list_flag(out, &n, "Loopback");
	switch (flags & PCAP_IF_CONNECTION_STATUS) {
	case PCAP_IF_CONNECTION_STATUS_CONNECTED:
		list_flag(out, &n, wireless ? "Associated" : "Connected");
		break;
	case PCAP_IF_CONNECTION_STATUS_DISCONNECTED:
		list_flag(out, &n, wireless ? "Not associated" : "Disconnected");
		break;
	}
	fputs(n ? "]\n" : "none]\n", out);
}

int capture_list_interfaces(FILE *out)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_if_t *devs;
	int n = 0;

	if (pcap_findalldevs(&devs, err) < 0) {
		log_error("cannot list interfaces: %s", err);
		return 1;
	}
	for (pcap_if_t *d = devs; d; d = d->next) {
		fprintf(out, "%d.%s", ++n, d->name);
		if (d->description)
			fprintf(out, " (%s)", d->description);
		list_flags(out, d->flags);
	}
	pcap_freealldevs(devs);
	if (!n)
		log_warn("libpcap lists no interfaces (capturing may need root or CAP_NET_RAW)");
	return 0;
}

long long capture_file_position(const struct capture_source *src)
{
	FILE *f = src->is_file && src->pcap ? pcap_file(src->pcap) : NULL;

	return f ? ftello(f) : -1;
}
