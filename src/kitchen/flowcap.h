#ifndef FLOWCAP_H
#define FLOWCAP_H

#include <stddef.h>
#include <stdint.h>

#include "decode/packet.h"

/* Captures that chefs ask for (dumplings.capture): the packets of one
 * flow, of one host, or one packet, each capture a pcapng file in the
 * capture directory, from `before` seconds ahead of the packet that asked
 * to `after` seconds past it, in packet time. What lies before comes from
 * the look-back ring, a bounded copy of the latest packets (off unless
 * lookback seconds are given); without it a capture starts at the packet
 * that asked. The files this run made are kept within max_bytes in all,
 * the oldest deleted first. Everything runs on the cook stage's thread,
 * one batch range at a time (flowcap_feed() before the chefs see it,
 * flowcap_packets() after), but a large ring's feeding: the decode stage
 * copies each batch in as it hands it over (flowcap_ring_feed()). */

struct flowcap;

struct flowcap_source {
	int linktype;
	int snaplen;
	const char *name;
};

struct flowcap_config {
	const char *dir;		/* --capture-dir */
	uint64_t max_bytes;		/* --capture-max; 0: no bound */
	double lookback;		/* --lookback seconds; 0: no ring */
	size_t lookback_bytes;		/* --lookback-bytes */
	const struct flowcap_source *sources;
	int nsources;
	size_t decode_ahead;		/* packet bytes the decode stage may be
					 * ahead of the chefs by */
};

/* What a capture takes. */
enum flowcap_kind { FLOWCAP_FLOW, FLOWCAP_HOST, FLOWCAP_PACKET };

struct flowcap_request {
	enum flowcap_kind kind;
	double flow_id;			/* FLOWCAP_FLOW */
	uint8_t family;			/* FLOWCAP_HOST: 4 or 6, */
	uint8_t addr[16];		/* and the address */
	const struct dpl_packet *at;	/* the packet at hand, or NULL */
	double before, after;
	const char *name;		/* what to call it, sanitised here */
};

struct flowcap_stats {
	unsigned long made, open, deleted, cut, failed, packets;
	uint64_t bytes;			/* of the files made, as they are now */
	unsigned long ring_packets;	/* in the look-back ring */
	uint64_t ring_bytes;
	unsigned long ring_too_large;	/* packets it could not hold at all */
	unsigned long ring_pushed_out;	/* gone for room before their time */
};

/* NULL after logging why (the directory is not one, say). */
struct flowcap *flowcap_new(const struct flowcap_config *cfg);

/* Close every capture in progress and free it all. */
void flowcap_free(struct flowcap *fc);

/* Start a capture: its file name (within the directory) into name, or -1
 * with the reason in why. */
int flowcap_start(struct flowcap *fc, const struct flowcap_request *req,
		  char *name, size_t name_len, char *why, size_t why_len);

/* From the decode stage, each batch as it is handed over, in order:
 * its n packets into the ring, when the ring is large enough beside
 * decode_ahead to be fed ahead of the chefs (else flowcap_feed() feeds
 * it). Safe beside the cook stage's calls. */
void flowcap_ring_feed(struct flowcap *fc, const struct dpl_packet *pkts, int n);

/* Before the chefs see n packets, the next of those the decode stage fed. */
void flowcap_feed(struct flowcap *fc, const struct dpl_packet *pkts, int n);

/* After the chefs saw them: into the captures in progress, which close
 * once packet time passes their end. */
void flowcap_packets(struct flowcap *fc, const struct dpl_packet *pkts, int n);

/* At the end of input: every capture in progress ends. */
void flowcap_close_all(struct flowcap *fc);

void flowcap_stats(struct flowcap *fc, struct flowcap_stats *st);

#endif
