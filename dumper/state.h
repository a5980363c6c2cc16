/* The run state shared by `dumpfs backup`, `dumpfs check` and the mount:
 * "<dir>/.dumpfs-state" in the archive directory, small "key=value" text,
 * replaced atomically (hidden temporary + fsync + rename) on each change
 * under the state lock (lock.h), so a manual `dumpfs backup` shows up in
 * the mounted status/ at once and the state survives restarts.
 *
 * Whether a run is in progress is never stored: it is whether the run
 * lock is held (runlock_probe), so a crash cannot leave "running" behind.
 * A run that crashed is detected instead: backup records `started` (time
 * and pid) when it begins and clears it when it ends.  When state_read()
 * finds `started` set while nobody holds the run lock, that run died
 * (kill -9, power loss): it is reported as a failure "backup started at
 * <ISO time> did not finish (the process was killed or crashed)" with
 * last_error_at = its start time; the next backup run makes that
 * permanent (state_begin_run).
 */
#ifndef DUMPER_STATE_H
#define DUMPER_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "archive.h"
#include "errbuf.h"

#define STATE_FILE_NAME ".dumpfs-state"
#define STATE_MSG_MAX	512 /* last_error is cut to this many bytes - 1 */

struct run_state {
	time_t last_success;		  /* end of the last good run; 0 = never */
	char last_file[ARCHIVE_NAME_MAX]; /* its archive name or "" */
	uint64_t last_size;		  /* bytes */
	double last_duration;		  /* seconds; < 0 = unknown */
	time_t last_error_at;		  /* 0 = no error since the last success */
	char last_error[STATE_MSG_MAX];	  /* "" when last_error_at is 0 */
	uint64_t successes, failures;	  /* backup runs, ever */
	time_t started;			  /* a run began then and did not end; 0 */
	pid_t started_pid;
	bool stale_notified;	/* alerts: staleness already notified */
	long expiry_warned_day; /* alerts: day (time/86400) of the last
				   key-expiry warning; 0 = never */
	/* Derived by state_read(), never stored: */
	bool running;	   /* the run lock is held now */
	pid_t running_pid; /* its holder, 0 if unknown */
};

/* The empty state (nothing ever happened). */
void state_init(struct run_state *st);

/* Reads `path` (the file, not the directory) without any lock.  A missing
 * file gives the empty state and 0.  A corrupt file gives -EINVAL with
 * "corrupt state file '<path>' line N: ... (remove it to start afresh;
 * only the status history is lost)". */
int state_load(struct run_state *st, const char *path, struct errbuf *err);
/* Writes st to `path` atomically (hidden temporary, fsync, rename, fsync
 * of the directory).  Callers hold the state lock. */
int state_save(const struct run_state *st, const char *path, struct errbuf *err);
/* The text state_save() writes, appended to sb (for tests). */
void state_format(const struct run_state *st, struct strbuf *sb);

/* What status/ shows: state_load of "<dir>/.dumpfs-state", `running`
 * from runlock_probe(), and a crashed run turned into a failure (in
 * memory only; this never writes, so it works on a read-only dir).
 * On a corrupt file it returns -EINVAL but st is still usable (the empty
 * state plus `running`), so status/ can be rendered anyway. */
int state_read(struct run_state *st, const char *dir, struct errbuf *err);

/* Read-modify-write of "<dir>/.dumpfs-state" under the state lock:
 * loads, calls edit(st, arg), saves.  A corrupt file is treated as the
 * empty state and replaced, so a damaged file never stops backups (only
 * the history is lost); state_read() is where corruption is reported. */
typedef void (*state_edit_fn)(struct run_state *st, void *arg);
int state_update(const char *dir, state_edit_fn edit, void *arg, struct errbuf *err);

/* Removes the temporaries of "<dir>/.dumpfs-state" a killed writer left,
 * under the state lock (so never one being written); the mount calls it
 * at start, state_update() before each save. */
int state_clean_temps(const char *dir, struct errbuf *err);

/* The backup run's records, each one state_update().  Callers hold the
 * run lock for state_begin_run/state_end_*.
 * state_begin_run: settles a crashed earlier run as a failure, then
 *   records started = now, started_pid = pid.
 * state_record_success: clears started (when this process set it:
 *   started_pid == getpid()) and last_error, sets last_*,
 *   successes++, stale_notified = false.
 * state_record_failure: clears started (same rule), sets last_error(_at),
 *   failures++.  `msg` is cut to STATE_MSG_MAX - 1 bytes; newlines
 *   become spaces.
 * state_record_error: only sets last_error(_at) (a failed snapshot
 *   stream: not a backup run, counters unchanged); no run lock needed. */
int state_begin_run(const char *dir, time_t now, pid_t pid, struct errbuf *err);
int state_record_success(const char *dir, time_t now, const char *file, uint64_t size,
			 double seconds, struct errbuf *err);
int state_record_failure(const char *dir, time_t now, const char *msg, struct errbuf *err);
int state_record_error(const char *dir, time_t now, const char *msg, struct errbuf *err);

#endif
