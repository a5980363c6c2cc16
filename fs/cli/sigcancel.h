/* Turns SIGINT/SIGTERM/SIGHUP into a cancel callback for commands that
 * run one long job (dump, backup, restore), so temporaries are removed
 * and the job stops cleanly instead of dying mid-write.
 *
 * sigcancel_start() blocks those signals in the calling thread (threads
 * created afterwards inherit the mask) and starts a thread that waits for
 * them and calls fn(arg) once.  Call it before creating other threads. */
#ifndef FS_SIGCANCEL_H
#define FS_SIGCANCEL_H

#include <pthread.h>
#include <signal.h>

#include "../../dumper/errbuf.h"

struct sigcancel {
	pthread_t thread;
	sigset_t set;
	void (*fn)(void *arg);
	void *arg; /* borrowed */
	int started;
};

int sigcancel_start(struct sigcancel *sc, void (*fn)(void *), void *arg, struct errbuf *err);
/* Stops the waiting thread and restores the signal mask.  Idempotent. */
void sigcancel_stop(struct sigcancel *sc);

#endif
