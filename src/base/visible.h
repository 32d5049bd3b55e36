#ifndef VISIBLE_H
#define VISIBLE_H

#include <stdio.h>

/* Text from elsewhere (the wire, a chef, a capture, a command line)
 * written so that a terminal shows all of it and obeys none of it: C0
 * controls and DEL as \u00XX, the C1 and bidirectional controls of
 * utf8_hidden_control() as \uXXXX, and bytes that are not UTF-8 as \xNN.
 * Everything else, printable UTF-8 included, is written as it is. */

enum visible_flags {
	VISIBLE_KEEP_TAB = 1,	/* write tabs as they are */
};

void visible_write(FILE *f, const char *s, size_t len, int flags);

#endif
