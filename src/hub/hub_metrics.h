#ifndef HUB_METRICS_H
#define HUB_METRICS_H

#include <stddef.h>

struct hub;

/* The hub's counters in the Prometheus text exposition format (version
 * 0.0.4), as served on GET /metrics: a malloc'd string of *len bytes. */
char *hub_metrics_text(struct hub *hub, size_t *len);

#endif
