/* One archive backup run, for `dumpfs backup` and the mount's schedule.
 *
 *  1. take the run lock (lock.h); busy: -EBUSY "another backup is
 *     running (pid N)", nothing else happens (the running one records);
 *  2. state_begin_run (settles an earlier crashed run as failed);
 *  3. remove stale hidden temporaries (archive_clean_temps); warn about
 *     backups without a sidecar (archive_report_missing_sidecars);
 *  4. pick "<prefix>_YYYY-MM-DD_HHMMSS.sql.gz.gpg" for now; when it or
 *     its sidecar exists, wait for the next second (never overwrite);
 *  5. dump_job_run into outfile(hidden temp, mode 0440, group
 *     opts->group) <- sha256 stage, commit
 *     with no_replace (fsync, rename, fsync dir);
 *  6. the sidecar "<hex>  <name>\n" the same way;
 *  7. state_record_success, then retention (archive_prune: keep_days
 *     measured from the newest backup's date, the daily/weekly/monthly/
 *     yearly tiers, min_keep; skipped on a clock jump, which only sets
 *     res->retention_skipped), then remove temporaries again (those a
 *     crash left too recently for step 3);
 *  on failure at 2..6: the temporaries are removed, nothing appears under
 *  the backup's name (a committed backup whose sidecar failed is
 *  removed too, and so is a backup or sidecar whose commit failed after
 *  it was linked into place: temporary unlink, directory fsync), so no
 *  backup without its sidecar is left; state_record_failure(message), no
 *  retention.
 *  Releases the lock.
 *
 * Logs "backup_start", "backup_done" / "backup_failed" events.
 */
#ifndef DUMPER_BACKUP_H
#define DUMPER_BACKUP_H

#include <stdint.h>
#include <sys/types.h>

#include "archive.h"
#include "binlogpos.h"
#include "log.h"
#include "pipeline.h"
#include "sha256.h"

struct backup_opts {
	const char *dir;		      /* the archive directory */
	const char *prefix;		      /* archive_prefix_valid() */
	struct retention_rules retention;     /* retention.h */
	const struct pipeline_opts *pipeline; /* key must be set (not plain) */
	struct logger *log;		      /* may be NULL */
	gid_t group; /* of the backup and sidecar (mode 0440); (gid_t)-1: ours */
};

struct backup_result {
	char file[ARCHIVE_NAME_MAX]; /* the backup's name (no directory) */
	uint64_t size;		     /* bytes */
	double seconds;		     /* whole run, wall clock */
	char sha256[SHA256_HEX_LEN + 1];
	unsigned pruned; /* backups deleted by retention */
	/* the snapshot's binlog position (file "" when the binlog is off),
	 * also kept as ".<file>.binlog-position" beside it (binlogpos.h) */
	struct binlog_pos binlog;
	uint64_t sql_bytes; /* plaintext SQL size */
	/* Retention was skipped (archive_prune: a clock jump); the run still
	 * succeeded.  "" or why, one line: worth a notice. */
	char retention_skipped[ARCHIVE_NOTE_MAX];
};

struct backup;

/* opts (and everything it points to) is borrowed and must outlive the
 * backup.  On success *out is owned by the caller (backup_free). */
int backup_new(struct backup **out, const struct backup_opts *opts, struct errbuf *err);
/* Runs once (a second call fails with -EINVAL).  0 and *res on success;
 * -EBUSY when another run holds the lock; -ECANCELED after
 * backup_cancel(); else the failure, which is in the state file too.
 * res may be NULL. */
int backup_run(struct backup *b, struct backup_result *res, struct errbuf *err);
/* From any thread, any time (before, during or after backup_run): makes
 * the run stop soon with -ECANCELED (dump_job_cancel), recorded as the
 * failure "backup cancelled". */
void backup_cancel(struct backup *b);
/* Not while backup_run runs.  Safe on NULL. */
void backup_free(struct backup *b);

#endif
