#ifndef CONFIG_H
#define CONFIG_H

/* Configuration files, the same for every role: long options, one a line,
 * in a file named by --config FILE. Lines are "name value", "name=value"
 * or "name" alone (a flag), with or without the leading "--"; a value may
 * be put in double quotes (an empty one, or one with spaces at its ends);
 * blank lines and lines that start with '#' are skipped. The file's
 * options go before the command line's, so that of an option given once,
 * the command line's wins. */

/* Replace --config FILE (or --config=FILE) in argv, where argv[0] is the
 * role, by the options the file holds, put right after argv[0]. Options
 * after "--" are left alone. Returns 0, or -1 after saying why (the file
 * and line). What it makes lives as long as the process. */
int config_expand(int *argc, char ***argv);

#endif
