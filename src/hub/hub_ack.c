/* Acknowledgements to kitchens that ask for them ("acks": true in their
 * hello). A kitchen keeps what it wrote until the hub says it is done with
 * it, and sends it again on its next connection if this one breaks first,
 * so a hub that dies takes nothing with it that a kitchen cannot resend.
 * Done means no eater still waits for it: every eater was sent it (or
 * filters it out), was told it was skipped, or there was no eater. The
 * acknowledgement is one small message, {"ack": SEQ}, sent from the
 * kitchen's WRITEABLE whenever the seq it would carry has moved. */
#include <stdio.h>
#include <stdlib.h>

#include "hub.h"
#include "base/util.h"

struct hub_ledger *hub_ack_open(struct hub_conn *kitchen)
{
	struct hub_ledger *l = xcalloc(1, sizeof *l);

	l->conn = kitchen;
	l->refs = 1;
	return l;
}

void hub_ack_hold(struct hub_ledger *l)
{
	if (l)
		l->refs++;
}

void hub_ack_release(struct hub_ledger *l)
{
	if (l && !--l->refs)
		free(l);
}

void hub_ack_close(struct hub_conn *kitchen)
{
	struct hub_ledger *l = kitchen->src.ledger;

	if (!l)
		return;
	l->conn = NULL;
	kitchen->src.ledger = NULL;
	hub_ack_release(l);
}

void hub_ack_done(struct hub_ledger *l, unsigned long long seq)
{
	struct hub_conn *c;

	if (!l || seq <= l->done)
		return;
	l->done = seq;
	c = l->conn;
	if (c && !c->ack_armed && !c->closing) {
		c->ack_armed = 1;
		lws_callback_on_writable(c->wsi);
	}
}

int hub_ack_writable(struct hub_conn *kitchen)
{
	struct hub_ledger *l = kitchen->src.ledger;
	unsigned char buf[LWS_PRE + 40];
	int n;

	kitchen->ack_armed = 0;
	if (!l || l->done == l->told)
		return 0;
	n = snprintf((char *)buf + LWS_PRE, sizeof buf - LWS_PRE, "{\"ack\":%llu}", l->done);
	if (lws_write(kitchen->wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < 0)
		return -1;
	l->told = l->done;
	return 0;
}
