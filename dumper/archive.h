/* The archive directory: backup names, listing, sidecars, retention and
 * cleanup of what a crash left behind.
 *
 * A backup is "<prefix>_YYYY-MM-DD_HHMMSS.sql.gz.gpg" (the local time of
 * the process when its run started) with the sidecar
 * "<name>.sha256" holding "<64 lowercase hex>  <name>\n" (sha256sum -c
 * format).  Files are written as hidden temporaries (sink.h outfile) and
 * renamed into place, so a listed backup is always complete.  Anything
 * else in the directory (other prefixes, foreign files, the lock and
 * state files) is never listed and never deleted, except hidden
 * temporaries (see archive_clean_temps).
 *
 * The time of a backup is the time in its name (what retention uses);
 * its mtime is kept too.  Names are sorted by that time, ties by name.
 */
#ifndef DUMPER_ARCHIVE_H
#define DUMPER_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "errbuf.h"
#include "log.h"
#include "retention.h"
#include "strbuf.h"

#define ARCHIVE_SUFFIX	       ".sql.gz.gpg"
#define ARCHIVE_SIDECAR_SUFFIX ".sha256"
#define ARCHIVE_LATEST_NAME    "latest.sql.gz.gpg" /* the mount's symlink */
#define ARCHIVE_NAME_MAX       256		   /* buffer size for a backup or sidecar name */
#define ARCHIVE_PREFIX_MAX     200
/* A hidden temporary that nobody holds (archive_hold_temp) is removed
 * once older than this many seconds (mtime). */
#define ARCHIVE_TEMP_GRACE 10

/* A prefix is usable when it is 1..ARCHIVE_PREFIX_MAX bytes of
 * [A-Za-z0-9._-], not starting with '.'. */
bool archive_prefix_valid(const char *prefix);

#define ARCHIVE_STAMP_MAX 32
/* "YYYY-MM-DD_HHMMSS" of `t` in local time, after checking `prefix`
 * (archive_prefix_valid): -EINVAL for an invalid prefix, -ERANGE when t
 * has no local time.  Shared by backup and binlog segment names. */
int archive_name_stamp(char stamp[ARCHIVE_STAMP_MAX], const char *prefix, time_t t,
		       struct errbuf *err);
/* Formats the name for `t` in local time into buf (ARCHIVE_NAME_MAX).
 * -EINVAL for an invalid prefix, -ERANGE when t has no local time. */
int archive_format_name(char *buf, size_t len, const char *prefix, time_t t, struct errbuf *err);
/* True when `name` is exactly "<prefix>_YYYY-MM-DD_HHMMSS.sql.gz.gpg"
 * with a real date and time; *when (may be NULL) gets that local time
 * (mktime, DST guessed by the C library). */
bool archive_parse_name(const char *name, const char *prefix, time_t *when);
/* True when `name` is "<valid backup name>.sha256". */
bool archive_is_sidecar_name(const char *name, const char *prefix);

struct archive_entry {
	char name[ARCHIVE_NAME_MAX];
	time_t when;	       /* the time in the name */
	uint64_t size;	       /* bytes */
	struct timespec mtime; /* real mtime */
	bool has_sidecar;      /* "<name>.sha256" exists (regular file) */
	uint64_t sidecar_size; /* valid when has_sidecar */
	struct timespec sidecar_mtime;
};

/* Complete backups, oldest first.  `v` is owned (archive_list_release). */
struct archive_list {
	struct archive_entry *v;
	size_t n;
};

#define ARCHIVE_LIST_INIT                                                                          \
	{                                                                                          \
		NULL, 0                                                                            \
	}

/* Lists the regular files of `dir` named like backups of `prefix`
 * (lstat: symlinks and directories are not backups).  Hidden files,
 * temporaries, sidecars and foreign files are skipped.  A file that
 * vanishes during the scan is skipped.  On failure (the directory is
 * missing or unreadable) l is empty and err names the directory. */
int archive_scan(struct archive_list *l, const char *dir, const char *prefix, struct errbuf *err);
void archive_list_release(struct archive_list *l);
/* The newest backup, or NULL when there is none. */
const struct archive_entry *archive_newest(const struct archive_list *l);
/* The entry named `name`, or NULL. */
const struct archive_entry *archive_find(const struct archive_list *l, const char *name);

/* Backups in `l` without a sidecar: nothing vouches for them (a crash
 * or an old failure between the backup and its sidecar, a partial copy).
 * Logs a warning ("backup_without_sidecar") for each and returns how
 * many.  status.json lists them too ("missing_sidecars"). */
unsigned archive_report_missing_sidecars(const struct archive_list *l, const char *dir,
					 struct logger *lg);

