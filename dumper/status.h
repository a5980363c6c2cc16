/* Health evaluation and the status/ files (docs/tree.md), shared by the
 * mount's status/ directory and `dumpfs check`, so both say exactly the
 * same thing.
 *
 * Health is about the newest complete backup only:
 *   NONE      no backup in the archive dir;
 *   CRITICAL  its age is more than max_age_hours * 3600 seconds, or its
 *             name is dated more than ARCHIVE_FUTURE_SLACK seconds after
 *             the clock ("dated in the future": a clock that ran ahead
 *             made it, and it would pass for the newest for a year);
 *   OK        otherwise, even when the last run failed (the failure shows
 *             in last_error, status.json and metrics);
 *   and CRITICAL when the archive dir cannot be read (archive_error);
 *   and, with [binlog] on, CRITICAL (unless NONE) when the binlog archive
 *   is more than max_lag_seconds behind the server, when no streamer ever
 *   wrote its status, or when that cannot be read (the reason follows
 *   the health line's file name).
 * The time of a backup is the time in its name; if its mtime is older
 * (a file touched back in time) the mtime counts, so a backup is never
 * younger than either says.  A time in the future counts as age 0.
 */
#ifndef DUMPER_STATUS_H
#define DUMPER_STATUS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "archive.h"
#include "binlog_status.h"
#include "retention.h"
#include "state.h"
#include "strbuf.h"

enum health { HEALTH_OK, HEALTH_CRITICAL, HEALTH_NONE };

/* Everything the status files are made of.  Pointers are borrowed. */
struct status_input {
	const struct archive_list *archives; /* from archive_scan */
	const struct run_state *state;	     /* from state_read; NULL = empty */
	time_t now;
	unsigned max_age_hours;
	time_t next_run;	     /* next scheduled run; (time_t)-1 = none */
	const char *key_fingerprint; /* NULL = unknown; the key expiring first */
	time_t key_expires;	     /* 0 = never, (time_t)-1 = unknown */
	/* Every recipient's fingerprint, config order (docs/recipients.md); n = 0: the
	 * list is unknown and status.json shows key_fingerprints null. */
	const char *const *key_fingerprints;
	unsigned n_key_fingerprints;
	unsigned snapshot_readers; /* open snapshot streams (0 for check) */
	unsigned max_snapshot_readers;
	const char *version; /* NULL = DUMPFS_VERSION or "unknown" */
	/* NULL, or why the archive dir could not be read (archives then
	 * empty): health is CRITICAL "cannot read ...", dumpfs_up 0. */
	const char *archive_error;
	/* NULL, or the retention rules in force: status.json shows them and
	 * how many backups each keeps now ("retention"). */
	const struct retention_rules *retention;
	/* [binlog] off: NULL; on: what binlog_report_read() found. */
	const struct binlog_report *binlog;
};

struct status_eval {
	enum health health;
	const struct archive_entry *newest; /* NULL when NONE */
	time_t newest_time;		    /* min(name time, mtime) of newest */
	int64_t age;			    /* seconds, >= 0; valid unless NONE */
	int64_t max_age;		    /* max_age_hours * 3600 */
	bool future;			    /* newest dated in the future */
	int64_t binlog_lag;		    /* seconds; -1 unknown or [binlog] off */
	char binlog_problem[160];	    /* "" or why the binlog makes it CRITICAL */
};

void status_evaluate(const struct status_input *in, struct status_eval *ev);
/* 0 OK, 1 CRITICAL, 2 NONE: `dumpfs check`'s exit code. */
int status_exit_code(enum health h);

/* The files of status/, in listing order. */
enum status_file {
	STATUS_HEALTH,	     /* "OK 3600 <file>" ... (docs/tree.md) */
	STATUS_LAST_SUCCESS, /* "2026-11-29T02:00:00Z" or "" */
	STATUS_LAST_ERROR,   /* "<ISO time> <message>" or "" */
	STATUS_AGE_SECONDS,  /* "3600" or "" */
	STATUS_JSON,	     /* status.json */
	STATUS_METRICS,	     /* metrics.prom */
	STATUS_NFILES
};

/* "health", "last_success", ..., "status.json", "metrics.prom". */
const char *status_file_name(enum status_file f);
/* The file named `name`, or -1. */
int status_file_lookup(const char *name);

/* Appends the content of file f to `out`: always ends with "\n" (an empty
 * value is just "\n").  Returns strbuf_error(out). */
int status_render(enum status_file f, const struct status_input *in, struct strbuf *out);

#endif
