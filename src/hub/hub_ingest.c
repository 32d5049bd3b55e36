/* Ingest (see hub_ingest.h): every dumpling from a publisher is checked,
 * booked and published here. The checks are DESIGN.md's: valid JSON (and,
 * stricter, valid UTF-8 with nothing after the document, as strict eaters
 * need), an object, metadata.chef a string. What fails is counted, for the
 * hub and for its source, and dropped; nobody else notices. */
#include <stdlib.h>

#include "hub.h"
#include "hub_ingest.h"
#include "base/jsonscan.h"
#include "base/util.h"

/* The strings json_scan() reads from a message go to a buffer kept from
 * one message to the next. */
static char *ingest_scratch(struct hub *hub, size_t len)
{
	if (hub->scratch_len < len + 3) {
		free(hub->scratch);
		hub->scratch_len = len + 3;
		hub->scratch = xmalloc(hub->scratch_len);
	}
	return hub->scratch;
}

void hub_ingest_reject(struct hub *hub, struct hub_source *from)
{
	from->invalid++;
	hub->count.invalid++;
}

enum hub_intake hub_ingest(struct hub *hub, struct hub_source *from,
			   const char *msg, size_t len, const char **why)
{
	struct json_meta meta;

	if (json_scan(msg, len, &meta, ingest_scratch(hub, len)) < 0) {
		hub_ingest_reject(hub, from);
		*why = "invalid JSON dropped";
		return HUB_INVALID;
	}
	if (!meta.chef)
		return HUB_NO_CHEF;
	from->in++;
	hub->count.in++;
	if (!seq_book_note(&hub->seq, meta.kitchen, meta.run, meta.seq)) {
		/* sent again by a kitchen whose connection broke before our
		 * acknowledgement reached it: eaters had it already */
		hub_ack_done(from->ledger, meta.seq);
		return HUB_REPEATED;
	}
	hub_health_note(hub, meta.chef, meta.kitchen, msg, len);
	if (!hub->fan.nsubs)
		hub->count.undelivered++;
	hub_fanout_publish(hub, msg, len, meta.chef, meta.kitchen, meta.driver,
			   from->ledger, meta.seq);
	hub_latest_note(&hub->latest, msg, len, meta.chef, meta.kitchen, meta.driver);
	return HUB_TAKEN;
}

void hub_ingest_free(struct hub *hub)
{
	free(hub->scratch);
	hub->scratch = NULL;
	hub->scratch_len = 0;
}
