/* UTF-8 validation, shared by the serializer (which keeps invalid bytes
 * representable), the hub (which refuses text frames that are not UTF-8)
 * and the eater (which shows them escaped); and the one list of the
 * controls that no text we write carries raw. */
#include "utf8.h"

size_t utf8_seq(const unsigned char *s, size_t left)
{
	unsigned char c = s[0];
	size_t len;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (len > left)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

int utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		size_t len;

		if (u[i] < 0x80) {
			i++;
			continue;
		}
		len = utf8_seq(u + i, n - i);
		if (!len)
			return 0;
		i += len;
	}
	return 1;
}

/* The hidden controls are all two or three bytes long, and their first
 * bytes are only C2, D8 and E2, so most text is told apart by one test. */
unsigned utf8_hidden_control(const unsigned char *s, size_t len)
{
	unsigned cp;

	if (len == 2 && s[0] == 0xc2 && s[1] < 0xa0)
		return s[1];
	if (len == 2 && s[0] == 0xd8 && s[1] == 0x9c)
		return 0x061c;
	if (len != 3 || s[0] != 0xe2)
		return 0;
	cp = 0x2000 | (unsigned)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
	if (cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069))
		return cp;
	return 0;
}

char *utf8_put_u_escape(char *o, unsigned cp)
{
	static const char hex[] = "0123456789abcdef";

	o[0] = '\\';
	o[1] = 'u';
	o[2] = hex[cp >> 12 & 15];
	o[3] = hex[cp >> 8 & 15];
	o[4] = hex[cp >> 4 & 15];
	o[5] = hex[cp & 15];
	return o + 6;
}

char *utf8_put_json(char *o, const unsigned char *s, size_t left, size_t *used)
{
	size_t len = utf8_seq(s, left);
	unsigned cp;

	if (!len) {
		*used = 1;
		if (s[0] < 0xa0)
			return utf8_put_u_escape(o, s[0]);
		*o++ = (char)(0xc0 | s[0] >> 6);
		*o++ = (char)(0x80 | (s[0] & 0x3f));
		return o;
	}
	*used = len;
	cp = utf8_hidden_control(s, len);
	if (cp)
		return utf8_put_u_escape(o, cp);
	for (size_t i = 0; i < len; i++)
		*o++ = (char)s[i];
	return o;
}
