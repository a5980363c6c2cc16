/* The guard against client commands (dumper/sqlguard.c) on
 * mariadb-binlog's output, with sqlguard_allow_charset(): a real excerpt,
 * the shapes of the charset command, the numeric sql_mode, and the
 * DELIMITER look-alikes the client takes.  (Through the restore's SQL
 * filter: test_restore.c.) */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../dumper/sqlguard.h"
#include "unit.h"

/* text through a guard, the charset option set when `charset`, fed in
 * pieces of `step` bytes (0: at once) or, when `cut`, in two pieces cut
 * there; 0 or the error. */
static int guard_text(const char *text, bool charset, size_t step, size_t cut, struct errbuf *err)
{
	struct sqlguard *g = sqlguard_new();
	size_t len = strlen(text);
	int ret = 0;

	CHECK(g != NULL);
	if (!g)
		return -ENOMEM;
	if (charset)
		sqlguard_allow_charset(g);
	for (size_t off = 0; !ret && off < len;) {
		size_t n = cut ? (off < cut ? cut : len - off) : step ? step : len - off;

		n = n < len - off ? n : len - off;
		ret = sqlguard_feed(g, text + off, n, err);
		off += n;
	}
	if (!ret)
		ret = sqlguard_end(g, err);
	sqlguard_free(g);
	return ret;
}

/* The verdict on text (its message in msg, ERRBUF_MAX bytes): the same fed at
 * once, byte by byte, in pieces around the lookahead, and cut in two
 * anywhere (the longest accepted \C shape needs 44 bytes of it). */
static int guard_verdict(const char *text, bool charset, char *msg)
{
	static const size_t steps[] = {1, 2, 3, 7, 43, 44, 45};
	struct errbuf first = {""};
	int ret = guard_text(text, charset, 0, 0, &first);
	size_t len = strlen(text);

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]) + (len < 2048 ? len : 0); i++) {
		struct errbuf e = {""};
		bool by_step = i < sizeof(steps) / sizeof(steps[0]);
		size_t at = by_step ? 0 : i - sizeof(steps) / sizeof(steps[0]);
		int r;

		if (!by_step && !at)
			continue;
		r = guard_text(text, charset, by_step ? steps[i] : 0, at, &e);
		if (r != ret || strcmp(e.msg, first.msg))
			fprintf(stderr, "  text: %s\n  at once: %d %s\n  %s %zu: %d %s\n", text,
				ret, first.msg, by_step ? "step" : "cut", by_step ? steps[i] : at,
				r, e.msg);
		CHECK(r == ret);
		CHECK(!strcmp(e.msg, first.msg));
	}
	memcpy(msg, first.msg, sizeof(first.msg));
	return ret;
}

static void check_binlog_passes(const char *text)
{
	char msg[ERRBUF_MAX];
	int ret = guard_verdict(text, true, msg);

	if (ret)
		fprintf(stderr, "  text: %s\n  refused: %s\n", text, msg);
	CHECK(ret == 0);
}

/* Refused with the option, naming line and what. */
static void check_binlog_refused(const char *text, unsigned line, const char *what)
{
	char msg[ERRBUF_MAX], at[64];
	int ret = guard_verdict(text, true, msg);

	snprintf(at, sizeof(at), "the SQL at line %u holds ", line);
	if (ret != -EPERM || !strstr(msg, at) || !strstr(msg, what))
		fprintf(stderr, "  text: %s\n  got: %d %s\n", text, ret, msg);
	CHECK(ret == -EPERM);
	CHECK(strstr(msg, at) != NULL);
	CHECK(strstr(msg, what) != NULL);
}

/* Trimmed from real `mariadb-binlog bin.000001` output (MariaDB 10.11.19,
 * binlog_format ROW with a STATEMENT part): the charset commands, both
 * delimiters, BINLOG rows, routines created under NO_BACKSLASH_ESCAPES and
 * ANSI_QUOTES (their sql_mode as a number), comments with quotes. */
