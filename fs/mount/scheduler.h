/* The archive schedule of the mounted process: a thread that sleeps
 * until the next time of [archive] schedule (schedule_next) and runs one
 * backup (backup.h) then.  A run that finds another one holding the run
 * lock (a manual `dumpfs backup`) is skipped with a log line.
 */
#ifndef FS_SCHEDULER_H
#define FS_SCHEDULER_H

#include <time.h>

#include "../../dumper/backup.h"
#include "../../dumper/log.h"
#include "../../dumper/schedule.h"

/* Called in the scheduler thread after each scheduled run (the alerts
 * code plugs in here): rc 0 success (res valid), else the failure (err),
 * -EBUSY when skipped, -ECANCELED at unmount. */
typedef void (*scheduler_hook)(void *arg, int rc, const struct backup_result *res,
			       const struct errbuf *err);

struct scheduler_opts {
	const struct schedule *schedule; /* not off */
	const struct backup_opts *backup;
	struct logger *log;
	scheduler_hook on_run; /* may be NULL */
	void *hook_arg;
};

struct scheduler;

/* Everything `o` points to is borrowed and must outlive the scheduler;
 * the struct itself is copied.  Starts the thread, with the signals the
 * main thread handles blocked. */
int scheduler_start(struct scheduler **out, const struct scheduler_opts *o, struct errbuf *err);
/* The next run's time, (time_t)-1 when none (stopping).  Thread-safe. */
time_t scheduler_next_run(struct scheduler *s);
/* Cancels a running backup and makes the thread end; does not wait.
 * Any thread, idempotent. */
void scheduler_cancel(struct scheduler *s);
/* scheduler_cancel, waits for the thread, frees.  Safe on NULL. */
void scheduler_stop(struct scheduler *s);

#endif
