/* A tiny unit-test runner: each TEST registers itself at load time; the
 * runner prints "ok N - name", "not ok N - name" or "ok N - name # SKIP
 * reason" lines, then "N passed, N failed, N skipped".  CHECK records a
 * failure with file:line and goes on; a test fails when any of its checks
 * failed.  A test whose precondition is missing (no root, no tool) calls
 * unit_skip() with the reason and returns: it is counted as skipped, never
 * as passed (a failed check before it still makes it fail). */
#ifndef UNIT_H
#define UNIT_H

#include <stdbool.h>
#include <string.h>

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

#endif
