/* The unit-test runner (unit.h): TAP output, each test in a forked child
 * with a time limit, so a crash, a hang or a sanitizer report fails that
 * test alone and the others still run. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

#define MAX_TESTS	  512
#define MAX_FIXTURES	  16
#define DEFAULT_TIMEOUT_S 60

struct unit_test {
	const char *name;
	void (*fn)(void);
};

struct unit_fixture {
	const char *prefix;
	void (*make)(void);
	bool made;
};

/* What a test's child tells the runner: in a shared mapping, so it
 * survives the child (a crash after a failed check still shows both). */
struct unit_result {
	int failed;
	int finished;	/* the test function returned */
	char skip[256]; /* the reason; "" when not skipped */
};

/* Filled by constructors before main(); the runner's own state. */
static struct unit_test tests[MAX_TESTS];
static size_t ntests;
static struct unit_fixture fixtures[MAX_FIXTURES];
static size_t nfixtures;
static struct unit_result local_result; /* until main() maps the shared one */
static struct unit_result *result = &local_result;
static volatile pid_t running_child; /* its process group, for on_stop() */

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

void unit_register_fixture(const char *prefix, void (*make)(void))
{
	if (nfixtures == MAX_FIXTURES) {
		fprintf(stderr, "unit: too many fixtures (raise MAX_FIXTURES)\n");
		abort();
	}
	fixtures[nfixtures].prefix = prefix;
	fixtures[nfixtures].make = make;
	nfixtures++;
}

void unit_fail(const char *file, int line, const char *what)
{
	printf("#   %s:%d: check failed: %s\n", file, line, what);
	result->failed = 1;
}

void unit_fail_str(const char *file, int line, const char *expr, const char *got, const char *want)
{
	printf("#   %s:%d: %s\n#     got:  \"%s\"\n#     want: \"%s\"\n", file, line, expr,
	       got ? got : "(null)", want ? want : "(null)");
	result->failed = 1;
}

void unit_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(result->skip, sizeof(result->skip), fmt, ap);
	va_end(ap);
	if (!result->skip[0]) /* a skip always says why */
		snprintf(result->skip, sizeof(result->skip), "(no reason given)");
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

static bool selected(size_t i, const char *only)
{
	return !only || strstr(tests[i].name, only);
}

/* Makes, in the runner's process, the fixtures test i uses (once), so its
 * child and the later ones inherit them instead of making their own. */
static void warm_fixtures(size_t i)
{
	for (size_t f = 0; f < nfixtures; f++) {
		if (fixtures[f].made ||
		    strncmp(tests[i].name, fixtures[f].prefix, strlen(fixtures[f].prefix)))
			continue;
		fixtures[f].made = true;
		fixtures[f].make();
		fflush(stdout);
	}
}

/* Waits up to limit_s for the child; then kills it (and its process
 * group).  Returns waitpid's status; *timed_out tells a kill by us. */
static int wait_child(pid_t pid, double limit_s, bool *timed_out)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0), status = 0;
	double deadline = unit_now() + limit_s;

	*timed_out = false;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		double left = deadline - unit_now();

		if (w == pid || (w < 0 && errno != EINTR))
			break;
		if (left <= 0) {
			*timed_out = true;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			break;
		}
		if (fd >= 0) { /* readable once the child has exited */
			struct pollfd p = {.fd = fd, .events = POLLIN};

			(void)poll(&p, 1, left > 1 ? 1000 : (int)(left * 1000) + 1);
		} else {
			unit_pause();
		}
	}
	if (fd >= 0)
		close(fd);
	return status;
}

/* Ctrl-C or a kill stops the runner: the test's process group (not in the
 * terminal's foreground group) goes with it. */
