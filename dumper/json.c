/* JSON strings.  See json.h. */
#include "json.h"

#include <stdint.h>

size_t utf8_seq_len(const unsigned char *s)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

void json_add_string(struct strbuf *sb, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	strbuf_addch(sb, '"');
	while (*p) {
		if (*p == '"' || *p == '\\') {
			strbuf_addch(sb, '\\');
			strbuf_addch(sb, (char)*p++);
		} else if (*p == '\n') {
			strbuf_addstr(sb, "\\n"), p++;
		} else if (*p == '\t') {
			strbuf_addstr(sb, "\\t"), p++;
		} else if (*p < 0x20 || *p == 0x7f) {
			strbuf_addf(sb, "\\u%04x", *p++);
		} else if ((n = utf8_seq_len(p)) == 0) {
			strbuf_addstr(sb, "\\ufffd"), p++;
		} else {
			strbuf_add(sb, p, n);
			p += n;
		}
	}
	strbuf_addch(sb, '"');
}
