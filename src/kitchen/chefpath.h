#ifndef CHEFPATH_H
#define CHEFPATH_H

/* Whether a -c argument is a path (has a slash, or ends in .lua) rather
 * than the name of a bundled chef. */
int chefpath_is_path(const char *arg);

/* The chef file a -c argument names (malloc'd): a path (NULL after
 * logging when there is nothing there), or the stem of a bundled chef
 * file (NULL, silently, when there is none). */
char *chefpath_resolve(const char *arg);

/* Append every *.lua file of a directory, sorted, to *paths (*n of them so
 * far). Returns 0, or -1 after logging. */
int chefpath_in_dir(const char *dir, char ***paths, int *n);

/* Append every bundled chef file, sorted. Returns 0, or -1 after logging. */
int chefpath_bundled(char ***paths, int *n);

#endif
