#ifndef JSONNUM_H
#define JSONNUM_H

/* The shortest spelling of d (which must be finite) that reads back as
 * exactly d. buf needs 32 bytes; returns the length. */
int json_number(double d, char *buf);

/* The wall clock as epoch seconds, to the microsecond. */
int json_time_now(char *buf);

#endif
