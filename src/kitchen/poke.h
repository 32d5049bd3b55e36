#ifndef POKE_H
#define POKE_H

/* The poke scheduler: when the chefs' interval handlers run. Capturing
 * live its clock is the monotonic clock; reading files it is the packets'
 * own timestamps, read packet by packet, so that an interval holds exactly
 * the packets before its boundary.
 *
 * One policy for both: a poke is due once the clock reaches the next
 * interval boundary. Boundaries it passed meanwhile (a gap in a capture,
 * or chefs that kept the kitchen busy) are not made up for: the one poke
 * stands for them all, they are counted as skipped, and the next boundary
 * keeps the interval's phase. A clock that goes back (a next file that
 * starts earlier) ends the running interval with a poke and starts again
 * from there. */
struct poke_clock {
	double interval;
	double next;		/* the next boundary, once started */
	int started;
	unsigned long skipped;	/* boundaries passed without a poke of their own */
};

void poke_clock_init(struct poke_clock *c, double interval);

/* The first boundary is one interval after t. */
void poke_clock_start(struct poke_clock *c, double t);

/* The rest of poke_due(): the clock starts, goes back or reaches a
 * boundary. */
int poke_turn(struct poke_clock *c, double t);

/* Whether a poke is due at t; if so the clock moves on past t. A clock
 * not started yet starts at t. Inline: reading files, every packet asks. */
static inline int poke_due(struct poke_clock *c, double t)
{
	if (c->started && t < c->next && t >= c->next - c->interval)
		return 0;
	return poke_turn(c, t);
}

/* Seconds from t to the next boundary, 0 when a poke is due. */
double poke_wait(const struct poke_clock *c, double t);

#endif
