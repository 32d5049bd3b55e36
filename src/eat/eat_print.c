/* What `dumplings eat` writes. Everything that came over the wire goes
 * through visible_write(), so a hostile chef or kitchen name cannot move
 * the cursor, retitle the terminal or hide text: control characters (C0,
 * DEL, C1) and bidirectional controls are escaped, and bytes that are not
 * UTF-8 are shown as \xNN. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "eat.h"
#include "base/jsonnum.h"
#include "base/jsonscan.h"
#include "base/utf8.h"
#include "base/util.h"
#include "base/visible.h"

#define C_RESET  "\033[0m"
#define C_DIM    "\033[2m"
#define C_BOLD   "\033[1m"
#define C_CYAN   "\033[36m"
#define C_YELLOW "\033[33m"
#define C_GREEN  "\033[32m"

static void safe_puts(FILE *f, const char *s)
{
	visible_write(f, s, strlen(s), 0);
}

static void indent(FILE *f, int depth)
{
	fprintf(f, "%*s", depth * 4, "");
}

/* How many bytes at s need no JSON escape. */
static size_t json_plain_length(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && (unsigned char)s[i] >= 0x20 && s[i] != '"' && s[i] != '\\')
		i++;
	return i;
}

/* A string as a JSON literal, escaped as cJSON escapes, then shown as
 * visible_write() shows text: the NULs a string may hold appear as
 * \u0000, C1 and bidirectional controls as \uXXXX. */
static void put_string(FILE *f, const char *s, size_t n)
{
	size_t i = 0, run;

	fputc('"', f);
	while (i < n) {
		run = i + json_plain_length(s + i, n - i);
		visible_write(f, s + i, run - i, 0);
		if (run == n)
			break;
		switch (s[run]) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\b': fputs("\\b", f); break;
		case '\f': fputs("\\f", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default: fprintf(f, "\\u%04x", (unsigned char)s[run]); break;
		}
		i = run + 1;
	}
	fputc('"', f);
}

static void put_number(FILE *f, double d)
{
	char digits[32];

	if (!isfinite(d)) {
		fputs("null", f);	/* as cJSON prints what overflowed */
		return;
	}
	json_number(d, digits);
	fputs(digits, f);
}

static void pretty(FILE *f, struct eat_json *j, enum eat_token t, int depth);

/* The members of an object (obj) or the items of an array, just opened. */
static void pretty_container(FILE *f, struct eat_json *j, int obj, int depth)
{
	enum eat_token t = eat_json_next(j);

	if (t == EAT_TOK_CLOSE || t == EAT_TOK_END) {
		fputs(obj ? "{}" : "[]", f);
		return;
	}
	fputs(obj ? "{\n" : "[\n", f);
	while (t != EAT_TOK_CLOSE && t != EAT_TOK_END) {
		indent(f, depth + 1);
		if (obj) {
			pretty(f, j, t, depth + 1);	/* the key */
			fputs(": ", f);
			t = eat_json_next(j);
		}
		pretty(f, j, t, depth + 1);
		t = eat_json_next(j);
		fputs(t == EAT_TOK_CLOSE || t == EAT_TOK_END ? "\n" : ",\n", f);
	}
	indent(f, depth);
	fputc(obj ? '}' : ']', f);
}

/* JSON with four-space indents, like Python's json.dumps(indent=4): the
 * value that starts with token t. */
static void pretty(FILE *f, struct eat_json *j, enum eat_token t, int depth)
{
	if (depth > JSON_MAX_DEPTH) {
		fputs("...", f);
		eat_json_skip(j, t);
		return;
	}
	switch (t) {
	case EAT_TOK_OBJECT: pretty_container(f, j, 1, depth); break;
	case EAT_TOK_ARRAY: pretty_container(f, j, 0, depth); break;
	case EAT_TOK_STRING: put_string(f, j->str, j->len); break;
	case EAT_TOK_NUMBER: put_number(f, j->number); break;
	case EAT_TOK_TRUE: fputs("true", f); break;
	case EAT_TOK_FALSE: fputs("false", f); break;
	case EAT_TOK_NULL: fputs("null", f); break;
	default: break;
	}
}

/* Output is flushed once per turn of the event loop (eat_flush), not per
 * dumpling: a write() per dumpling was most of an eater's time. */
int eat_flush(void)
{
	return fflush(stdout) == EOF ? -1 : 0;
}

static int out_ok(void)
{
	if (!ferror(stdout))
		return 0;
	return -1;
}

