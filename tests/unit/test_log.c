/* Log lines: one event is one line, whatever a value holds (docs/security.md). */
#include <ctype.h>
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

/* ---- JSON lines (docs/logging.md) ---- */

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../dumper/logline.h"

/* 2026-12-05T00:12:03.123Z */
static const struct logline_head head = {
	.when = {1796429523, 123999999},
	.level = "info",
	.event = "backup_done",
	.host = "db1",
	.pid = 4242,
};

static size_t json(char *buf, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static size_t json(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = logline_json(buf, cap, &head, fmt, &ap);
	va_end(ap);
	return n;
}

/* A strict checker for what the lines are: one flat JSON object (string
 * keys, each once; values strings, numbers, true, false, null), raw bytes
 * valid UTF-8 with no control character, then '\n' and the end. */
struct jcheck {
	const unsigned char *p;
	char keys[64][80];
	unsigned nkeys;
};

static bool jc_string(struct jcheck *c, char *copy, size_t cap)
{
	size_t n = 0;

	if (*c->p++ != '"')
		return false;
	while (*c->p != '"') {
		unsigned char ch = *c->p++;

		if (ch < 0x20)
			return false; /* also the NUL: unterminated */
		if (ch == '\\') {
			ch = *c->p++;
			if (ch == 'u') {
				for (int i = 0; i < 4; i++)
					if (!isxdigit(*c->p++))
						return false;
			} else if (!strchr("\"\\/bfnrt", ch) || !ch) {
				return false;
			}
		} else if (ch >= 0x80) {
			int more = ch >= 0xf0 ? 3 : ch >= 0xe0 ? 2 : ch >= 0xc2 ? 1 : -1;

			if (more < 0 || ch > 0xf4)
				return false;
			for (int i = 0; i < more; i++)
				if ((*c->p++ & 0xc0) != 0x80)
					return false;
		}
		if (copy && n + 1 < cap)
			copy[n++] = (char)ch;
	}
	c->p++;
	if (copy)
		copy[n] = '\0';
	return true;
}

static bool jc_value(struct jcheck *c)
{
	const char *s = (const char *)c->p;
	char *end;

	if (*c->p == '"')
		return jc_string(c, NULL, 0);
	for (const char *const *w = (const char *const[]){"true", "false", "null", NULL}; *w; w++)
		if (!strncmp(s, *w, strlen(*w))) {
			c->p += strlen(*w);
			return true;
		}
	if (!(*s == '-' || isdigit((unsigned char)*s)) || (s[0] == '0' && isdigit(s[1])) ||
	    (s[0] == '-' && s[1] == '0' && isdigit(s[2])))
		return false;
	strtod(s, &end);
	c->p = (const unsigned char *)end;
	return end != s && end[-1] != '.';
}

static bool json_ok(const char *line, struct jcheck *c)
{
	c->p = (const unsigned char *)line;
	c->nkeys = 0;
	if (*c->p++ != '{')
		return false;
	for (;;) {
		if (c->nkeys == 64 || !jc_string(c, c->keys[c->nkeys], sizeof(c->keys[0])))
			return false;
		for (unsigned i = 0; i < c->nkeys; i++)
			if (!strcmp(c->keys[i], c->keys[c->nkeys]))
				return false; /* a key twice */
		c->nkeys++;
		if (*c->p++ != ':' || !jc_value(c))
			return false;
		if (*c->p == '}')
			break;
		if (*c->p++ != ',')
			return false;
	}
	return !strcmp((const char *)c->p, "}\n");
}

TEST(log_json_checker_rejects_bad_lines)
{
	static const char *const bad[] = {
		"{\"a\":1}",
		"{\"a\":1}\n\n",
		"{\"a\":01}\n",
		"{\"a\":1.}\n",
		"{\"a\":\"x\ny\"}\n",
		"{\"a\":\"\\x41\"}\n",
		"{\"a\":1,\"a\":2}\n",
		"{\"a\":\"\xff\"}\n",
		"{\"a\":\"unterminated}\n",
		"{\"a\":tru}\n",
		"{a:1}\n",
	};
	struct jcheck c;

	CHECK(json_ok("{\"a\":1,\"b\":\"x\\u0001\xc3\xa9\",\"c\":-0.5e3,\"d\":null}\n", &c));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (json_ok(bad[i], &c))
			unit_fail(__FILE__, __LINE__, bad[i]);
}

TEST(log_json_fields_are_typed)
{
	const char *volatile nothing = NULL; /* no compiler warning for %s */
	char buf[8192];
	struct jcheck c;

	json(buf, sizeof(buf),
	     "file=%s size=%llu seconds=%.1f n=%d big=%zu neg=%ld ok=%s no=%s none=%s hex=%x "
	     "quoted=\"%d\" mixed=%dMB padded=%5u word=signal note=\"a %s b\" pct=%d%%",
	     "mariadb_x.sql.gz.gpg", 18446744073709551615ULL, 1.25, -3, (size_t)7, -5L, LOG_BOOL(1),
	     LOG_BOOL(0), nothing, 255u, 4, 12, 42u, "(x)", 50);
	CHECK_STREQ(buf,
		    "{\"time\":\"2026-12-05T00:12:03.123Z\",\"level\":\"info\","
		    "\"event\":\"backup_done\",\"host\":\"db1\",\"pid\":4242,"
		    "\"file\":\"mariadb_x.sql.gz.gpg\",\"size\":18446744073709551615,"
		    "\"seconds\":1.2,\"n\":-3,\"big\":7,\"neg\":-5,\"ok\":true,\"no\":false,"
		    "\"none\":null,\"hex\":\"ff\",\"quoted\":\"4\",\"mixed\":\"12MB\","
		    "\"padded\":42,\"word\":\"signal\",\"note\":\"a (x) b\",\"pct\":\"50%\"}\n");
	CHECK(json_ok(buf, &c));
	/* No field at all (an empty value): the head alone. */
	json(buf, sizeof(buf), "%s", "");
	CHECK(json_ok(buf, &c) && c.nkeys == 5);
}

TEST(log_json_own_keys_are_not_overwritten)
{
	char buf[8192];
	struct jcheck c;

	json(buf, sizeof(buf), "event=%s pid=%ld time=x bare w%cird=1 truncated=%d", "failure", 7L,
	     '"', 1);
	CHECK(json_ok(buf, &c));
	CHECK(strstr(buf, ",\"pid\":4242,\"field_event\":\"failure\",\"field_pid\":7,"
			  "\"field_time\":\"x\",\"msg\":\"bare\",\"w_ird\":\"1\","
			  "\"field_truncated\":1}\n") != NULL);
}

TEST(log_json_strings_are_escaped)
{
	/* A server error text that tries to end its string, forge members
	 * and a second line; invalid UTF-8 of every kind. */
	static const char evil[] = "boom\",\"level\":\"debug\"}\n{\"x\":\"\r\t\x01\x1b\x7f\\/"
				   " \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"	  /* é € 😀 */
				   " \xff|\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80" /* bad */
				   "|\xe2\x82|\xe2\x80\xa8\xe2\x80\xa9"; /* cut; U+2028/9 */
	char buf[8192];
	struct jcheck c;

	json(buf, sizeof(buf), "error=\"%s\" unquoted=%s c=%c", evil, evil, '\n');
	CHECK(json_ok(buf, &c));
	CHECK(c.nkeys == 8);
	CHECK(strstr(buf,
		     "\"error\":\"boom\\\",\\\"level\\\":\\\"debug\\\"}\\n{\\\"x\\\":\\\""
		     "\\r\\t\\u0001\\u001b\\u007f\\\\/ \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 "
		     "\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd\\ufffd"
		     "|\\ufffd\\ufffd|\\u2028\\u2029\",") != NULL);
	CHECK(strstr(buf, ",\"c\":\"\\n\"}\n") != NULL);
}

TEST(log_json_long_lines_stay_valid)
{
	char *big = malloc(4000), buf[2048];
	struct jcheck c;
	size_t n;

	CHECK(big != NULL);
	if (!big)
		return;
	for (int fill = 0; fill < 3; fill++) {
		/* control bytes (6 bytes escaped), a 4-byte character, ASCII */
		for (size_t i = 0; i + 4 < 3999; i += 4)
			memcpy(big + i,
			       fill == 0   ? "\x01\x02\x03\x04"
			       : fill == 1 ? "\xf0\x9f\x98\x80"
					   : "abcd",
			       4);
		big[3996] = '\0';
		for (size_t cap = 1024; cap <= sizeof(buf); cap += 97) {
			n = json(buf, cap, "a=%s n=%d b=\"%s\" m=%u", big, 1, big, 2u);
			CHECK(n < cap && n == strlen(buf));
			CHECK(json_ok(buf, &c));
			CHECK(strstr(buf, ",\"truncated\":true}\n") != NULL);
		}
	}
	free(big);
}

TEST(log_json_logger_writes_json_and_keeps_the_tail_text)
{
	char path[] = "/tmp/dfs-unit-log-XXXXXX", file[4096], tail[2048];
	struct logger *lg = logger_new(LOGL_INFO);
	struct errbuf err;
	struct jcheck c;
	int fd = mkstemp(path);
	ssize_t n;

	CHECK(lg != NULL && fd >= 0);
	if (!lg || fd < 0)
		return;
	logger_set_quiet(lg, true);
	logger_set_format(lg, LOGF_JSON);
	CHECK(logger_set_file(lg, path, &err) == 0);
	logger_log(lg, LOGL_INFO, "backup_done", "file=%s size=%llu ok=%s", "x.gpg", 12ULL,
		   LOG_BOOL(true));
	logger_log(lg, LOGL_DEBUG, "hidden", "a=%d", 1);
	logger_log(lg, LOGL_ERROR, "backup_failed", "error=\"%s\"", "no\nway");
	n = read(fd, file, sizeof(file) - 1);
	CHECK(n > 0);
	file[n > 0 ? n : 0] = '\0';
	{
		char *second = strchr(file, '\n');

		CHECK(second != NULL && strchr(second + 1, '\n') == file + n - 1);
		if (second) {
			char first[2048];

			snprintf(first, sizeof(first), "%.*s", (int)(second + 1 - file), file);
			CHECK(json_ok(first, &c) && json_ok(second + 1, &c));
			CHECK(strstr(first, "\"level\":\"info\",\"event\":\"backup_done\",") !=
			      NULL);
			CHECK(strstr(first, ",\"size\":12,\"ok\":true}\n") != NULL);
			CHECK(strstr(second + 1, ",\"error\":\"no\\nway\"}\n") != NULL);
		}
	}
	logger_tail(lg, tail, sizeof(tail));
	CHECK(strstr(tail, "Z info backup_done file=x.gpg size=12 ok=true\n") != NULL);
	CHECK(strstr(tail, "Z error backup_failed error=\"no\\nway\"\n") != NULL);
	logger_free(lg);
	close(fd);
	unlink(path);
}
