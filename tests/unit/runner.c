#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
