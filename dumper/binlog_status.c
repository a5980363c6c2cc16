/* The binlog streamer's status file.  See binlog_status.h. */
#include "binlog_status.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "binlogpos.h"
#include "fdio.h"
#include "sink.h"
#include "strbuf.h"

#define STATUS_VERSION	1
#define STATUS_FILE_MAX 4096

static int status_path(char *buf, size_t len, const char *dir, struct errbuf *err)
{
	if ((size_t)snprintf(buf, len, "%s/%s", dir, BINLOG_STATUS_NAME) >= len)
		return error_set(err, -ENAMETOOLONG, "path too long in '%s'", dir);
	return 0;
}

/* A time: decimal seconds, 0 .. INT64_MAX, nothing else. */
static bool parse_time(const char *v, size_t n, time_t *out)
{
	uint64_t x = 0;

	if (!n || n > 19)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	if (x > INT64_MAX)
		return false;
	*out = (time_t)x;
	return true;
}

static bool key_is(const char *k, size_t n, const char *want)
{
	return strlen(want) == n && !memcmp(k, want, n);
}

/* One "key=value" line without its newline; unknown keys are ignored so
 * an older dumpfs reads a newer file. */
static bool parse_line(struct binlog_status *st, const char *l, size_t n, bool *have_version)
{
	const char *eq = memchr(l, '=', n);
	size_t kn, vn;
	const char *v;

	if (!n || *l == '#')
		return true;
	if (!eq || eq == l)
		return false;
	kn = (size_t)(eq - l);
	v = eq + 1;
	vn = n - kn - 1;
	if (key_is(l, kn, "version")) {
		time_t ver;

		*have_version = parse_time(v, vn, &ver) && ver == STATUS_VERSION;
		return *have_version;
	}
	if (key_is(l, kn, "updated_at"))
		return parse_time(v, vn, &st->updated_at);
	if (key_is(l, kn, "last_event_at"))
		return parse_time(v, vn, &st->last_event_at);
	if (key_is(l, kn, "behind_since"))
		return parse_time(v, vn, &st->behind_since);
	if (key_is(l, kn, "last_error_at"))
		return parse_time(v, vn, &st->last_error_at);
	if (key_is(l, kn, "failing_since"))
		return parse_time(v, vn, &st->failing_since);
	if (key_is(l, kn, "broken_notified")) {
		if (vn != 1 || (*v != '0' && *v != '1'))
			return false;
		st->broken_notified = *v == '1';
		return true;
	}
	if (key_is(l, kn, "last_error")) {
		size_t i;

		for (i = 0; i < vn && i < BINLOG_STATUS_MSG_MAX - 1; i++)
			st->last_error[i] = (unsigned char)v[i] < 0x20 || v[i] == 0x7f ? ' ' : v[i];
		st->last_error[i] = '\0';
		return true;
	}
	return true;
}

int binlog_status_parse(const char *text, size_t len, struct binlog_status *st, unsigned *line)
{
	bool have_version = false;
	size_t at = 0;

	memset(st, 0, sizeof(*st));
	*line = 0;
	if (len > STATUS_FILE_MAX || memchr(text, '\0', len))
		return -EINVAL;
	while (at < len) {
		const char *l = text + at, *nl = memchr(l, '\n', len - at);

		++*line;
		if (!nl || !parse_line(st, l, (size_t)(nl - l), &have_version)) {
			memset(st, 0, sizeof(*st));
			return -EINVAL;
		}
		at += (size_t)(nl - l) + 1;
	}
	*line = 0;
	if (!have_version || !st->updated_at) {
		memset(st, 0, sizeof(*st));
		return -EINVAL;
	}
	if (!st->last_error_at)
		memset(st->last_error, 0, sizeof(st->last_error));
	return 0;
}

