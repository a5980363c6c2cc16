/* Caller-owned error messages.
 *
 * Fallible functions take a `struct errbuf *` and return 0 or a negative
 * errno-style code.  On failure the message says what failed, quoting the
 * subject ('db.table', a file name, a config key) and, where it helps, what
 * to do.  Messages are lower case and never contain secrets.
 */
#ifndef DUMPER_ERRBUF_H
#define DUMPER_ERRBUF_H

#include <stddef.h>

#define ERRBUF_MAX 1024

struct errbuf {
	char msg[ERRBUF_MAX];
};

/* Empties the message. */
void errbuf_clear(struct errbuf *err);

/* Replaces the message with the formatted text and returns `code`, so
 * callers can write `return error_set(err, -EIO, "...")`.  `code` must be
 * negative.  A NULL err is allowed and only returns `code`. */
int error_set(struct errbuf *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Puts "<formatted>: " in front of the current message (the context of a
 * lower layer's failure) and returns `code`. */
int error_prefix(struct errbuf *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
