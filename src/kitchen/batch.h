#ifndef BATCH_H
#define BATCH_H

#include <stdint.h>

#include <pcap/pcap.h>

#include "capture.h"
#include "decode/flow.h"
#include "decode/packet.h"

/* A batch of packets, their bytes copied into one arena and decoded: the
 * unit the chefs run on, so the Lua runtime is entered once per batch.
 *
 * Its lifetime, the one rule for every batch: a batch has one holder at a
 * time, and nothing else reads it. The decode stage (reader.c) fills it
 * and hands it to the kitchen thread; there the cook stage (chef.c) runs
 * the chefs over it, and before each call returns it has turned all that
 * the chefs made into trees that own their bytes (plate.h), filling in
 * first any DNS layer a chef returned unread, which reads the packet's
 * bytes. Then the batch is given back, cleared and refilled. So the packet
 * tables and DNS layers Lua builds refer to the batch only while it is
 * being cooked: runtime.lua refuses to read them once the call that made
 * them is over, and no stage but the cook stage ever sees a packet. No
 * two stages hold a batch at once, so it needs no reference count. */
enum { BATCH_PACKETS = 256, BATCH_ARENA = 1 << 20, MAX_SNAPLEN = 262144 };

/* The flows that ended, in order with the packets (flow.h). A packet may
 * end two, and expiring idle flows ends at most FLOW_EXPIRE_STEP before
 * each packet; more wait for the next packets, or the next batch. */
enum { BATCH_EVENTS = 1024, FLOW_EXPIRE_STEP = 4 };

/* The TCP streams' bytes a batch carries, beside its packets' arena: the
 * chefs' stream data lives there as long as the batch. A batch whose
 * events or stream bytes are full is handed over and the rest goes into
 * the next (flow.h's spill). */
enum { BATCH_STREAM_BYTES = 1 << 20 };

struct batch {
	struct dpl_packet pkts[BATCH_PACKETS];
	uint8_t *arena;
	size_t used;
	int n;
	struct flow_events events;
};

struct batch *batch_new(void);
void batch_free(struct batch *b);
void batch_clear(struct batch *b);

/* Whether a packet of caplen captured bytes still fits, with room for
 * the flows it may end. */
int batch_has_room(const struct batch *b, uint32_t caplen);

/* Copy a packet in and decode it, reassembling IP fragments with frags
 * (NULL: none); there must be room. The datagram a fragment completes
 * goes into the arena right after the packet's bytes. */
struct ipfrag;
void batch_add(struct batch *b, const struct capture_source *src, int source,
	       const struct pcap_pkthdr *h, const u_char *bytes, struct ipfrag *frags);

/* Whether it holds neither packets nor flow events. */
int batch_is_empty(const struct batch *b);

/* A packet's time, as batch_add() stamps it. */
double batch_packet_time(const struct capture_source *src, const struct timeval *ts);

/* Room for len bytes in the arena after the last packet, for it to
 * refer to; NULL when there is none. */
uint8_t *batch_reserve(struct batch *b, uint32_t len);

/* Move from's last packet, with its bytes, to the end of to (which has
 * room: it is empty); returns its new place. */
struct dpl_packet *batch_move_last(struct batch *from, struct batch *to);

/* Decode the first DNS question of each packet ahead, into the arena's
 * free space, for a thread that has time to spare while the chefs run. */

void batch_decode_questions(struct batch *b, struct dpl_dns *scratch);

#endif
