#ifndef EAT_H
#define EAT_H

/* Internals shared by `dumplings eat`: eat.c (command line, connection),
 * eat_print.c (what each mode writes), eat_lua.c (the --lua eater). */

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
	const char *lua_path;
	int verbose;
};

/* Each returns 0, or -1 when standard output is gone. */
int eat_print_dumpling(const struct eat_config *cfg, const struct cJSON *d);
int eat_print_json(const char *msg, size_t len);
int eat_print_status(const struct cJSON *d, int tty);
int eat_print_details(const struct cJSON *d);

struct eat_lua;
struct eat_lua *eat_lua_open(const char *path);
void eat_lua_connect(struct eat_lua *e);
void eat_lua_dumpling(struct eat_lua *e, const struct cJSON *d);
void eat_lua_lost(struct eat_lua *e);
void eat_lua_close(struct eat_lua *e);

#endif
