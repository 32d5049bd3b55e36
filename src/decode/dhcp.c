/* BOOTP (RFC 951) and, after its magic cookie, DHCP's options (RFC 2131
 * and 2132), on UDP ports 67 and 68: the fixed fields, then every option
 * as it was sent, and the few a chef most often wants by name. An option
 * the bytes cut short ends the options; the end option too. When option
 * 52 says so, the file and sname fields carry options instead of names
 * (RFC 2131, 4.1), read after the options field, file first. */
#include <string.h>

#include "apps.h"
#include "bytes.h"
#include "base/util.h"

enum {
	BOOTP_LEN = 236,			/* the fixed fields */
	COOKIE_AT = BOOTP_LEN, COOKIE = 0x63825363,
	OPTIONS_AT = COOKIE_AT + 4,
	CHADDR_AT = 28, CHADDR_LEN = 16,
	SNAME_AT = 44, SNAME_LEN = 64,
	FILE_AT = 108, FILE_LEN = 128,
};

enum {
	OPT_PAD = 0, OPT_HOSTNAME = 12, OPT_REQUESTED_ADDR = 50, OPT_LEASE_TIME = 51,
	OPT_OVERLOAD = 52, OPT_MESSAGE_TYPE = 53, OPT_SERVER_ID = 54,
	OPT_PARAM_REQ_LIST = 55, OPT_VENDOR_CLASS_ID = 60, OPT_END = 255,
};

/* Option 52's values: which fields hold options. */
enum { OVERLOAD_FILE = 1, OVERLOAD_SNAME = 2 };

int dhcp_recognise(const uint8_t *p, uint32_t len)
{
	if (len < BOOTP_LEN || (p[0] != 1 && p[0] != 2))	/* request, reply */
		return 0;
	return len >= OPTIONS_AT && get32(p + COOKIE_AT) == COOKIE ? 2 : 1;
}

static void add_option(struct dpl_dhcp *d, uint8_t code, uint32_t off, uint8_t len)
{
	if (d->nopts == d->opts_cap) {
		d->opts_cap = d->opts_cap ? d->opts_cap * 2 : 32;
		d->opts = xrealloc(d->opts, d->opts_cap * sizeof *d->opts);
	}
	d->opts[d->nopts++] = (struct dpl_dhcp_opt){ off, code, len };
}

/* The options in p[from, to); returns 0 at the end option, -1 where
 * they are cut short. */
static int read_options(struct dpl_dhcp *d, const uint8_t *p, uint32_t from, uint32_t to)
{
	uint32_t i = from;

	while (i < to) {
		uint8_t code = p[i], len;

		if (code == OPT_PAD) {
			i++;
			continue;
		}
		if (code == OPT_END)
			return 0;
		if (to - i < 2 || to - i - 2 < p[i + 1])
			return -1;
		len = p[i + 1];
		add_option(d, code, i + 2, len);
		i += 2u + len;
	}
	return -1;
}

/* The first option of a code, if its data has a length the code allows
 * (min to max bytes); else -1. */
static int32_t named(const struct dpl_dhcp *d, uint8_t code, uint8_t min, uint8_t max)
{
	for (uint32_t i = 0; i < d->nopts; i++)
		if (d->opts[i].code == code)
			return d->opts[i].len >= min && d->opts[i].len <= max ? (int32_t)i : -1;
	return -1;
}

static void name_options(struct dpl_dhcp *d)
{
	d->message_type = named(d, OPT_MESSAGE_TYPE, 1, 1);
	d->requested_addr = named(d, OPT_REQUESTED_ADDR, 4, 4);
	d->server_id = named(d, OPT_SERVER_ID, 4, 4);
	d->lease_time = named(d, OPT_LEASE_TIME, 4, 4);
	d->hostname = named(d, OPT_HOSTNAME, 1, 255);
	d->vendor_class_id = named(d, OPT_VENDOR_CLASS_ID, 1, 255);
	d->param_req_list = named(d, OPT_PARAM_REQ_LIST, 1, 255);
}

/* A name field: text up to its first NUL. */
static void copy_name(char *dst, const uint8_t *src, size_t n)
{
	const uint8_t *nul = memchr(src, 0, n);
	size_t len = nul ? (size_t)(nul - src) : n;

	memcpy(dst, src, len);
	dst[len] = '\0';
}

static void fixed_fields(struct dpl_dhcp *d, const uint8_t *p)
{
	d->op = p[0];
	d->htype = p[1];
	d->hlen = p[2];
	d->hops = p[3];
	d->xid = get32(p + 4);
	d->secs = get16(p + 8);
	d->flags = get16(p + 10);
	memcpy(d->ciaddr, p + 12, 4);
	memcpy(d->yiaddr, p + 16, 4);
	memcpy(d->siaddr, p + 20, 4);
	memcpy(d->giaddr, p + 24, 4);
	memcpy(d->chaddr, p + CHADDR_AT, CHADDR_LEN);
	copy_name(d->sname, p + SNAME_AT, SNAME_LEN);
	copy_name(d->file, p + FILE_AT, FILE_LEN);
}

/* Option 52, if the options field ended and holds one. */
static uint8_t overload(const struct dpl_dhcp *d, const uint8_t *p)
{
	int32_t i = named(d, OPT_OVERLOAD, 1, 1);

	return i < 0 ? 0 : p[d->opts[i].off];
}

int dhcp_decode(const uint8_t *msg, uint32_t len, struct dpl_dhcp *d)
{
	struct dpl_dhcp_opt *opts = d->opts;
	uint32_t cap = d->opts_cap;
	uint8_t over;

	memset(d, 0, sizeof *d);
	d->opts = opts;
	d->opts_cap = cap;
	d->message_type = d->requested_addr = d->server_id = d->lease_time = -1;
	d->hostname = d->vendor_class_id = d->param_req_list = -1;
	if (dhcp_recognise(msg, len) == 0)
		return -1;
	fixed_fields(d, msg);
	if (len < OPTIONS_AT || get32(msg + COOKIE_AT) != COOKIE)
		return 0;
	d->dhcp = 1;
	if (read_options(d, msg, OPTIONS_AT, len) == 0 && (over = overload(d, msg)) != 0) {
		if (over & OVERLOAD_FILE) {
			d->file[0] = '\0';
			read_options(d, msg, FILE_AT, FILE_AT + FILE_LEN);
		}
		if (over & OVERLOAD_SNAME) {
			d->sname[0] = '\0';
			read_options(d, msg, SNAME_AT, SNAME_AT + SNAME_LEN);
		}
	}
	name_options(d);
	return 0;
}
