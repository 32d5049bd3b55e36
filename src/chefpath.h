#ifndef CHEFPATH_H
#define CHEFPATH_H

/* The chef file a -c argument names (malloc'd), or NULL after logging. */
char *chefpath_resolve(const char *arg);

/* Every bundled chef file, sorted; returns how many, or -1 after logging. */
int chefpath_bundled(char ***paths);

#endif
