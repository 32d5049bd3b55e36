#ifndef HUB_LINK_H
#define HUB_LINK_H

/* The hub's link to other hubs over NATS (hub_link.c), with --nats.
 *
 * Out: a fan-out subscriber takes every dumpling the hub's own kitchens
 * sent (nothing that came from NATS, nor the hub's own status) and hands a
 * copy to a publisher thread, through a bounded outbox, so that a slow or
 * stalled NATS connection never holds the hub's thread. The subject names
 * the kitchen and the chef: dumplings.KITCHEN.CHEF (hub_link_subject()).
 *
 * In: a subscription to dumplings.> (or to the kitchens the eaters name,
 * hub_link_rescope()) delivers the other hubs' dumplings on cnats' thread; each goes through the hub's inbox into ingest, as coming
 * from the link's own source, so the seq books count the federation's
 * losses as they count a kitchen's. The connection asks the server for no
 * echo, and the subscriber never publishes what the link brought in. */

#include <stddef.h>
#include <stdio.h>

struct hub;
struct hub_msg;
struct cJSON;

/* Connect (in the background: the hub starts whether or not a server
 * answers, and cnats keeps trying) and subscribe. -1 after saying why. */
int hub_link_open(struct hub *hub);
void hub_link_close(struct hub *hub);

/* The eaters changed: the link follows them, a moment later. It takes
 * every kitchen's dumplings unless every eater names its kitchens, and
 * then only theirs (dumplings.KITCHEN.>, one subscription each, up to
 * LINK_SCOPE_MAX of them), so that a hub whose eaters want a few kitchens
 * of many is not sent the rest. */
void hub_link_rescope(struct hub *hub);

/* Fan-out subscribers that are the link, not eaters: 0 or 1. */
int hub_link_subscribers(struct hub *hub);

/* The "nats" object of the status dumpling, and the dumplings_hub_nats_*
 * series of /metrics; nothing without --nats. */
void hub_link_status(struct hub *hub, struct cJSON *payload);
/* remote_kitchens, while they fit in budget bytes, and
 * remote_kitchens_unlisted; nothing without --nats. */
void hub_link_remote_status(struct hub *hub, struct cJSON *payload, size_t budget);
void hub_link_metrics(struct hub *hub, FILE *f);

/* With --nats-stream, for the replays (hub_replay.c), from any thread: the
 * JetStream context once the link has made sure of the stream, or NULL
 * with why not in why; whether the link's outbox is empty. */
struct __jsCtx;
struct __jsCtx *hub_link_stream(struct hub *hub, char *why, size_t size);
int hub_link_outbox_empty(struct hub *hub);

/* A dumpling's subject: "dumplings." then kitchen and chef, each with every
 * byte other than A-Z a-z 0-9 - _ written %XX (so a name never splits
 * into tokens or becomes a wildcard, and the name can be read back); no
 * kitchen, or an empty name, is "%". Returns the length written, or 0 if
 * it does not fit in size. hub_link_unsubject() reads one token back. */
size_t hub_link_subject(char *buf, size_t size, const char *kitchen, const char *chef);
int hub_link_unsubject(const char *token, size_t len, char *out, size_t size);
/* The same with NULL for any: dumplings.KITCHEN.> (chef NULL) or
 * dumplings.*.CHEF (kitchen NULL); 0 if it does not fit. */
size_t hub_link_pattern(char *buf, size_t size, const char *kitchen, const char *chef);

#endif
