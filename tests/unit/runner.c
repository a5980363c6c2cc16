#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

#define MAX_TESTS 512

struct unit_test {
	const char *name;
	void (*fn)(void);
};

/* Filled by constructors before main(); the runner's own state. */
static struct unit_test tests[MAX_TESTS];
static size_t ntests;
static int current_failed;
static char current_skip[256]; /* the reason; "" when not skipped */

void unit_register(const char *name, void (*fn)(void))
{
	if (ntests == MAX_TESTS) {
		fprintf(stderr, "unit: too many tests (raise MAX_TESTS)\n");
		abort();
	}
	tests[ntests].name = name;
	tests[ntests].fn = fn;
	ntests++;
}

void unit_fail(const char *file, int line, const char *what)
{
	printf("#   %s:%d: check failed: %s\n", file, line, what);
	current_failed = 1;
}

void unit_fail_str(const char *file, int line, const char *expr, const char *got, const char *want)
{
	printf("#   %s:%d: %s\n#     got:  \"%s\"\n#     want: \"%s\"\n", file, line, expr,
	       got ? got : "(null)", want ? want : "(null)");
	current_failed = 1;
}

void unit_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(current_skip, sizeof(current_skip), fmt, ap);
	va_end(ap);
	if (!current_skip[0]) /* a skip always says why */
		snprintf(current_skip, sizeof(current_skip), "(no reason given)");
}

double unit_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void unit_pause(void)
{
	struct timespec ts = {0, 1000000};

	nanosleep(&ts, NULL);
}

pid_t unit_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* /proc/self/task/TID/syscall starts with the number of the system call
 * the thread is blocked in ("running" when it runs). */
static bool in_syscall(pid_t tid, long nr)
{
	char path[64], buf[64];
	FILE *f;
	bool yes = false;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f))
		yes = buf[0] >= '0' && buf[0] <= '9' && strtol(buf, NULL, 10) == nr;
	fclose(f);
	return yes;
}

/* A thread other than the caller in system call nr; 0 if none. */
static pid_t any_in_syscall(long nr)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	pid_t found = 0, self = unit_tid();

	if (!d)
		return 0;
	while (!found && (e = readdir(d))) {
		pid_t tid = (pid_t)atoi(e->d_name);

		if (tid > 0 && tid != self && in_syscall(tid, nr))
			found = tid;
	}
	closedir(d);
	return found;
}

/* Seen `rounds` times in a row, 10 ms apart: not just passing through. */
static pid_t wait_in(pid_t tid, long nr, double timeout_s)
{
	double deadline = unit_now() + timeout_s;
	pid_t last = 0;
	int seen = 0;

	while (seen < 5 && unit_now() < deadline) {
		pid_t now = tid ? (in_syscall(tid, nr) ? tid : 0) : any_in_syscall(nr);

		seen = now && now == last ? seen + 1 : (now ? 1 : 0);
		last = now;
		for (int i = 0; i < 10; i++)
			unit_pause();
	}
	return seen >= 5 ? last : 0;
}

bool unit_wait_blocked(pid_t tid, double timeout_s)
{
	return wait_in(tid, SYS_futex, timeout_s) != 0;
}

pid_t unit_wait_any_in(long nr, double timeout_s)
{
	return wait_in(0, nr, timeout_s);
}

int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	int passed = 0, failed = 0, skipped = 0, n;

	for (size_t i = 0; i < ntests; i++) {
		if (only && !strstr(tests[i].name, only))
			continue;
		current_failed = 0;
		current_skip[0] = '\0';
		fflush(stdout);
		tests[i].fn();
		n = passed + failed + skipped + 1;
		if (current_failed) {
			failed++;
			printf("not ok %d - %s\n", n, tests[i].name);
		} else if (current_skip[0]) {
			skipped++;
			printf("ok %d - %s # SKIP %s\n", n, tests[i].name, current_skip);
		} else {
			passed++;
			printf("ok %d - %s\n", n, tests[i].name);
		}
	}
	/* A filter that matches nothing ran nothing: not a pass. */
	if (only && !(passed + failed + skipped)) {
		printf("# no test matches '%s'\n", only);
		failed++;
	}
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}