static void on_stop(int sig)
{
	if (running_child > 0)
		kill(-running_child, SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void run_child(size_t i)
{
	/* its own process group: a timeout kills what it started too */
	(void)setpgid(0, 0);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	tests[i].fn();
	result->finished = 1;
	fflush(stdout);
	/* exit(), not _exit(): LeakSanitizer and ThreadSanitizer report (and
	 * set the exit status) at exit. */
	exit(0);
}

/* "ok"/"not ok" for test i, number n; returns 0 pass, 1 fail, 2 skip. */
static int run_one(size_t i, int n, double limit_s)
{
	const char *name = tests[i].name;
	bool timed_out;
	int status;
	pid_t pid;

	warm_fixtures(i);
	memset(result, 0, sizeof(*result));
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		printf("not ok %d - %s # cannot fork: %s\n", n, name, strerror(errno));
		return 1;
	}
	if (pid == 0)
		run_child(i);
	/* (also here: the child may not have run setpgid() yet) */
	(void)setpgid(pid, pid);
	running_child = pid;
	status = wait_child(pid, limit_s, &timed_out);
	running_child = 0;
	if (timed_out) {
		printf("not ok %d - %s # timeout: killed after %g s (UNIT_TIMEOUT)\n", n, name,
		       limit_s);
		return 1;
	}
	if (WIFSIGNALED(status)) {
		printf("not ok %d - %s # killed by signal %d (SIG%s)\n", n, name, WTERMSIG(status),
		       sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
		return 1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !result->finished) {
		/* a sanitizer's exit status (ASan 1, LeakSanitizer 23,
		 * TSan 66), or the test called exit() */
		printf("not ok %d - %s # exit status %d%s\n", n, name,
		       WIFEXITED(status) ? WEXITSTATUS(status) : -1,
		       result->finished ? " after the test (a sanitizer report? see above)"
					: " before the test returned");
		return 1;
	}
	if (result->failed) {
		printf("not ok %d - %s\n", n, name);
		return 1;
	}
	if (result->skip[0]) {
		printf("ok %d - %s # SKIP %s\n", n, name, result->skip);
		return 2;
	}
	printf("ok %d - %s\n", n, name);
	return 0;
}

static void *idle_thread(void *arg)
{
	return arg;
}

/* A sanitizer runtime may start a thread of its own at a process's first
 * pthread_create() (ThreadSanitizer's background thread; after fork() it
 * starts one in the child too).  Doing that once here puts each test's
 * child in a long-running process's state: no extra thread appears in
 * the middle of a test that counts its threads. */
static void start_runtime_threads(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, idle_thread, NULL) == 0)
		pthread_join(t, NULL);
}

static double time_limit(void)
{
	const char *v = getenv("UNIT_TIMEOUT");
	char *end;
	double s;

	if (!v || !*v)
		return DEFAULT_TIMEOUT_S;
	s = strtod(v, &end);
	if (*end || !(s > 0)) {
		fprintf(stderr, "unit: UNIT_TIMEOUT=%s is not a number of seconds > 0\n", v);
		exit(2);
	}
	return s;
}

int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	int counts[3] = {0, 0, 0}, n = 0, planned = 0;
	double limit_s = time_limit();
	void *shared;

	shared = mmap(NULL, sizeof(*result), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		      0);
	if (shared == MAP_FAILED) {
		perror("unit: mmap");
		return 2;
	}
	result = shared;
	start_runtime_threads();
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	signal(SIGHUP, on_stop);
	for (size_t i = 0; i < ntests; i++)
		planned += selected(i, only);
	if (!planned) {
		/* A filter that matches nothing ran nothing: not a pass. */
		printf("1..1\nnot ok 1 - no test matches '%s'\n", only ? only : "");
		printf("0 passed, 1 failed, 0 skipped\n");
		return 1;
	}
	printf("1..%d\n", planned);
	for (size_t i = 0; i < ntests; i++)
		if (selected(i, only))
			counts[run_one(i, ++n, limit_s)]++;
	printf("%d passed, %d failed, %d skipped\n", counts[0], counts[1], counts[2]);
	return counts[1] ? 1 : 0;
}
