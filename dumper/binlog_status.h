/* The binlog streamer's status file "<segment dir>/.binlog-status"
 * (docs/pitr.md): how far the archive is behind the server and the last
 * error, written by the streamer (binlog_stream.c) wherever it runs, read
 * by the mount's status/ and `dumpfs check`.  Small "key=value" text,
 * replaced atomically; read back as untrusted input.
 *
 * Lag (docs/pitr.md) is how far the archive is behind the server's binlog, not
 * the time since the last event: 0 when every event the server wrote is
 * in a closed segment.  The streamer records `behind_since`, the time of
 * the oldest event not yet in a closed segment (0 when none), and
 * refreshes `updated_at` at least every BINLOG_STATUS_REFRESH seconds
 * while it runs.  A file not refreshed for BINLOG_STATUS_STALE seconds
 * means nobody streams: the archive is then behind since `updated_at` at
 * the latest, whatever the file says.
 */
#ifndef DUMPER_BINLOG_STATUS_H
#define DUMPER_BINLOG_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "errbuf.h"
#include "strbuf.h"

#define BINLOG_STATUS_NAME    ".binlog-status"
#define BINLOG_STATUS_REFRESH 10
#define BINLOG_STATUS_STALE   30
#define BINLOG_STATUS_MSG_MAX 512 /* last_error is cut to this many bytes - 1 */

struct binlog_status {
	time_t updated_at;			/* last written by a running streamer */
	time_t last_event_at;			/* newest event in a closed segment; 0 = none yet */
	time_t behind_since;			/* oldest event not in a closed segment; 0 = none */
	time_t last_error_at;			/* 0 = the stream works */
	char last_error[BINLOG_STATUS_MSG_MAX]; /* "" when last_error_at is 0 */
	time_t failing_since;			/* start of the current break; 0 = none */
	bool broken_notified;			/* the break was alerted, not yet its end */
};

/* The file's text for st, appended to sb. */
void binlog_status_format(const struct binlog_status *st, struct strbuf *sb);
/* Parses the file's text (untrusted: any bytes, not NUL-terminated):
 * 0, or -EINVAL with *line the first bad line (0: the whole text, or a
 * required key missing: version, and updated_at not 0). */
int binlog_status_parse(const char *text, size_t len, struct binlog_status *st, unsigned *line);
/* Reads "<dir>/.binlog-status": -ENOENT (no message) when there is none;
 * -EINVAL naming the file and line when it is corrupt. */
int binlog_status_load(const char *dir, struct binlog_status *st, struct errbuf *err);
/* Writes it atomically with mode 0640, group `group` unless (gid_t)-1. */
int binlog_status_store(const char *dir, const struct binlog_status *st, gid_t group,
			struct errbuf *err);
/* The lag at `now` in seconds (>= 0), counting a stale file as above. */
int64_t binlog_status_lag(const struct binlog_status *st, time_t now);

/* What status/ and `dumpfs check` show of a binlog archive (status.h). */
struct binlog_report {
	bool have_status;	  /* a streamer wrote `st` */
	struct binlog_status st;  /* valid when have_status */
	unsigned segments;	  /* complete segments of the prefix */
	unsigned max_lag_seconds; /* health is CRITICAL past it */
	char error[ERRBUF_MAX];	  /* "" or why the directory or file was unreadable */
};

/* Reads the segment directory `dir` for segments of `prefix` and its
 * status file into r.  Never fails: what cannot be read is in r->error. */
void binlog_report_read(struct binlog_report *r, const char *dir, const char *prefix,
			unsigned max_lag_seconds);

#endif
