/* The restore's stages without a server: the SQL filter (completion
 * line, --database sections, line numbers, long lines, DELIMITER blocks,
 * any write split, client commands refused), gunzip of several members,
 * the client option file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../../dumper/restore.h"
#include "../../dumper/restore_priv.h"
#include "../../dumper/sqldump.h"
#include "../../dumper/sqlguard.h"
#include "strbufsink.h"
#include "unit.h"

/* The shape of our dumps (sqldump.c, sqlobjects.c). */
static const char dump[] =
	"-- dumpfs 0.1.0 MariaDB dump\n"
	"--\n"
	"SET NAMES utf8mb4;\n"
	"\n"
	"--\n-- Database a\n--\n\n"
	"CREATE DATABASE /*!32312 IF NOT EXISTS*/ `a` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;\n"
	"USE `a`;\n"
	"\n--\n-- Table t\n--\n\n"
	"DROP TABLE IF EXISTS `t`;\n"
	"CREATE TABLE `t` (\n  `id` int(11) NOT NULL\n);\n"
	"INSERT INTO `t` VALUES (1),(2);\n"
	"\n--\n-- Database we`ird\n--\n\n"
	"CREATE DATABASE /*!32312 IF NOT EXISTS*/ `we``ird` /*!40100 DEFAULT CHARACTER SET latin1 "
	"*/;\n"
	"USE `we``ird`;\n"
	"DELIMITER ;;\n"
	"CREATE PROCEDURE p()\nBEGIN\nUSE `a`;\nSELECT 1;\nEND ;;\n"
	"DELIMITER ;\n"
	"INSERT INTO `u` VALUES (3);\n"
	"\n--\n-- View v\n--\n\n"
	"USE `a`;\n"
	"CREATE VIEW `v` AS SELECT 1;\n"
	"\n--\n-- View w\n--\n\n"
	"USE `we``ird`;\n"
	"CREATE VIEW `w` AS SELECT 2;\n"
	"\n"
	"SET SQL_MODE=@OLD_SQL_MODE;\n"
	"SET SQL_NOTES=@OLD_SQL_NOTES;\n"
	"\n" SQLDUMP_COMPLETION_LINE "\n";

/* Runs text through a filter, `step` bytes per write (0 = all at once). */
static int filter(const char *text, size_t len, const char *db, bool keep_lines, size_t step,
		  struct strbuf *out, struct restore_stats *st, struct errbuf *err)
{
	struct strbufsink c;
	struct writer *f;
	int ret;

	strbufsink_init(&c);
	memset(st, 0, sizeof(*st));
	ret = sqlfilter_new(&f, &c.w, db, keep_lines, st, err);
	for (size_t off = 0; !ret && off < len;) {
		size_t n = step && step < len - off ? step : len - off;

		ret = writer_write(f, text + off, n, err);
		off += n;
	}
	if (!ret)
		ret = writer_close(f, err);
	writer_free(f);
	*out = c.sb;
	return ret;
}

static unsigned count_lines(const char *s)
{
	unsigned n = 0;

	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

TEST(restore_filter_passes_everything)
{
	static const size_t steps[] = {0, 1, 7, 4096};
	struct restore_stats st;
	struct strbuf out;
	struct errbuf err;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		CHECK(filter(dump, strlen(dump), NULL, false, steps[i], &out, &st, &err) == 0);
		CHECK_STREQ(strbuf_str(&out), dump);
		CHECK(st.lines == count_lines(dump));
		CHECK(st.out_bytes == strlen(dump));
		strbuf_release(&out);
	}
	/* SET NAMES, CREATE DATABASE x2, USE x4, DROP, CREATE TABLE,
	 * 2 INSERT, the procedure, 2 views, 2 footer SETs. */
	CHECK(st.statements == 16);
}

