#include "sqlquote.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

void sql_add_ident(struct strbuf *sb, const char *name)
{
	const char *p;

	strbuf_addch(sb, '`');
	while ((p = strchr(name, '`'))) {
		strbuf_add(sb, name, (size_t)(p - name) + 1);
		strbuf_addch(sb, '`');
		name = p + 1;
	}
	strbuf_addstr(sb, name);
	strbuf_addch(sb, '`');
}

/* The escape letter for each byte that needs one, else 0. */
static const char escape_letter[256] = {
	['\0'] = '0', ['\''] = '\'', ['"'] = '"',  ['\\'] = '\\',
	['\n'] = 'n', ['\r'] = 'r',  [0x1a] = 'Z',
};

static char escape_for(unsigned char c)
{
	return escape_letter[c];
}

void sql_add_escaped(struct strbuf *sb, const char *s, size_t len)
{
	size_t run = 0;

	/* Most text needs few escapes: grow once, copy runs between them. */
	strbuf_grow(sb, len + len / 8);
	for (size_t i = 0; i < len; i++) {
		char e = escape_for((unsigned char)s[i]);

		if (!e)
			continue;
		strbuf_add(sb, s + run, i - run);
		strbuf_addch(sb, '\\');
		strbuf_addch(sb, e);
		run = i + 1;
	}
	strbuf_add(sb, s + run, len - run);
}

size_t sql_escaped_len(const char *s, size_t len)
{
	size_t n = len;

	for (size_t i = 0; i < len; i++)
		n += escape_for((unsigned char)s[i]) != 0;
	return n;
}

void sql_add_string(struct strbuf *sb, const char *s, size_t len)
{
	strbuf_addch(sb, '\'');
	sql_add_escaped(sb, s, len);
	strbuf_addch(sb, '\'');
}

void sql_add_hex_digits(struct strbuf *sb, const void *data, size_t len)
{
	static const char digits[] = "0123456789ABCDEF";
	const unsigned char *p = data;
	char *dst;

	strbuf_grow(sb, 2 * len);
	if (sb->failed)
		return;
	dst = sb->buf + sb->len;
	for (size_t i = 0; i < len; i++) {
		*dst++ = digits[p[i] >> 4];
		*dst++ = digits[p[i] & 15];
	}
	sb->len += 2 * len;
	sb->buf[sb->len] = '\0';
}

void sql_add_hex(struct strbuf *sb, const void *data, size_t len)
{
	if (!len) {
		strbuf_addstr(sb, "''");
		return;
	}
	strbuf_addstr(sb, "0x");
	sql_add_hex_digits(sb, data, len);
}

enum sql_value_kind sql_value_kind(const char *t)
{
	static const char *const raw[] = {
		"tinyint", "smallint", "mediumint", "int",  "bigint", "decimal",
		"float",   "double",   "year",	    "enum", "set",    NULL,
	};
	static const char *const hex[] = {
		"binary",   "varbinary",  "tinyblob",	     "blob",	     "mediumblob",
		"longblob", "bit",	  "geometry",	     "point",	     "linestring",
		"polygon",  "multipoint", "multilinestring", "multipolygon", "geometrycollection",
		NULL,
	};

	for (size_t i = 0; raw[i]; i++)
		if (!strcasecmp(t, raw[i]))
			return SQLV_RAW;
	for (size_t i = 0; hex[i]; i++)
		if (!strcasecmp(t, hex[i]))
			return SQLV_HEX;
	return SQLV_STRING;
}

void sql_add_select_expr(struct strbuf *sb, const char *t, const char *column)
{
	if (!strcasecmp(t, "float")) {
		strbuf_addstr(sb, "CAST(");
		sql_add_ident(sb, column);
		strbuf_addstr(sb, " AS DOUBLE)");
	} else if (!strcasecmp(t, "enum") || !strcasecmp(t, "set")) {
		strbuf_addch(sb, '(');
		sql_add_ident(sb, column);
		strbuf_addstr(sb, " + 0)");
	} else {
		sql_add_ident(sb, column);
	}
}

const char *sql_pick_delimiter(const char *body, char buf[SQL_DELIMITER_MAX + 1])
{
	static const char *const candidates[] = {
		";;", "$$", "//", "@@", ";;;;", "$$dumpfs$$", "/*dumpfs*/;;", NULL,
	};

	for (size_t i = 0; candidates[i]; i++)
		if (!strstr(body, candidates[i]))
			return candidates[i];
	/* The client keeps 15 bytes of a delimiter: "$$<n>$$" fits for any
	 * n a body could exclude. */
	for (unsigned long long n = 0;; n++) {
		snprintf(buf, SQL_DELIMITER_MAX + 1, "$$%llu$$", n);
		if (!strstr(body, buf))
			return buf;
	}
}
