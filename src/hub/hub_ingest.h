#ifndef HUB_INGEST_H
#define HUB_INGEST_H

/* The one way in for dumplings (hub_ingest.c), whoever publishes them: a
 * kitchen's connection (hub_conn.c), or the link to other hubs (hub_link.c).
 * It knows nothing of libwebsockets: it takes a message's bytes and where
 * they came from, checks them, keeps the books and hands the dumpling to
 * fan-out. Only the hub's own thread may call it; other threads go through
 * the inbox (hub_inbox.h). */

#include <stddef.h>

struct hub;
struct hub_ledger;

/* A publisher, as ingest sees it: its own counts, and whom to acknowledge
 * its dumplings to once every eater is done with them. */
struct hub_source {
	unsigned long in;		/* dumplings taken from it */
	unsigned long invalid;		/* messages from it dropped as invalid */
	struct hub_ledger *ledger;	/* it asked for acknowledgements, or NULL */
};

enum hub_intake {
	HUB_TAKEN,	/* published to every eater that wants it */
	HUB_REPEATED,	/* a dumpling the hub had already: acknowledged, not sent again */
	HUB_INVALID,	/* dropped and counted; *why says why */
	HUB_NO_CHEF,	/* a JSON document with no metadata.chef: not counted yet,
			 * the publisher's protocol may know it (a kitchen's new
			 * hello); if not, hub_ingest_reject() it */
};

/* Check one message (never parsed into a tree, only scanned: that is most
 * of what the hub does per dumpling), book its kitchen run's seq, keep a
 * kitchen's health report, and publish it. */
enum hub_intake hub_ingest(struct hub *hub, struct hub_source *from,
			   const char *msg, size_t len, const char **why);

/* Count one message from a source as invalid, for a reason its own
 * protocol found (a binary frame, a document that is no dumpling). */
void hub_ingest_reject(struct hub *hub, struct hub_source *from);

void hub_ingest_free(struct hub *hub);

#endif
