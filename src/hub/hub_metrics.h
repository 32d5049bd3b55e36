#ifndef HUB_METRICS_H
#define HUB_METRICS_H

#include <stddef.h>
#include <stdio.h>

struct hub;

/* The hub's counters in the Prometheus text exposition format (version
 * 0.0.4), as served on GET /metrics: a malloc'd string of *len bytes. */
char *hub_metrics_text(struct hub *hub, size_t *len);

/* A label value, escaped as the format wants, for series made elsewhere. */
void hub_metrics_label(FILE *f, const char *s);

#endif
