#ifndef PRIVDROP_H
#define PRIVDROP_H

/* Become USER (its uid, gid and supplementary groups) for good. Returns 0,
 * or -1 after logging why. */
int privdrop_to(const char *user);

#endif
