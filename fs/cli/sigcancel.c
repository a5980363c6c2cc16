#include "sigcancel.h"
#include "../../dumper/thread.h"

#include <errno.h>
#include <string.h>

/* SIGUSR1 is only used to wake the waiting thread at stop. */
static void *wait_thread(void *p)
{
	struct sigcancel *sc = p;
	int sig;

	if (sigwait(&sc->set, &sig) == 0 && sig != SIGUSR1)
		sc->fn(sc->arg);
	return NULL;
}

int sigcancel_start(struct sigcancel *sc, void (*fn)(void *), void *arg, struct errbuf *err)
{
	int ret;

	sc->fn = fn;
	sc->arg = arg;
	sc->started = 0;
	sigemptyset(&sc->set);
	sigaddset(&sc->set, SIGINT);
	sigaddset(&sc->set, SIGTERM);
	sigaddset(&sc->set, SIGHUP);
	sigaddset(&sc->set, SIGUSR1);
	ret = pthread_sigmask(SIG_BLOCK, &sc->set, NULL);
	if (ret)
		return error_set(err, -ret, "cannot block signals: %s", strerror(ret));
	ret = pthread_create(&sc->thread, NULL, wait_thread, sc);
	if (ret) {
		pthread_sigmask(SIG_UNBLOCK, &sc->set, NULL);
		return error_set(err, -ret, "cannot start the signal thread: %s", strerror(ret));
	}
	sc->started = 1;
	return 0;
}

void sigcancel_stop(struct sigcancel *sc)
{
	if (!sc->started)
		return;
	/* Wakes the thread if no signal came; harmless if it already ran. */
	pthread_kill(sc->thread, SIGUSR1);
	thread_join(sc->thread);
	pthread_sigmask(SIG_UNBLOCK, &sc->set, NULL);
	sc->started = 0;
}
