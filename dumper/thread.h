/* Threads, and the checked pthread primitives every thread of dumpfs uses.
 *
 * Threads never take asynchronous signals.  Signals are for the one thread
 * that waits for them (fs/cli/sigcancel.c, the mount's watcher); a worker that
 * took SIGTERM would end the process without its cleanup.  Blocking every
 * signal around pthread_create makes the new thread inherit the full
 * mask; the caller's mask is restored.
 *
 * Locking, waiting, signalling, joining and destroying fail only on a
 * programming error (an uninitialised or destroyed object, a lock not
 * held, a thread joined twice): going on would corrupt shared state, so
 * the wrappers below print the call and its error on stderr and abort(),
 * as assert() would (git's wrapper.c habit).  Creating an object can fail
 * for want of resources: those return a negative errno-style code. */
#ifndef DUMPER_THREAD_H
#define DUMPER_THREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

/* Starts fn(arg) with every signal blocked.  0, or a negative errno-style
 * code (pthread_create's error; *t is then undefined). */
int thread_start_nosig(pthread_t *t, void *(*fn)(void *), void *arg);
/* Joins a thread started above; its return value is dropped. */
void thread_join(pthread_t t);

/* A default mutex.  0 or a negative errno-style code. */
int mutex_init(pthread_mutex_t *m);
void mutex_destroy(pthread_mutex_t *m);
void mutex_lock(pthread_mutex_t *m);
void mutex_unlock(pthread_mutex_t *m);

/* A condition variable whose timed waits count on CLOCK_MONOTONIC when
 * `monotonic`, else on CLOCK_REALTIME (deadlines that are wall times).
 * 0 or a negative errno-style code. */
int cond_init(pthread_cond_t *c, bool monotonic);
void cond_destroy(pthread_cond_t *c);
void cond_wait(pthread_cond_t *c, pthread_mutex_t *m);
/* false when `abstime` (on the clock given to cond_init) has passed. */
bool cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *abstime);
void cond_signal(pthread_cond_t *c);
void cond_broadcast(pthread_cond_t *c);

#endif
