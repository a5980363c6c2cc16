#include "thread.h"

#include <signal.h>

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
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -e;
}