/* "<name>.sha256" into buf (ARCHIVE_NAME_MAX); -ENAMETOOLONG if it does
 * not fit. */
int archive_sidecar_name(char *buf, size_t len, const char *name);
/* Appends "<hex>  <name>\n" to sb. */
void archive_sidecar_format(struct strbuf *sb, const char *hex, const char *name);
/* Parses sidecar text (one "<64 hex>  <name>" line, "\n" optional, the
 * "*" binary marker of sha256sum accepted).  Upper-case hex is
 * lowered.  *name_out (NAME_MAX+1) gets the name in it.  -EINVAL with
 * the reason otherwise. */
int archive_sidecar_parse(const char *text, size_t len, char hex[65],
			  char name_out[ARCHIVE_NAME_MAX], struct errbuf *err);
/* Reads and parses the sidecar file at `path` (at most 4 KiB). */
int archive_sidecar_read(const char *path, char hex[65], char name_out[ARCHIVE_NAME_MAX],
			 struct errbuf *err);

/* A backup dated more than this many seconds after the clock is "dated
 * in the future" (status: CRITICAL; retention: skipped). */
#define ARCHIVE_FUTURE_SLACK 3600
#define ARCHIVE_NOTE_MAX     1024

/* What archive_prune() is to do. */
struct archive_prune_opts {
	const char *dir;
	const char *prefix;
	struct retention_rules rules; /* retention.h */
	const char *new_name;	      /* the backup just made; NULL for none */
	time_t now;
	bool dry_run; /* decide and report, delete nothing */
	/* NULL, or called once per backup, newest first, after the deletions
	 * succeeded (not when retention was skipped): `keep` is the RETAIN_*
	 * bits of the rules that keep it, 0 when it was (or, dry run, would
	 * be) deleted. */
	void (*report)(void *arg, const char *name, unsigned keep);
	void *report_arg;
	struct logger *log; /* may be NULL */
};

/* What archive_prune() did. */
struct archive_prune_result {
	unsigned deleted;	       /* backups deleted (dry run: to delete) */
	unsigned kept;		       /* backups kept */
	bool skipped;		       /* retention skipped: dates not trusted */
	char reason[ARCHIVE_NOTE_MAX]; /* why, when skipped; one line */
};

/* Retention, to be called only after a successful run (or by `dumpfs
 * prune`) and while holding the run lock.  Deletes the backups of
 * `prefix` that no rule keeps (retention.h: keep_days measured from the
 * NEWEST backup's name time, not the clock's; the daily, weekly, monthly
 * and yearly tiers; the newest min_keep), oldest first; every rule 0
 * (retention_off) deletes nothing.
 * A deleted backup's sidecar goes with it (backup first, then sidecar),
 * and a leftover sidecar whose backup is gone and whose name time is
 * before the oldest kept backup is removed too.  Files that do not match
 * the naming pattern are never touched.  Each deletion is logged
 * ("prune" event).
 * Nothing is deleted, res->skipped is set and a warning logged
 * ("retention_skipped") when the dates cannot be trusted (a clock jump):
 * - keep_days is set and `new_name` is dated more than keep_days after
 *   the newest other backup;
 * - the newest backup is dated more than ARCHIVE_FUTURE_SLACK seconds
 *   after `now` (measuring from it would delete the real backups).
 * res may be NULL.  Stops at the first failure to delete. */
int archive_prune(const struct archive_prune_opts *o, struct archive_prune_result *res,
		  struct errbuf *err);

/* True when `e` is dated more than ARCHIVE_FUTURE_SLACK after `now`. */
bool archive_in_future(const struct archive_entry *e, time_t now);

/* Removes hidden temporaries (sink.h outfile_is_temp_name) left in `dir`
 * by a crash (a killed backup, a mount's spool file):
 * - temporaries of this prefix's backups and sidecars when
 *   `have_run_lock` (no backup can be writing one then); every temporary
 *   when `prefix` is NULL too (a directory with one writer, the lock
 *   holder: the binlog streamer's);
 * - any temporary nobody holds with archive_hold_temp() whose mtime is
 *   older than ARCHIVE_TEMP_GRACE seconds.
 * Each removal is logged ("cleanup" event); *removed (may be NULL)
 * counts them.  Errors on single files are logged and skipped. */
int archive_clean_temps(const char *dir, const char *prefix, bool have_run_lock, time_t now,
			struct logger *lg, unsigned *removed, struct errbuf *err);

/* Marks an open hidden temporary (fd from outfile_open, e.g. a snapshot
 * spool) as in use, so archive_clean_temps() leaves it alone while the
 * fd stays open: a shared OFD lock, dropped when the fd is closed.
 * Call right after creating it (the grace period covers the gap). */
int archive_hold_temp(int fd, struct errbuf *err);

#endif
