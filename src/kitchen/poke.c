/* The poke scheduler (see poke.h). */
#include <math.h>

#include "poke.h"

void poke_clock_init(struct poke_clock *c, double interval)
{
	c->interval = interval;
	c->next = 0;
	c->started = 0;
	c->skipped = 0;
}

void poke_clock_start(struct poke_clock *c, double t)
{
	c->next = t + c->interval;
	c->started = 1;
}

int poke_turn(struct poke_clock *c, double t)
{
	double missed;

	if (!c->started) {
		poke_clock_start(c, t);
		return 0;
	}
	if (t < c->next) {
		if (t >= c->next - c->interval)
			return 0;
		poke_clock_start(c, t);		/* the clock went back */
		return 1;
	}
	missed = floor((t - c->next) / c->interval);
	c->skipped += (unsigned long)missed;
	c->next += (missed + 1) * c->interval;
	return 1;
}

double poke_wait(const struct poke_clock *c, double t)
{
	return c->started && t < c->next ? c->next - t : 0;
}
