/* JSON strings.  See json.h. */
#include "json.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

size_t json_char_escape(const unsigned char *p, size_t *len, char esc[JSON_ESC_MAX])
{
	*len = utf8_seq_len(p);
	if (!*len) {
		*len = 1;
		return (size_t)snprintf(esc, JSON_ESC_MAX, "\\ufffd");
	}
	if (*p == '"' || *p == '\\')
		return (size_t)snprintf(esc, JSON_ESC_MAX, "\\%c", *p);
	if (*p == '\n' || *p == '\r' || *p == '\t')
		return (size_t)snprintf(esc, JSON_ESC_MAX, "\\%c",
					*p == '\n'   ? 'n'
					: *p == '\r' ? 'r'
						     : 't');
	if (*p < 0x20 || *p == 0x7f)
		return (size_t)snprintf(esc, JSON_ESC_MAX, "\\u%04x", *p);
	if (*len == 3 && p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
		return (size_t)snprintf(esc, JSON_ESC_MAX, "\\u%s", p[2] == 0xa8 ? "2028" : "2029");
	memcpy(esc, p, *len);
	return *len;
}

void json_add_string(struct strbuf *sb, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	strbuf_addch(sb, '"');
	while (*p) {
		char esc[JSON_ESC_MAX];
		size_t len, elen = json_char_escape(p, &len, esc);

		strbuf_add(sb, esc, elen);
		p += len;
	}
	strbuf_addch(sb, '"');
}
