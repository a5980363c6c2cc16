/* Private temporary GnuPG homes: made with the owner's pid in the name and
 * a lock held, swept when both say the owner is gone. */
#include "tmphome.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define RANDOM_LEN 6 /* mkdtemp's XXXXXX */

static const char *const kinds[] = {"gpg", "v", "rehearse"};

int tmphome_make(char *buf, size_t len, const char *base, const char *kind, int *lock_fd,
		 struct errbuf *err)
{
	int fd, e;

	*lock_fd = -1;
	if ((size_t)snprintf(buf, len, "%s/dumpfs-%s-%ld-XXXXXX", base, kind, (long)getpid()) >=
	    len) {
		buf[0] = '\0';
		return error_set(err, -ENAMETOOLONG, "TMPDIR '%s' is too long", base);
	}
	if (!mkdtemp(buf)) {
		e = errno;
		buf[0] = '\0';
		return error_set(err, -e, "cannot create a temporary directory in '%s': %s", base,
				 strerror(e));
	}
	fd = open(buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_SH) < 0) {
		e = errno;
		if (fd >= 0)
			close(fd);
		rmdir(buf);
		buf[0] = '\0';
		return error_set(err, -e, "cannot lock the temporary directory in '%s': %s", base,
				 strerror(e));
	}
	*lock_fd = fd;
	return 0;
}

/* The pid in "dumpfs-<kind>-<pid>-XXXXXX", or 0 when `name` is not one. */
static pid_t owner_pid(const char *name)
{
	const char *p;
	char *end;
	size_t n;
	long pid;

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		n = strlen(kinds[i]);
		if (strncmp(name, "dumpfs-", 7) || strncmp(name + 7, kinds[i], n) ||
		    name[7 + n] != '-')
			continue;
		p = name + 7 + n + 1;
		if (*p < '1' || *p > '9')
			return 0;
		errno = 0;
		pid = strtol(p, &end, 10);
		if (errno || pid <= 0 || pid > 0x3fffffff || *end != '-' ||
		    strlen(end + 1) != RANDOM_LEN)
			return 0;
		return (pid_t)pid;
	}
	return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* 1 removed, 0 kept, <0 error. */
static int sweep_one(int dfd, const char *base, const char *name, struct logger *lg)
{
	char path[PATH_MAX];
	pid_t pid = owner_pid(name);
	struct stat st;
	int fd, rc = 0;

	if (!pid || pid == getpid())
		return 0;
	if (kill(pid, 0) == 0 || errno != ESRCH)
		return 0; /* alive (or not ours to signal: alive too) */
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? 0 : -errno;
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid()) {
		close(fd);
		return 0;
	}
	/* Held: a live owner we cannot see (another pid namespace). */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		rc = errno == EWOULDBLOCK ? 0 : -errno;
		close(fd);
		return rc;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", base, name) >= sizeof(path)) {
		close(fd);
		return 0;
	}
	rc = nftw(path, rm_entry, 8, FTW_DEPTH | FTW_PHYS) < 0 ? -errno : 1;
	close(fd);
	if (rc == 1)
		logger_log(lg, LOGL_INFO, "cleanup", "dir=\"%s\" file=%s reason=stale_gpg_home",
			   base, name);
	return rc;
}

static unsigned sweep_dir(const char *base, struct logger *lg)
{
	struct dirent *de;
	unsigned n = 0;
	DIR *d = opendir(base);
	int rc;

	if (!d)
		return 0; /* nothing of ours can be there either */
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "dumpfs-", 7))
			continue;
		rc = sweep_one(dirfd(d), base, de->d_name, lg);
		if (rc < 0)
			logger_log(lg, LOGL_WARN, "cleanup_failed",
				   "dir=\"%s\" file=%s error=\"%s\"", base, de->d_name,
				   strerror(-rc));
		else
			n += (unsigned)rc;
	}
	closedir(d);
	return n;
}

unsigned tmphome_sweep(struct logger *lg)
{
	const char *tmp = getenv("TMPDIR");
	unsigned n = sweep_dir("/tmp", lg);

	if (tmp && tmp[0] && strcmp(tmp, "/tmp") && strcmp(tmp, "/tmp/"))
		n += sweep_dir(tmp, lg);
	return n;
}
