/* Checks before a mount, cleanup after a crash.  See mountprep.h. */
#include "mountprep.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../dumper/archive.h"
#include "../../dumper/lock.h"
#include "../../dumper/state.h"
#include "../../dumper/tmphome.h"

/* The archive dir as an absolute path (fuse_daemonize changes to "/"),
 * usable for what the mount will do there. */
int mountprep_archive_dir(struct config *cfg, struct errbuf *err)
{
	bool writes = !cfg->archive.schedule.off || cfg->fs.snapshot_mode == SNAPSHOT_SPOOL;
	int mode = R_OK | X_OK | (writes ? W_OK : 0);
	char *abs = realpath(cfg->archive.dir, NULL);
	struct stat st;
	int e = 0;

	if (!abs || stat(abs, &st) < 0)
		e = errno;
	else if (!S_ISDIR(st.st_mode))
		e = ENOTDIR;
	else if (access(abs, mode) < 0)
		e = errno;
	if (e) {
		free(abs);
		return error_set(err, -e,
				 "archive directory '%s' is not usable: %s (check [archive] dir; "
				 "it must be %s by this user)",
				 cfg->archive.dir, strerror(e),
				 writes ? "readable and writable" : "readable");
	}
	free(cfg->archive.dir);
	cfg->archive.dir = abs;
	return 0;
}

/* Scheduled backups give their files to [fs] group: find out now, not at
 * the first backup, when this process may not (not a member, no
 * CAP_CHOWN).  An unnamed temporary leaves nothing behind. */
int mountprep_group(const struct config *cfg, struct errbuf *err)
{
	int fd, e;

	if (cfg->archive.schedule.off)
		return 0;
	fd = open(cfg->archive.dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0400);
	if (fd < 0)
		return 0; /* no O_TMPFILE here: the first backup will tell */
	e = fchown(fd, (uid_t)-1, cfg->fs.group) < 0 ? errno : 0;
	close(fd);
	if (!e)
		return 0;
	return error_set(err, -e,
			 "cannot give archive files to group %u ([fs] group): %s (the daemon's "
			 "user must be a member of it, or have CAP_CHOWN)",
			 (unsigned)cfg->fs.group, strerror(e));
}

/* What a crash left behind: backup temporaries (when no backup runs
 * now) and spool files nobody holds; at start also the GnuPG homes of
 * killed processes, and backups without a sidecar are reported. */
void mountprep_clean_temps(const struct config *cfg, struct logger *lg, bool starting)
{
	struct archive_list l = ARCHIVE_LIST_INIT;
	struct runlock lk = RUNLOCK_INIT;
	unsigned removed = 0;
	struct errbuf err;
	bool locked;

	errbuf_clear(&err);
	locked = runlock_acquire(&lk, cfg->archive.dir, NULL, &err) == 0;
	if (archive_clean_temps(cfg->archive.dir, cfg->archive.prefix, locked, time(NULL), lg,
				&removed, &err))
		logger_log(lg, LOGL_WARN, "cleanup_failed", "error=\"%s\"", err.msg);
	if (starting)
		tmphome_sweep(lg);
	/* The run lock says the dir is writable: a state save a crash cut short. */
	if (starting && locked) {
		errbuf_clear(&err);
		if (state_clean_temps(cfg->archive.dir, &err))
			logger_log(lg, LOGL_WARN, "cleanup_failed", "error=\"%s\"", err.msg);
	}
	/* With the lock no backup is between its file and its sidecar. */
	if (starting && locked &&
	    archive_scan(&l, cfg->archive.dir, cfg->archive.prefix, &err) == 0)
		archive_report_missing_sidecars(&l, cfg->archive.dir, lg);
	archive_list_release(&l);
	runlock_release(&lk);
}

static int run_fusermount_detach(const char *mnt, struct errbuf *err)
{
	char *const argv[] = {(char *)"fusermount3", (char *)"-u", (char *)"-z",
			      (char *)"--",	     (char *)mnt,  NULL};
	int e, status;
	pid_t pid;

	e = posix_spawnp(&pid, "fusermount3", NULL, NULL, argv, environ);
	if (e)
		return error_set(err, -e, "cannot run fusermount3: %s", strerror(e));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return error_set(err, -errno, "waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return error_set(err, -EIO, "fusermount3 -u -z '%s' failed", mnt);
	return 0;
}

/* A mount left by a killed daemon answers ENOTCONN: detach it lazily
 * (what `fusermount3 -u -z` does) so we can mount again. */
static int detach_stale_mount(const char *mnt, struct logger *lg, struct errbuf *err)
{
	struct stat st;
	int ret = 0;

	if (stat(mnt, &st) == 0 || errno != ENOTCONN)
		return 0;
	logger_log(lg, LOGL_WARN, "stale_mount",
		   "mountpoint=\"%s\" action=\"detaching (fusermount3 -u -z)\"", mnt);
	if (geteuid() == 0) {
		if (umount2(mnt, MNT_DETACH) < 0)
			ret = error_set(err, -errno, "cannot detach the stale mount on '%s': %s",
					mnt, strerror(errno));
	} else {
		ret = run_fusermount_detach(mnt, err);
	}
	if (!ret && stat(mnt, &st) < 0)
		ret = error_set(err, -errno,
				"mount point '%s' still unusable after detaching a stale mount: %s",
				mnt, strerror(errno));
	if (!ret)
		logger_log(lg, LOGL_INFO, "stale_mount_detached", "mountpoint=\"%s\"", mnt);
	return ret;
}

/* /proc/self/mountinfo writes " \t\n\\" in paths as "\ooo". */
static void unescape_octal(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* Whether a live dumpfs is mounted on `path` (absolute, resolved). */
static bool dumpfs_mounted_on(const char *path)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char mnt[PATH_MAX], type[64];
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(sep + 3, "%63s", type) != 1)
			continue;
		unescape_octal(mnt);
		found = !strcmp(mnt, path) && !strcmp(type, "fuse.dumpfs");
	}
	free(line);
	fclose(f);
	return found;
}

int mountprep_mountpoint(const char *mnt, char **abs, struct logger *lg, struct errbuf *err)
{
	struct stat st;
	int ret = detach_stale_mount(mnt, lg, err);

	if (ret)
		return ret;
	*abs = realpath(mnt, NULL);
	if (!*abs || stat(*abs, &st) < 0)
		return error_set(err, -errno, "mount point '%s': %s", mnt, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return error_set(err, -ENOTDIR, "mount point '%s' is not a directory", mnt);
	/* A second daemon on top would hide the first one's tree. */
	if (dumpfs_mounted_on(*abs))
		return error_set(
			err, -EBUSY,
			"dumpfs is already mounted on '%s' (unmount it first: fusermount3 -u '%s')",
			*abs, *abs);
	return 0;
}
