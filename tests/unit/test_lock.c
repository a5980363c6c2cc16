#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../dumper/lock.h"
#include "unit.h"

static char *lock_tmpdir(void)
{
	char tmpl[] = "/tmp/dumpfs-ut-lock-XXXXXX";
	char *d = mkdtemp(tmpl);

	return d ? strdup(d) : NULL;
}

static void lock_rmdir(const char *dir)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, RUNLOCK_NAME);
	unlink(path);
	rmdir(dir);
}

TEST(runlock_excludes_and_probes)
{
	char *dir = lock_tmpdir();
	struct runlock a = RUNLOCK_INIT, b = RUNLOCK_INIT;
	struct errbuf err;
	char want[64];
	pid_t holder = -1;
	bool held = true;

	CHECK(runlock_probe(dir, &held, &holder, &err) == 0); /* no file yet */
	CHECK(!held && holder == 0);
	CHECK(runlock_acquire(&a, dir, NULL, &err) == 0);
	/* A second lock in the same process conflicts too. */
	CHECK(runlock_acquire(&b, dir, &holder, &err) == -EBUSY);
	CHECK(holder == getpid());
	snprintf(want, sizeof(want), "another backup is running (pid %ld)", (long)getpid());
	CHECK_STREQ(err.msg, want);
	CHECK(b.fd == -1);
	CHECK(runlock_probe(dir, &held, &holder, &err) == 0);
	CHECK(held && holder == getpid());
	/* Probing did not take it: acquiring still fails only because of a. */
	runlock_release(&a);
	runlock_release(&a);
	CHECK(runlock_probe(dir, &held, &holder, &err) == 0);
	CHECK(!held);
	CHECK(runlock_acquire(&b, dir, NULL, &err) == 0);
	runlock_release(&b);
	lock_rmdir(dir);
	free(dir);
}

TEST(runlock_dies_with_the_process)
{
	char *dir = lock_tmpdir();
	struct runlock a = RUNLOCK_INIT;
	struct errbuf err;
	int ready[2], status;
	pid_t child, holder = 0;
	bool held = false;
	char c;

	CHECK(pipe(ready) == 0);
	child = fork();
	if (child == 0) {
		struct runlock lk = RUNLOCK_INIT;

		if (runlock_acquire(&lk, dir, NULL, NULL) == 0 && write(ready[1], "x", 1) == 1)
			pause();
		_exit(1);
	}
	CHECK(read(ready[0], &c, 1) == 1);
	CHECK(runlock_probe(dir, &held, &holder, &err) == 0);
	CHECK(held && holder == child);
	CHECK(runlock_acquire(&a, dir, NULL, &err) == -EBUSY);
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	/* No stale lock after kill -9. */
	CHECK(runlock_probe(dir, &held, &holder, &err) == 0);
	CHECK(!held);
	CHECK(runlock_acquire(&a, dir, NULL, &err) == 0);
	runlock_release(&a);
	close(ready[0]);
	close(ready[1]);
	lock_rmdir(dir);
	free(dir);
}

TEST(runlock_state_lock_is_separate)
{
	char *dir = lock_tmpdir();
	struct runlock a = RUNLOCK_INIT;
	struct errbuf err;
	int fd = -1;

	CHECK(runlock_acquire(&a, dir, NULL, &err) == 0);
	/* The state lock does not wait for the run lock. */
	CHECK(runlock_state_lock(dir, &fd, &err) == 0 && fd >= 0);
	close(fd);
	runlock_release(&a);
	CHECK(runlock_acquire(&a, "/nonexistent-dir", NULL, &err) == -ENOENT);
	CHECK(strstr(err.msg, "/nonexistent-dir/.dumpfs.lock") != NULL);
	lock_rmdir(dir);
	free(dir);
}