static const char binlog_excerpt[] =
	"/*!50530 SET @@SESSION.PSEUDO_SLAVE_MODE=1*/;\n"
	"/*!40019 SET @@session.max_delayed_threads=0*/;\n"
	"/*!50003 SET @OLD_COMPLETION_TYPE=@@COMPLETION_TYPE,COMPLETION_TYPE=0*/;\n"
	"DELIMITER /*!*/;\n"
	"ROLLBACK/*!*/;\n"
	"BINLOG '\n"
	"yB0Uaw8BAAAA/AAAAAABAAABAAQAMTAuMTEuMTktTWFyaWFEQi0wK2RlYjEydTEtbG9nAAAAAAAA\n"
	"AAAAAAAAAAAAAAAAAADIHRRrEzgNAAgAEgAEBAQEEgAA5AAEGggAAAAICAgCAAAACgoKAAAAAAAA\n"
	"CgoKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
	"AAAAAAAAAAAEEwQADQgICAoKCgFzmW85\n"
	"'/*!*/;\n"
	"# at 322\n"
	"#261205 14:21:11 server id 1  end_log_pos 364 CRC32 0x17946d6b \tGTID 0-1-1 ddl\n"
	"/*M!100101 SET @@session.skip_parallel_replication=0*//*!*/;\n"
	"/*M!100001 SET @@session.gtid_domain_id=0*//*!*/;\n"
	"/*M!100001 SET @@session.server_id=1*//*!*/;\n"
	"/*M!100001 SET @@session.gtid_seq_no=1*//*!*/;\n"
	"# at 364\n"
	"#261205 14:21:11 server id 1  end_log_pos 451 CRC32 0x15262c42 "
	"\tQuery\tthread_id=5\texec_time=0\terror_code=0\txid=0\n"
	"SET TIMESTAMP=1796480471/*!*/;\n"
	"SET @@session.pseudo_thread_id=5/*!*/;\n"
	"SET @@session.foreign_key_checks=1, @@session.sql_auto_is_null=0, "
	"@@session.unique_checks=1, @@session.autocommit=1, @@session.check_constraint_checks=1, "
	"@@session.sql_if_exists=0, @@session.explicit_defaults_for_timestamp=1, "
	"@@session.system_versioning_insert_history=0/*!*/;\n"
	"SET @@session.sql_mode=1411383296/*!*/;\n"
	"SET @@session.auto_increment_increment=1, @@session.auto_increment_offset=1/*!*/;\n"
	"/*!\\C utf8mb3 *//*!*/;\n"
	"SET "
	"@@session.character_set_client=utf8mb3,@@session.collation_connection=33,@@session."
	"collation_server=8/*!*/;\n"
	"SET @@session.lc_time_names=0/*!*/;\n"
	"SET @@session.collation_database=DEFAULT/*!*/;\n"
	"CREATE DATABASE shop\n"
	"/*!*/;\n"
	"# at 493\n"
	"#261205 14:21:11 server id 1  end_log_pos 678 CRC32 0x7c4e5470 "
	"\tQuery\tthread_id=5\texec_time=0\terror_code=0\txid=6\n"
	"use `shop`/*!*/;\n"
	"SET TIMESTAMP=1796480471/*!*/;\n"
	"CREATE TABLE t (id INT PRIMARY KEY AUTO_INCREMENT, s VARCHAR(200), b BLOB) COMMENT 'it''s "
	"a \\\\ table /* x */'\n"
	"/*!*/;\n"
	"#261205 14:21:11 server id 1  end_log_pos 720 CRC32 0x341e55c4 \tGTID 0-1-3 trans\n"
	"/*M!100001 SET @@session.gtid_seq_no=3*//*!*/;\n"
	"START TRANSACTION\n"
	"/*!*/;\n"
	"# at 720\n"
	"# at 850\n"
	"#261205 14:21:11 server id 1  end_log_pos 850 CRC32 0x6ac7b062 \tAnnotate_rows:\n"
	"#Q> INSERT INTO t (s, b) VALUES ('it''s', 'a\\\\b'), ('line1\\nline2', '\\0\\'\"'), "
	"('\\\\! touch /tmp/x', 'system ls')\n"
	"#261205 14:21:11 server id 1  end_log_pos 899 CRC32 0xe2086ac1 \tTable_map: `shop`.`t` "
	"mapped to number 18\n"
	"# at 899\n"
	"#261205 14:21:11 server id 1  end_log_pos 1001 CRC32 0xda353778 \tWrite_rows: table id 18 "
	"flags: STMT_END_F\n"
	"\n"
	"BINLOG '\n"
	"1x0UaxMBAAAAMQAAAIMDAAAAABIAAAAAAAEABHNob3AAAXQAAwMP/APIAAIGwWoI4g==\n"
	"1x0UaxcBAAAAZgAAAOkDAAAAABIAAAAAAAEAAwf4AQAAAARpdCdzAwBhXGL4AgAAAAtsaW5lMQps\n"
	"aW5lMgMAACci+AMAAAAPXCEgdG91Y2ggL3RtcC94CQBzeXN0ZW0gbHN4NzXa\n"
	"'/*!*/;\n"
	"# Number of rows: 3\n"
	"# at 1001\n"
	"#261205 14:21:11 server id 1  end_log_pos 1032 CRC32 0x5eac991a \tXid = 7\n"
	"COMMIT/*!*/;\n"
	"#261205 14:21:11 server id 1  end_log_pos 2183 CRC32 0x1ace9674 "
	"\tQuery\tthread_id=5\texec_time=0\terror_code=0\txid=0\n"
	"SET TIMESTAMP=1796480471/*!*/;\n"
	"CREATE DEFINER=`root`@`localhost` PROCEDURE `p`(IN x INT)\n"
	"SELECT CONCAT('a;b', x, '\\\\', \"q\\\"\") AS r\n"
	"/*!*/;\n"
	"#261205 14:21:11 server id 1  end_log_pos 2381 CRC32 0x06f3f7cf "
	"\tQuery\tthread_id=5\texec_time=0\terror_code=0\txid=0\n"
	"SET TIMESTAMP=1796480471/*!*/;\n"
	"SET @@session.sql_mode=1048576/*!*/;\n"
	"CREATE DEFINER=`root`@`localhost` PROCEDURE `p_nbe`()\n"
	"SELECT 'C:\\' AS dir\n"
	"/*!*/;\n"
	"#261205 14:21:11 server id 1  end_log_pos 2581 CRC32 0xa047a849 "
	"\tQuery\tthread_id=5\texec_time=0\terror_code=0\txid=0\n"
	"SET TIMESTAMP=1796480471/*!*/;\n"
	"SET @@session.sql_mode=4/*!*/;\n"
	"CREATE DEFINER=\"root\"@\"localhost\" PROCEDURE \"p_ansi\"()\n"
	"SELECT \"a\\\" AS \"col\"\n"
	"/*!*/;\n"
	"#261205 14:21:11 server id 1  end_log_pos 2776 CRC32 0xe941afc8 "
	"\tQuery\tthread_id=5\texec_time=0\terror_code=0\txid=21\n"
	"SET TIMESTAMP=1796480471/*!*/;\n"
	"SET @@session.sql_mode=1411383296/*!*/;\n"
	"/*!\\C latin1 *//*!*/;\n"
	"SET "
	"@@session.character_set_client=latin1,@@session.collation_connection=8,@@session."
	"collation_server=8/*!*/;\n"
	"CREATE TABLE t_latin (c VARCHAR(10)) DEFAULT CHARSET=latin1 COMMENT 'caf\\xe9'\n"
	"/*!*/;\n"
	"#261205 14:21:11 server id 1  end_log_pos 3032 CRC32 0xdc7ee54b "
	"\tQuery\tthread_id=5\texec_time=0\terror_code=0\txid=23\n"
	"SET TIMESTAMP=1796480471/*!*/;\n"
	"/*!\\C utf8mb4 *//*!*/;\n"
	"SET "
	"@@session.character_set_client=utf8mb4,@@session.collation_connection=45,@@session."
	"collation_server=8/*!*/;\n"
	"CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW `v` AS "
	"SELECT id, s FROM t WHERE s <> '*/'\n"
	"/*!*/;\n"
	"# at 3357\n"
	"#261205 14:21:11 server id 1  end_log_pos 3407 CRC32 0x722e9376 \tUser_var\n"
	"SET @`v`:=_utf8mb4 X'757365722773205C20766172' COLLATE `utf8mb4_general_ci`/*!*/;\n"
	"# at 3407\n"
	"#261205 14:21:11 server id 1  end_log_pos 3545 CRC32 0x32e9d66d "
	"\tQuery\tthread_id=5\texec_time=0\terror_code=0\txid=0\n"
	"SET TIMESTAMP=1796480471.380938/*!*/;\n"
	"SET @@session.time_zone='SYSTEM'/*!*/;\n"
	"INSERT INTO t (s) VALUES (@v), ('stmt-based; \\\\n'), (NOW())\n"
	"/*!*/;\n"
	"#261205 14:21:11 server id 1  end_log_pos 3689 CRC32 0xb8b65157 \tRand\n"
	"SET @@RAND_SEED1=202383546, @@RAND_SEED2=38516706/*!*/;\n"
	"# at 3689\n"
	"#261205 14:21:11 server id 1  end_log_pos 3789 CRC32 0xdf5cfde9 "
	"\tQuery\tthread_id=5\texec_time=0\terror_code=0\txid=0\n"
	"SET TIMESTAMP=1796480471/*!*/;\n"
	"INSERT INTO t (s) VALUES (RAND())\n"
	"/*!*/;\n"
	"# at 3789\n"
	"#261205 14:21:11 server id 1  end_log_pos 3820 CRC32 0xddaf3a72 \tXid = 31\n"
	"COMMIT/*!*/;\n"
	"#261205 14:31:35 server id 1  end_log_pos 1906 CRC32 0x631f2c58 "
	"\tQuery\tthread_id=5986\texec_time=0\terror_code=0\txid=0\n"
	"SET TIMESTAMP=1796481095/*!*/;\n"
	"/*!\\C utf8mb3 *//*!*/;\n"
	"SET "
	"@@session.character_set_client=utf8mb3,@@session.collation_connection=33,@@session."
	"collation_server=8/*!*/;\n"
	"CREATE DEFINER=`root`@`localhost` FUNCTION `f`(x INT) RETURNS int(11)\n"
	"    DETERMINISTIC\n"
	"BEGIN\n"
	"  -- a comment with 'quote\n"
	"  # another \\ comment\n"
	"  DECLARE y INT DEFAULT 0; /* multi\n"
	"  line */\n"
	"  RETURN x + y;\n"
	"END\n"
	"/*!*/;\n"
	"DELIMITER ;\n"
	"# End of log file\n"
	"ROLLBACK /* added by mysqlbinlog */;\n"
	"/*!50003 SET COMPLETION_TYPE=@OLD_COMPLETION_TYPE*/;\n"
	"/*!50530 SET @@SESSION.PSEUDO_SLAVE_MODE=0*/;\n";

