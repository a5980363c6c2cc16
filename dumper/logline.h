/* One log line, as text or as a JSON object (docs/security.md, docs/logging.md): the
 * formatting behind logger_log(), apart so that it can be tested alone.
 * Only log.c and the unit tests include this header.
 *
 * The caller's printf format gives each line its fields: "key=value"
 * separated by spaces, a value either unquoted or in double quotes.  The
 * structure comes from the format's literal text only; no argument can
 * add a field, end one or end the line:
 * - text: every %s or %c value is escaped (backslash, double quote,
 *   control characters as \\ \" \n \r \t \xNN);
 * - JSON: each field is a member "key": value.  An unquoted value that is
 *   one conversion alone is typed: %d %i %u and %e %f %g give a number,
 *   LOG_BOOL() a boolean, a NULL %s null; anything else (quoted, %s, text
 *   around a conversion, %x...) is a string.  Strings are escaped for
 *   JSON, invalid UTF-8 becoming U+FFFD.  A key is written with the
 *   characters [A-Za-z0-9_.-] only (others become '_'); a key that is one
 *   of the line's own (time, level, event, host, pid) becomes
 *   "field_<key>".  A word without '=' becomes "msg".  A line too long for
 *   its buffer stays one valid object and ends with "truncated": true.
 */
#ifndef DUMPER_LOGLINE_H
#define DUMPER_LOGLINE_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* What starts every line. */
struct logline_head {
	struct timespec when; /* CLOCK_REALTIME */
	const char *level;    /* "error"... */
	const char *event;
	const char *host; /* JSON only */
	pid_t pid;	  /* JSON only */
};

/* Write the line, '\n'-terminated and NUL-terminated, into buf (cap
 * bytes, at least 1024); return its length without the NUL.  `ap` is
 * consumed as vprintf(fmt) would. */
size_t logline_text(char *buf, size_t cap, const struct logline_head *h, const char *fmt,
		    va_list *ap);
size_t logline_json(char *buf, size_t cap, const struct logline_head *h, const char *fmt,
		    va_list *ap);

/* A boolean field: "ok=%s", LOG_BOOL(ok).  The logger knows these two
 * strings by their address: "true"/"false" in text, true/false in JSON. */
extern const char log_true[], log_false[];
#define LOG_BOOL(b) ((b) ? log_true : log_false)

#endif
