/* Deleting from the archive directory: retention and crash leftovers.
 * Only names matching the backup pattern (retention) or our hidden
 * temporaries (cleanup) are ever removed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "binlog.h"
#include "sink.h"

#define DAY 86400

static int unlink_one(int dfd, const char *dir, const char *name, struct errbuf *err)
{
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return error_set(err, -errno, "cannot delete '%s/%s': %s", dir, name,
				 strerror(errno));
	return 0;
}

static int prune_backup(int dfd, const char *dir, const struct archive_entry *e, time_t now,
			struct logger *lg, struct errbuf *err)
{
	char side[ARCHIVE_NAME_MAX], pos[ARCHIVE_NAME_MAX + 32];
	int rc;

	/* Backup first: a crash in between leaves a sidecar, removed later,
	 * never a backup without its sidecar that looks unverifiable. */
	rc = unlink_one(dfd, dir, e->name, err);
	if (rc)
		return rc;
	logger_log(lg, LOGL_INFO, "prune", "file=%s age_days=%lld size=%llu", e->name,
		   (long long)((now - e->when) / DAY), (unsigned long long)e->size);
	if (archive_sidecar_name(side, sizeof(side), e->name) == 0) {
		rc = unlink_one(dfd, dir, side, err);
		if (rc)
			return rc;
	}
	if (backup_position_name(pos, sizeof(pos), e->name) == 0)
		rc = unlink_one(dfd, dir, pos, err);
	return rc;
}

/* Sidecars whose backup is gone and whose time is before the cut-off. */
static int prune_orphans(int dfd, const char *dir, const char *prefix, time_t cutoff,
			 struct logger *lg, struct errbuf *err)
{
	char base[ARCHIVE_NAME_MAX];
	struct dirent *de;
	struct stat st;
	time_t when;
	size_t n, ns = strlen(ARCHIVE_SIDECAR_SUFFIX);
	int rc = 0, fd = dup(dfd);
	DIR *d;