TEST(restore_filter_one_database)
{
	static const size_t steps[] = {0, 1, 13};
	struct restore_stats st;
	struct strbuf out;
	struct errbuf err;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		const char *s;

		CHECK(filter(dump, strlen(dump), "we`ird", false, steps[i], &out, &st, &err) == 0);
		s = strbuf_str(&out);
		CHECK(strstr(s, "SET NAMES utf8mb4;\n") != NULL); /* header */
		CHECK(strstr(s, "USE `we``ird`;\n") != NULL);
		CHECK(strstr(s, "USE `a`;\nSELECT 1;") != NULL); /* in the procedure */
		CHECK(strstr(s, "CREATE VIEW `w`") != NULL);
		CHECK(strstr(s, "INSERT INTO `u`") != NULL);
		CHECK(strstr(s, "CREATE VIEW `v`") == NULL);
		CHECK(strstr(s, "INSERT INTO `t`") == NULL);
		CHECK(strstr(s, "-- Database a\n") == NULL); /* comments go with it */
		CHECK(strstr(s, "-- Database we`ird\n") != NULL);
		CHECK(strstr(s, "-- View v\n") == NULL);
		CHECK(strstr(s, "SET SQL_MODE=@OLD_SQL_MODE;\n") != NULL); /* footer */
		CHECK(strstr(s, SQLDUMP_COMPLETION_LINE "\n") != NULL);
		strbuf_release(&out);
	}
}

TEST(restore_filter_keeps_line_numbers)
{
	struct restore_stats st;
	struct strbuf out;
	struct errbuf err;
	const char *s, *line;

	CHECK(filter(dump, strlen(dump), "a", true, 5, &out, &st, &err) == 0);
	s = strbuf_str(&out);
	CHECK(count_lines(s) == count_lines(dump));
	/* Each kept line sits at the same line number as in the input. */
	line = strstr(dump, "CREATE VIEW `v`");
	CHECK(line != NULL);
	{
		unsigned in_no = 0, out_no = 0;
		const char *o = strstr(s, "CREATE VIEW `v`");

		for (const char *p = dump; p < line; p++)
			in_no += *p == '\n';
		for (const char *p = s; o && p < o; p++)
			out_no += *p == '\n';
		CHECK(o && in_no == out_no);
	}
	CHECK(strstr(s, "INSERT INTO `u`") == NULL);
	strbuf_release(&out);
}

TEST(restore_filter_unknown_database)
{
	struct restore_stats st;
	struct strbuf out;
	struct errbuf err;

	CHECK(filter(dump, strlen(dump), "nope", false, 0, &out, &st, &err) == -ENOENT);
	CHECK(strstr(err.msg, "database 'nope' is not in this dump (it has: a, we`ird)") != NULL);
	strbuf_release(&out);
}

TEST(restore_filter_truncated)
{
	const char *end = strstr(dump, SQLDUMP_COMPLETION_LINE);
	struct restore_stats st;
	struct strbuf out;
	struct errbuf err;
	size_t cut;

	/* Without the completion line, or cut inside it, or anywhere. */
	cut = (size_t)(end - dump);
	CHECK(filter(dump, cut, NULL, false, 0, &out, &st, &err) == -EPROTO);
	CHECK(strstr(err.msg, "the dump is truncated") != NULL);
	strbuf_release(&out);
	CHECK(filter(dump, cut + 10, NULL, false, 0, &out, &st, &err) == -EPROTO);
	strbuf_release(&out);
	CHECK(filter(dump, strlen(dump) - 1, NULL, false, 0, &out, &st, &err) == -EPROTO);
	strbuf_release(&out);
	CHECK(filter(dump, 100, NULL, false, 0, &out, &st, &err) == -EPROTO);
	strbuf_release(&out);
	CHECK(filter("", 0, NULL, false, 0, &out, &st, &err) == -EPROTO);
	strbuf_release(&out);
	/* Something after the completion line is not complete either. */
	{
		struct strbuf t = STRBUF_INIT;

		strbuf_addstr(&t, dump);
		strbuf_addstr(&t, "DROP DATABASE a;\n");
		CHECK(filter(t.buf, t.len, NULL, false, 0, &out, &st, &err) == -EPROTO);
		strbuf_release(&out);
		strbuf_reset(&t);
		strbuf_addstr(&t, dump);
		strbuf_addstr(&t, "\n\n"); /* blank lines are fine */
		CHECK(filter(t.buf, t.len, NULL, false, 0, &out, &st, &err) == 0);
		strbuf_release(&out);
		strbuf_release(&t);
	}
}

