#ifndef CAPTURE_H
#define CAPTURE_H

#include <pcap/pcap.h>

/* Capture sources: live interfaces and capture files, opened with their
 * filter set, ready to read. Errors are logged here, naming the source. */

/* The filter when none is given. On Ethernet it also takes TCP, UDP and
 * ARP inside one or two VLAN tags, and TCP and UDP inside MPLS label
 * stacks and PPPoE sessions (tagged or not), where a plain "tcp or udp or
 * arp" would silently miss all of that traffic. libpcap's `vlan`, `mpls`
 * and `pppoes` move the offsets of everything after them in an
 * expression, so each alternative of CAPTURE_DEFAULT_ETHERNET is compiled
 * on its own and the programs are joined (capture.c). Other link types
 * carry no tags (and libpcap refuses `vlan` there), so they get the plain
 * one. */
#define CAPTURE_DEFAULT_FILTER "tcp or udp or arp"
#define CAPTURE_DEFAULT_ETHERNET_PLAIN \
	"tcp or udp or arp or (vlan and (tcp or udp or arp)) or (vlan and (tcp or udp or arp))"
#define CAPTURE_MPLS_CLAUSE "(mpls and (ip or ip6) and (tcp or udp))"
#define CAPTURE_DEFAULT_ETHERNET_MPLS \
	CAPTURE_MPLS_CLAUSE " or " CAPTURE_MPLS_CLAUSE " or " CAPTURE_MPLS_CLAUSE
#define CAPTURE_DEFAULT_ETHERNET_PPPOE "pppoes and (tcp or udp)"
#define CAPTURE_DEFAULT_ETHERNET_PPPOE_VLAN "vlan and pppoes and (tcp or udp)"
/* what the kitchen says the filter is: the alternatives, in order */
#define CAPTURE_DEFAULT_FILTER_ETHERNET \
	CAPTURE_DEFAULT_ETHERNET_PLAIN "; or " CAPTURE_DEFAULT_ETHERNET_MPLS "; or " \
	CAPTURE_DEFAULT_ETHERNET_PPPOE "; or " CAPTURE_DEFAULT_ETHERNET_PPPOE_VLAN

struct capture_options {
	const char *filter;	/* NULL: the default for the link type; "": none */
	int snaplen;
	int promisc;
	int buffer_bytes;
};

struct capture_source {
	pcap_t *pcap;
	const char *name;	/* interface name or file path */
	int linktype;
	const char *filter;	/* the filter in force ("" for none) */
	int is_file;
	char *iobuf;		/* a file's stdio buffer */
	long long file_size;	/* a regular file's size in bytes, else 0 */
	struct bpf_program file_filter;	/* a file's filter, run by the reader */
	int file_filtered;	/* whether file_filter holds one */
	double tick;		/* seconds per unit of ts.tv_usec */
	int nanos;		/* the source itself has nanosecond stamps */
	unsigned long packets;	/* handed to the chefs (the kitchen thread's) */
};

/* What was counted for a source: packets read (a file's, all of them; a
 * live source's, those libpcap delivered), those that passed the filter
 * (live, as libpcap counts them), and those the kernel and the interface
 * dropped. */
struct capture_counts {
	unsigned long read, passed, kernel_dropped, interface_dropped;
};

int capture_open_file(struct capture_source *src, const char *path,
		      const struct capture_options *opt);
int capture_open_live(struct capture_source *src, const char *iface,
		      const struct capture_options *opt);
void capture_close(struct capture_source *src);

/* libpcap's name for a link type, or its number (in buf) if it has none. */
const char *capture_linktype_name(int linktype, char *buf, size_t len);

/* The interfaces libpcap can open, numbered, as tcpdump -D lists them.
 * Returns the exit status. */
int capture_list_interfaces(FILE *out);

/* libpcap's counts for a live source, into c; nothing for a file. Not
 * while another thread reads the source. */
void capture_counts(const struct capture_source *src, struct capture_counts *c);

/* Whether a file's packet passes its filter (always, without one). A file
 * is filtered here rather than in libpcap so that what its filter rejects
 * is counted too. */
static inline int capture_file_passes(const struct capture_source *src,
				      const struct pcap_pkthdr *h, const u_char *bytes)
{
	return !src->file_filtered || pcap_offline_filter(&src->file_filter, h, bytes);
}

/* How far into a file its reader is, in bytes (-1 if unknown). From any
 * thread: stdio locks the FILE. */
long long capture_file_position(const struct capture_source *src);

#endif
