#ifndef PCAPNG_H
#define PCAPNG_H

#include <stdint.h>
#include <pcap/pcap.h>

/* Writing pcapng files: a section header, one interface description block
 * per interface, and an enhanced packet block per packet, each naming its
 * interface. One writer per file (or series of files), used by one thread
 * at a time; output is block-buffered. Errors are logged here, once,
 * naming the file; after one, writes do nothing and pcapng_close() says
 * so. */

struct pcapng;

struct pcapng_interface {
	int linktype;		/* libpcap's DLT_ value */
	int snaplen;
	int ts_nanos;		/* the packets' ts.tv_usec counts nanoseconds */
	int write_nanos;	/* written in nanoseconds (if_tsresol 9), else
				 * in microseconds (ts_nanos ones rounded down) */
	const char *name;	/* if_name, or NULL */
};

/* path "-" is standard output. max_bytes 0: one file; otherwise a packet
 * that would take the file past max_bytes goes into the next one,
 * path.1, path.2 ... each a whole pcapng file with every interface added
 * so far (a file holds at least one packet, whatever its size). */
struct pcapng *pcapng_open(const char *path, uint64_t max_bytes);

/* Add an interface; the first is 0, the next 1, and so on. Returns its
 * id, or -1. */
int pcapng_add_interface(struct pcapng *w, const struct pcapng_interface *ifc);

/* One packet of interface iface, as libpcap handed it over. */
void pcapng_write(struct pcapng *w, int iface, const struct pcap_pkthdr *h,
		  const u_char *bytes);

/* Packets written so far, in all files. */
unsigned long pcapng_packets(const struct pcapng *w);

/* Bytes of the file being written, buffered ones included. */
uint64_t pcapng_bytes(const struct pcapng *w);

/* Flush and close. Returns -1 if anything could not be written, else 0. */
int pcapng_close(struct pcapng *w);

#endif
