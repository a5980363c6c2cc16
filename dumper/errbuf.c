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
	char prefix[ERRBUF_MAX];
	char old[ERRBUF_MAX];
	va_list ap;

	if (!err)
		return code;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
	return code;
}
