/* The runner's real waits: they see a blocked thread, and only that. */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "unit.h"

struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int go;		   /* under mu */
	atomic_int stop;   /* ends the spinner */
	_Atomic pid_t tid; /* the thread, once started */
	int pipe[2];	   /* the poller waits on pipe[0] */
};

static void *block_on_cond(void *arg)
{
	struct waiter *w = arg;

	atomic_store(&w->tid, unit_tid());
	pthread_mutex_lock(&w->mu);
	while (!w->go)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void *spin(void *arg)
{
	struct waiter *w = arg;

	atomic_store(&w->tid, unit_tid());
	while (!atomic_load(&w->stop))
		;
	return NULL;
}

static void *block_in_poll(void *arg)
{
	struct waiter *w = arg;
	struct pollfd pfd = {.fd = w->pipe[0], .events = POLLIN};

	atomic_store(&w->tid, unit_tid());
	return poll(&pfd, 1, 10000) == 1 ? NULL : (void *)1;
}

TEST(unit_wait_blocked_sees_a_condition_wait)
{
	struct waiter w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
	pthread_t t;

	CHECK(pthread_create(&t, NULL, block_on_cond, &w) == 0);
	CHECK(UNIT_WAIT_UNTIL(atomic_load(&w.tid) != 0, 10));
	CHECK(unit_wait_blocked(atomic_load(&w.tid), 10));
	pthread_mutex_lock(&w.mu);
	w.go = 1;
	pthread_cond_signal(&w.cv);
	pthread_mutex_unlock(&w.mu);
	CHECK(pthread_join(t, NULL) == 0);
}

TEST(unit_wait_blocked_not_fooled_by_a_running_thread)
{
	struct waiter w = {0};
	pthread_t t;
	double t0;

	CHECK(pthread_create(&t, NULL, spin, &w) == 0);
	CHECK(UNIT_WAIT_UNTIL(atomic_load(&w.tid) != 0, 10));
	t0 = unit_now();
	CHECK(!unit_wait_blocked(atomic_load(&w.tid), 0.3));
	CHECK(unit_now() - t0 >= 0.3); /* it waited for the deadline */
	CHECK(unit_wait_any_in(SYS_poll, 0.3) == 0);
	atomic_store(&w.stop, 1);
	CHECK(pthread_join(t, NULL) == 0);
}

TEST(unit_wait_any_in_finds_the_thread_in_poll)
{
	struct waiter w = {0};
	pthread_t t;
	void *ret = (void *)1;

	CHECK(pipe(w.pipe) == 0);
	CHECK(pthread_create(&t, NULL, block_in_poll, &w) == 0);
	CHECK(UNIT_WAIT_UNTIL(atomic_load(&w.tid) != 0, 10));
	CHECK(unit_wait_any_in(SYS_poll, 10) == atomic_load(&w.tid));
	CHECK(write(w.pipe[1], "x", 1) == 1);
	CHECK(pthread_join(t, &ret) == 0 && ret == NULL);
	close(w.pipe[0]);
	close(w.pipe[1]);
}
