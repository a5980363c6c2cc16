#include "errbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void errbuf_clear(struct errbuf *err)
{
	if (err)
		err->msg[0] = '\0';
}

int error_set(struct errbuf *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

int error_prefix(struct errbuf *err, int code, const char *fmt, ...)
{
	char old[ERRBUF_MAX];
	size_t n;
	va_list ap;

	if (!err)
		return code;
	memcpy(old, err->msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	/* Append ": <old>", cut to fit. */
	n = strlen(err->msg);
	if (n + 3 < sizeof(err->msg)) {
		size_t room = sizeof(err->msg) - n - 3;
		size_t len = strnlen(old, room);

		memcpy(err->msg + n, ": ", 2);
		memcpy(err->msg + n + 2, old, len);
		err->msg[n + 2 + len] = '\0';
	}
	return code;
}
