#ifndef CHEF_H
#define CHEF_H

#include "decode/packet.h"

/* The chef runtime, the kitchen's cook stage: one LuaJIT state running
 * every chef of a kitchen. What the chefs return goes on the plate each
 * call is given (plate.h), as trees that owe nothing to Lua or to the
 * packets: the batch can be given back as soon as the call returns. */

struct plate;
struct flowcap;

struct chef_options {
	const char *kitchen_name;
	double poke_interval;		/* what interval handlers are told */
	const char *const *sources;	/* names behind dpl_packet.source */
	const int *linktypes;		/* theirs, for chef filters; NULL: none open */
	int nsources;
	double time_limit;		/* seconds a call into Lua may run; 0: no limit */
	size_t memory_limit;		/* bytes of Lua heap; 0: unlimited */
	struct flowcap *captures;	/* dumplings.capture(); NULL: none */
	/* Set when the kitchen is stopping: whatever runs in Lua is then
	 * interrupted within a second or two. */
	const _Atomic int *stopping;
	/* Lua is stuck in a loop that cannot be interrupted and the process
	 * will exit with 3: called (on another thread) to write out what was
	 * made and report, while the kitchen's own thread stays stuck. */
	void (*on_stuck)(void *ctx);
	void *ctx;
};

struct chef_stats {
	unsigned long dumplings;	/* put on plates */
	unsigned long handler_errors;	/* handlers that raised an error */
	unsigned long serialize_errors;	/* results that were not JSON-able */
};

struct chef_runtime;

struct chef_runtime *chef_runtime_new(const struct chef_options *opt);

/* The LuaJIT in use, as its jit.version says, into buf. */
void chef_runtime_luajit_version(char *buf, size_t len);
void chef_runtime_free(struct chef_runtime *rt);

/* Load a chef file and register its assignable chefs, with its arguments
 * ("key=value,key2=value2", or NULL), which reloads keep. Returns the
 * number of chefs registered, or -1 after logging why the file was
 * refused. */
int chef_runtime_load(struct chef_runtime *rt, const char *path, const char *args);

/* Print every chef a file defines, one per line (name, file stem, path),
 * without registering. */
int chef_runtime_list(struct chef_runtime *rt, const char *path);

/* Whether a file defines a chef of that name (1 or 0, without registering
 * it), or -1 after logging. */
int chef_runtime_defines(struct chef_runtime *rt, const char *path, const char *name);

/* The registered chef names, for the kitchen's hello; the array and its
 * strings live until the runtime is freed. */
const char *const *chef_runtime_names(struct chef_runtime *rt, int *n);

/* A count that moves whenever the names change (loads, reloads, removals). */
unsigned chef_runtime_names_changed(const struct chef_runtime *rt);

/* Reload a chef file (or load a new one) between batches: the new chefs
 * are built and checked, given their old selves through reload(old), then
 * swapped in; on any failure the running ones stay and the error is
 * logged. Unchanged content is skipped unless force. Chefs that leave make
 * their last interval dumplings on the plate. Returns 0 or -1. */
int chef_runtime_reload(struct chef_runtime *rt, const char *path, int force,
			struct plate *plate);

/* Retire the chefs of a file that went away (each makes a last interval
 * dumpling on the plate). */
void chef_runtime_remove(struct chef_runtime *rt, const char *path, struct plate *plate);

int chef_runtime_file_count(const struct chef_runtime *rt);
const char *chef_runtime_file(const struct chef_runtime *rt, int i);

/* Run every chef over a batch of packets, their dumplings onto the plate,
 * and call the chefs' flow_end and stream for each of the nev flow events
 * among them, in order: an event's at, less base, is the packet it comes
 * before (n: after the last); stream data is at its off in stream. */
void chef_runtime_batch(struct chef_runtime *rt, struct dpl_packet *pkts, int n,
			const struct dpl_flow_event *ev, int nev, int base,
			const uint8_t *stream, struct plate *plate);
/* How many running chefs define stream: whether the decode stage is to
 * reassemble TCP streams. */
int chef_runtime_stream_chefs(const struct chef_runtime *rt);
/* Run every interval handler, their dumplings onto the plate. */
void chef_runtime_poke(struct chef_runtime *rt, struct plate *plate);
const struct chef_stats *chef_runtime_stats(struct chef_runtime *rt);

/* The kitchen's health, per chef: an object of name -> {calls, errors,
 * dumplings, seconds}, the caller's to free. */
struct cJSON *chef_runtime_health(struct chef_runtime *rt);

#endif
