/* The last stages: a borrowed file descriptor, and a file that appears
 * under its name only once complete (temporary + fsync + rename). */
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_INFIX  ".tmp-"
#define TMP_RANDOM 6 /* the XXXXXX mkostemp() replaces */

struct fdsink {
	struct writer w;
	int fd;	      /* borrowed */
	char *name;   /* owned */
	int fail_err; /* errno of the first failure, so it sticks */
};

static int fdsink_error(struct fdsink *s, struct errbuf *err)
{
	return error_set(err, -s->fail_err, "cannot write to '%s': %s", s->name,
			 strerror(s->fail_err));
}

/* A non-blocking fd (a pipe someone set O_NONBLOCK) is waited on. */
static int wait_writable(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};

	for (;;) {
		if (poll(&pfd, 1, -1) >= 0)
			return 0;
		if (errno != EINTR)
			return errno;
	}
}

static int fdsink_write(struct writer *w, const void *buf, size_t len, struct errbuf *err)
{
	struct fdsink *s = (struct fdsink *)w;
	const char *p = buf;
	ssize_t n;

	if (s->fail_err)
		return fdsink_error(s, err);
	while (len) {
		n = write(s->fd, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0)
			s->fail_err = EIO; /* write() never does this for len > 0 */
		else if (errno == EINTR)
			continue;
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			s->fail_err = wait_writable(s->fd);
		else
			s->fail_err = errno;
		if (s->fail_err)
			return fdsink_error(s, err);
	}
	return 0;
}

static int fdsink_close(struct writer *w, struct errbuf *err)
{
	struct fdsink *s = (struct fdsink *)w;

	/* The fd is the caller's; only a failed write is reported again. */
	return s->fail_err ? fdsink_error(s, err) : 0;
}

static void fdsink_free(struct writer *w)
{
	struct fdsink *s = (struct fdsink *)w;

	free(s->name);
	free(s);
}

static const struct writer_ops fdsink_ops = {
	.stage = "output",
	.write = fdsink_write,
	.close = fdsink_close,
	.free = fdsink_free,
};

static int null_write(struct writer *w, const void *buf, size_t len, struct errbuf *err)
{
	(void)w;
	(void)buf;
	(void)len;
	(void)err;
	return 0;
}

static int null_close(struct writer *w, struct errbuf *err)
{
	(void)w;
	(void)err;
	return 0;
}

static void null_free(struct writer *w)
{
	(void)w;
}

static const struct writer_ops null_ops = {"discard", null_write, null_close, null_free};

void nullsink_init(struct writer *w)
{
	w->ops = &null_ops;
}

int fdsink_new(struct writer **out, int fd, const char *name, struct errbuf *err)
{
	struct fdsink *s = calloc(1, sizeof(*s));

	if (!s || !(s->name = strdup(name))) {
		free(s);
		return error_set(err, -ENOMEM, "out of memory");
	}
	s->w.ops = &fdsink_ops;
	s->fd = fd;
	*out = &s->w;
	return 0;
}

/* The directory part of `path` ("." when there is none), newly allocated. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* "<dir>/.<base>.tmp-XXXXXX" for `path`, or NULL (ENOMEM). */
static char *tmp_template(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	int dirlen = slash ? (int)(slash - path + 1) : 0;
	char *tmp;

	if (asprintf(&tmp, "%.*s.%s" TMP_INFIX "XXXXXX", dirlen, path, base) < 0)
		return NULL;
	return tmp;
}

/* Removes the temporary and forgets it; the fd is already closed. */
static void drop_tmp(struct outfile *of)
{
	if (of->tmp) {
		unlink(of->tmp); /* best effort: a failure is already reported */
		free(of->tmp);
		of->tmp = NULL;
	}
}

