/* Log lines: one event is one line, whatever a value holds (SPEC 6). */
#include <string.h>

#include "../../dumper/log.h"
#include "unit.h"

static unsigned count(const char *s, char c)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

TEST(log_values_are_escaped)
{
	/* A server error text that tries to end its field and forge a line. */
	static const char evil[] = "boom\" x=1\n2026-01-01T00:00:00Z info backup_done "
				   "file=forged\r\tq'\x1b[31m\x7f\\";
	struct logger *lg = logger_new(LOGL_DEBUG);
	char tail[2048];
	const char *line;

	CHECK(lg != NULL);
	if (!lg)
		return;
	logger_set_quiet(lg, true);
	logger_log(lg, LOGL_ERROR, "backup_failed",
		   "dir=\"%s\" error=\"%s\" n=%d size=%llu s=%.1f c=%c", "/a\"b", evil, -3, 42ULL,
		   1.25, '\n');
	logger_tail(lg, tail, sizeof(tail));
	CHECK(count(tail, '\n') == 1);
	CHECK(count(tail, '\r') == 0 && count(tail, '\t') == 0 && count(tail, '\x1b') == 0);
	line = strstr(tail, " error backup_failed ");
	CHECK(line != NULL);
	CHECK_STREQ(line,
		    " error backup_failed dir=\"/a\\\"b\" error=\"boom\\\" x=1\\n2026-01-01T00:"
		    "00:00Z info backup_done file=forged\\r\\tq'\\x1b[31m\\x7f\\\\\" n=-3 "
		    "size=42 s=1.2 c=\\n\n");
	/* Widths, precision and %% still work. */
	logger_log(lg, LOGL_INFO, "x", "a=%5s b=%.2s c=%-3d| d=%zu e=%ld f=%%", "ab", "xyz", 7,
		   (size_t)9, -5L);
	logger_tail(lg, tail, sizeof(tail));
	CHECK(strstr(tail, " info x a=   ab b=xy c=7  | d=9 e=-5 f=%\n") != NULL);
	logger_free(lg);
}
