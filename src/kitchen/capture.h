#ifndef CAPTURE_H
#define CAPTURE_H

#include <pcap/pcap.h>

/* Capture sources: live interfaces and capture files, opened with their
 * filter set, ready to read. Errors are logged here, naming the source. */

/* The filter when none is given. On Ethernet, libpcap's `vlan` keyword
 * shifts every later offset by one tag, so each repetition of the clause
 * reaches one tag deeper: this default matches untagged, 802.1Q and QinQ
 * frames alike, where a plain "tcp or udp or arp" would silently miss all
 * tagged traffic. Other link types carry no tags (and libpcap refuses
 * `vlan` there), so they get the plain one. */
#define CAPTURE_DEFAULT_FILTER "tcp or udp or arp"
#define CAPTURE_DEFAULT_FILTER_ETHERNET \
	"tcp or udp or arp or (vlan and (tcp or udp or arp)) or (vlan and (tcp or udp or arp))"

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
	double tick;		/* seconds per unit of ts.tv_usec */
	int nanos;		/* the source itself has nanosecond stamps */
	unsigned long packets;	/* handed to the chefs (the kitchen thread's) */
};

/* What libpcap counted for a source: packets that passed the filter (for
 * a file, those read), and those the kernel and the interface dropped. */
struct capture_counts {
	unsigned long passed, kernel_dropped, interface_dropped;
};

int capture_open_file(struct capture_source *src, const char *path,
		      const struct capture_options *opt);
int capture_open_live(struct capture_source *src, const char *iface,
		      const struct capture_options *opt);
void capture_close(struct capture_source *src);

/* The interfaces libpcap can open, numbered, as tcpdump -D lists them.
 * Returns the exit status. */
int capture_list_interfaces(FILE *out);

/* libpcap's counts for a live source, into c; nothing for a file. Not
 * while another thread reads the source. */
void capture_counts(const struct capture_source *src, struct capture_counts *c);

#endif