int binlog_status_load(const char *dir, struct binlog_status *st, struct errbuf *err)
{
	char path[4096], buf[STATUS_FILE_MAX + 1];
	unsigned line;
	ssize_t n;
	int rc = status_path(path, sizeof(path), dir, err);

	memset(st, 0, sizeof(*st));
	if (rc)
		return rc;
	n = file_read_small(path, buf, sizeof(buf), err);
	if (n < 0)
		return (int)n;
	if (!binlog_status_parse(buf, (size_t)n, st, &line))
		return 0;
	if (!line)
		return error_set(
			err, -EINVAL,
			"corrupt binlog status file '%s': too large, binary, or without "
			"version=1 and updated_at (the streamer writes it again; remove it)",
			path);
	return error_set(err, -EINVAL,
			 "corrupt binlog status file '%s' line %u (the streamer writes it again; "
			 "remove it)",
			 path, line);
}

void binlog_status_format(const struct binlog_status *st, struct strbuf *sb)
{
	strbuf_addf(sb,
		    "# dumpfs binlog stream status: written by dumpfs, do not edit\n"
		    "version=%d\nupdated_at=%lld\nlast_event_at=%lld\nbehind_since=%lld\n"
		    "last_error_at=%lld\nfailing_since=%lld\n",
		    STATUS_VERSION, (long long)st->updated_at, (long long)st->last_event_at,
		    (long long)st->behind_since, (long long)st->last_error_at,
		    (long long)st->failing_since);
	strbuf_addstr(sb, "last_error=");
	for (const char *c = st->last_error; *c; c++)
		strbuf_addch(sb, (unsigned char)*c < 0x20 || *c == 0x7f ? ' ' : *c);
	strbuf_addf(sb, "\nbroken_notified=%d\n", st->broken_notified ? 1 : 0);
}

int binlog_status_store(const char *dir, const struct binlog_status *st, gid_t group,
			struct errbuf *err)
{
	struct strbuf sb = STRBUF_INIT;
	struct outfile of = {.fd = -1};
	char path[4096];
	int rc = status_path(path, sizeof(path), dir, err);

	binlog_status_format(st, &sb);
	if (!rc && strbuf_error(&sb))
		rc = error_set(err, -ENOMEM, "out of memory");
	if (!rc)
		rc = outfile_open(&of, path, 0640, err);
	if (!rc && group != (gid_t)-1 && fchown(of.fd, (uid_t)-1, group) < 0)
		rc = error_set(err, -errno, "cannot give '%s' to group %ld: %s", path, (long)group,
			       strerror(errno));
	if (!rc && (rc = fd_write_all(of.fd, sb.buf, sb.len)))
		rc = error_set(err, rc, "cannot write '%s': %s", path, strerror(-rc));
	if (!rc)
		rc = outfile_commit(&of, 0, err);
	outfile_release(&of);
	strbuf_release(&sb);
	return rc;
}

int64_t binlog_status_lag(const struct binlog_status *st, time_t now)
{
	time_t since = st->behind_since;

	if (now - st->updated_at > BINLOG_STATUS_STALE && (!since || st->updated_at < since))
		since = st->updated_at;
	return since && now > since ? (int64_t)(now - since) : 0;
}

void binlog_report_read(struct binlog_report *r, const char *dir, const char *prefix,
			unsigned max_lag_seconds)
{
	size_t want = strlen(prefix), plen;
	struct binlog_pos start;
	struct dirent *de;
	struct stat sb;
	struct errbuf e2;
	DIR *d;
	int rc, fd;

	memset(r, 0, sizeof(*r));
	r->max_lag_seconds = max_lag_seconds;
	rc = binlog_status_load(dir, &r->st, &e2);
	r->have_status = !rc;
	if (rc && rc != -ENOENT)
		snprintf(r->error, sizeof(r->error), "%s", e2.msg);
	/* never through a symlink: the directory is the archive's own */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		if (errno != ENOENT && !r->error[0])
			snprintf(r->error, sizeof(r->error), "cannot read '%s': %s", dir,
				 strerror(errno));
		return;
	}
	while ((errno = 0, de = readdir(d)))
		if (binlog_segment_name_parse(de->d_name, &start, &plen) && plen == want &&
		    !strncmp(de->d_name, prefix, want) &&
		    !fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) && S_ISREG(sb.st_mode))
			r->segments++;
	if (errno && !r->error[0])
		snprintf(r->error, sizeof(r->error), "cannot read '%s': %s", dir, strerror(errno));
	closedir(d);
}
