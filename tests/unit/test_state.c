#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../dumper/lock.h"
#include "../../dumper/state.h"
#include "unit.h"

static char *state_tmpdir(void)
{
	char tmpl[] = "/tmp/dumpfs-ut-state-XXXXXX";
	char *d = mkdtemp(tmpl);

	return d ? strdup(d) : NULL;
}

static void state_rmdir(char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	free(dir);
}

static void write_file(const char *dir, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE_NAME);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

TEST(state_missing_file_is_empty)
{
	char *dir = state_tmpdir();
	struct run_state st;
	struct errbuf err;

	st.successes = 7;
	CHECK(state_read(&st, dir, &err) == 0);
	CHECK(st.successes == 0 && st.failures == 0 && st.last_success == 0);
	CHECK(st.last_duration < 0 && !st.running && st.last_error[0] == '\0');
	state_rmdir(dir);
}

TEST(state_save_load_roundtrip)
{
	char *dir = state_tmpdir();
	char path[512];
	struct run_state a, b;
	struct errbuf err;
	struct strbuf sb = STRBUF_INIT;

	state_init(&a);
	a.last_success = 1795917600;
	strcpy(a.last_file, "mariadb_2026-11-29_020000.sql.gz.gpg");
	a.last_size = 123456789012ULL;
	a.last_duration = 12.5;
	a.last_error_at = 1795917000;
	strcpy(a.last_error, "dump: cannot connect to '127.0.0.1:3306' = x");
	a.successes = 4;
	a.failures = 2;
	a.stale_notified = true;
	a.expiry_warned_day = 20000;
	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE_NAME);
	CHECK(state_save(&a, path, &err) == 0);
	CHECK(state_load(&b, path, &err) == 0);
	CHECK(b.last_success == a.last_success && b.last_size == a.last_size);
	CHECK_STREQ(b.last_file, a.last_file);
	CHECK_STREQ(b.last_error, a.last_error);
	CHECK(b.last_duration == 12.5 && b.last_error_at == a.last_error_at);
	CHECK(b.successes == 4 && b.failures == 2 && b.stale_notified);
	CHECK(b.expiry_warned_day == 20000 && b.started == 0);
	state_format(&b, &sb);
	CHECK(strstr(sb.buf, "\nlast_size=123456789012\n") != NULL);
	strbuf_release(&sb);
	state_rmdir(dir);
}

TEST(state_corrupt_file_is_reported_and_replaced)
{
	char *dir = state_tmpdir();
	struct run_state st;
	struct errbuf err;

	write_file(dir, "version=1\nsuccesses=3\nfailures=lots\n");
	CHECK(state_read(&st, dir, &err) == -EINVAL);
	CHECK(strstr(err.msg, "corrupt state file") != NULL);
	CHECK(strstr(err.msg, dir) != NULL && strstr(err.msg, "line 3") != NULL);
	CHECK(st.successes == 0 && !st.running); /* usable anyway */
	write_file(dir, "version=1\ngarbage\n");
	CHECK(state_read(&st, dir, &err) == -EINVAL && strstr(err.msg, "line 2"));
	write_file(dir, "version=1\nsuccesses=3");
	CHECK(state_read(&st, dir, &err) == -EINVAL);
	/* Unknown keys are fine (a newer dumpfs wrote them). */
	write_file(dir, "version=2\nsuccesses=3\nfuture_key=x\n");
	CHECK(state_read(&st, dir, &err) == 0 && st.successes == 3);
	/* A damaged file does not stop backups from recording. */
	write_file(dir, "\x01\x02garbage");
	CHECK(state_record_failure(dir, 100, "boom", &err) == 0);
	CHECK(state_read(&st, dir, &err) == 0);
	CHECK(st.failures == 1 && st.last_error_at == 100);
	CHECK_STREQ(st.last_error, "boom");
	state_rmdir(dir);
}

