#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"
#include "logline.h"
#include "thread.h"

#define TAIL_BYTES 8192
#define LINE_MAX_  4096 /* a text line */
#define JSON_MAX   8192 /* a JSON line: escapes take room */

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
	enum log_format format;
	char host[72]; /* of the JSON lines */
};

static const char *const level_names[] = {"error", "warn", "info", "debug"};

struct logger *logger_new(enum log_level level)
{
	struct logger *lg = calloc(1, sizeof(*lg));

	if (!lg)
		return NULL;
	if (mutex_init(&lg->lock)) {
		free(lg);
		return NULL;
	}
	lg->level = level;
	lg->fd = -1;
	if (gethostname(lg->host, sizeof(lg->host) - 1) < 0)
		snprintf(lg->host, sizeof(lg->host), "unknown");
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
	mutex_destroy(&lg->lock);
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
	mutex_lock(&lg->lock);
	if (lg->fd >= 0)
		close(lg->fd);
	free(lg->path);
	lg->fd = fd;
	lg->path = copy;
	mutex_unlock(&lg->lock);
	return 0;
}

int logger_reopen(struct logger *lg, struct errbuf *err)
{
	int fd, ret = 0;

	mutex_lock(&lg->lock);
	if (lg->path) {
		fd = open_log(lg->path, err);
		if (fd < 0) {
			ret = fd;
		} else {
			close(lg->fd);
			lg->fd = fd;
		}
	}
	mutex_unlock(&lg->lock);
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

void logger_set_format(struct logger *lg, enum log_format format)
{
	lg->format = format;
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

/* Nowhere is left to report a failing log: its errors are dropped. */
static void write_all(int fd, const char *p, size_t len)
{
	(void)fd_write_all(fd, p, len);
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

/* One line to every sink: `line` in the logger's format, `text` (the
 * same line as text) to the tail. */
static void emit(struct logger *lg, enum log_level level, const char *line, size_t n,
		 const char *text, size_t tn)
{
	static const int syslog_prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};

	mutex_lock(&lg->lock);
	if (!lg->quiet)
		write_all(STDERR_FILENO, line, n);
	if (lg->fd >= 0)
		write_all(lg->fd, line, n);
	if (lg->use_syslog && line != text) /* the whole object, less its '\n' */
		syslog(syslog_prio[level], "%.*s", (int)(n - 1), line);
	else if (lg->use_syslog)
		syslog(syslog_prio[level], "%s", text + 21); /* syslog adds the time */
	tail_append(lg, text, tn);
	mutex_unlock(&lg->lock);
}

static void make_head(const struct logger *lg, enum log_level level, const char *event,
		      struct logline_head *h)
{
	clock_gettime(CLOCK_REALTIME, &h->when);
	h->level = level_names[level];
	h->event = event;
	h->host = lg->host;
	h->pid = getpid(); /* not kept: a daemon forks after the logger is made */
}

void logger_log(struct logger *lg, enum log_level level, const char *event, const char *fmt, ...)
{
	char text[LINE_MAX_], json[JSON_MAX];
	struct logline_head h;
	size_t tn, jn = 0;
	va_list ap, ap2;

	if (!lg || level > lg->level)
		return;
	make_head(lg, level, event, &h);
	va_start(ap, fmt);
	if (lg->format == LOGF_JSON) {
		va_copy(ap2, ap);
		jn = logline_json(json, sizeof(json), &h, fmt, &ap2);
		va_end(ap2);
	}
	tn = logline_text(text, sizeof(text), &h, fmt, &ap);
	va_end(ap);
	if (jn)
		emit(lg, level, json, jn, text, tn);
	else
		emit(lg, level, text, tn, text, tn);
}

static size_t json_linef(char *buf, size_t cap, const struct logline_head *h, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static size_t json_linef(char *buf, size_t cap, const struct logline_head *h, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = logline_json(buf, cap, h, fmt, &ap);
	va_end(ap);
	return n;
}

void logger_user_error(struct logger *lg, const char *command, const char *msg)
{
	char json[JSON_MAX];
	struct logline_head h;
	size_t n;

	if (!lg || lg->format != LOGF_JSON) {
		if (command)
			fprintf(stderr, "dumpfs: %s: %s\n", command, msg);
		else
			fprintf(stderr, "dumpfs: %s\n", msg);
		return;
	}
	make_head(lg, LOGL_ERROR, "command_failed", &h);
	if (command)
		n = json_linef(json, sizeof(json), &h, "command=%s error=%s", command, msg);
	else
		n = json_linef(json, sizeof(json), &h, "error=%s", msg);
	mutex_lock(&lg->lock);
	write_all(STDERR_FILENO, json, n);
	mutex_unlock(&lg->lock);
}

void logger_tail(struct logger *lg, char *buf, size_t max)
{
	char ring[TAIL_BYTES + 1];
	size_t len = 0;
	const char *start;

	if (!max)
		return;
	mutex_lock(&lg->lock);
	if (lg->tail_wrapped) {
		memcpy(ring, lg->tail + lg->tail_pos, TAIL_BYTES - lg->tail_pos);
		len = TAIL_BYTES - lg->tail_pos;
	}
	memcpy(ring + len, lg->tail, lg->tail_pos);
	len += lg->tail_pos;
	mutex_unlock(&lg->lock);
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
