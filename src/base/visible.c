/* Text shown on a terminal (see visible.h). Shared by the log, so that a
 * chef's name or error cannot move the cursor of whoever reads stderr,
 * and by the eater's --print. Runs of plain text go out in one write. */
#include "utf8.h"
#include "visible.h"

static int is_plain_ascii(unsigned char c, int flags)
{
	return (c >= 0x20 && c < 0x7f) || (c == '\t' && (flags & VISIBLE_KEEP_TAB));
}

/* Length of the run at s that is written as it is. */
static size_t plain_run(const unsigned char *s, size_t len, int flags)
{
	size_t i = 0, n;

	while (i < len) {
		if (s[i] < 0x80) {
			if (!is_plain_ascii(s[i], flags))
				break;
			i++;
			continue;
		}
		n = utf8_seq(s + i, len - i);
		if (!n || utf8_hidden_control(s + i, n))
			break;
		i += n;
	}
	return i;
}

/* The byte or sequence at s, which plain_run() stopped at, escaped;
 * returns how many bytes it took. */
static size_t put_escaped(FILE *f, const unsigned char *s, size_t len)
{
	size_t n;

	if (s[0] < 0x80) {
		fprintf(f, "\\u%04x", s[0]);
		return 1;
	}
	n = utf8_seq(s, len);
	if (!n) {
		fprintf(f, "\\x%02x", s[0]);
		return 1;
	}
	fprintf(f, "\\u%04x", utf8_hidden_control(s, n));
	return n;
}

void visible_write(FILE *f, const char *str, size_t len, int flags)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n;

	while (i < len) {
		n = plain_run(s + i, len - i, flags);
		if (n) {
			fwrite(s + i, 1, n, f);
			i += n;
		}
		if (i < len)
			i += put_escaped(f, s + i, len - i);
	}
}