int outfile_open(struct outfile *of, const char *path, mode_t mode, struct errbuf *err)
{
	const char *slash = strrchr(path, '/');
	int e;

	of->path = NULL;
	of->tmp = NULL;
	of->fd = -1;
	if (!*(slash ? slash + 1 : path))
		return error_set(err, -EINVAL, "invalid file name '%s'", path);
	of->path = strdup(path);
	of->tmp = tmp_template(path);
	if (!of->path || !of->tmp) {
		outfile_release(of);
		return error_set(err, -ENOMEM, "out of memory");
	}
	of->fd = mkostemp(of->tmp, O_CLOEXEC);
	if (of->fd < 0) {
		e = errno;
		free(of->tmp);
		of->tmp = NULL; /* nothing was created */
		outfile_release(of);
		return error_set(err, -e, "cannot create a temporary file for '%s': %s", path,
				 strerror(e));
	}
	if (fchmod(of->fd, mode) < 0) {
		e = errno;
		outfile_release(of);
		return error_set(err, -e, "cannot set the mode of '%s': %s", path, strerror(e));
	}
	return 0;
}

/* Makes a completed rename or link durable. */
static int sync_dir(const char *path, struct errbuf *err)
{
	char *dir = dir_of(path);
	int fd, e = 0;

	if (!dir)
		return error_set(err, -ENOMEM, "out of memory");
	fd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		e = errno;
	/* EINVAL: this file system cannot sync directories; nothing to do. */
	else if (fsync(fd) < 0 && errno != EINVAL)
		e = errno;
	if (fd >= 0 && close(fd) < 0 && !e)
		e = errno;
	if (e)
		error_set(err, -e, "cannot sync directory '%s': %s", dir, strerror(e));
	free(dir);
	return -e;
}

static int put_in_place(struct outfile *of, int no_replace, struct errbuf *err)
{
	int e;

	if (!no_replace) {
		if (rename(of->tmp, of->path) == 0)
			goto done;
		e = errno;
		return error_set(err, -e, "cannot rename '%s' to '%s': %s", of->tmp, of->path,
				 strerror(e));
	}
	if (link(of->tmp, of->path) < 0) {
		e = errno;
		if (e == EEXIST)
			return error_set(err, -EEXIST, "'%s' already exists; not replacing it",
					 of->path);
		return error_set(err, -e, "cannot link '%s' to '%s': %s", of->tmp, of->path,
				 strerror(e));
	}
	if (unlink(of->tmp) < 0) {
		/* The file is complete under its name; only the temporary
		 * (cleaned up by the next run) is left behind. */
		e = errno;
		error_set(err, -e, "cannot remove temporary '%s': %s", of->tmp, strerror(e));
		free(of->tmp);
		of->tmp = NULL;
		return -e;
	}
done:
	free(of->tmp);
	of->tmp = NULL;
	return 0;
}

int outfile_commit(struct outfile *of, int no_replace, struct errbuf *err)
{
	int rc, e, fd = of->fd;

	if (!of->tmp || fd < 0)
		return error_set(err, -EINVAL, "'%s' is not open for writing",
				 of->path ? of->path : "(null)");
	of->fd = -1;
	if (fsync(fd) < 0) {
		e = errno;
		close(fd); /* already failing; fsync's error is the one to report */
		drop_tmp(of);
		return error_set(err, -e, "cannot write '%s': fsync: %s", of->path, strerror(e));
	}
	if (close(fd) < 0) {
		e = errno;
		drop_tmp(of);
		return error_set(err, -e, "cannot write '%s': close: %s", of->path, strerror(e));
	}
	rc = put_in_place(of, no_replace, err);
	if (rc < 0) {
		drop_tmp(of);
		return rc;
	}
	return sync_dir(of->path, err);
}

void outfile_release(struct outfile *of)
{
	/* A zeroed struct has fd 0 but no path: that fd is not ours. */
	if (of->path && of->fd >= 0)
		close(of->fd); /* discarding; nothing to report */
	of->fd = -1;
	drop_tmp(of);
	free(of->path);
	of->path = NULL;
}

static int is_mkstemp_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int outfile_is_temp_name(const char *name)
{
	size_t len = strlen(name), infix = strlen(TMP_INFIX);
	size_t i;

	/* '.', at least one character of the name, infix, random part. */
	if (len < 2 + infix + TMP_RANDOM || name[0] != '.' || strchr(name, '/'))
		return 0;
	if (memcmp(name + len - TMP_RANDOM - infix, TMP_INFIX, infix))
		return 0;
	for (i = len - TMP_RANDOM; i < len; i++)
		if (!is_mkstemp_char(name[i]))
			return 0;
	return 1;
}
