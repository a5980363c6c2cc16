/* Threads that never take asynchronous signals.
 *
 * Signals are for the one thread that waits for them (fs/sigcancel.c,
 * the mount's watcher); a worker that took SIGTERM would end the process
 * without its cleanup.  Blocking every signal around pthread_create makes
 * the new thread inherit the full mask; the caller's mask is restored. */
#ifndef DUMPER_THREAD_H
#define DUMPER_THREAD_H

#include <pthread.h>

/* Starts fn(arg) with every signal blocked.  0, or a negative errno-style
 * code (pthread_create's error; *t is then undefined). */
int thread_start_nosig(pthread_t *t, void *(*fn)(void *), void *arg);

#endif
