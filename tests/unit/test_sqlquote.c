#include "../../dumper/sqlquote.h"
#include "unit.h"

static const char *quoted_ident(struct strbuf *sb, const char *name)
{
	strbuf_reset(sb);
	sql_add_ident(sb, name);
	return strbuf_str(sb);
}

TEST(sqlquote_identifiers)
{
	struct strbuf sb = STRBUF_INIT;

	CHECK_STREQ(quoted_ident(&sb, "plain"), "`plain`");
	CHECK_STREQ(quoted_ident(&sb, "we`ird"), "`we``ird`");
	CHECK_STREQ(quoted_ident(&sb, "``"), "``````");
	CHECK_STREQ(quoted_ident(&sb, "select"), "`select`");
	CHECK_STREQ(quoted_ident(&sb, "a b-c.d"), "`a b-c.d`");
	CHECK_STREQ(quoted_ident(&sb, "café 日本"), "`café 日本`");
	CHECK_STREQ(quoted_ident(&sb, ""), "``");
	strbuf_release(&sb);
}

TEST(sqlquote_strings_escape_every_special_byte)
{
	static const char in[] = "a'b\"c\\d\ne\rf\x1ag\0h";
	struct strbuf sb = STRBUF_INIT;

	sql_add_string(&sb, in, sizeof(in) - 1);
	CHECK(sb.len == strlen("'a\\'b\\\"c\\\\d\\ne\\rf\\Zg\\0h'"));
	CHECK(!memcmp(sb.buf, "'a\\'b\\\"c\\\\d\\ne\\rf\\Zg\\0h'", sb.len));
	CHECK(sql_escaped_len(in, sizeof(in) - 1) == sb.len - 2);
	strbuf_reset(&sb);
	sql_add_string(&sb, "", 0);
	CHECK_STREQ(strbuf_str(&sb), "''");
	strbuf_reset(&sb);
	/* Multi-byte UTF-8 and other bytes pass untouched. */
	sql_add_string(&sb, "é😀\t\x01", strlen("é😀\t\x01"));
	CHECK_STREQ(strbuf_str(&sb), "'é😀\t\x01'");
	strbuf_release(&sb);
}

TEST(sqlquote_chunked_escaping_equals_whole)
{
	static const char in[] = "x'\\\n\0y''z";
	struct strbuf whole = STRBUF_INIT, parts = STRBUF_INIT;

	sql_add_escaped(&whole, in, sizeof(in) - 1);
	for (size_t i = 0; i < sizeof(in) - 1; i += 3)
		sql_add_escaped(&parts, in + i, sizeof(in) - 1 - i < 3 ? sizeof(in) - 1 - i : 3);
	CHECK(whole.len == parts.len && !memcmp(whole.buf, parts.buf, whole.len));
	strbuf_release(&whole);
	strbuf_release(&parts);
}

TEST(sqlquote_hex)
{
	static const unsigned char bytes[] = {0x00, 0x0f, 0xa0, 0xff, '\''};
	struct strbuf sb = STRBUF_INIT;

	sql_add_hex(&sb, bytes, sizeof(bytes));
	CHECK_STREQ(strbuf_str(&sb), "0x000FA0FF27");
	strbuf_reset(&sb);
	sql_add_hex(&sb, "", 0); /* "0x" alone is not valid SQL */
	CHECK_STREQ(strbuf_str(&sb), "''");
	strbuf_reset(&sb);
	sql_add_hex_digits(&sb, bytes, 2);
	CHECK_STREQ(strbuf_str(&sb), "000F");
	strbuf_release(&sb);
}

TEST(sqlquote_value_kinds)
{
	CHECK(sql_value_kind("int") == SQLV_RAW);
	CHECK(sql_value_kind("BIGINT") == SQLV_RAW);
	CHECK(sql_value_kind("decimal") == SQLV_RAW);
	CHECK(sql_value_kind("double") == SQLV_RAW);
	CHECK(sql_value_kind("year") == SQLV_RAW);
	CHECK(sql_value_kind("varbinary") == SQLV_HEX);
	CHECK(sql_value_kind("longblob") == SQLV_HEX);
	CHECK(sql_value_kind("bit") == SQLV_HEX);
	CHECK(sql_value_kind("geometry") == SQLV_HEX);
	CHECK(sql_value_kind("point") == SQLV_HEX);
	CHECK(sql_value_kind("varchar") == SQLV_STRING);
	CHECK(sql_value_kind("datetime") == SQLV_STRING);
	CHECK(sql_value_kind("enum") == SQLV_RAW); /* selected by number */
	CHECK(sql_value_kind("set") == SQLV_RAW);
	CHECK(sql_value_kind("uuid") == SQLV_STRING);
	CHECK(sql_value_kind("inet6") == SQLV_STRING);
	CHECK(sql_value_kind("longtext") == SQLV_STRING); /* JSON */
}

TEST(sqlquote_delimiter_not_in_body)
{
	char buf[SQL_DELIMITER_MAX + 1];
	static const char all[] = "';;' '$$' '//' '@@' ';;;;' '$$dumpfs$$' '/*dumpfs*/;;' '$$0$$'";
	const char *d;

	CHECK_STREQ(sql_pick_delimiter("BEGIN SELECT 1; END", buf), ";;");
	CHECK_STREQ(sql_pick_delimiter("BEGIN SELECT ';;'; END", buf), "$$");
	CHECK_STREQ(sql_pick_delimiter("';;' '$$'", buf), "//");
	CHECK(!strstr("';;' '$$' '//' '@@' ';;;;'",
		      sql_pick_delimiter("';;' '$$' '//' '@@' ';;;;'", buf)));
	/* Every candidate taken: still one the client keeps whole. */
	d = sql_pick_delimiter(all, buf);
	CHECK(!strstr(all, d) && strlen(d) <= 15);
	CHECK_STREQ(d, "$$1$$");
}

TEST(sqlquote_select_expressions)
{
	struct strbuf sb = STRBUF_INIT;

	sql_add_select_expr(&sb, "float", "f`x");
	CHECK_STREQ(strbuf_str(&sb), "CAST(`f``x` AS DOUBLE)");
	strbuf_reset(&sb);
	sql_add_select_expr(&sb, "enum", "e");
	CHECK_STREQ(strbuf_str(&sb), "(`e` + 0)");
	strbuf_reset(&sb);
	sql_add_select_expr(&sb, "SET", "s");
	CHECK_STREQ(strbuf_str(&sb), "(`s` + 0)");
	strbuf_reset(&sb);
	sql_add_select_expr(&sb, "double", "d");
	CHECK_STREQ(strbuf_str(&sb), "`d`");
	strbuf_release(&sb);
}
