/* Hellos: what the hub keeps of them. A hello is copied into every status
 * dumpling, for as long as its connection lasts, so it is bounded three
 * times: the message by --max-hello (hub_conn.c refuses a larger one with
 * 1009), what is kept by the keys the protocol documents, with strings cut
 * at HELLO_MAX_STRING bytes and arrays at HELLO_MAX_NAMES entries, and what
 * status dumplings copy by a budget for them all (hub_status.c). The kept
 * copy is JSON text, spliced into status dumplings as it is.
 *
 * An eater's filter arrays decide what it is sent, so they are never cut:
 * a filter over the bounds refuses the hello instead. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hub.h"
#include "base/jsonscan.h"
#include "base/util.h"

#define HELLO_MAX_STRING 1024	/* bytes of a string kept */
#define HELLO_MAX_NAMES 256	/* entries of an array kept; names of a filter */
#define STR(x) STR_(x)
#define STR_(x) #x

enum hello_kind { HELLO_STRING, HELLO_NUMBER, HELLO_BOOL, HELLO_NAMES, HELLO_FILTER };

struct hello_key {
	const char *name;
	enum hello_kind kind;
};

static const struct hello_key kitchen_keys[] = {
	{ "kitchen_name", HELLO_STRING }, { "interface", HELLO_STRING },
	{ "filter", HELLO_STRING }, { "chefs", HELLO_NAMES },
	{ "poke_interval", HELLO_NUMBER }, { "interfaces", HELLO_NAMES },
	{ "acks", HELLO_BOOL },
	{ NULL, HELLO_STRING }
};

static const struct hello_key eater_keys[] = {
	{ "eater_name", HELLO_STRING }, { "chefs", HELLO_FILTER },
	{ "kitchens", HELLO_FILTER }, { "drivers", HELLO_FILTER },
	{ "lossless", HELLO_BOOL }, { "notices", HELLO_BOOL }, { "latest", HELLO_BOOL },
	{ "details", HELLO_BOOL }, { "since", HELLO_NUMBER },
	{ NULL, HELLO_STRING }
};

/* ---- checking and cutting ------------------------------------------------- */

/* At most max bytes of s, not splitting a UTF-8 character (the hello has
 * been checked to be valid UTF-8). */
static size_t utf8_cut(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return n;
	while (max && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

static cJSON *cut_string(const char *s)
{
	size_t n = utf8_cut(s, HELLO_MAX_STRING);
	char *copy = xmalloc(n + 1);
	cJSON *v;

	memcpy(copy, s, n);
	copy[n] = '\0';
	v = cJSON_CreateString(copy);
	free(copy);
	return v;
}

/* The string entries of an array, the first HELLO_MAX_NAMES of them. */
static cJSON *cut_names(const cJSON *arr)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *it;
	int n = 0;

	cJSON_ArrayForEach(it, arr) {
		if (n == HELLO_MAX_NAMES)
			break;
		if (cJSON_IsString(it)) {
			cJSON_AddItemToArray(out, cut_string(it->valuestring));
			n++;
		}
	}
	return out;
}

/* A filter is kept whole or the hello refused: NULL and why. */
static cJSON *check_filter(const cJSON *arr, const char **why)
{
	const cJSON *it;
	int n = 0;

	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it)) {
			*why = "a filter holds something other than names";
			return NULL;
		}
		if (++n > HELLO_MAX_NAMES) {
			*why = "a filter of more than " STR(HELLO_MAX_NAMES) " names";
			return NULL;
		}
		if (strlen(it->valuestring) > HELLO_MAX_STRING) {
			*why = "a filter name longer than " STR(HELLO_MAX_STRING) " bytes";
			return NULL;
		}
	}
	return cut_names(arr);
}

/* The kept form of one value, or NULL to leave it out (wrong type) or,
 * with *why set, to refuse the hello. */
static cJSON *keep_value(const struct hello_key *k, const cJSON *v, const char **why)
{
	switch (k->kind) {
	case HELLO_STRING:
		return cJSON_IsString(v) ? cut_string(v->valuestring) : NULL;
	case HELLO_NUMBER:
		return cJSON_IsNumber(v) ? cJSON_CreateNumber(v->valuedouble) : NULL;
	case HELLO_BOOL:
		return cJSON_IsBool(v) ? cJSON_CreateBool(cJSON_IsTrue(v)) : NULL;
	case HELLO_NAMES:
		return cJSON_IsArray(v) ? cut_names(v) : NULL;
	case HELLO_FILTER:
		/* a filter the eater meant but the hub cannot read would send it
		 * everything, silently: refused, so that it hears why */
		if (cJSON_IsNull(v))
			return NULL;
		if (!cJSON_IsArray(v)) {
			*why = "a filter (chefs, kitchens, drivers) that is not an array of names";
			return NULL;
		}
		return check_filter(v, why);
	}
	return NULL;
}

