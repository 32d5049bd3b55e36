#ifndef SINK_H
#define SINK_H

#include <stddef.h>

struct wsclient_target;
struct kitchen_info;

struct sink_stats {
	unsigned long sent, buffered, dropped, reconnects;
	/* sent again on a new connection, what the hub had not acknowledged
	 * when the old one broke; written to a connection that broke, and not
	 * known to have arrived; the last seq the hub acknowledged */
	unsigned long resent, unconfirmed;
	unsigned long long acked;
};

/* Where a kitchen's dumplings go: standard output as NDJSON, or the hub.
 * emit() takes one complete JSON document (no newline), with its
 * metadata.seq (0 for what is not a numbered dumpling), and copies what it
 * needs before returning. flush() is called after every batch of packets
 * and every interval, so a sink can write in bulk yet stay timely. */
struct sink {
	int (*emit)(struct sink *s, const char *json, size_t len, unsigned long long seq);
	void (*flush)(struct sink *s);
	/* Flushes, then frees the sink; -1 when dumplings that must not be
	 * lost (reading files) were left unsent when it gave up. */
	int (*close)(struct sink *s);
	/* The kitchen's description changed (its chefs): tell whoever reads.
	 * NULL when nobody needs to know. Unlike the others, it may be called
	 * from another thread than the printer's. */
	void (*describe)(struct sink *s, const struct kitchen_info *info);
	/* What an uplink did so far (any thread); NULL for standard output. */
	void (*stats)(struct sink *s, struct sink_stats *st);
	int gone;	/* set by the sink when nobody will ever read again */
	/* Set by the emit stage, from another thread than the one emit()
	 * runs on, when the kitchen is stopping: a sink waiting for room
	 * stops waiting and drops. */
	_Atomic int stop;
};

/* What a kitchen tells the hub about itself in its hello. */
struct kitchen_info {
	const char *name;
	const char *const *interfaces;	/* interface names or file paths */
	int ninterfaces;
	const char *filter;
	const char *const *chefs;
	int nchefs;
	double poke_interval;
};

struct sink *sink_stdout_open(void);

/* lossless: when the uplink buffer is full, emit() waits for room (reading
 * capture files) instead of dropping the oldest dumpling (live capture). */
struct sink *sink_hub_open(const struct wsclient_target *hub,
			   const struct kitchen_info *info, int lossless);

#endif
