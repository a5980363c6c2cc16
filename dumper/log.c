#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define TAIL_BYTES 8192
#define LINE_MAX_  4096

struct logger {
	pthread_mutex_t lock;
	enum log_level level;
	bool quiet;
	int fd; /* log file or -1 */
	char *path;
	bool use_syslog;
	char tail[TAIL_BYTES]; /* ring of recent lines */
	size_t tail_pos;
	bool tail_wrapped;
};

static const char *const level_names[] = {"error", "warn", "info", "debug"};

struct logger *logger_new(enum log_level level)
{
	struct logger *lg = calloc(1, sizeof(*lg));

	if (!lg)
		return NULL;
	if (pthread_mutex_init(&lg->lock, NULL)) {
		free(lg);
		return NULL;
	}
	lg->level = level;
	lg->fd = -1;
	return lg;
}

void logger_free(struct logger *lg)
{
	if (!lg)
		return;
	if (lg->fd >= 0)
		close(lg->fd);
	if (lg->use_syslog)
		closelog();
	free(lg->path);
	pthread_mutex_destroy(&lg->lock);
	free(lg);
}

static int open_log(const char *path, struct errbuf *err)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0)
		return error_set(err, -errno,
				 "cannot open log file '%s': %s (check [log] file and the "
				 "directory's permissions)",
				 path, strerror(errno));
	return fd;
}

int logger_set_file(struct logger *lg, const char *path, struct errbuf *err)
{
	char *copy = strdup(path);
	int fd;

	if (!copy)
		return error_set(err, -ENOMEM, "out of memory");
	fd = open_log(path, err);
	if (fd < 0) {
		free(copy);
		return fd;
	}
	pthread_mutex_lock(&lg->lock);
	if (lg->fd >= 0)
		close(lg->fd);
	free(lg->path);
	lg->fd = fd;
	lg->path = copy;
	pthread_mutex_unlock(&lg->lock);
	return 0;
}

int logger_reopen(struct logger *lg, struct errbuf *err)
{
	int fd, ret = 0;

	pthread_mutex_lock(&lg->lock);
	if (lg->path) {
		fd = open_log(lg->path, err);
		if (fd < 0) {
			ret = fd;
		} else {
			close(lg->fd);
			lg->fd = fd;
		}
	}
	pthread_mutex_unlock(&lg->lock);
	return ret;
}

void logger_set_syslog(struct logger *lg, const char *ident)
{
	openlog(ident, LOG_PID, LOG_DAEMON);
	lg->use_syslog = true;
}

void logger_set_level(struct logger *lg, enum log_level level)
{
	lg->level = level;
}

void logger_set_quiet(struct logger *lg, bool quiet)
{
	lg->quiet = quiet;
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (!strcmp(s, level_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

static void write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* nowhere left to report a failing log */
		p += n;
		len -= (size_t)n;
	}
}

static void tail_append(struct logger *lg, const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		lg->tail[lg->tail_pos++] = line[i];
		if (lg->tail_pos == TAIL_BYTES) {
			lg->tail_pos = 0;
			lg->tail_wrapped = true;
		}
	}
}

/* s with what could end a value or a line escaped: backslash, double
 * quote, control characters (SPEC 6: one event is one line). */
static void escape_value(char *out, size_t cap, const char *s)
{
	size_t n = 0;

	for (; *s && n + 5 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\' || c == '"') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c == '\n' || c == '\r' || c == '\t') {
			out[n++] = '\\';
			out[n++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		} else if (c < 0x20 || c == 0x7f) {
			n += (size_t)snprintf(out + n, cap - n, "\\x%02x", c);
		} else {
			out[n++] = (char)c;
		}
	}
	out[n] = '\0';
}

enum arg_size { SZ_INT, SZ_LONG, SZ_LLONG, SZ_SIZE, SZ_MAX, SZ_PTRDIFF, SZ_LDOUBLE };

/* Like vsnprintf(out, cap, fmt, ap), but every %s value goes through
 * escape_value(): the one place where values enter a log line.  The
 * caller's format is checked by the compiler (format attribute); here
 * each conversion is formatted alone with its own spec. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static size_t format_fields(char *out, size_t cap, const char *fmt, va_list ap)
{
	size_t n = 0;

	while (*fmt && n + 1 < cap) {
		char spec[40], escd[LINE_MAX_], tmp[LINE_MAX_];
		int stars[2] = {0, 0}, nstar = 0, m = -1;
		enum arg_size sz = SZ_INT;
		size_t k = 0;
		char conv;

		if (*fmt != '%' || fmt[1] == '%') {
			out[n++] = *fmt;
			fmt += *fmt == '%' ? 2 : 1;
			continue;
		}
		spec[k++] = *fmt++;
		while (*fmt && strchr("-+ #0", *fmt) && k < 8)
			spec[k++] = *fmt++;
		for (int part = 0; part < 2; part++) {
			if (part == 1) {
				if (*fmt != '.')
					break;
				spec[k++] = *fmt++;
			}
			if (*fmt == '*') {
				stars[nstar++] = va_arg(ap, int);
				spec[k++] = *fmt++;
			}
			while (isdigit((unsigned char)*fmt) && k < 24)
				spec[k++] = *fmt++;
		}
		while (*fmt && strchr("hlzjtL", *fmt) && k < 30) {
			sz = *fmt == 'l'   ? (sz == SZ_LONG ? SZ_LLONG : SZ_LONG)
			     : *fmt == 'z' ? SZ_SIZE
			     : *fmt == 'j' ? SZ_MAX
			     : *fmt == 't' ? SZ_PTRDIFF
			     : *fmt == 'L' ? SZ_LDOUBLE
					   : SZ_INT; /* h, hh: promoted to int */
			spec[k++] = *fmt++;
		}
		if (!*fmt)
			break;
		conv = *fmt++;
		spec[k++] = conv;
		spec[k] = '\0';
