#ifndef WATCH_H
#define WATCH_H

/* Notice when chef files change, and when *.lua files come and go in chef
 * directories. */

enum watch_event { WATCH_CHANGED, WATCH_GONE };

typedef void watch_callback(void *ctx, enum watch_event event, const char *path);

struct watch;

struct watch *watch_new(void);
void watch_free(struct watch *w);

/* Follow one chef file (by the path the kitchen knows it by). */
void watch_file(struct watch *w, const char *path);
/* Follow a chef directory: changed, new and removed *.lua files. */
void watch_dir(struct watch *w, const char *dir);

/* A descriptor that becomes readable when something changed, or -1. */
int watch_fd(const struct watch *w);
/* Report every change since the last call; never blocks. */
void watch_poll(struct watch *w, watch_callback *cb, void *ctx);

#endif
