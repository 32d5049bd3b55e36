#ifndef PLATE_H
#define PLATE_H

#include "jsontree.h"

/* A plate: the dumplings one call into the chefs made, carried from the
 * cook stage (chef.c) to the emit stage (emit.c), which puts each in its
 * envelope. Everything an item refers to lives in the plate's arena, so a
 * plate owes nothing to the packets or the chefs that made it. */

struct plate_item {
	const struct cJSON *payload;
	const char *chef;	/* the chef's name */
	const char *driver;	/* "packet" or "interval" */
	const char *rev;	/* the chef's revision, or NULL */
	char creation_time[32];	/* when it was made, as a JSON number */
};

struct plate {
	struct json_arena arena;
	struct plate_item *items;
	int n, cap;
};

/* Empty, for refilling. */
void plate_clear(struct plate *p);
void plate_free(struct plate *p);

/* A dumpling made now, its payload a tree in p->arena; the strings are
 * copied there. */
void plate_add(struct plate *p, const struct cJSON *payload, const char *chef,
	       const char *driver, const char *rev);

#endif