TEST(restore_filter_long_lines)
{
	struct strbuf in = STRBUF_INIT, out;
	struct restore_stats st;
	struct errbuf err;
	const char *s;

	strbuf_addstr(&in, "CREATE DATABASE `a`;\nUSE `a`;\nINSERT INTO `t` VALUES ");
	for (int i = 0; i < 50000; i++)
		strbuf_addf(&in, "(%d,'x'),", i);
	strbuf_addstr(&in, "(0,'y');\nCREATE DATABASE `b`;\nUSE `b`;\nINSERT INTO `t` VALUES ");
	for (int i = 0; i < 50000; i++)
		strbuf_addf(&in, "(%d,'z'),", i);
	strbuf_addstr(&in, "(0,'w');\n" SQLDUMP_COMPLETION_LINE "\n");
	CHECK(filter(in.buf, in.len, "b", true, 3000, &out, &st, &err) == 0);
	s = strbuf_str(&out);
	CHECK(strstr(s, "'x'") == NULL);
	CHECK(strstr(s, "(49999,'z'),(0,'w');\n") != NULL);
	CHECK(strncmp(s, "\n\n\nCREATE DATABASE `b`;", 23) == 0);
	CHECK(st.statements == 3);
	CHECK(st.lines == 7);
	strbuf_release(&out);
	strbuf_release(&in);
}

/* gzip of `text` as `members` concatenated members. */
static void gz_members(struct strbuf *out, const char *text, size_t len, int members)
{
	size_t per = len / (size_t)members + 1;

	for (size_t off = 0; off < len; off += per) {
		size_t n = per < len - off ? per : len - off, cap;
		unsigned char *buf;
		z_stream z;

		memset(&z, 0, sizeof(z));
		if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
			CHECK(!"deflateInit2");
			return;
		}
		cap = deflateBound(&z, n);
		buf = malloc(cap);
		CHECK(buf != NULL);
		z.next_in = (unsigned char *)text + off;
		z.avail_in = (uInt)n;
		z.next_out = buf;
		z.avail_out = (uInt)cap;
		CHECK(buf && deflate(&z, Z_FINISH) == Z_STREAM_END);
		strbuf_add(out, buf, cap - z.avail_out);
		deflateEnd(&z);
		free(buf);
	}
}

static int gunzip(const struct strbuf *in, size_t len, size_t step, struct strbuf *out,
		  struct errbuf *err)
{
	struct strbufsink c;
	struct writer *g;
	uint64_t n = 0;
	int ret;

	strbufsink_init(&c);
	ret = gunzipstage_new(&g, &c.w, &n, err);

	for (size_t off = 0; !ret && off < len; off += step)
		ret = writer_write(g, in->buf + off, step < len - off ? step : len - off, err);
	if (!ret)
		ret = writer_close(g, err);
	writer_free(g);
	*out = c.sb;
	if (!ret && n != out->len)
		ret = -EINVAL;
	return ret;
}

TEST(restore_gunzip_members)
{
	struct strbuf gz = STRBUF_INIT, out;
	struct errbuf err;

	gz_members(&gz, dump, strlen(dump), 3);
	CHECK(gunzip(&gz, gz.len, 1, &out, &err) == 0);
	CHECK_STREQ(strbuf_str(&out), dump);
	strbuf_release(&out);
	CHECK(gunzip(&gz, gz.len, gz.len, &out, &err) == 0);
	CHECK_STREQ(strbuf_str(&out), dump);
	strbuf_release(&out);
	/* Cut inside the last member. */
	CHECK(gunzip(&gz, gz.len - 3, 64, &out, &err) == -EPROTO);
	CHECK(strstr(err.msg, "truncated") != NULL);
	strbuf_release(&out);
	/* A flipped byte inside the deflate data. */
	gz.buf[gz.len / 2] ^= 0x10;
	CHECK(gunzip(&gz, gz.len, 64, &out, &err) != 0);
	strbuf_release(&out);
	/* Garbage after the last member. */
	gz.buf[gz.len / 2] ^= 0x10;
	strbuf_addstr(&gz, "garbage!");
	CHECK(gunzip(&gz, gz.len, gz.len, &out, &err) == -EBADMSG);
	strbuf_release(&out);
	strbuf_reset(&gz);
	CHECK(gunzip(&gz, 0, 1, &out, &err) == -EPROTO);
	strbuf_release(&out);
	strbuf_release(&gz);
}

