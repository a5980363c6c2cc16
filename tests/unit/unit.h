/* A tiny unit-test runner: each TEST registers itself at load time; the
 * runner (`unit-tests [FILTER]`: the tests whose name contains FILTER)
 * prints TAP: the plan "1..N", then "ok N - name", "not ok N - name" or
 * "ok N - name # SKIP reason" lines, then "N passed, N failed, N skipped".
 * CHECK records a failure with file:line and goes on; a test fails when
 * any of its checks failed.  A test whose precondition is missing (no
 * root, no tool) calls unit_skip() with the reason and returns: it is
 * counted as skipped, never as passed (a failed check before it still
 * makes it fail).
 *
 * Each test runs in its own forked child, killed after UNIT_TIMEOUT
 * seconds (default 60): a crash (signal), a hang, a non-zero exit status
 * (a sanitizer's report) fails that test alone.  So a test's changes to
 * process state (setenv, tzset, static variables) die with it.  A filter
 * that matches nothing fails. */
#ifndef UNIT_H
#define UNIT_H

#include <stdbool.h>
#include <string.h>
#include <sys/types.h>

void unit_register(const char *name, void (*fn)(void));
void unit_fail(const char *file, int line, const char *what);
void unit_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define TEST(name)                                                                                 \
	static void name(void);                                                                    \
	__attribute__((constructor)) static void register_##name(void)                             \
	{                                                                                          \
		unit_register(#name, name);                                                        \
	}                                                                                          \
	static void name(void)

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			unit_fail(__FILE__, __LINE__, #cond);                                      \
	} while (0)

#define CHECK_STREQ(a, b)                                                                          \
	do {                                                                                       \
		const char *a_ = (a), *b_ = (b);                                                   \
		if (!a_ || !b_ || strcmp(a_, b_))                                                  \
			unit_fail_str(__FILE__, __LINE__, #a, a_, b_);                             \
	} while (0)

void unit_fail_str(const char *file, int line, const char *expr, const char *got, const char *want);

/* A costly fixture the tests share (keys made with gpg): UNIT_FIXTURE(
 * "prefix_", make) calls make() once in the runner's process, before the
 * first selected test whose name starts with "prefix_" forks, so that test
 * and the later ones inherit what it made (static variables, files)
 * instead of each making its own.  make() must also be safe to call
 * lazily from a test (another prefix, or a test run alone still works);
 * the fixture's atexit cleanup must run only in the process that made it
 * (children exit too: compare getpid()). */
void unit_register_fixture(const char *prefix, void (*make)(void));
#define UNIT_FIXTURE(prefix, make)	     UNIT_FIXTURE_AT_(prefix, make, __LINE__)
#define UNIT_FIXTURE_AT_(prefix, make, line) UNIT_FIXTURE_AT2_(prefix, make, line)
#define UNIT_FIXTURE_AT2_(prefix, make, line)                                                      \
	__attribute__((constructor)) static void register_fixture_##line(void)                     \
	{                                                                                          \
		unit_register_fixture(prefix, make);                                               \
	}

/* Real waits for tests: poll a condition with a deadline, never a fixed
 * sleep that hopes the other thread got there. */
double unit_now(void); /* CLOCK_MONOTONIC, seconds */
void unit_pause(void); /* a millisecond, between polls */
pid_t unit_tid(void);  /* the calling thread's id */
/* True once thread `tid` of this process is seen asleep in futex() (a
 * mutex or condition variable wait) on several polls in a row, i.e. it is
 * blocked; false after timeout_s. */
bool unit_wait_blocked(pid_t tid, double timeout_s);
/* The id of a thread of this process (not the caller) seen in system call
 * `nr` (SYS_poll...) on several polls in a row; 0 after timeout_s. */
pid_t unit_wait_any_in(long nr, double timeout_s);

/* Evaluates cond until true or timeout_s passed; the last value. */
#define UNIT_WAIT_UNTIL(cond, timeout_s)                                                           \
	({                                                                                         \
		double deadline_ = unit_now() + (timeout_s);                                       \
		bool ok_;                                                                          \
		while (!(ok_ = (cond)) && unit_now() < deadline_)                                  \
			unit_pause();                                                              \
		ok_;                                                                               \
	})

#endif