TEST(sqlguard_binlog_output_passes)
{
	struct errbuf err = {""};

	check_binlog_passes(binlog_excerpt);
	/* Not without the option: the first \C is at line 26. */
	CHECK(guard_text(binlog_excerpt, false, 0, 0, &err) == -EPERM);
	CHECK(strstr(err.msg, "the SQL at line 26 holds the client command '\\C'") != NULL);
}

TEST(sqlguard_charset_shapes)
{
	char msg[ERRBUF_MAX];

	check_binlog_passes("DELIMITER /*!*/;\n/*!\\C utf8mb4 *//*!*/;\nSELECT 1/*!*/;\n"
			    "DELIMITER ;\n");
	check_binlog_passes("/*!\\C\tlatin1\t*/;\n/*!\\C utf8*/;\n/*!40101 \\C utf8mb3 */;\n");
	check_binlog_passes("/*!\\C latin1 */ /*!\\C UTF8MB4 */ SELECT '\\\\';\n");
	/* The longest: 4 spaces, 32 bytes, 4 spaces. */
	check_binlog_passes("/*!\\C    abcdefghijklmnopqrstuvwxyz_0123_    */;\n");
	/* In a string or a plain comment it is no command. */
	check_binlog_passes("SELECT '/*!\\C gbk */', \"\\C gbk\";\n/* \\C gbk */\n");

	/* The closing ends the executable comment, as in the client. */
	check_binlog_refused("/*!\\C utf8 */ \\C utf8 */;\n", 1, "'\\C'");
	check_binlog_refused("SELECT 1;\n\\C utf8mb4\n", 2, "'\\C'");
	check_binlog_refused("SELECT 1 \\C utf8mb4 */;\n", 1, "'\\C'");
	check_binlog_refused("/*M!100100 \\C utf8mb4 */;\n", 1, "'\\C'");
	check_binlog_refused("/*!\\C */;\n", 1, "'\\C'");
	check_binlog_refused("/*!\\C*/;\n", 1, "'\\C'");
	check_binlog_refused("/*!\\Cutf8 */;\n", 1, "'\\C'");
	check_binlog_refused("/*!\\c utf8 */;\n", 1, "'\\c'");
	check_binlog_refused("/*!\\C     utf8 */;\n", 1, "'\\C'");
	check_binlog_refused("/*!\\C utf8     */;\n", 1, "'\\C'");
	check_binlog_refused("/*!\\C abcdefghijklmnopqrstuvwxyz_0123_4 */;\n", 1, "'\\C'");
	check_binlog_refused("/*!\\C utf8 x */;\n", 1, "'\\C'");
	check_binlog_refused("/*!\\C utf8; */;\n", 1, "'\\C'");
	check_binlog_refused("/*!\\C utf-8 */;\n", 1, "'\\C'");
	check_binlog_refused("/*!\\C 'utf8' */;\n", 1, "'\\C'");
	check_binlog_refused("/*!\\C utf8\n*/;\n", 1, "'\\C'");
	check_binlog_refused("/*!\\C utf8", 1, "'\\C'");
	check_binlog_refused("/*!\\C utf8 *\n", 1, "'\\C'");
	check_binlog_refused("/*!\\C utf8 */ \\! touch /tmp/x\n", 1, "'\\!'");
	check_binlog_refused("/*!\\! touch /tmp/x */;\n", 1, "'\\!'");

	/* A multibyte character could hide a backslash or a quote. */
	static const char *const unsafe[] = {"big5", "cp932", "gbk",  "GBK",   "gb18030",
					     "sjis", "Sjis",  "ucs2", "utf16", "utf32"};
	for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++) {
		char text[128], what[128];

		snprintf(text, sizeof(text), "SELECT 1;\n/*!\\C %s *//*!*/;\nSELECT '\\';\n",
			 unsafe[i]);
		snprintf(what, sizeof(what),
			 "the client command '\\C %s': the charset '%s' has multibyte characters "
			 "that can hold a backslash or a quote byte",
			 unsafe[i], unsafe[i]);
		check_binlog_refused(text, 2, what);
	}
	CHECK(guard_verdict("/*!\\C big5 */;\n", true, msg) == -EPERM);
}

