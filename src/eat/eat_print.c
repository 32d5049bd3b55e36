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

/* JSON with four-space indents, like Python's json.dumps(indent=4). */
static void pretty(FILE *f, const cJSON *v, int depth)
{
	const cJSON *c;
	int obj = cJSON_IsObject(v);
	char *leaf;

	if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
		char digits[32];

		json_number(v->valuedouble, digits);
		fputs(digits, f);
		return;
	}
	if (!obj && !cJSON_IsArray(v)) {
		leaf = cJSON_PrintUnformatted(v);
		if (leaf)
			safe_puts(f, leaf);
		free(leaf);
		return;
	}
	if (!v->child) {
		fputs(obj ? "{}" : "[]", f);
		return;
	}
	fputs(obj ? "{\n" : "[\n", f);
	for (c = v->child; c; c = c->next) {
		indent(f, depth + 1);
		if (obj) {
			cJSON key = { .type = cJSON_String, .valuestring = c->string };
			leaf = cJSON_PrintUnformatted(&key);
			if (leaf)
				safe_puts(f, leaf);
			free(leaf);
			fputs(": ", f);
		}
		pretty(f, c, depth + 1);
		fputs(c->next ? ",\n" : "\n", f);
	}
	indent(f, depth);
	fputc(obj ? '}' : ']', f);
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

/* `ISO-time [packet  ] ChefName from kitchen`, then the payload. */
int eat_print_dumpling(const struct eat_config *cfg, const cJSON *d)
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
		pretty(stdout, cJSON_GetObjectItemCaseSensitive(d, "payload"), 0);
		fputs("\n\n", stdout);
	}
	fflush(stdout);
	return out_ok();
}

int eat_print_json(const char *msg, size_t len)
{
	fwrite(msg, 1, len, stdout);
	putchar('\n');
	fflush(stdout);
	return out_ok();
}

static double number(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
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
	if (!tty)
		putchar('\n');
	fflush(stdout);
	return out_ok();
}

int eat_print_details(const cJSON *d)
{
	pretty(stdout, d, 0);
	putchar('\n');
	fflush(stdout);
	return out_ok();
}