	if (fd < 0 || !(d = fdopendir(fd))) {
		rc = error_set(err, -errno, "cannot read archive directory '%s': %s", dir,
			       strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	rewinddir(d);
	while (!rc && (de = readdir(d))) {
		if (!archive_is_sidecar_name(de->d_name, prefix))
			continue;
		n = strlen(de->d_name) - ns;
		memcpy(base, de->d_name, n);
		base[n] = '\0';
		if (!archive_parse_name(base, prefix, &when) || when >= cutoff ||
		    fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
			continue;
		rc = unlink_one(dfd, dir, de->d_name, err);
		if (!rc)
			logger_log(lg, LOGL_INFO, "prune", "file=%s reason=orphan_sidecar",
				   de->d_name);
	}
	closedir(d);
	return rc;
}

bool archive_in_future(const struct archive_entry *e, time_t now)
{
	return e->when > now && e->when - now > ARCHIVE_FUTURE_SLACK;
}

/* The newest backup other than `name`, or NULL. */
static const struct archive_entry *newest_other(const struct archive_list *l, const char *name)
{
	for (size_t i = l->n; i-- > 0;)
		if (!name || strcmp(l->v[i].name, name))
			return &l->v[i];
	return NULL;
}

/* A clock jump makes the names' times meaningless: true (and the reason)
 * when retention must not measure from them. */
static bool dates_untrusted(const struct archive_list *l, unsigned keep_days, const char *new_name,
			    time_t now, char *why, size_t len)
{
	const struct archive_entry *newest = archive_newest(l), *mine, *prev;

	if (archive_in_future(newest, now)) {
		snprintf(why, len,
			 "the newest backup %s is dated in the future (%lld s after the clock): "
			 "check the clock, then move that backup out of the archive directory",
			 newest->name, (long long)(newest->when - now));
		return true;
	}
	mine = new_name ? archive_find(l, new_name) : NULL;
	prev = mine ? newest_other(l, new_name) : NULL;
	/* keep_days 0: nothing measures from the newest; the tiers count
	 * days that have backups, not days of the clock. */
	if (keep_days && prev && mine->when > prev->when &&
	    mine->when - prev->when > (time_t)keep_days * DAY) {
		snprintf(why, len,
			 "the new backup %s is dated %lld days after the previous newest %s, "
			 "more than keep_days = %u: the clock may have jumped; check it",
			 mine->name, (long long)((mine->when - prev->when) / DAY), prev->name,
			 keep_days);
		return true;
	}
	return false;
}

/* The rules that keep each backup of l (oldest first, as l). */
static int decide(const struct archive_list *l, const struct retention_rules *r, unsigned *keep,
		  struct errbuf *err)
{
	time_t *when = calloc(l->n, sizeof(*when));
	int rc;

	if (!when)
		return error_set(err, -ENOMEM, "retention: out of memory");
	for (size_t i = 0; i < l->n; i++)
		when[i] = l->v[i].when;
	rc = retention_decide(r, when, l->n, keep, err);
	free(when);
	return rc;
}

/* Deletes, oldest first, what no rule keeps; then orphan sidecars older
 * than the oldest kept backup. */
static int delete_unkept(const struct archive_prune_opts *o, const struct archive_list *l,
			 const unsigned *keep, struct archive_prune_result *res, struct errbuf *err)
{
	time_t cutoff = archive_newest(l)->when;
	size_t i;
	int rc = 0, dfd;

	for (i = 0; i < l->n; i++) {
		if (keep[i]) {
			cutoff = l->v[i].when;
			break;
		}
	}
	dfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return error_set(err, -errno, "cannot open archive directory '%s': %s", o->dir,
				 strerror(errno));
	for (i = 0; i < l->n && !rc; i++) {
		if (keep[i])
			continue;
		rc = prune_backup(dfd, o->dir, &l->v[i], o->now, o->log, err);
		if (!rc)
			res->deleted++;
	}
	if (!rc)
		rc = prune_orphans(dfd, o->dir, o->prefix, cutoff, o->log, err);
	close(dfd);
	return rc;
}

/* Binlog segments the oldest kept backup does not need (docs/pitr.md);
 * a failure there is logged: the backups' retention succeeded. */
static void prune_segments(const struct archive_prune_opts *o)
{
	struct errbuf e2;
	unsigned n;

	if (binlog_prune_segments(o->dir, o->prefix, o->log, &n, &e2))
		logger_log(o->log, LOGL_ERROR, "binlog_prune_failed", "error=\"%s\"", e2.msg);
}

int archive_prune(const struct archive_prune_opts *o, struct archive_prune_result *res,
		  struct errbuf *err)
{
	struct archive_list l = ARCHIVE_LIST_INIT;
	struct archive_prune_result local;
	unsigned *keep = NULL;
	size_t i;
	int rc;

	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	if (retention_off(&o->rules))
		return 0;
	rc = archive_scan(&l, o->dir, o->prefix, err);
	if (rc || !l.n) {
		archive_list_release(&l);
		return rc;
	}
	if (dates_untrusted(&l, o->rules.days, o->new_name, o->now, res->reason,
			    sizeof(res->reason))) {
		res->skipped = true;
		logger_log(o->log, LOGL_WARN, "retention_skipped", "dir=\"%s\" reason=\"%s\"",
			   o->dir, res->reason);
		archive_list_release(&l);
		return 0;
	}
	keep = calloc(l.n, sizeof(*keep));
	rc = keep ? decide(&l, &o->rules, keep, err)
		  : error_set(err, -ENOMEM, "retention: out of memory");
	for (i = 0; !rc && i < l.n; i++)
		res->kept += keep[i] != 0;
	if (!rc && o->dry_run)
		res->deleted = (unsigned)l.n - res->kept;
	else if (!rc)
		rc = delete_unkept(o, &l, keep, res, err);
	for (i = l.n; !rc && o->report && i-- > 0;)
		o->report(o->report_arg, l.v[i].name, keep[i]);
	free(keep);
	archive_list_release(&l);
	if (!rc && !o->dry_run)
		prune_segments(o);
	return rc;
}

/* "<base>" of ".<base>.tmp-XXXXXX" is a backup or sidecar of prefix. */
static bool is_archive_temp(const char *name, const char *prefix)
{
	char base[ARCHIVE_NAME_MAX];
	const char *end = strrchr(name, '.');
	size_t n;

	/* outfile_is_temp_name() checked the ".tmp-XXXXXX" tail. */
	if (!end || end == name)
		return false;
	n = (size_t)(end - name) - 1;
	if (n >= sizeof(base))
		return false;
	memcpy(base, name + 1, n);
	base[n] = '\0';
	return archive_parse_name(base, prefix, NULL) || archive_is_sidecar_name(base, prefix);
}

/* 1 when removed, 0 when kept, <0 error. */
static int clean_one(int dfd, const char *dir, const char *name, bool archive_tmp, time_t now,
		     struct logger *lg)
{
	struct flock fl;
	struct stat st;
	int fd, rc = 0;

	fd = openat(dfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	/* Someone holds it (archive_hold_temp): in use, keep it. */
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		rc = errno == EAGAIN || errno == EACCES ? 0 : -errno;
		close(fd);
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return 0;
	}
	if (!archive_tmp && now - st.st_mtime <= ARCHIVE_TEMP_GRACE) {
		close(fd);
		return 0;
	}
	if (unlinkat(dfd, name, 0) < 0)
		rc = errno == ENOENT ? 0 : -errno;
	else
		rc = 1;
	close(fd);
	if (rc == 1)
		logger_log(lg, LOGL_INFO, "cleanup",
			   "dir=\"%s\" file=%s size=%lld reason=stale_temporary", dir, name,
			   (long long)st.st_size);
	return rc;
}

int archive_clean_temps(const char *dir, const char *prefix, bool have_run_lock, time_t now,
			struct logger *lg, unsigned *removed, struct errbuf *err)
{
	struct dirent *de;
	DIR *d;
	int rc;

	if (removed)
		*removed = 0;
	d = opendir(dir);
	if (!d)
		return error_set(err, -errno, "cannot read archive directory '%s': %s", dir,
				 strerror(errno));
	while ((de = readdir(d))) {
		if (!outfile_is_temp_name(de->d_name))
			continue;
		rc = clean_one(dirfd(d), dir, de->d_name,
			       have_run_lock && (!prefix || is_archive_temp(de->d_name, prefix)),
			       now, lg);
		if (rc < 0)
			logger_log(lg, LOGL_WARN, "cleanup_failed",
				   "dir=\"%s\" file=%s error=\"%s\"", dir, de->d_name,
				   strerror(-rc));
		else if (rc == 1 && removed)
			(*removed)++;
	}
	closedir(d);
	return 0;
}

int archive_hold_temp(int fd, struct errbuf *err)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_RDLCK;
	fl.l_whence = SEEK_SET;
	/* A cleaner holds its exclusive lock only for a moment: wait. */
	while (fcntl(fd, F_OFD_SETLKW, &fl) < 0) {
		if (errno != EINTR)
			return error_set(err, -errno, "cannot lock temporary file: %s",
					 strerror(errno));
	}
	return 0;
}