/* mariadb-binlog sets the sql_mode as a number: followed like the names
 * of a dump, since it moves where strings end. */
TEST(sqlguard_sql_mode_number)
{
	static const char nul[] =
		"SET @@session.sql_mode=1048576;\nINSERT INTO t VALUES ('a\0b');\n";
	struct sqlguard *g = sqlguard_new();
	struct errbuf err = {""};

	check_binlog_refused("DELIMITER /*!*/;\nSET @@session.sql_mode=1048576/*!*/;\n"
			     "SELECT 'a\\' \\! touch\n/*!*/;\n",
			     3, "'\\!'");
	check_binlog_refused("SET @@session.sql_mode=1411383300;\nSELECT \"a\\\" \\! touch\n;\n", 2,
			     "'\\!'");
	check_binlog_passes("SET @@session.sql_mode=1048576;\nSET @@SESSION.SQL_MODE=1411383296;\n"
			    "SELECT 'a\\' \\! touch';\n");
	/* Too large: the server refuses it and the client stops. */
	check_binlog_passes(
		"SET @@session.sql_mode=104857612345678901234;\nSELECT 'a\\' \\! x';\n");

	/* A statement logged under NO_BACKSLASH_ESCAPES may hold a raw NUL:
	 * refused, as any NUL. */
	CHECK(g != NULL);
	if (!g)
		return;
	sqlguard_allow_charset(g);
	CHECK(sqlguard_feed(g, nul, sizeof(nul) - 1, &err) == -EPERM);
	CHECK(strstr(err.msg, "the SQL at line 2 holds a NUL byte") != NULL);
	sqlguard_free(g);
}

