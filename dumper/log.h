/* Structured log lines: "<UTC time> <level> <event> key=value ...", or
 * with LOGF_JSON one JSON object a line (docs/logging.md; logline.h).
 *
 * One `struct logger` is made by main() and handed down by pointer; the
 * library never logs behind the caller's back.  Thread-safe: lines from
 * several threads never interleave.  Messages must not contain secrets.
 */
#ifndef DUMPER_LOG_H
#define DUMPER_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "errbuf.h"
#include "logline.h"

enum log_level { LOGL_ERROR, LOGL_WARN, LOGL_INFO, LOGL_DEBUG };
enum log_format { LOGF_TEXT, LOGF_JSON };

struct logger;

/* Allocates a logger writing lines at `level` or more severe to stderr.
 * Returns NULL on allocation failure.  Free with logger_free(). */
struct logger *logger_new(enum log_level level);
void logger_free(struct logger *lg);

/* Also appends to `path` (created 0640), reopened by logger_reopen(). */
int logger_set_file(struct logger *lg, const char *path, struct errbuf *err);
/* Reopens the log file (after logrotate moved it; SIGHUP). */
int logger_reopen(struct logger *lg, struct errbuf *err);
/* Also sends lines to syslog(3) as `ident`. */
void logger_set_syslog(struct logger *lg, const char *ident);
void logger_set_level(struct logger *lg, enum log_level level);
/* Silences stderr (commands whose stdout/stderr are the product). */
void logger_set_quiet(struct logger *lg, bool quiet);
/* Text (the default) or JSON on every sink: stderr, file, syslog.  The
 * tail (logger_tail, for alert mails read by people) stays text. */
void logger_set_format(struct logger *lg, enum log_format format);

/* Parses "error" | "warn" | "info" | "debug". Returns 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out);

/* Logs one line.  `fmt` formats the key=value fields (printf-style);
 * every %s or %c value is escaped here (backslash, double quote, control
 * characters as \\ \" \n \r \t \xNN), so no value can end its field
 * or forge a line: pass values only as arguments, never inside `fmt`.
 * Values with spaces should be quoted "..." by the caller's fmt.  In JSON
 * an unquoted %d/%u/%f value alone is a number, LOG_BOOL(x) given to an
 * unquoted %s a boolean, anything else a string (logline.h). */
void logger_log(struct logger *lg, enum log_level level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* LOG_BOOL(ok) for a boolean field: logline.h. */

/* A command's last word to its user on stderr, when it fails: "dumpfs:
 * <command>: <msg>" (command NULL: "dumpfs: <msg>"), or with LOGF_JSON a
 * JSON line (event "command_failed", fields command and error), so that
 * stderr stays one format.  Only stderr, even when quiet: the file and
 * syslog had the events. */
void logger_user_error(struct logger *lg, const char *command, const char *msg);

/* Copies the last log lines (at most `max` bytes, whole lines, oldest
 * first) into buf, NUL-terminated.  For alert mails. */
void logger_tail(struct logger *lg, char *buf, size_t max);

#endif
