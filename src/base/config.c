/* Configuration files: each line becomes one "--name=value" (or "--name")
 * argument, so that every role reads its file with the getopt_long() that
 * reads its command line, and says the same of a bad option. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "util.h"

struct args {
	char **v;
	int n;
};

/* What config_expand() made: the role's arguments from now on, kept here
 * for as long as the process runs (and so never taken for a leak). */
static struct args made;

static void push(struct args *a, char *arg)
{
	a->v = xrealloc(a->v, (size_t)(a->n + 2) * sizeof *a->v);
	a->v[a->n++] = arg;
	a->v[a->n] = NULL;
}

static char *trim(char *s)
{
	char *end = s + strlen(s);

	while (isspace((unsigned char)*s))
		s++;
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* One line's option, "--name" or "--name=value"; NULL if it has no name. */
static char *line_option(char *line, const char **why)
{
	char *name = line, *value, *arg;
	size_t len;

	if (!strncmp(name, "--", 2))
		name += 2;
	len = strcspn(name, " \t=");
	if (!len || !(isalnum((unsigned char)name[0]))) {
		*why = "want an option's long name first";
		return NULL;
	}
	value = name + len;
	value += strspn(value, " \t");
	if (*value == '=')
		value = trim(value + 1);
	name[len] = '\0';
	len = strlen(value);
	if (len >= 2 && value[0] == '"' && value[len - 1] == '"') {
		value[len - 1] = '\0';
		value++;
	} else if (!len) {
		value = NULL;
	}
	arg = xmalloc(strlen(name) + (value ? strlen(value) : 0) + 4);
	sprintf(arg, value ? "--%s=%s" : "--%s", name, value);
	return arg;
}

static int read_file(const char *path, struct args *a)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t size = 0;
	int lineno = 0, rc = 0;

	if (!f) {
		log_error("cannot read configuration file %s: %s", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && getline(&line, &size, f) >= 0) {
		const char *why = NULL;
		char *text = trim(line), *arg;

		lineno++;
		if (!*text || *text == '#')
			continue;
		if ((arg = line_option(text, &why))) {
			push(a, arg);
		} else {
			log_error("%s:%d: %s", path, lineno, why);
			rc = -1;
		}
	}
	if (rc == 0 && ferror(f)) {
		log_error("cannot read configuration file %s: %s", path, strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(f);
	return rc;
}

/* Where --config is in argv, and the file it names; 0 if nowhere. */
static int find_config(int argc, char **argv, const char **path, int *taken)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strncmp(argv[i], "--config=", 9)) {
			*path = argv[i] + 9;
			*taken = 1;
			return i;
		}
		if (!strcmp(argv[i], "--config")) {
			if (i + 1 >= argc) {
				log_error("option '--config' needs an argument");
				return -1;
			}
			*path = argv[i + 1];
			*taken = 2;
			return i;
		}
	}
	return 0;
}

int config_expand(int *argc, char ***argv)
{
	struct args a = { NULL, 0 };
	const char *path;
	int at, taken, again;

	at = find_config(*argc, *argv, &path, &taken);
	if (at <= 0)
		return at;
	if (find_config(*argc - at - taken + 1, *argv + at + taken - 1, &path, &again) > 0) {
		log_error("--config given twice");
		return -1;
	}
	push(&a, (*argv)[0]);
	if (read_file(path, &a) < 0) {
		for (int i = 1; i < a.n; i++)	/* the file's; [0] is the caller's */
			free(a.v[i]);
		free(a.v);
		return -1;
	}
	for (int i = 1; i < *argc; i++)
		if (i < at || i >= at + taken)
			push(&a, (*argv)[i]);
	made = a;
	*argc = made.n;
	*argv = made.v;
	return 0;
}
