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

/* Appends s as a quoted JSON string: quotes, backslashes and control
 * characters escaped, each byte of invalid UTF-8 replaced by U+FFFD. */
void json_add_string(struct strbuf *sb, const char *s);

#endif
