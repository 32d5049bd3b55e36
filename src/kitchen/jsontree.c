/* JSON trees in arenas: cJSON nodes that live in blocks emptied all at
 * once, whose strings, numbers and keys are spelled as JSON when the tree
 * is built, and their printing, which is done here rather than by cJSON.
 * No Lua: the serializer builds trees from Lua values, the emit stage
 * prints them on its own thread. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/utf8.h"
#include "base/util.h"
#include "jsontree.h"

enum { ARENA_BLOCK = 64 * 1024 };

/* While a tree is built, every cJSON allocation of this thread comes from
 * its arena, and frees are no-ops: the arena is emptied all at once, so a
 * tree is never freed node by node, not even when it is abandoned halfway.
 * Other threads, and this one outside json_arena_begin/end, use malloc as
 * usual. Like xmalloc, the arena gives up the process when memory runs
 * out, so building a tree cannot fail for want of memory. */
static __thread struct json_arena *active;

struct arena_block {
	struct arena_block *next;
	size_t size;
	/* 16-byte aligned memory follows */
};

static size_t round16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

/* A new block for n bytes (a multiple of 16), taken from it. */
void *json_arena_grow(struct json_arena *a, size_t n)
{
	size_t size = n + sizeof(struct arena_block) > ARENA_BLOCK
		? round16(n + sizeof(struct arena_block)) : ARENA_BLOCK;
	struct arena_block *b = xmalloc(size);

	b->next = a->blocks;
	b->size = size;
	a->blocks = b;
	a->next = (char *)b + round16(sizeof *b);
	a->end = (char *)b + size;
	a->last = a->next;
	a->next += n;
	return a->last;
}

static void *hook_alloc(size_t n)
{
	return active ? json_arena_alloc(active, n) : malloc(n);
}

static void hook_free(void *p)
{
	if (!active)
		free(p);
}

/* One block of the usual size is kept for the next tree. */
void json_arena_reset(struct json_arena *a)
{
	struct arena_block *keep = NULL, *b = a->blocks;

	while (b) {
		struct arena_block *next = b->next;

		if (!keep && b->size == ARENA_BLOCK) {
			keep = b;
			keep->next = NULL;
		} else {
			free(b);
		}
		b = next;
	}
	a->blocks = keep;
	a->next = keep ? (char *)keep + round16(sizeof *keep) : NULL;
	a->end = keep ? (char *)keep + ARENA_BLOCK : NULL;
	a->last = NULL;
}

void json_arena_free(struct json_arena *a)
{
	json_arena_reset(a);
	free(a->blocks);
	memset(a, 0, sizeof *a);
}

struct json_mark json_arena_mark(const struct json_arena *a)
{
	return (struct json_mark){ a->blocks, a->next };
}

void json_arena_rollback(struct json_arena *a, struct json_mark m)
{
	while (a->blocks != m.block) {
		struct arena_block *b = a->blocks;

		a->blocks = b->next;
		free(b);
	}
	a->next = m.next;
	a->end = m.block ? (char *)m.block + m.block->size : NULL;
	a->last = NULL;
}

void json_arena_begin(struct json_arena *a)
{
	static int hooked;

	if (!hooked) {
		cJSON_Hooks hooks = { hook_alloc, hook_free };

		cJSON_InitHooks(&hooks);
		hooked = 1;
	}
	active = a;
}

void json_arena_end(void)
{
	active = NULL;
}

static char *put_escape(char *o, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	*o++ = '\\';
	switch (c) {
	case '"':
	case '\\':
		*o++ = (char)c;
		break;
	case '\b':
		*o++ = 'b';
		break;
	case '\f':
		*o++ = 'f';
		break;
	case '\n':
		*o++ = 'n';
		break;
	case '\r':
		*o++ = 'r';
		break;
	case '\t':
		*o++ = 't';
		break;
	default:
		memcpy(o, "u00", 3);
		o[3] = hex[c >> 4];
		o[4] = hex[c & 15];
		o += 5;
	}
	return o;
}

/* Copy n bytes to o as the content of a JSON string: the quote, the
 * backslash and control characters (NUL too) escaped as cJSON escapes
 * them, valid UTF-8 kept but for the C1 and bidirectional controls, which
 * are escaped so that no terminal acts on them, and every stray byte
 * taken as U+0080..U+00FF, so no byte is lost. Plain ASCII costs one
 * test a byte, as before. o needs room for 6 bytes per input byte.
 * Returns the end of the output. */
