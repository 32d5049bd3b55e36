/* HTTP/1 messages: a request or a response at the start of a TCP
 * segment, recognised by its start line whatever the ports, and decoded
 * when a chef reads it: the start line, then the header fields, names
 * lower-cased and repeated fields joined with ", " (RFC 9110, 5.3). Lines
 * may end in CRLF or a bare LF (RFC 9112, 2.2); a field may go on in
 * continuation lines (obsolete line folding), joined with a space. A line
 * that is not a field is skipped, and one the bytes cut short is left
 * out: half a value would pass for a whole one. */
#include <string.h>
#include <strings.h>

#include "apps.h"
#include "base/util.h"

enum {
	METHOD_MAX = 32,	/* longer than any method in use */
	FIELDS_MAX = 256,	/* fields decoded per message; the rest are not */
	VERSION_LEN = 8,	/* "HTTP/1.1" */
	STATUS_LINE_MIN = VERSION_LEN + 4,
};

/* The methods a start line cut short by the end of the bytes may begin
 * with: without the version at the end of the line, the method alone
 * must say that this is HTTP. */
static const char *const known_methods[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
};

static int is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static int is_method_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
}

/* RFC 9110's tchar, the bytes a field name is made of. */
static int is_token_char(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int is_space(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* The index of the LF ending the line that starts at from, or len. */
static uint32_t line_end(const uint8_t *p, uint32_t from, uint32_t len)
{
	const uint8_t *lf = memchr(p + from, '\n', len - from);

	return lf ? (uint32_t)(lf - p) : len;
}

/* The end of a line's text, before its CR if it has one. */
static uint32_t text_end(const uint8_t *p, uint32_t from, uint32_t eol)
{
	return eol > from && p[eol - 1] == '\r' ? eol - 1 : eol;
}

/* HTTP/1.x: later versions are not text on the wire. */
static int is_version(const uint8_t *p, uint32_t n)
{
	return n == VERSION_LEN && !memcmp(p, "HTTP/1.", 7) && is_digit(p[7]);
}

/* The length of the method at p, when a space follows it; else 0. */
static uint32_t method_len(const uint8_t *p, uint32_t end)
{
	uint32_t i = 0;

	while (i < end && i < METHOD_MAX && is_method_char(p[i]))
		i++;
	return i > 0 && i < end && p[i] == ' ' ? i : 0;
}

static int is_known_method(const uint8_t *p, uint32_t n)
{
	for (size_t i = 0; i < sizeof known_methods / sizeof known_methods[0]; i++)
		if (strlen(known_methods[i]) == n && !memcmp(p, known_methods[i], n))
			return 1;
	return 0;
}

/* The last space of p[from, end), or 0 if there is none. */
static uint32_t last_space(const uint8_t *p, uint32_t from, uint32_t end)
{
	for (uint32_t i = end; i > from; i--)
		if (p[i - 1] == ' ')
			return i - 1;
	return 0;
}

/* method SP target SP HTTP/1.x; a line the bytes cut needs a known
 * method and something after it. */
static int is_request_line(const uint8_t *p, uint32_t eol, int cut)
{
	uint32_t m = method_len(p, eol), end, sp;

	if (!m)
		return 0;
	if (cut)
		return is_known_method(p, m) && m + 1 < eol;
	end = text_end(p, 0, eol);
	sp = last_space(p, m + 1, end);
	return sp > m + 1 && is_version(p + sp + 1, end - sp - 1);
}

/* HTTP/1.x SP 3DIGIT, then a reason, or the end of the line. */
static int is_status_line(const uint8_t *p, uint32_t eol)
{
	return eol >= STATUS_LINE_MIN && is_version(p, VERSION_LEN) && p[8] == ' ' &&
	       is_digit(p[9]) && is_digit(p[10]) && is_digit(p[11]) &&
	       (eol == STATUS_LINE_MIN || p[12] == ' ' || p[12] == '\r');
}

/* 1 request, 2 response, 0 neither; *eol: where the start line ends. */
static int kind_of(const uint8_t *p, uint32_t len, uint32_t *eol)
{
	/* Most payloads fail on their first byte, before any search. */
	if (len < 2 || !is_method_char(p[0]))
		return 0;
	if (p[0] == 'H' && len >= STATUS_LINE_MIN && !memcmp(p, "HTTP/", 5)) {
		*eol = line_end(p, 0, len);
		return is_status_line(p, *eol) ? 2 : 0;
	}
	if (!method_len(p, len))
		return 0;
	*eol = line_end(p, 0, len);
	return is_request_line(p, *eol, *eol == len) ? 1 : 0;
}

/* The start line and the field lines, through the empty line that ends
 * them; all of len if that is not there. */
static uint32_t head_length(const uint8_t *p, uint32_t len, uint32_t eol, int *complete)
{
	uint32_t pos;

	*complete = 0;
	while (eol < len) {
		pos = eol + 1;
		eol = line_end(p, pos, len);
		if (eol == len)
			break;
		if (text_end(p, pos, eol) == pos) {
			*complete = 1;
			return eol + 1;
		}
	}
	return len;
}

int http_recognise(const uint8_t *p, uint32_t len, uint32_t *head_len)
{
	int complete;

	return http_recognise_whole(p, len, head_len, &complete);
}

int http_recognise_whole(const uint8_t *p, uint32_t len, uint32_t *head_len, int *complete)
{
	uint32_t eol = 0;
	int kind = kind_of(p, len, &eol);

	*complete = 0;
	if (kind)
		*head_len = head_length(p, len, eol, complete);
	return kind;
}

/* ---- decoding ------------------------------------------------------------ */

struct raw_field {
	uint32_t name, name_len;
	uint32_t value, value_end;	/* in the message, continuations included */
};

static uint32_t put(struct dpl_http *h, const uint8_t *s, uint32_t n)
{
	uint32_t at = apps_text_put(&h->text, s, n);

	apps_text_end(&h->text);
	return at;
}

static void request_line(struct dpl_http *h, const uint8_t *p, uint32_t eol, int cut)
{
	uint32_t m = method_len(p, eol), end = cut ? eol : text_end(p, 0, eol);
	uint32_t sp = last_space(p, m + 1, end);

	h->method = put(h, p, h->method_len = m);
	h->line_parts = 1;
	if (!sp)
		return;			/* the target is cut */
	h->uri = put(h, p + m + 1, h->uri_len = sp - m - 1);
	h->line_parts = 2;
	if (cut)
		return;			/* so is the version */
	h->version = put(h, p + sp + 1, h->version_len = end - sp - 1);
	h->line_parts = 3;
}

static void status_line(struct dpl_http *h, const uint8_t *p, uint32_t eol, int cut)
{
	uint32_t end = cut ? eol : text_end(p, 0, eol);

	h->version = put(h, p, h->version_len = VERSION_LEN);
	h->status_code = (uint16_t)((p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0'));
	h->line_parts = 2;
	if (cut)
		return;			/* the reason may go on */
	if (end > STATUS_LINE_MIN)
		h->reason = put(h, p + STATUS_LINE_MIN + 1, h->reason_len = end - STATUS_LINE_MIN - 1);
	else
		h->reason = put(h, p, h->reason_len = 0);
	h->line_parts = 3;
}

/* A field line: a token, a colon, the value. */
static int field_line(const uint8_t *p, uint32_t pos, uint32_t end, struct raw_field *f)
{
	uint32_t i = pos;

	while (i < end && is_token_char(p[i]))
		i++;
	if (i == pos || i == end || p[i] != ':')
		return -1;
	f->name = pos;
	f->name_len = i - pos;
	f->value = i + 1;
	f->value_end = end;
	return 0;
}

/* The field lines of p[from, head_end), whole lines only. A continuation
 * belongs to the line before it: to a field only if that line was one
 * kept, else the value would take in the lines between. */
static uint32_t read_fields(const uint8_t *p, uint32_t from, uint32_t head_end,
			    struct raw_field *raw)
{
	uint32_t n = 0, pos = from;
	int kept = 0;

	while (pos < head_end) {
		uint32_t eol = line_end(p, pos, head_end), end = text_end(p, pos, eol);

		if (eol == head_end || end == pos)
			break;		/* cut short, or the empty line */
		if (is_space(p[pos])) {
			if (kept)
				raw[n - 1].value_end = end;
		} else {
			kept = n < FIELDS_MAX && field_line(p, pos, end, &raw[n]) == 0;
			n += (uint32_t)kept;
		}
		pos = eol + 1;
	}
	return n;
}

static int same_name(const uint8_t *p, const struct raw_field *a, const struct raw_field *b)
{
	return a->name_len == b->name_len && !strncasecmp((const char *)p + a->name,
							  (const char *)p + b->name, a->name_len);
}

/* A value without the spaces around it, each line break inside it (with
 * the spaces around that) made one space. */
static void put_value(struct dpl_http *h, const uint8_t *p, uint32_t from, uint32_t to)
{
	while (from < to && is_space(p[from]))
		from++;
	while (to > from && (is_space(p[to - 1]) || p[to - 1] == '\r'))
		to--;
	while (from < to) {
		uint32_t run = from;

		while (run < to && p[run] != '\r' && p[run] != '\n')
			run++;
		apps_text_put(&h->text, p + from, run - from);
		if (run == to)
			break;
		while (run < to && (p[run] == '\r' || p[run] == '\n' || is_space(p[run])))
			run++;
		apps_text_put(&h->text, " ", 1);
		from = run;
	}
}

/* Field i, with every later one of the same name, as one field. */
static void put_field(struct dpl_http *h, const uint8_t *p, const struct raw_field *raw,
		      uint32_t n, uint32_t i)
{
	struct dpl_http_field *f = &h->fields[h->nfields++];

	f->name_len = raw[i].name_len;
	f->name = put(h, p + raw[i].name, f->name_len);
	for (uint32_t k = 0; k < f->name_len; k++) {
		char *c = &h->text.s[f->name + k];

		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	}
	f->value = h->text.len;
	for (uint32_t j = i; j < n; j++) {
		if (!same_name(p, &raw[i], &raw[j]))
			continue;
		if (j > i)
			apps_text_put(&h->text, ", ", 2);
		put_value(h, p, raw[j].value, raw[j].value_end);
	}
	f->value_len = h->text.len - f->value;
	apps_text_end(&h->text);
}

static void fields(struct dpl_http *h, const uint8_t *p, uint32_t from, uint32_t head_end)
{
	struct raw_field raw[FIELDS_MAX];
	uint32_t n = read_fields(p, from, head_end, raw);

	if (n > h->fields_cap) {
		h->fields_cap = FIELDS_MAX;
		h->fields = xrealloc(h->fields, FIELDS_MAX * sizeof *h->fields);
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t k = 0;

		while (k < i && !same_name(p, &raw[k], &raw[i]))
			k++;
		if (k == i)		/* not joined to an earlier one */
			put_field(h, p, raw, n, i);
	}
}

static void reset(struct dpl_http *h)
{
	struct dpl_http_field *fields = h->fields;
	uint32_t cap = h->fields_cap;
	struct dpl_text text = h->text;

	memset(h, 0, sizeof *h);
	h->fields = fields;
	h->fields_cap = cap;
	h->text = text;
	h->text.len = 0;
}

int http_decode(const uint8_t *msg, uint32_t len, struct dpl_http *h)
{
	uint32_t eol = 0;
	int complete;

	reset(h);
	h->kind = (uint8_t)kind_of(msg, len, &eol);
	if (!h->kind)
		return -1;
	h->head_len = head_length(msg, len, eol, &complete);
	h->complete = (uint8_t)complete;
	if (h->kind == 1)
		request_line(h, msg, eol, eol == len);
	else
		status_line(h, msg, eol, eol == len);
	if (eol < len)
		fields(h, msg, eol + 1, h->head_len);
	return 0;
}
