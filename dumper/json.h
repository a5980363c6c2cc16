/* JSON text for the documents dumpfs writes (status.json, webhook bodies,
 * reports): strings escaped so any input gives valid JSON. */
#ifndef DUMPER_JSON_H
#define DUMPER_JSON_H

#include <stddef.h>

#include "strbuf.h"

/* Length of the valid UTF-8 sequence at s (1..4), 0 when s does not start
 * one (overlong forms, surrogates, values past U+10FFFF, cut sequences).
 * s is NUL-terminated. */
size_t utf8_seq_len(const unsigned char *s);

/* The JSON form of the character at p (a UTF-8 sequence, or one invalid
 * byte) into esc, without quotes: quotes, backslashes and control
 * characters escaped, invalid UTF-8 as U+FFFD, U+2028/U+2029 escaped (line
 * ends to JavaScript).  *len is set to the bytes of p consumed; returns
 * the length written to esc (at most 7, no NUL).  *p must not be NUL. */
#define JSON_ESC_MAX 8
size_t json_char_escape(const unsigned char *p, size_t *len, char esc[JSON_ESC_MAX]);

/* Appends s as a quoted JSON string: quotes, backslashes and control
 * characters escaped, each byte of invalid UTF-8 replaced by U+FFFD. */
void json_add_string(struct strbuf *sb, const char *s);

#endif
