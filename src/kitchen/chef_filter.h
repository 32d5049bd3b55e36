#ifndef CHEF_FILTER_H
#define CHEF_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "decode/packet.h"

/* The chefs' own BPF filters (chef.filter), run in C before the chefs:
 * the cook stage's, like the chefs. Each filter is compiled for the link
 * type of every source. */

struct chef_filters;

/* linktypes[i] is the link type of source i (dpl_packet.source). */
struct chef_filters *chef_filters_new(const int *linktypes, int nsources);
void chef_filters_free(struct chef_filters *fs);

/* Whether expr compiles for every source: 0, or -1 with why. */
int chef_filters_check(struct chef_filters *fs, const char *expr, char *why, size_t len);

/* Make exprs the filters run, filter k being row k of each run's result.
 * Returns 0, or -1 with why and no filters at all. */
int chef_filters_set(struct chef_filters *fs, const char *const *exprs, int n, char *why,
		     size_t len);
int chef_filters_count(const struct chef_filters *fs);

/* Run every filter over n packets: byte [k * n + i] is 1 when filter k
 * matches packet i. NULL when there are no filters. Valid until the next
 * run or set. */
const uint8_t *chef_filters_run(struct chef_filters *fs, const struct dpl_packet *pkts, int n);

#endif
