#include "sqlquote.h"

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
static char escape_for(unsigned char c)
{
	switch (c) {
	case '\0': return '0';
	case '\'': return '\'';
	case '"': return '"';
	case '\\': return '\\';
	case '\n': return 'n';
	case '\r': return 'r';
	case 0x1a: return 'Z';
	default: return 0;
	}
}

void sql_add_string(struct strbuf *sb, const char *s, size_t len)
{
	size_t run = 0;

	/* Worst case every byte doubles; growing once keeps this loop cheap. */
	strbuf_grow(sb, len + len / 8 + 2);
	strbuf_addch(sb, '\'');
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
	strbuf_addch(sb, '\'');
}

void sql_add_hex(struct strbuf *sb, const void *data, size_t len)
{
	static const char digits[] = "0123456789ABCDEF";
	const unsigned char *p = data;
	char *dst;

	if (!len) {
		strbuf_addstr(sb, "''");
		return;
	}
	strbuf_grow(sb, 2 + 2 * len);
	if (sb->failed)
		return;
	dst = sb->buf + sb->len;
	*dst++ = '0';
	*dst++ = 'x';
	for (size_t i = 0; i < len; i++) {
		*dst++ = digits[p[i] >> 4];
		*dst++ = digits[p[i] & 15];
	}
	sb->len += 2 + 2 * len;
	sb->buf[sb->len] = '\0';
}

enum sql_value_kind sql_value_kind(const char *t)
{
	static const char *const raw[] = {
		"tinyint", "smallint", "mediumint", "int", "bigint", "decimal",
		"float", "double", "year", NULL,
	};
	static const char *const hex[] = {
		"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob",
		"bit", "geometry", "point", "linestring", "polygon", "multipoint",
		"multilinestring", "multipolygon", "geometrycollection", NULL,
	};

	for (size_t i = 0; raw[i]; i++)
		if (!strcasecmp(t, raw[i]))
			return SQLV_RAW;
	for (size_t i = 0; hex[i]; i++)
		if (!strcasecmp(t, hex[i]))
			return SQLV_HEX;
	return SQLV_STRING;
}

const char *sql_pick_delimiter(const char *body)
{
	static const char *const candidates[] = {
		";;", "$$", "//", "@@", ";;;;", "$$dumpfs$$", "/*dumpfs*/;;", NULL,
	};

	for (size_t i = 0; candidates[i]; i++)
		if (!strstr(body, candidates[i]))
			return candidates[i];
	return "/*dumpfs-delimiter*/;;;;";
}
