/* Addresses as text, for chefs: the decoder keeps them binary, and Lua
 * asks for the text only of those a chef reads. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "packet.h"

int format_mac(const uint8_t *mac, int len, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	int n = 0;

	if (len > 20)
		len = 20;
	for (int i = 0; i < len; i++) {
		if (i)
			buf[n++] = ':';
		buf[n++] = hex[mac[i] >> 4];
		buf[n++] = hex[mac[i] & 15];
	}
	buf[n] = '\0';
	return n;
}

/* Every IPv4 address a chef reads is spelled here: by hand, as printf's
 * machinery costs more than the rest of the field. */
static char *put_octet(char *p, unsigned v)
{
	if (v >= 100) {
		*p++ = (char)('0' + v / 100);
		v %= 100;
		*p++ = (char)('0' + v / 10);
	} else if (v >= 10) {
		*p++ = (char)('0' + v / 10);
	}
	*p++ = (char)('0' + v % 10);
	return p;
}

int format_ip4(const uint8_t *a, char *buf)
{
	char *p = buf;

	for (int i = 0; i < 4; i++) {
		if (i)
			*p++ = '.';
		p = put_octet(p, a[i]);
	}
	*p = '\0';
	return (int)(p - buf);
}

int format_ip6(const uint8_t *a, char *buf)
{
	if (!inet_ntop(AF_INET6, a, buf, 46))
		buf[0] = '\0';
	return (int)strlen(buf);
}
