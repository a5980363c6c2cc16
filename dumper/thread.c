/* Threads and checked pthread primitives.  See thread.h. */
#include "thread.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A failed lock, wait or join is a bug in dumpfs: stop before it spreads. */
static void must(int rc, const char *call)
{
	char buf[128];

	if (!rc)
		return;
	fprintf(stderr, "dumpfs: %s failed: %s (a bug: aborting)\n", call,
		strerror_r(rc, buf, sizeof(buf)));
	abort();
}

int thread_start_nosig(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int e;

	sigfillset(&all);
	e = pthread_sigmask(SIG_SETMASK, &all, &old);
	if (e)
		return -e;
	e = pthread_create(t, NULL, fn, arg);
	/* Cannot fail: `old` came from pthread_sigmask itself. */
	must(pthread_sigmask(SIG_SETMASK, &old, NULL), "pthread_sigmask");
	return -e;
}

void thread_join(pthread_t t)
{
	must(pthread_join(t, NULL), "pthread_join");
}

int mutex_init(pthread_mutex_t *m)
{
	return -pthread_mutex_init(m, NULL);
}

void mutex_destroy(pthread_mutex_t *m)
{
	must(pthread_mutex_destroy(m), "pthread_mutex_destroy");
}

void mutex_lock(pthread_mutex_t *m)
{
	must(pthread_mutex_lock(m), "pthread_mutex_lock");
}

void mutex_unlock(pthread_mutex_t *m)
{
	must(pthread_mutex_unlock(m), "pthread_mutex_unlock");
}

int cond_init(pthread_cond_t *c, bool monotonic)
{
	pthread_condattr_t ca;
	int e;

	if (!monotonic)
		return -pthread_cond_init(c, NULL);
	e = pthread_condattr_init(&ca);
	if (e)
		return -e;
	e = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (!e)
		e = pthread_cond_init(c, &ca);
	pthread_condattr_destroy(&ca); /* cannot fail on an initialised attr */
	return -e;
}

void cond_destroy(pthread_cond_t *c)
{
	must(pthread_cond_destroy(c), "pthread_cond_destroy");
}

void cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	must(pthread_cond_wait(c, m), "pthread_cond_wait");
}

bool cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *abstime)
{
	int e = pthread_cond_timedwait(c, m, abstime);

	if (e == ETIMEDOUT)
		return false;
	must(e, "pthread_cond_timedwait");
	return true;
}

void cond_signal(pthread_cond_t *c)
{
	must(pthread_cond_signal(c), "pthread_cond_signal");
}

void cond_broadcast(pthread_cond_t *c)
{
	must(pthread_cond_broadcast(c), "pthread_cond_broadcast");
}
