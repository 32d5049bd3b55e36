#ifndef READER_H
#define READER_H

#include "batch.h"
#include "capture.h"
#include "decode/ipfrag.h"
#include "flowcap.h"
#include "pcapng.h"

/* The decode stage: the kitchen's sources (live interfaces or capture
 * files, in order) read and decoded on a thread of its own, as batches. */

struct reader;

struct reader_config {
	double speed;		/* replay files at this multiple of the
				 * recorded pace; 0 for at once */
	size_t frag_memory;	/* the bytes IP fragment reassembly may hold
				 * (0: no reassembly) */
	const struct flow_config *flows;	/* the flow table's bounds */
	unsigned long max_packets;	/* stop after reading so many; 0: all */
	struct pcapng *out;	/* every packet read is written here, source
				 * i as interface i; NULL: none */
	struct flowcap *ring;	/* each batch is offered to its look-back
				 * ring as it is handed over; NULL: none */
};

/* The packet bytes the decode stage may be ahead of the chefs by: every
 * batch full. */
size_t reader_bytes_ahead(void);

/* From here until reader_stop(), only the reader touches the sources'
 * pcap handles and the writer. */
struct reader *reader_start(struct capture_source *sources, int nsources,
			    const struct reader_config *cfg);

/* Readable when a batch may be ready. */
int reader_fd(const struct reader *r);

/* The next batch, or NULL: then *done says whether every source is done
 * (the files read, or a live source failed). */
struct batch *reader_next(struct reader *r, int *done);

/* Give a cooked batch back for refilling. */
void reader_release(struct reader *r, struct batch *b);

/* libpcap's counts for source i as the reader last read them (live, a few
 * times a second); for a file, the packets read. Any thread. */
void reader_counts(struct reader *r, int i, struct capture_counts *c);

/* The reassembler's counts as the reader last noted them. Any thread. */
void reader_fragments(struct reader *r, struct ipfrag_stats *st);
/* The flow table's counts as the reader last noted them. Any thread. */
void reader_flow_stats(struct reader *r, struct flow_stats *st);

/* The stream reassembler's pool (its counts, limits and memory) as the
 * reader last noted it. Any thread. */
void reader_stream_stats(struct reader *r, struct tcpreasm_pool *pool);

/* Whether some chef asks for TCP streams: flows that begin from the next
 * packet on are reassembled (flow_want_streams()). Any thread. */
void reader_want_streams(struct reader *r, int on);

/* Stop reading and wait for the thread; the counts stay readable.
 * Returns -1 when a source could not be read to its end, else 0. */
int reader_stop(struct reader *r);
void reader_free(struct reader *r);

#endif
