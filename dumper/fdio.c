/* Whole reads and writes on file descriptors.  See fdio.h. */
#include "fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

ssize_t fd_read_full(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = off < 0 ? read(fd, p + got, len - got)
			    : pread(fd, p + got, len - got, off + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int fd_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t file_read_small(const char *path, void *buf, size_t len, struct errbuf *err)
{
	struct stat st;
	ssize_t n;
	/* non-blocking: a FIFO planted there must not hang the reader */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0)
		return errno == ENOENT ? -ENOENT
				       : error_set(err, -errno, "cannot open '%s': %s", path,
						   strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return error_set(err, -EINVAL, "'%s' is not a regular file", path);
	}
	n = fd_read_full(fd, buf, len, -1);
	close(fd);
	if (n < 0)
		return error_set(err, (int)n, "cannot read '%s': %s", path, strerror((int)-n));
	return n;
}
