/* A growable byte buffer for building SQL text and file contents.
 *
 * Invariants: buf is NUL-terminated after every call (buf[len] == 0) once
 * anything was added; a failed allocation sets `failed` and turns every
 * later add into a no-op, so formatting code checks once, at the end, with
 * strbuf_error().
 */
#ifndef DUMPER_STRBUF_H
#define DUMPER_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *buf; /* owned; NULL until the first add */
	size_t len;
	size_t alloc;
	bool failed;
};

#define STRBUF_INIT                                                                                \
	{                                                                                          \
		NULL, 0, 0, false                                                                  \
	}

void strbuf_init(struct strbuf *sb);
/* Frees the memory and reinitialises. */
void strbuf_release(struct strbuf *sb);
/* Empties the buffer, keeping its memory. */
void strbuf_reset(struct strbuf *sb);
/* Makes room for `extra` more bytes (plus the NUL). */
void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, char c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns -ENOMEM when an earlier add failed, else 0. */
int strbuf_error(const struct strbuf *sb);
/* The contents as a C string ("" when empty); owned by sb. */
const char *strbuf_str(const struct strbuf *sb);
/* Hands the buffer to the caller (free() it) and reinitialises sb; NULL
 * after a failed add. */
char *strbuf_detach(struct strbuf *sb);

#endif
