#ifndef EAT_H
#define EAT_H

/* Internals shared by `dumplings eat`: eat.c (command line, connection),
 * eat_print.c (what each mode writes), eat_lua.c (the --lua eater),
 * eat_json.c (reading a dumpling's text with every string whole). */

#include <stdio.h>

#include "net/wsclient.h"

struct cJSON;

enum eat_mode { EAT_PRINT, EAT_JSON, EAT_STATUS, EAT_DETAILS, EAT_LUA };

struct eat_list {
	const char **v;
	int n;
};

struct eat_config {
	enum eat_mode mode;
	struct wsclient_target hub;
	const char *name;
	struct eat_list chefs, kitchens, drivers;
	int no_payload;
	int color;
	long count;		/* 0: no limit */
	int retry;
	int lossless;		/* the hub holds kitchens back rather than skip us */
	int latest;		/* first the latest dumpling of each kitchen and chef */
	double since;		/* --since: history from then on (seconds since
				 * the epoch), or -1 */
	double idle_timeout;	/* hang up on a hub silent this long; 0: never */
	const char *lua_path;
	int verbose;		/* -v: 1, -q: -1 */
};

/* Each returns 0, or -1 when standard output is gone. d is the dumpling
 * as cJSON read it, msg its text (len bytes), which cJSON accepted. */
int eat_print_dumpling(const struct eat_config *cfg, const struct cJSON *d,
		       const char *msg, size_t len);
int eat_print_json(const char *msg, size_t len);
int eat_print_status(const struct cJSON *d, int tty);
int eat_print_details(const char *msg, size_t len);
/* What was printed since the last call goes out; -1 if stdout is gone. */
int eat_flush(void);

/* Tokens of JSON text, for text cJSON has accepted (see eat_json.c). A
 * string's content, decoded, NULs and all, is in str (len bytes, then a
 * NUL) until the next token; a number's value is in number. */
enum eat_token {
	EAT_TOK_END, EAT_TOK_OBJECT, EAT_TOK_ARRAY, EAT_TOK_CLOSE,
	EAT_TOK_STRING, EAT_TOK_NUMBER, EAT_TOK_TRUE, EAT_TOK_FALSE, EAT_TOK_NULL
};

struct eat_json {
	const char *p, *end;
	char *str;
	size_t len;
	double number;
};

void eat_json_init(struct eat_json *j, const char *text, size_t len);
void eat_json_free(struct eat_json *j);
enum eat_token eat_json_next(struct eat_json *j);
/* Skip the rest of the value that began with token t. */
void eat_json_skip(struct eat_json *j, enum eat_token t);
/* In the object just opened, the first token of the value of the first
 * member named key, or EAT_TOK_END (the object then read to its end). */
enum eat_token eat_json_member(struct eat_json *j, const char *key);

struct eat_lua;
struct eat_lua *eat_lua_open(const char *path);
void eat_lua_connect(struct eat_lua *e);
void eat_lua_dumpling(struct eat_lua *e, const char *msg, size_t len);
void eat_lua_lost(struct eat_lua *e);
void eat_lua_close(struct eat_lua *e);

#endif
