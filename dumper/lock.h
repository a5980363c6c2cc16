/* The run lock: at most one backup run at a time per archive directory,
 * across processes (the CLI `dumpfs backup`, the mount's schedule).
 *
 * The lock is an open-file-description lock (fcntl F_OFD_SETLK, the
 * per-open-file semantics of flock(2)) on byte 0 of
 * "<dir>/.dumpfs.lock".  The kernel drops it when the holder's file is
 * closed or the process dies, so a crash never leaves a stale lock; the
 * file itself stays (it is not a sign of a running backup).  OFD locks
 * rather than flock() because they can be tested without being taken
 * (F_OFD_GETLK), so a status reader never makes a starting backup fail.
 * Two runlocks in one process conflict just like two processes do.
 * The holder writes its pid into the file, for messages only.
 */
#ifndef DUMPER_LOCK_H
#define DUMPER_LOCK_H

#include <stdbool.h>
#include <sys/types.h>

#include "errbuf.h"

#define RUNLOCK_NAME ".dumpfs.lock"

struct runlock {
	int fd; /* -1 when not held */
};

#define RUNLOCK_INIT                                                                               \
	{                                                                                          \
		-1                                                                                 \
	}

/* Takes the lock without waiting.  When another run holds it, fails with
 * -EBUSY and "another backup is running (pid N)" (", pid N" left out
 * when unknown), and sets *holder (may be NULL) to N or 0.  Other errors
 * (the directory is missing or read-only) are -errno with the path. */
int runlock_acquire(struct runlock *lk, const char *dir, pid_t *holder, struct errbuf *err);
/* Releases the lock if held; idempotent. */
void runlock_release(struct runlock *lk);

/* Tests, without taking it, whether some run holds the lock now (also
 * one in this process).  A missing lock file means not held.  *holder
 * (may be NULL) gets the holder's pid or 0. */
int runlock_probe(const char *dir, bool *held, pid_t *holder, struct errbuf *err);

/* The state lock: a short, blocking lock (byte 1 of the same file) that
 * serialises read-modify-write of the state file between the backup run
 * and the mount (which records snapshot failures).  Used by state.c.
 * On success *fd is the locked file; close it to unlock. */
int runlock_state_lock(const char *dir, int *fd, struct errbuf *err);

#endif
