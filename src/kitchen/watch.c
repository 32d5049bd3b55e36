/* Watching chef files and chef directories with inotify.
 *
 * Directories are watched rather than files: an editor that saves by
 * writing a new file and renaming it over the old one replaces the inode,
 * and a watch on the old inode would never fire again. A chef file given
 * through a symlink is watched both where the link is and where it points,
 * so either being replaced is seen. Only finished writes count
 * (IN_CLOSE_WRITE, IN_MOVED_TO): a file is never reloaded half-written. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "watch.h"

/* A file of interest: the path inotify names it by (a directory and a
 * name in it) and the path the kitchen knows it by. */
struct watched_file {
	char *seen_as;
	char *report_as;
};

struct watched_dir {
	int wd;
	char *path;
	int is_chef_dir;	/* new and removed *.lua files count */
};

struct watch {
	int fd;
	struct watched_file *files;
	int nfiles;
	struct watched_dir *dirs;
	int ndirs;
};

struct watch *watch_new(void)
{
	struct watch *w = xcalloc(1, sizeof *w);

	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		log_warn("cannot watch chef files (inotify: %s): edits need SIGHUP",
			 strerror(errno));
	}
	return w;
}

void watch_free(struct watch *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	for (int i = 0; i < w->nfiles; i++) {
		free(w->files[i].seen_as);
		free(w->files[i].report_as);
	}
	for (int i = 0; i < w->ndirs; i++)
		free(w->dirs[i].path);
	free(w->files);
	free(w->dirs);
	free(w);
}

int watch_fd(const struct watch *w)
{
	return w->fd;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	char *dir = xstrdup(path);

	dir[slash - path] = '\0';
	return dir;
}

static struct watched_dir *add_dir(struct watch *w, const char *dir, int is_chef_dir)
{
	int wd;

	for (int i = 0; i < w->ndirs; i++) {
		if (!strcmp(w->dirs[i].path, dir)) {
			w->dirs[i].is_chef_dir |= is_chef_dir;
			return &w->dirs[i];
		}
	}
	wd = inotify_add_watch(w->fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
			       IN_DELETE | IN_ONLYDIR);
	if (wd < 0) {
		log_warn("cannot watch %s for chef changes: %s", dir, strerror(errno));
		return NULL;
	}
	w->dirs = xrealloc(w->dirs, (w->ndirs + 1) * sizeof *w->dirs);
	w->dirs[w->ndirs] = (struct watched_dir){ wd, xstrdup(dir), is_chef_dir };
	return &w->dirs[w->ndirs++];
}

/* path is kept as dispatch() will spell it, directory and name joined
 * by a slash: a bare "live.lua" is seen as "./live.lua". */
static void add_file(struct watch *w, const char *path, const char *report_as)
{
	char *dir = dir_of(path);
	const char *slash = strrchr(path, '/');
	char seen_as[PATH_MAX];

	snprintf(seen_as, sizeof seen_as, "%s/%s", dir, slash ? slash + 1 : path);
	if (add_dir(w, dir, 0)) {
		w->files = xrealloc(w->files, (w->nfiles + 1) * sizeof *w->files);
		w->files[w->nfiles].seen_as = xstrdup(seen_as);
		w->files[w->nfiles].report_as = xstrdup(report_as);
		w->nfiles++;
	}
	free(dir);
}

void watch_file(struct watch *w, const char *path)
{
	char real[PATH_MAX];

	if (w->fd < 0)
		return;
	for (int i = 0; i < w->nfiles; i++)
		if (!strcmp(w->files[i].report_as, path))
			return;
	add_file(w, path, path);
	if (realpath(path, real) && strcmp(real, path))
		add_file(w, real, path);
}

void watch_dir(struct watch *w, const char *dir)
{
	if (w->fd >= 0)
		add_dir(w, dir, 1);
}

static int is_lua_name(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 4 && !strcmp(name + n - 4, ".lua");
}

static void dispatch(struct watch *w, const struct inotify_event *ev,
		     watch_callback *cb, void *ctx)
{
	struct watched_dir *dir = NULL;
	char path[PATH_MAX];
	int gone = ev->mask & (IN_DELETE | IN_MOVED_FROM);

	for (int i = 0; i < w->ndirs && !dir; i++)
		if (w->dirs[i].wd == ev->wd)
			dir = &w->dirs[i];
	if (!dir || !ev->len)
		return;
	snprintf(path, sizeof path, "%s/%s", dir->path, ev->name);
	/* In a chef directory, *.lua files come and go. */
	if (dir->is_chef_dir && is_lua_name(ev->name)) {
		cb(ctx, gone ? WATCH_GONE : WATCH_CHANGED, path);
		return;
	}
	/* A chef file named on the command line that disappears is most
	 * likely being saved by rename; it keeps running until it is back. */
	for (int i = 0; i < w->nfiles; i++) {
		if (!strcmp(w->files[i].seen_as, path)) {
			if (!gone)
				cb(ctx, WATCH_CHANGED, w->files[i].report_as);
			return;
		}
	}
}

void watch_poll(struct watch *w, watch_callback *cb, void *ctx)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	if (w->fd < 0)
		return;
	while ((n = read(w->fd, buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			dispatch(w, ev, cb, ctx);
			p += sizeof *ev + ev->len;
		}
	}
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		log_warn("reading chef file changes: %s", strerror(errno));
}
