#ifndef HEALTH_H
#define HEALTH_H

#include "capture.h"
#include "chef.h"
#include "emit.h"
#include "flowcap.h"
#include "reader.h"

/* The chef name of the kitchen's health dumplings. */
#define HEALTH_CHEF "KitchenStatusChef"

struct health_report {
	const struct capture_source *sources;
	int nsources;
	struct reader *reader;	/* libpcap's counts of the sources */
	struct chef_runtime *chefs;
	struct emit *emit;	/* a sink without stats: no uplink part */
	double started;		/* monotonic_seconds() at the start */
	unsigned long pokes_skipped;	/* see poke.h */
	int final;		/* the last one, on the way out */
	struct flowcap *captures;	/* dumplings.capture(), or NULL */
};

/* The payload of a KitchenStatusChef dumpling (malloc'd JSON). */
char *health_payload(const struct health_report *r);

/* Send one, in line with the chefs' dumplings. */
void health_report(const struct health_report *r);

#endif