/* The documented keys of the hello, bounded; NULL and why if refused. */
static cJSON *hello_keep(const cJSON *hello, enum hub_role role, const char **why)
{
	const struct hello_key *k = role == HUB_KITCHEN ? kitchen_keys : eater_keys;
	cJSON *kept = cJSON_CreateObject();

	for (; k->name; k++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(hello, k->name);
		cJSON *copy;

		if (!v)
			continue;
		copy = keep_value(k, v, why);
		if (*why) {
			cJSON_Delete(kept);
			return NULL;
		}
		if (copy)
			cJSON_AddItemToObject(kept, k->name, copy);
	}
	return kept;
}

/* ---- filters -------------------------------------------------------------- */

static void filter_load(struct hub_filter *f, const cJSON *arr)
{
	const cJSON *it;

	if (!cJSON_IsArray(arr))
		return;
	f->v = xcalloc(cJSON_GetArraySize(arr), sizeof *f->v);
	cJSON_ArrayForEach(it, arr)
		if (cJSON_IsString(it))
			f->v[f->n++] = xstrdup(it->valuestring);
}

static void filter_free(struct hub_filter *f)
{
	for (int i = 0; i < f->n; i++)
		free(f->v[i]);
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

/* ---- the hub's side ----------------------------------------------------------- */

/* One whole JSON document, or NULL. Eaters must be able to trust what is
 * forwarded, and cJSON alone does not check: it accepts bytes after the
 * document, raw control bytes, numbers such as "01", and strings that are
 * not UTF-8 (strict clients, browsers among them, close the connection on
 * a text frame that is not). */
static cJSON *parse_document(const char *msg, size_t len)
{
	if (json_scan(msg, len, NULL, NULL) < 0)
		return NULL;
	return cJSON_ParseWithLength(msg, len);
}

static void hello_name(struct hub_conn *c, const cJSON *kept)
{
	const char *key = c->role == HUB_KITCHEN ? "kitchen_name" : "eater_name";
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(kept, key);

	c->name = xstrdup(cJSON_IsString(v) ? v->valuestring : "");
}

/* What the peer asked of the hub beyond the original protocol. */
static void hello_asks(struct hub_conn *c, const cJSON *kept)
{
	const cJSON *since;

	if (c->role == HUB_KITCHEN) {
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(kept, "acks")) && !c->src.ledger)
			c->src.ledger = hub_ack_open(c);
		return;
	}
	c->sub.lossless = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(kept, "lossless"));
	c->notices = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(kept, "notices"));
	c->wants_latest = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(kept, "latest"));
	c->sub.details = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(kept, "details"));
	since = cJSON_GetObjectItemCaseSensitive(kept, "since");
	c->wants_since = cJSON_IsNumber(since) && since->valuedouble >= 0;
	/* far in the future is as good as now, and stays a number of
	 * nanoseconds that fits in 64 bits */
	c->replay_since = c->wants_since ? (since->valuedouble < 1e10 ? since->valuedouble : 1e10) : 0;
}

int hub_hello_take(struct hub_conn *c, const char *msg, size_t len, const char **why)
{
	cJSON *hello = parse_document(msg, len), *kept;

	*why = NULL;
	if (!cJSON_IsObject(hello)) {
		cJSON_Delete(hello);
		*why = "not a JSON object";
		return -1;
	}
	kept = hello_keep(hello, c->role, why);
	if (!kept) {
		cJSON_Delete(hello);
		return -1;
	}
	c->hello = cJSON_PrintUnformatted(kept);
	if (!c->hello)
		c->hello = xstrdup("{}");	/* cJSON ran out of memory */
	c->hello_len = strlen(c->hello);
	hello_name(c, kept);
	hello_asks(c, kept);
	if (c->role == HUB_EATER) {
		filter_load(&c->sub.chefs, cJSON_GetObjectItemCaseSensitive(kept, "chefs"));
		filter_load(&c->sub.kitchens, cJSON_GetObjectItemCaseSensitive(kept, "kitchens"));
		filter_load(&c->sub.drivers, cJSON_GetObjectItemCaseSensitive(kept, "drivers"));
	}
	cJSON_Delete(kept);
	cJSON_Delete(hello);
	return 0;
}

void hub_hello_free(struct hub_conn *c)
{
	free(c->hello);
	free(c->name);
	c->hello = c->name = NULL;
	c->hello_len = 0;
	filter_free(&c->sub.chefs);
	filter_free(&c->sub.kitchens);
	filter_free(&c->sub.drivers);
}
