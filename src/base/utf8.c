/* UTF-8 validation, shared by the serializer (which keeps invalid bytes
 * representable), the hub (which refuses text frames that are not UTF-8)
 * and the eater (which shows them escaped). */
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
