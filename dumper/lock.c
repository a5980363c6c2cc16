/* The run lock and the state lock: OFD locks on "<dir>/.dumpfs.lock". */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUN_BYTE   0
#define STATE_BYTE 1

static int lock_path(char *buf, size_t len, const char *dir, struct errbuf *err)
{
	if ((size_t)snprintf(buf, len, "%s/%s", dir, RUNLOCK_NAME) >= len)
		return error_set(err, -ENAMETOOLONG, "archive directory name too long: '%s'", dir);
	return 0;
}

static int open_lock(const char *path, int flags, struct errbuf *err)
{
	int fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW, 0644);

	if (fd < 0)
		return error_set(err, -errno, "cannot open lock file '%s': %s", path,
				 strerror(errno));
	return fd;
}

static struct flock range(short type, off_t start)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl)); /* OFD locks require l_pid == 0 */
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = start;
	fl.l_len = 1;
	return fl;
}

/* The pid a holder wrote, or 0 (not written yet, garbage). */
static pid_t read_holder(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long v;
	char *end;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || end == buf || v <= 0 || v > INT_MAX)
		return 0;
	return (pid_t)v;
}

static int busy(struct errbuf *err, pid_t pid, pid_t *holder)
{
	if (holder)
		*holder = pid;
	if (pid > 0)
		return error_set(err, -EBUSY, "another backup is running (pid %ld)", (long)pid);
	return error_set(err, -EBUSY, "another backup is running");
}

static int write_pid(int fd, const char *path, struct errbuf *err)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		return error_set(err, -errno ? -errno : -EIO, "cannot write lock file '%s': %s",
				 path, strerror(errno ? errno : EIO));
	return 0;
}

int runlock_acquire(struct runlock *lk, const char *dir, pid_t *holder, struct errbuf *err)
{
	char path[PATH_MAX];
	struct flock fl = range(F_WRLCK, RUN_BYTE);
	int fd, rc;

	lk->fd = -1;
	if (holder)
		*holder = 0;
	rc = lock_path(path, sizeof(path), dir, err);
	if (rc)
		return rc;
	fd = open_lock(path, O_RDWR | O_CREAT, err);
	if (fd < 0)
		return fd;
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		int e = errno;
		pid_t pid;

		if (e != EAGAIN && e != EACCES) {
			close(fd);
			return error_set(err, -e, "cannot lock '%s': %s", path, strerror(e));
		}
		/* The holder writes its pid just after locking: give it a moment. */
		for (int i = 0; !(pid = read_holder(fd)) && i < 10; i++)
			usleep(10000);
		close(fd);
		return busy(err, pid, holder);
	}
	rc = write_pid(fd, path, err);
	if (rc) {
		close(fd);
		return rc;
	}
	lk->fd = fd;
	return 0;
}

void runlock_release(struct runlock *lk)
{
	if (lk->fd < 0)
		return;
	/* Empty the pid first so a reader never blames a finished run. */
	if (ftruncate(lk->fd, 0) < 0) {
		/* Harmless: the pid is only informational. */
	}
	close(lk->fd); /* drops the OFD lock */
	lk->fd = -1;
}

int runlock_probe(const char *dir, bool *held, pid_t *holder, struct errbuf *err)
{
	char path[PATH_MAX];
	struct flock fl = range(F_WRLCK, RUN_BYTE);
	int fd, rc;

	*held = false;
	if (holder)
		*holder = 0;
	rc = lock_path(path, sizeof(path), dir, err);
	if (rc)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return error_set(err, -errno, "cannot open lock file '%s': %s", path,
				 strerror(errno));
	}
	if (fcntl(fd, F_OFD_GETLK, &fl) < 0) {
		rc = error_set(err, -errno, "cannot test lock '%s': %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	if (fl.l_type != F_UNLCK) {
		*held = true;
		if (holder)
			*holder = read_holder(fd);
	}
	close(fd);
	return 0;
}

int runlock_state_lock(const char *dir, int *fd_out, struct errbuf *err)
{
	char path[PATH_MAX];
	struct flock fl = range(F_WRLCK, STATE_BYTE);
	int fd, rc;

	*fd_out = -1;
	rc = lock_path(path, sizeof(path), dir, err);
	if (rc)
		return rc;
	fd = open_lock(path, O_RDWR | O_CREAT, err);
	if (fd < 0)
		return fd;
	while (fcntl(fd, F_OFD_SETLKW, &fl) < 0) {
		if (errno == EINTR)
			continue;
		rc = error_set(err, -errno, "cannot lock '%s': %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	*fd_out = fd;
	return 0;
}