/* Text of about `len` bytes that compresses about 3:1. */
static void words(struct strbuf *sb, size_t len)
{
	static const char *const w[] = {"INSERT", "INTO",   "`t`",    "VALUES",	  "(1,", "'abc',",
					"NULL),", "0x4F2A", "'Zoë',", "3.14159,", "\n"};
	uint32_t x = 2463534242u;

	while (sb->len < len) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		strbuf_addstr(sb, w[x % 11]);
		strbuf_addf(sb, "%u ", x % 1000);
	}
}

/* Members the size dumpfs writes (1 MiB of text each), then one of
 * 5 MiB, then small ones again, fed in odd pieces: the same text comes
 * out; cut inside the big member it is truncated, a flipped byte in it is
 * corrupt. */
TEST(restore_gunzip_small_and_big_members)
{
	struct strbuf text = STRBUF_INIT, gz = STRBUF_INIT, out;
	struct errbuf err;
	size_t mib = 1 << 20, big_end;

	words(&text, 12 * mib);
	gz_members(&gz, text.buf, 4 * mib, 4);
	gz_members(&gz, text.buf + 4 * mib, 5 * mib, 1);
	big_end = gz.len;
	gz_members(&gz, text.buf + 9 * mib, text.len - 9 * mib, 3);
	CHECK(gunzip(&gz, gz.len, 777, &out, &err) == 0);
	CHECK(out.len == text.len && !memcmp(out.buf, text.buf, text.len));
	strbuf_release(&out);
	CHECK(gunzip(&gz, gz.len, mib + 3, &out, &err) == 0);
	CHECK(out.len == text.len && !memcmp(out.buf, text.buf, text.len));
	strbuf_release(&out);
	CHECK(gunzip(&gz, big_end - 100, 65536, &out, &err) == -EPROTO);
	CHECK(strstr(err.msg, "truncated") != NULL);
	strbuf_release(&out);
	gz.buf[big_end - 200000] ^= 0x55;
	CHECK(gunzip(&gz, gz.len, 65536, &out, &err) == -EBADMSG);
	CHECK(strstr(err.msg, "corrupt") != NULL);
	strbuf_release(&out);
	strbuf_release(&gz);
	strbuf_release(&text);
}

TEST(restore_client_option_file)
{
	struct restore_target t;
	struct strbuf sb = STRBUF_INIT;

	memset(&t, 0, sizeof(t));
	t.user = "ro\"ot";
	t.password = "p\\a\"s\ns";
	t.port = 3307;
	sqlclient_options(&sb, &t);
	CHECK_STREQ(strbuf_str(&sb), "[client]\n"
				     "user=\"ro\\\"ot\"\n"
				     "password=\"p\\\\a\\\"s\\ns\"\n"
				     "host=\"127.0.0.1\"\n"
				     "port=3307\nprotocol=TCP\n"
				     "default-character-set=utf8mb4\n");
	strbuf_reset(&sb);
	t.socket = "/run/mysqld/mysqld.sock";
	t.password = NULL;
	t.ssl_ca = "/etc/ca.pem";
	sqlclient_options(&sb, &t);
	CHECK(strstr(strbuf_str(&sb), "socket=\"/run/mysqld/mysqld.sock\"\nprotocol=SOCKET\n") !=
	      NULL);
	CHECK(strstr(strbuf_str(&sb), "host=") == NULL);
	CHECK(strstr(strbuf_str(&sb), "password") == NULL);
	CHECK(strstr(strbuf_str(&sb), "ssl-ca=\"/etc/ca.pem\"\nssl-verify-server-cert\n") != NULL);
	strbuf_release(&sb);
}

/* ---- client commands (sqlguard.c) ---- */

/* body between a header line and the completion line, through the filter
 * in writes of `step` bytes; 0 or the error. */
