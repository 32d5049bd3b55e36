#ifndef CHEFPATH_H
#define CHEFPATH_H

/* The chef file a -c argument names (malloc'd), or NULL after logging. */
char *chefpath_resolve(const char *arg);

/* Append every *.lua file of a directory, sorted, to *paths (*n of them so
 * far). Returns 0, or -1 after logging. */
int chefpath_in_dir(const char *dir, char ***paths, int *n);

/* Append every bundled chef file, sorted. Returns 0, or -1 after logging. */
int chefpath_bundled(char ***paths, int *n);

#endif