static const char *meta_string(const cJSON *meta, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void print_time(const cJSON *meta)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(meta, "creation_time");
	double when = cJSON_IsNumber(t) ? t->valuedouble : (double)time(NULL);
	time_t secs;

	/* a time from the wire may be anything; converting one out of range
	 * to time_t would be undefined */
	if (!(when >= 0 && when < 1e11))
		when = 0;
	secs = (time_t)when;
	struct tm tm;
	char buf[64];

	localtime_r(&secs, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
	printf("%s.%06d", buf, (int)((when - (double)secs) * 1e6));
}

static void colored(int color, const char *code, const char *s)
{
	if (color)
		fputs(code, stdout);
	safe_puts(stdout, s);
	if (color)
		fputs(C_RESET, stdout);
}

/* The payload of the dumpling msg, pretty; nothing if it has none. */
static void print_payload(const char *msg, size_t len)
{
	struct eat_json j;
	enum eat_token t;

	eat_json_init(&j, msg, len);
	if (eat_json_next(&j) == EAT_TOK_OBJECT) {
		t = eat_json_member(&j, "payload");
		if (t != EAT_TOK_END)
			pretty(stdout, &j, t, 0);
	}
	eat_json_free(&j);
}

/* `ISO-time [packet  ] ChefName from kitchen`, then the payload. */
int eat_print_dumpling(const struct eat_config *cfg, const cJSON *d, const char *msg,
		       size_t len)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(d, "metadata");
	const char *driver = meta_string(meta, "driver");
	const char *kitchen = meta_string(meta, "kitchen");
	char drv[16];

	if (cfg->color)
		fputs(C_DIM, stdout);
	print_time(meta);
	if (cfg->color)
		fputs(C_RESET, stdout);
	snprintf(drv, sizeof drv, "%-8.8s", driver ? driver : "?");
	fputs(" [", stdout);
	colored(cfg->color, driver && !strcmp(driver, "interval") ? C_YELLOW : C_CYAN, drv);
	fputs("] ", stdout);
	colored(cfg->color, C_BOLD C_GREEN, meta_string(meta, "chef"));
	fputs(" from ", stdout);
	colored(cfg->color, C_BOLD, kitchen ? kitchen : "(hub)");
	fputc('\n', stdout);
	if (!cfg->no_payload) {
		print_payload(msg, len);
		fputs("\n\n", stdout);
	}
	return out_ok();
}

/* Whether every byte of msg is printable ASCII (or DEL), as dumplings
 * almost always are: they are then written as they came. */
static int plain_ascii(const char *msg, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)(msg[i] - 0x20) >= 0x60)
			return 0;
	return 1;
}

/* msg made safe for a terminal, into out (6 bytes per byte of msg), and
 * still the same JSON: in strings, C1 and bidirectional controls become
 * \uXXXX, bytes that are not UTF-8 the code points of their values (as
 * the kitchen writes them), and control characters, which JSON does not
 * allow raw, \u00XX; outside strings, where cJSON took any control
 * character for a space, they become spaces, which also keeps each
 * dumpling on one line. Returns the length. */
static size_t json_for_terminal(const char *msg, size_t len, char *out)
{
	const unsigned char *u = (const unsigned char *)msg;
	int in_string = 0, escaped = 0;
	char *o = out;
	size_t used;

	for (size_t i = 0; i < len;) {
		if (u[i] >= 0x80) {
			o = utf8_put_json(o, u + i, len - i, &used);
			i += used;
			escaped = 0;
			continue;
		}
		if (u[i] >= 0x20)
			*o++ = (char)u[i];
		else if (in_string)
			o = utf8_put_u_escape(o, u[i]);
		else
			*o++ = ' ';
		if (u[i] == '"' && !escaped)
			in_string = !in_string;
		escaped = in_string && u[i] == '\\' && !escaped;
		i++;
	}
	return (size_t)(o - out);
}

int eat_print_json(const char *msg, size_t len)
{
	char *safe;

	if (plain_ascii(msg, len)) {
		fwrite(msg, 1, len, stdout);
	} else {
		safe = xmalloc(len * 6 + 1);
		fwrite(safe, 1, json_for_terminal(msg, len, safe), stdout);
		free(safe);
	}
	putchar('\n');
	return out_ok();
}

static double number(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void print_if_counted(const cJSON *o, const char *key, const char *label)
{
	if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, key)))
		printf(" | %s %.15g", label, number(o, key));
}

/* One line, rewritten in place on a terminal, like nd-hubstatus. */
int eat_print_status(const cJSON *d, int tty)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(d, "payload");
	double upf = number(p, "server_uptime");
	long up = upf >= 0 && upf < 1e15 ? (long)upf : 0;

	if (tty)
		fputs("\r\033[K", stdout);
	printf("uptime %ld:%02ld:%02ld | in %.15g | out %.15g | kitchens %.15g | "
	       "eaters %.15g | dropped %.15g | invalid %.15g",
	       up / 3600, up / 60 % 60, up % 60,
	       number(p, "total_dumplings_in"), number(p, "total_dumplings_out"),
	       number(p, "dumpling_kitchen_count"), number(p, "dumpling_eater_count"),
	       number(p, "total_dumplings_dropped"), number(p, "total_dumplings_invalid"));
	/* where dumplings were lost, from hubs that count it */
	print_if_counted(p, "total_dumplings_lost_upstream", "lost upstream");
	print_if_counted(p, "total_dumplings_undelivered", "undelivered");
	if (!tty)
		putchar('\n');
	fflush(stdout);
	return out_ok();
}

int eat_print_details(const char *msg, size_t len)
{
	struct eat_json j;

	eat_json_init(&j, msg, len);
	pretty(stdout, &j, eat_json_next(&j), 0);
	eat_json_free(&j);
	putchar('\n');
	return out_ok();
}
