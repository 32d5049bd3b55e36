/* Finding chef files: `-c dns` names a bundled chef, `-c ./my.lua` a file.
 * Bundled chefs are looked for, in order, in $DUMPLINGS_CHEF_PATH (a colon
 * separated list), next to the binary in a source tree (lua/chefs), and in
 * the installed tree (../share/dumplings/chefs), so an installed or a
 * freshly built dumplings finds its chefs without a compiled-in path. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chefpath.h"
#include "base/log.h"
#include "base/util.h"

static int is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The i-th bundled chef directory that exists, or NULL past the last. */
static const char *bundled_dir(int i, char *buf, size_t len)
{
	const char *env = getenv("DUMPLINGS_CHEF_PATH");
	char exe[PATH_MAX / 2];
	int seen = 0;

	if (env && *env) {
		const char *p = env;

		while (*p) {
			size_t n = strcspn(p, ":");

			if (n && n < len) {
				snprintf(buf, len, "%.*s", (int)n, p);
				if (is_dir(buf) && seen++ == i)
					return buf;
			}
			p += n + (p[n] == ':');
		}
	}
	exe_dir(exe, sizeof exe);
	snprintf(buf, len, "%s/lua/chefs", exe);
	if (is_dir(buf) && seen++ == i)
		return buf;
	snprintf(buf, len, "%s/../share/dumplings/chefs", exe);
	if (is_dir(buf) && seen++ == i)
		return buf;
	return NULL;
}

int chefpath_is_path(const char *arg)
{
	size_t n = strlen(arg);

	return strchr(arg, '/') || (n > 4 && !strcmp(arg + n - 4, ".lua"));
}

char *chefpath_resolve(const char *arg)
{
	char dir[PATH_MAX], path[PATH_MAX + 64];

	/* Anything that looks like a path is taken as one; whether it is a
	 * chef file to read, the loader says, with the real reason. */
	if (chefpath_is_path(arg)) {
		struct stat st;

		if (stat(arg, &st) == 0)
			return xstrdup(arg);
		log_error("chef file %s: %s", arg, strerror(errno));
		return NULL;
	}
	for (int i = 0; bundled_dir(i, dir, sizeof dir); i++) {
		snprintf(path, sizeof path, "%s/%s.lua", dir, arg);
		if (is_file(path))
			return xstrdup(path);
	}
	return NULL;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int chefpath_in_dir(const char *dir, char ***paths, int *n)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int first = *n;

	if (!d) {
		log_error("chef directory %s: %s", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if (len <= 4 || strcmp(e->d_name + len - 4, ".lua") || e->d_name[0] == '.')
			continue;
		*paths = xrealloc(*paths, (*n + 1) * sizeof **paths);
		(*paths)[*n] = xmalloc(strlen(dir) + len + 2);
		sprintf((*paths)[(*n)++], "%s/%s", dir, e->d_name);
	}
	closedir(d);
	qsort(*paths + first, *n - first, sizeof **paths, compare_names);
	return 0;
}

int chefpath_bundled(char ***paths, int *n)
{
	char dir[PATH_MAX];

	if (!bundled_dir(0, dir, sizeof dir)) {
		log_error("cannot find the bundled chefs (set DUMPLINGS_CHEF_PATH)");
		return -1;
	}
	return chefpath_in_dir(dir, paths, n);
}
