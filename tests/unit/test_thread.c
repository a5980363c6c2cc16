/* thread_start_nosig: the new thread blocks every signal, the caller's
 * mask is left as it was. */
#include <pthread.h>
#include <signal.h>

#include "../../dumper/thread.h"
#include "unit.h"

static void *report_mask(void *arg)
{
	pthread_sigmask(SIG_BLOCK, NULL, arg);
	return NULL;
}

TEST(thread_start_nosig_blocks_everything_in_the_thread_only)
{
	sigset_t before, after, seen, one;
	pthread_t t;

	/* A known caller mask: only SIGUSR1 blocked. */
	sigemptyset(&one);
	sigaddset(&one, SIGUSR1);
	CHECK(pthread_sigmask(SIG_SETMASK, &one, &before) == 0);
	sigemptyset(&seen);
	CHECK(thread_start_nosig(&t, report_mask, &seen) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	CHECK(sigismember(&seen, SIGTERM) == 1);
	CHECK(sigismember(&seen, SIGINT) == 1);
	CHECK(sigismember(&seen, SIGHUP) == 1);
	CHECK(sigismember(&seen, SIGPIPE) == 1);
	CHECK(sigismember(&seen, SIGUSR2) == 1);
	pthread_sigmask(SIG_BLOCK, NULL, &after);
	CHECK(sigismember(&after, SIGUSR1) == 1);
	CHECK(sigismember(&after, SIGTERM) == 0);
	CHECK(sigismember(&after, SIGUSR2) == 0);
	pthread_sigmask(SIG_SETMASK, &before, NULL);
}
