/* Tests of the unit runner itself (tests/unit/selftest/check.sh runs them
 * and checks its TAP output): each misbehaves in one way, and the runner
 * must report it and go on.  Linked with runner.c alone, never into
 * unit-tests. */
#include <stdlib.h>
#include <unistd.h>

#include "../unit.h"

static int fixture_made; /* by the runner's process, inherited */

static void make_fixture(void)
{
	fixture_made++;
}
UNIT_FIXTURE("self_fixture_", make_fixture)

TEST(self_pass)
{
	CHECK(1 + 1 == 2);
}

TEST(self_fail)
{
	CHECK(1 + 1 == 3);
}

TEST(self_skip)
{
	unit_skip("no %s here", "frobnicator");
}

/* (SIGABRT: the sanitizers turn SIGSEGV into an exit status.) */
TEST(self_crash)
{
	abort();
}

TEST(self_hang)
{
	for (;;)
		pause();
}

/* A leak: LeakSanitizer's exit status fails the test under ASan. */
TEST(self_leak)
{
	volatile char *p = malloc(64);

	p[0] = 1;
	p = NULL;
}

TEST(self_exit)
{
	exit(0);
}

/* A test's process changes die with its child. */
TEST(self_state_set)
{
	setenv("UNIT_SELFTEST_STATE", "1", 1);
	fixture_made += 100;
}

TEST(self_state_clean)
{
	CHECK(!getenv("UNIT_SELFTEST_STATE"));
}

TEST(self_fixture_once_a)
{
	CHECK(fixture_made == 1);
}

TEST(self_fixture_once_b)
{
	CHECK(fixture_made == 1);
}