TEST(state_success_clears_error_and_counts)
{
	char *dir = state_tmpdir();
	struct run_state st;
	struct errbuf err;

	CHECK(state_record_failure(dir, 100, "first\nline two", &err) == 0);
	CHECK(state_read(&st, dir, &err) == 0);
	CHECK_STREQ(st.last_error, "first line two");
	CHECK(st.failures == 1 && st.successes == 0);
	CHECK(state_record_success(dir, 200, "f1", 10, 1.5, &err) == 0);
	CHECK(state_read(&st, dir, &err) == 0);
	CHECK(st.last_error_at == 0 && st.last_error[0] == '\0');
	CHECK(st.last_success == 200 && st.successes == 1 && st.failures == 1);
	CHECK_STREQ(st.last_file, "f1");
	/* A later failure keeps the last success. */
	CHECK(state_record_failure(dir, 300, "second", &err) == 0);
	CHECK(state_read(&st, dir, &err) == 0);
	CHECK(st.last_success == 200 && st.last_error_at == 300 && st.failures == 2);
	/* A snapshot error counts no run. */
	CHECK(state_record_error(dir, 400, "stream failed", &err) == 0);
	CHECK(state_read(&st, dir, &err) == 0);
	CHECK(st.failures == 2 && st.last_error_at == 400);
	CHECK_STREQ(st.last_error, "stream failed");
	state_rmdir(dir);
}

TEST(state_running_comes_from_the_lock)
{
	char *dir = state_tmpdir();
	struct runlock lk = RUNLOCK_INIT;
	struct run_state st;
	struct errbuf err;

	CHECK(runlock_acquire(&lk, dir, NULL, &err) == 0);
	CHECK(state_begin_run(dir, 1000, getpid(), &err) == 0);
	CHECK(state_read(&st, dir, &err) == 0);
	CHECK(st.running && st.running_pid == getpid() && st.started == 1000);
	CHECK(st.failures == 0);
	CHECK(state_record_success(dir, 1010, "f", 1, 10, &err) == 0);
	runlock_release(&lk);
	CHECK(state_read(&st, dir, &err) == 0);
	CHECK(!st.running && st.started == 0 && st.successes == 1 && st.failures == 0);
	state_rmdir(dir);
}

TEST(state_crashed_run_is_a_failure)
{
	char *dir = state_tmpdir();
	struct runlock lk = RUNLOCK_INIT;
	struct run_state st;
	struct errbuf err;
	int ready[2], status;
	pid_t child;
	char c;

	CHECK(state_record_success(dir, 500, "old", 1, 1, &err) == 0);
	CHECK(pipe(ready) == 0);
	child = fork();
	if (child == 0) {
		struct runlock l = RUNLOCK_INIT;

		if (runlock_acquire(&l, dir, NULL, NULL) == 0 &&
		    state_begin_run(dir, 1795917600, getpid(), NULL) == 0 &&
		    write(ready[1], "x", 1) == 1)
			pause();
		_exit(1);
	}
	CHECK(read(ready[0], &c, 1) == 1);
	CHECK(state_read(&st, dir, &err) == 0);
	CHECK(st.running && st.failures == 0);
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	/* Readers see the failure at once, without writing anything. */
	CHECK(state_read(&st, dir, &err) == 0);
	CHECK(!st.running && st.failures == 1 && st.last_error_at == 1795917600);
	CHECK(strstr(st.last_error, "backup started at 2026-11-29T02:00:00Z") != NULL);
	CHECK(strstr(st.last_error, "did not finish") != NULL);
	CHECK(st.last_success == 500);
	/* The next run makes it permanent, counted once. */
	CHECK(runlock_acquire(&lk, dir, NULL, &err) == 0);
	CHECK(state_begin_run(dir, 1795918000, getpid(), &err) == 0);
	CHECK(state_record_success(dir, 1795918100, "new", 1, 1, &err) == 0);
	runlock_release(&lk);
	CHECK(state_read(&st, dir, &err) == 0);
	CHECK(st.failures == 1 && st.successes == 2 && st.last_error_at == 0);
	close(ready[0]);
	close(ready[1]);
	state_rmdir(dir);
}