#define ONE(v)                                                                                     \
	(nstar == 0   ? snprintf(tmp, sizeof(tmp), spec, v)                                        \
	 : nstar == 1 ? snprintf(tmp, sizeof(tmp), spec, stars[0], v)                              \
		      : snprintf(tmp, sizeof(tmp), spec, stars[0], stars[1], v))
		switch (conv) {
		case 's': {
			const char *v = va_arg(ap, const char *);

			escape_value(escd, sizeof(escd), v ? v : "(null)");
			m = ONE(escd);
			break;
		}
		case 'd':
		case 'i':
			m = sz == SZ_LONG      ? ONE(va_arg(ap, long))
			    : sz == SZ_LLONG   ? ONE(va_arg(ap, long long))
			    : sz == SZ_SIZE    ? ONE(va_arg(ap, ssize_t))
			    : sz == SZ_MAX     ? ONE(va_arg(ap, intmax_t))
			    : sz == SZ_PTRDIFF ? ONE(va_arg(ap, ptrdiff_t))
					       : ONE(va_arg(ap, int));
			break;
		case 'u':
		case 'o':
		case 'x':
		case 'X':
			m = sz == SZ_LONG      ? ONE(va_arg(ap, unsigned long))
			    : sz == SZ_LLONG   ? ONE(va_arg(ap, unsigned long long))
			    : sz == SZ_SIZE    ? ONE(va_arg(ap, size_t))
			    : sz == SZ_MAX     ? ONE(va_arg(ap, uintmax_t))
			    : sz == SZ_PTRDIFF ? ONE(va_arg(ap, ptrdiff_t))
					       : ONE(va_arg(ap, unsigned int));
			break;
		case 'c': {
			char c[2] = {(char)va_arg(ap, int), '\0'};

			escape_value(escd, sizeof(escd), c);
			m = snprintf(tmp, sizeof(tmp), "%s", escd);
			break;
		}
		case 'e':
		case 'E':
		case 'f':
		case 'F':
		case 'g':
		case 'G':
		case 'a':
		case 'A':
			m = sz == SZ_LDOUBLE ? ONE(va_arg(ap, long double))
					     : ONE(va_arg(ap, double));
			break;
		case 'p':
			m = ONE(va_arg(ap, void *));
			break;
		default: /* not used by callers (the compiler checked) */
			return n;
		}
#undef ONE
		if (m > 0) {
			size_t len = (size_t)m < sizeof(tmp) ? (size_t)m : sizeof(tmp) - 1;

			if (len > cap - 1 - n)
				len = cap - 1 - n;
			memcpy(out + n, tmp, len);
			n += len;
		}
	}
	out[n] = '\0';
	return n;
}
#pragma GCC diagnostic pop

void logger_log(struct logger *lg, enum log_level level, const char *event, const char *fmt, ...)
{
	static const int syslog_prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	char line[LINE_MAX_];
	struct timespec now;
	struct tm tm;
	size_t n;
	int m;
	va_list ap;

	if (!lg || level > lg->level)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ", &tm);
	m = snprintf(line + n, sizeof(line) - n, " %s %s", level_names[level], event);
	if (m > 0)
		n += (size_t)m < sizeof(line) - n ? (size_t)m : sizeof(line) - n - 1;
	if (fmt && *fmt && n < sizeof(line) - 2) {
		line[n++] = ' ';
		va_start(ap, fmt);
		n += format_fields(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
	}
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	line[n] = '\0';

	pthread_mutex_lock(&lg->lock);
	if (!lg->quiet)
		write_all(STDERR_FILENO, line, n);
	if (lg->fd >= 0)
		write_all(lg->fd, line, n);
	if (lg->use_syslog)
		syslog(syslog_prio[level], "%s", line + 21); /* syslog adds the time */
	tail_append(lg, line, n);
	pthread_mutex_unlock(&lg->lock);
}

void logger_tail(struct logger *lg, char *buf, size_t max)
{
	char ring[TAIL_BYTES + 1];
	size_t len = 0;
	const char *start;

	if (!max)
		return;
	pthread_mutex_lock(&lg->lock);
	if (lg->tail_wrapped) {
		memcpy(ring, lg->tail + lg->tail_pos, TAIL_BYTES - lg->tail_pos);
		len = TAIL_BYTES - lg->tail_pos;
	}
	memcpy(ring + len, lg->tail, lg->tail_pos);
	len += lg->tail_pos;
	pthread_mutex_unlock(&lg->lock);
	ring[len] = '\0';

	start = ring;
	while (len - (size_t)(start - ring) >= max) { /* drop whole oldest lines */
		const char *nl = strchr(start, '\n');

		if (!nl)
			break;
		start = nl + 1;
	}
	if (lg->tail_wrapped && start == ring) { /* first line is cut */
		const char *nl = strchr(start, '\n');

		if (nl)
			start = nl + 1;
	}
	snprintf(buf, max, "%s", start);
}
