#ifndef ROLES_H
#define ROLES_H

#include <stdio.h>

/* The entry point of each role; argv[0] is the role's name. Each returns the
 * process exit status: 0 success, 1 runtime failure, 2 bad command line. */
int kitchen_main(int argc, char **argv);
int hub_main(int argc, char **argv);
int eat_main(int argc, char **argv);

/* --version, for every role: dumplings' and that of each library in use
 * (src/versions.c). */
void print_versions(FILE *out);

#endif