char *json_put_text(const unsigned char *u, size_t n, char *o)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = u[i];
		size_t used;

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			*o++ = (char)c;
			i++;
		} else if (c < 0x80) {
			o = put_escape(o, c);
			i++;
		} else {
			o = utf8_put_json(o, u + i, n - i, &used);
			i += used;
		}
	}
	return o;
}

/* cJSON prints a raw node as its text, as it is. */
cJSON *json_raw(char *text)
{
	cJSON *item = cJSON_CreateNull();

	item->type = cJSON_Raw;
	item->valuestring = text;
	return item;
}

cJSON *json_tree_raw(struct json_arena *a, const char *json)
{
	size_t n = strlen(json) + 1;
	cJSON *item;

	json_arena_begin(a);
	item = json_raw(memcpy(json_arena_alloc(a, n), json, n));
	json_arena_end();
	return item;
}

/* Not cJSON's quoting: it would let C1 and bidirectional controls
 * through, and copy stray bytes as they are, which is not UTF-8. */
char *json_quote(const char *s)
{
	size_t n = strlen(s);
	char *literal = xmalloc(n * 6 + 3), *end;

	literal[0] = '"';
	end = json_put_text((const unsigned char *)s, n, literal + 1);
	*end++ = '"';
	*end = '\0';
	return literal;
}

void json_buf_reserve(struct json_buf *buf, size_t need)
{
	if (buf->cap >= need)
		return;
	while (buf->cap < need)
		buf->cap = buf->cap ? buf->cap * 2 : 1 << 16;
	free(buf->data);
	buf->data = xmalloc(buf->cap);
}

/* ---- printing a tree --------------------------------------------------- */

enum { MAX_TEXT = 1 << 30 };

/* Where a tree is being printed: buf->data up to len so far. */
struct out {
	struct json_buf *buf;
	size_t len;
	int too_big;
};

/* Room for n more bytes and a NUL, keeping what is there. */
static int out_room(struct out *o, size_t n)
{
	struct json_buf *buf = o->buf;

	if (o->len + n + 1 <= buf->cap)
		return 0;
	if (o->len + n + 1 > MAX_TEXT) {
		o->too_big = 1;
		return -1;
	}
	while (buf->cap < o->len + n + 1)
		buf->cap = buf->cap ? buf->cap * 2 : 1 << 16;
	buf->data = xrealloc(buf->data, buf->cap);
	return 0;
}

static void out_put(struct out *o, const char *s, size_t n)
{
	if (out_room(o, n) < 0)
		return;
	memcpy(o->buf->data + o->len, s, n);
	o->len += n;
}

static void out_char(struct out *o, char c)
{
	if (out_room(o, 1) < 0)
		return;
	o->buf->data[o->len++] = c;
}

/* The trees built in arenas hold objects, arrays, booleans, null
 * and raw text: strings and numbers already spelled, keys already quoted.
 * Nesting is bounded by MAX_DEPTH, so recursion is safe. */
static void print_value(struct out *o, const cJSON *v)
{
	const cJSON *c;

	switch (v->type & 0xff) {
	case cJSON_Raw:
		out_put(o, v->valuestring, strlen(v->valuestring));
		return;
	case cJSON_True:
		out_put(o, "true", 4);
		return;
	case cJSON_False:
		out_put(o, "false", 5);
		return;
	case cJSON_Array:
		out_char(o, '[');
		for (c = v->child; c && !o->too_big; c = c->next) {
			print_value(o, c);
			if (c->next)
				out_char(o, ',');
		}
		out_char(o, ']');
		return;
	case cJSON_Object:
		out_char(o, '{');
		for (c = v->child; c && !o->too_big; c = c->next) {
			out_put(o, c->string, strlen(c->string));
			out_char(o, ':');
			print_value(o, c);
			if (c->next)
				out_char(o, ',');
		}
		out_char(o, '}');
		return;
	default:
		out_put(o, "null", 4);
		return;
	}
}

size_t json_tree_print(const cJSON *root, struct json_buf *buf, size_t at)
{
	struct out o = { buf, at, 0 };

	print_value(&o, root);
	if (o.too_big || out_room(&o, 1) < 0)
		return 0;
	buf->data[o.len] = '\0';
	return o.len;
}

void json_buf_free(struct json_buf *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->cap = 0;
}
