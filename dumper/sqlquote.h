/* Quoting for the SQL text we write.  Pure functions, no server needed.
 *
 * The dump is restored with NO_BACKSLASH_ESCAPES off (the dump's header
 * sets SQL_MODE), so string literals use backslash escapes.
 */
#ifndef DUMPER_SQLQUOTE_H
#define DUMPER_SQLQUOTE_H

#include <stddef.h>

#include "strbuf.h"

/* `name` with backticks doubled, between backticks. */
void sql_add_ident(struct strbuf *sb, const char *name);
/* 'text' with \0 ' " \ \n \r and Ctrl-Z escaped; bytes kept as they are. */
void sql_add_string(struct strbuf *sb, const char *s, size_t len);
/* 0x<hex> for binary data; '' for an empty value (0x alone is invalid). */
void sql_add_hex(struct strbuf *sb, const void *data, size_t len);

/* The pieces of the two above, for values written in chunks: the escaped
 * text without quotes, its length, and hex digits without "0x". */
void sql_add_escaped(struct strbuf *sb, const char *s, size_t len);
size_t sql_escaped_len(const char *s, size_t len);
void sql_add_hex_digits(struct strbuf *sb, const void *data, size_t len);

/* How a column's values are written, from information_schema DATA_TYPE. */
enum sql_value_kind {
	SQLV_RAW,    /* numbers: written as the server sent them */
	SQLV_HEX,    /* binary strings, BLOBs, BIT, geometry */
	SQLV_STRING, /* everything else: quoted and escaped */
};
enum sql_value_kind sql_value_kind(const char *data_type);

/* How a column is selected so that its text form restores exactly:
 * FLOAT as CAST(.. AS DOUBLE) (the server prints FLOAT with 6 digits),
 * ENUM and SET by number (their text cannot tell the error value or an ''
 * member from an empty value); the column itself otherwise. */
void sql_add_select_expr(struct strbuf *sb, const char *data_type, const char *column);

/* The longest delimiter the mariadb client keeps (it cuts longer ones). */
#define SQL_DELIMITER_MAX 15

/* A DELIMITER for the mariadb client that does not occur in `body`: a
 * static string, or `buf` filled in. */
const char *sql_pick_delimiter(const char *body, char buf[SQL_DELIMITER_MAX + 1]);

#endif