static int guarded(const char *body, size_t len, size_t step, struct strbuf *out,
		   struct errbuf *err)
{
	struct strbuf in = STRBUF_INIT;
	struct restore_stats st;
	int ret;

	strbuf_addstr(&in, "SET NAMES utf8mb4;\n");
	strbuf_add(&in, body, len);
	strbuf_addstr(&in, "\n" SQLDUMP_COMPLETION_LINE "\n");
	CHECK(!strbuf_error(&in));
	ret = filter(in.buf, in.len, NULL, true, step, out, &st, err);
	strbuf_release(&in);
	return ret;
}

/* Refused in any write split, naming line `line` (the body starts at
 * line 2) and `what`; the refused line never passed whole. */
static void check_refused(const char *body, unsigned line, const char *what)
{
	static const size_t steps[] = {0, 1, 3, 17};
	char at[64];

	snprintf(at, sizeof(at), "the SQL at line %u holds ", line);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct strbuf out;
		struct errbuf err = {""};
		int ret = guarded(body, strlen(body), steps[i], &out, &err);

		CHECK(ret == -EPERM);
		if (ret != -EPERM || !strstr(err.msg, at) || !strstr(err.msg, what))
			fprintf(stderr, "  body: %s\n  step %zu: %d %s\n", body, steps[i], ret,
				err.msg);
		CHECK(strstr(err.msg, at) != NULL);
		CHECK(strstr(err.msg, what) != NULL);
		CHECK(strstr(strbuf_str(&out), "touch") == NULL);
		strbuf_release(&out);
	}
}

static void check_passes(const char *body)
{
	static const size_t steps[] = {0, 1, 5};

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct strbuf out;
		struct errbuf err = {""};
		int ret = guarded(body, strlen(body), steps[i], &out, &err);

		if (ret)
			fprintf(stderr, "  body: %s\n  step %zu: %s\n", body, steps[i], err.msg);
		CHECK(ret == 0);
		CHECK(strstr(strbuf_str(&out), body) != NULL);
		strbuf_release(&out);
	}
}

TEST(restore_guard_refuses_commands)
{
	check_refused("\\! touch /tmp/x\n", 2, "'\\!'");
	check_refused("SELECT 1 \\! touch /tmp/x\n;\n", 2, "'\\!'");
	check_refused("SELECT 1;\nSELECT 'a' \\!touch /tmp/x\n;\n", 3, "'\\!'");
	check_refused("system touch /tmp/x\n", 2, "'system'");
	check_refused("  SYSTEM\ttouch /tmp/x\n", 2, "'system'");
	check_refused("SELECT 1; system touch /tmp/x;\n", 2, "'system'");
	check_refused("SELECT 1;\n\n-- c\nsystem touch /tmp/x\n", 5, "'system'");
	check_refused("SELECT 1;\n/* c */ system touch /tmp/x\n;\n", 3, "'system'");
	check_refused("SELECT 1;\nsource /tmp/touch.sql\n", 3, "'source'");
	check_refused("\\. /tmp/touch.sql\n", 2, "'\\.'");
	check_refused("tee /tmp/touch\n", 2, "'tee'");
	check_refused("\\T /tmp/touch\n", 2, "'\\T'");
	check_refused("pager touch /tmp/x\n", 2, "'pager'");
	check_refused("\\P touch /tmp/x\n", 2, "'\\P'");
	check_refused("edit\n", 2, "'edit'");
	check_refused("connect db evil.example touch\n", 2, "'connect'");
	check_refused("quit\n", 2, "'quit'");
	check_refused("exit;\n", 2, "'exit'");
	check_refused("\\C gbk\n", 2, "'\\C'");
	check_refused("SELECT 1\\gsystem touch /tmp/x\n", 2, "'\\g'");
	check_refused("/*!40101 \\! touch /tmp/x */;\n", 2, "'\\!'");
	check_refused("DELIMITER ;;\nSELECT 1;; \\! touch /tmp/x\n;;\nDELIMITER ;\n", 3, "'\\!'");
	check_refused("DELIMITER ;;\nSELECT 1;;system touch /tmp/x;;\nDELIMITER ;\n", 3,
		      "'system'");
	check_refused("SELECT 1; DELIMITER ;;\n", 2, "DELIMITER");
	check_refused("DELIMITER \\!\n", 2, "DELIMITER");
	check_refused("USE touch\n", 2, "USE");
	/* Quotes open strings inside executable comments too. */
	check_refused("/*!40101 'x\na'b\n\\! touch /tmp/x\n;\n", 4, "'\\!'");
	/* The sql_mode a dump sets changes where strings end. */
	check_refused("SET sql_mode = 'NO_BACKSLASH_ESCAPES';\nSELECT 'a\\' \\! touch /tmp/x\n;\n",
		      3, "'\\!'");
	check_refused("SET sql_mode = 'ANSI_QUOTES';\nSELECT \"a\\\" \\! touch /tmp/x\n;\n", 3,
		      "'\\!'");
	{
		static const char nul[] = "SELECT 'a\0b';\n\\! touch\n";

		struct strbuf out;
		struct errbuf err = {""};

		CHECK(guarded(nul, sizeof(nul) - 1, 0, &out, &err) == -EPERM);
		CHECK(strstr(err.msg, "line 2 holds a NUL byte") != NULL);
		strbuf_release(&out);
	}
	{
		/* The client skips a byte order mark before its first line. */
		static const char bom[] = "\xef\xbb\xbfsystem touch /tmp/x\n"
					  "\n" SQLDUMP_COMPLETION_LINE "\n";
		struct restore_stats st;
		struct strbuf out;
		struct errbuf err = {""};

		CHECK(filter(bom, strlen(bom), NULL, false, 1, &out, &st, &err) == -EPERM);
		CHECK(strstr(err.msg, "line 1 holds the client command 'system'") != NULL);
		strbuf_release(&out);
	}
}