/* In --binary-mode the client takes any first name starting with the 9
 * bytes "delimiter" (its charset's collation) for DELIMITER. */
TEST(sqlguard_delimiter_prefix)
{
	static const char *const refused[] = {
		"delimiterx $$\n",   "Delimiter_ $$\n",		  "delimiter1 ;;\n",
		"DELIMITERS ;;\n",   "delimiter$$ x\n",		  "delimiter\\N\n",
		"delimiter'x' ;;\n", "SELECT 1; delimiterx $$\n", "DELIMITER\t;;\n",
		"DELIMITER\v;;\n",   "delimiterabcdefgh $$\n",
	};
	char msg[ERRBUF_MAX];

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		int ret = guard_verdict(refused[i], false, msg);

		if (ret != -EPERM || !strstr(msg, "DELIMITER"))
			fprintf(stderr, "  text: %s  got: %d %s\n", refused[i], ret, msg);
		CHECK(ret == -EPERM);
		CHECK(strstr(msg, "DELIMITER") != NULL);
		check_binlog_refused(refused[i], 1, "DELIMITER");
	}
	CHECK(guard_verdict("DELIMITER ;;\nSELECT delimiterx FROM t;;\nDELETE FROM t;;\n"
			    "`delimiterx`;;\nDELIMITER ;\n",
			    false, msg) == 0);
	check_binlog_passes("DELIMITER $$\nSELECT 1$$\nDELIMITER ;\nDELETE FROM t;\n");
	/* The client's statement holds the spaces: DELIMITER runs at its end. */
	check_binlog_refused("  \ndelimiter $$\n", 2, "DELIMITER");
	/* A name ends at a newline. */
	check_binlog_passes("SELECT 1;\ndeli\nmiter x;\n");

	/* After a \C latin1, 0xa0 is a space to the client and 0xc9 an E. */
	CHECK(guard_verdict("\xa0"
			    "delimiter $$\n",
			    false, msg) == 0);
	check_binlog_refused("/*!\\C latin1 */;\n\xa0"
			     "delimiter $$\n",
			     2, "DELIMITER");
	check_binlog_refused("/*!\\C latin1 */;\n \xa0 DELIMITER $$\n", 2, "DELIMITER");
	check_binlog_refused("/*!\\C latin1 */;\nD\xc9LIMITER $$\n", 2, "DELIMITER");
	check_binlog_refused("/*!\\C latin1 */;\nDELIMITER\xa0$$\n", 2, "DELIMITER");
	check_binlog_passes("/*!\\C latin1 */;\nSELECT '\xc9', 1 AS `d\xc9limiter`;\n");
	/* After a \C euckr, a byte >= 0x81 and a letter are one character. */
	check_binlog_refused("DELIMITER x\n", 1,
			     "a DELIMITER line whose delimiter starts with a letter");
	CHECK(guard_verdict("DELIMITER x\nSELECT 1x\nDELIMITER ;\n", false, msg) == 0);
}