TEST(restore_guard_passes_data)
{
	check_passes(
		"INSERT INTO `t` VALUES ('\\\\! touch','it\\'s \\\\. a','x\\\\',\"\\\"\\\\!\"),"
		"(\\N,'\\n\\r\\0\\Z');\n");
	check_passes("SELECT `a\\b`, '\nsystem touch /tmp/x\n\\! touch', \"\nquit\n\";\n");
	check_passes("/* \\! touch /tmp/x\nsystem touch */ SELECT 1;\n-- \\! touch\n# \\! touch\n"
		     "SELECT 1; -- \\! touch\nSELECT 1; # system touch\n");
	check_passes("USE `a`;\nUSE `b`; USE `c`;\nSELECT status, quit FROM t;\nSELECT\nsystem;\n");
	check_passes("DELIMITER ;;\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 'C:\\\\dir\\\\';\n"
		     "  SET @x = 'a;;b';\nsystem: LOOP LEAVE system; END LOOP;\nEND ;;\n"
		     "DELIMITER ;\n");
	check_passes("DELIMITER /*dumpfs*/;;\nCREATE PROCEDURE p() SELECT ';;' /*dumpfs*/;;\n"
		     "DELIMITER ;\nSELECT 1;\n");
	/* As sqlobjects.c writes a routine created under NO_BACKSLASH_ESCAPES
	 * or ANSI_QUOTES: a backslash there ends no escape. */
	check_passes("SET @saved_sql_mode = @@sql_mode;\n"
		     "SET sql_mode = 'NO_BACKSLASH_ESCAPES,STRICT_TRANS_TABLES';\n"
		     "DELIMITER ;;\nCREATE PROCEDURE p() SELECT 'C:\\' ;;\nDELIMITER ;\n"
		     "SET sql_mode = @saved_sql_mode;\nINSERT INTO t VALUES ('it\\'s');\n");
	check_passes("SET @saved_sql_mode = @@sql_mode;\n"
		     "SET sql_mode = 'PIPES_AS_CONCAT,ANSI_QUOTES';\n"
		     "DELIMITER ;;\nCREATE PROCEDURE p() SELECT \"a\\\" ;;\nDELIMITER ;\n"
		     "SET sql_mode = @saved_sql_mode;\nINSERT INTO t VALUES (\"it\\\"s\");\n");
	check_passes("/*!40101 SET @x = 1 */;\n/*M!100100 SET @y = 2 */;\n");
}
