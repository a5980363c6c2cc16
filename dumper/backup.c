/* One archive backup run: lock, dump into a hidden temporary through the
 * hashing stage, rename into place, sidecar, state, retention. */
#include "backup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"
#include "lock.h"
#include "sink.h"
#include "state.h"
#include "thread.h"

/* Read-only, for the owner and the readers' group (docs/security.md). */
#define FILE_MODE  0440
#define NAME_TRIES 5 /* seconds to wait for a free name */

struct backup {
	const struct backup_opts *o;
	pthread_mutex_t mu;
	struct dump_job *job; /* while the dump runs; guarded by mu */
	bool cancelled;	      /* guarded by mu */
	bool ran;
};

int backup_new(struct backup **out, const struct backup_opts *opts, struct errbuf *err)
{
	struct backup *b;

	if (!opts->dir || !archive_prefix_valid(opts->prefix))
		return error_set(err, -EINVAL,
				 "invalid archive prefix '%s' (check [archive] prefix)",
				 opts->prefix ? opts->prefix : "");
	if (!opts->pipeline || !opts->pipeline->key)
		return error_set(err, -EINVAL, "a backup needs the OpenPGP key");
	b = calloc(1, sizeof(*b));
	if (!b)
		return error_set(err, -ENOMEM, "out of memory");
	if (mutex_init(&b->mu)) {
		free(b);
		return error_set(err, -ENOMEM, "cannot create a mutex");
	}
	b->o = opts;
	*out = b;
	return 0;
}

void backup_cancel(struct backup *b)
{
	mutex_lock(&b->mu);
	b->cancelled = true;
	if (b->job)
		dump_job_cancel(b->job);
	mutex_unlock(&b->mu);
}

void backup_free(struct backup *b)
{
	if (!b)
		return;
	mutex_destroy(&b->mu);
	free(b);
}

static bool is_cancelled(struct backup *b)
{
	bool c;

	mutex_lock(&b->mu);
	c = b->cancelled;
	mutex_unlock(&b->mu);
	return c;
}

static int cancelled_error(struct errbuf *err)
{
	return error_set(err, -ECANCELED, "backup cancelled (dumpfs is stopping)");
}

static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static bool name_taken(const char *dir, const char *name)
{
	char path[PATH_MAX], side[ARCHIVE_NAME_MAX];
	struct stat st;

	if (archive_sidecar_name(side, sizeof(side), name))
		return true;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (lstat(path, &st) == 0 || errno != ENOENT)
		return true;
	snprintf(path, sizeof(path), "%s/%s", dir, side);
	return lstat(path, &st) == 0 || errno != ENOENT;
}

/* A name for now that nothing uses; waits for the next second if taken. */
static int pick_name(struct backup *b, char name[ARCHIVE_NAME_MAX], struct errbuf *err)
{
	struct timespec now, pause;
	int rc;

	for (int i = 0; i < NAME_TRIES; i++) {
		if (is_cancelled(b))
			return cancelled_error(err);
		clock_gettime(CLOCK_REALTIME, &now);
		rc = archive_format_name(name, ARCHIVE_NAME_MAX, b->o->prefix, now.tv_sec, err);
		if (rc)
			return rc;
		if (!name_taken(b->o->dir, name))
			return 0;
		logger_log(b->o->log, LOGL_INFO, "backup_name_taken", "file=%s", name);
		pause.tv_sec = 0;
		pause.tv_nsec = 1000000000L - now.tv_nsec;
		while (nanosleep(&pause, &pause) < 0 && errno == EINTR)
			;
	}
	return error_set(err, -EEXIST, "'%s' already exists in '%s' (not overwriting it)", name,
			 b->o->dir);
}

/* outfile_commit() failed.  When that was after the file was linked into
 * place (removing the temporary or syncing the directory failed), the
 * file is under its name and would pass for complete: remove it.  Only
 * our own file (same inode as the temporary), never one that was there. */
static void unplace(struct backup *b, const char *path, const struct stat *tmp)
{
	struct stat st;

	if (lstat(path, &st) < 0 || st.st_dev != tmp->st_dev || st.st_ino != tmp->st_ino)
		return;
	if (unlink(path) < 0)
		logger_log(b->o->log, LOGL_ERROR, "backup_unlink_failed",
			   "file=\"%s\" error=\"%s\"", path, strerror(errno));
	else
		logger_log(b->o->log, LOGL_WARN, "backup_removed",
			   "file=\"%s\" reason=\"failed after it was put in place\"", path);
}

/* outfile_commit with no_replace; on failure nothing is left under
 * of->path (see unplace). */
static int commit(struct backup *b, struct outfile *of, struct errbuf *err)
{
	struct stat tmp;
	int rc;

	if (fstat(of->fd, &tmp) < 0)
		return error_set(err, -errno, "cannot stat the temporary of '%s': %s", of->path,
				 strerror(errno));
	rc = outfile_commit(of, 1, err);
	if (rc && rc != -EEXIST)
		unplace(b, of->path, &tmp);
	return rc;
}

/* dump -> sha256 stage -> fd sink -> outfile, committed without replace. */
static int dump_into(struct backup *b, struct outfile *of, struct sha256 *ctx,
		     struct dump_result *dres, struct errbuf *err)
{
	struct writer *fdw = NULL, *hash = NULL;
	struct dump_job *job = NULL;
	int rc;

	rc = fdsink_new(&fdw, of->fd, of->path, err);
	if (!rc)
		rc = sha256stage_new(&hash, fdw, ctx, err);
	if (!rc)
		rc = dump_job_new(&job, b->o->pipeline, err);
	if (!rc) {
		mutex_lock(&b->mu);
		if (b->cancelled)
			rc = cancelled_error(err);
		else
			b->job = job;
		mutex_unlock(&b->mu);
	}
	if (!rc)
		rc = dump_job_run(job, hash, dres, err);
	mutex_lock(&b->mu);
	b->job = NULL;
	if (rc && b->cancelled)
		rc = cancelled_error(err);
	mutex_unlock(&b->mu);
	if (!rc)
		rc = writer_close(hash, err);
	if (!rc)
		rc = writer_close(fdw, err);
	writer_free(hash);
	writer_free(fdw);
	dump_job_free(job);
	return rc;
}

/* A new archive file (backup or sidecar): readable by its group only. */
static int open_archive_file(struct backup *b, struct outfile *of, const char *path,
			     struct errbuf *err)
{
	int rc = outfile_open(of, path, FILE_MODE, err);

	if (rc || b->o->group == (gid_t)-1 || fchown(of->fd, (uid_t)-1, b->o->group) == 0)
		return rc;
	rc = -errno;
	outfile_release(of);
	return error_set(err, rc,
			 "cannot give '%s' to group %u: %s (check [fs] group: this user must "
			 "be a member of it)",
			 path, (unsigned)b->o->group, strerror(-rc));
}

static int write_backup(struct backup *b, const char *name, struct backup_result *res,
			struct errbuf *err)
{
	char path[PATH_MAX];
	struct dump_result dres;
	struct outfile of = {NULL, NULL, -1};
	struct sha256 ctx;
	int rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", b->o->dir, name) >= sizeof(path))
		return error_set(err, -ENAMETOOLONG, "archive path too long in '%s'", b->o->dir);
	rc = open_archive_file(b, &of, path, err);
	if (!rc)
		rc = archive_hold_temp(of.fd, err);
	if (!rc)
		rc = dump_into(b, &of, &ctx, &dres, err);
	if (!rc)
		rc = commit(b, &of, err);
	outfile_release(&of); /* removes the temporary unless committed */
	if (rc)
		return rc;
	res->size = ctx.nbytes;
	res->sql_bytes = dres.sql.sql_bytes;
	res->binlog = dres.sql.binlog;
	sha256_final_hex(&ctx, res->sha256);
	return 0;
}

static int write_sidecar(struct backup *b, const char *name, const char *hex, struct errbuf *err)
{
	char path[PATH_MAX], side[ARCHIVE_NAME_MAX];
	struct strbuf sb = STRBUF_INIT;
	struct outfile of = {NULL, NULL, -1};
	int rc;

	if (archive_sidecar_name(side, sizeof(side), name) ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s", b->o->dir, side) >= sizeof(path))
		return error_set(err, -ENAMETOOLONG, "sidecar path too long in '%s'", b->o->dir);
	archive_sidecar_format(&sb, hex, name);
	rc = strbuf_error(&sb) ? error_set(err, -ENOMEM, "out of memory") : 0;
	if (!rc)
		rc = open_archive_file(b, &of, path, err);
	if (!rc && (rc = fd_write_all(of.fd, sb.buf, sb.len)) < 0)
		rc = error_set(err, rc, "cannot write '%s': %s", path, strerror(-rc));
	if (!rc)
		rc = commit(b, &of, err);
	outfile_release(&of);
	strbuf_release(&sb);
	return rc;
}

/* Under the lock no backup is between its file and its sidecar: any
 * backup without one is worth a warning. */
static void report_missing_sidecars(struct backup *b)
{
	struct archive_list l = ARCHIVE_LIST_INIT;
	struct errbuf e2;

	if (archive_scan(&l, b->o->dir, b->o->prefix, &e2) == 0)
		archive_report_missing_sidecars(&l, b->o->dir, b->o->log);
	archive_list_release(&l);
}

/* The snapshot's binlog position in plaintext beside the backup: where
 * `dumpfs binlog` starts without a position of its own, and what segment
 * retention keeps from.  Its failure is logged, not fatal: the backup is
 * whole, segments are then kept longer. */
static void write_position(struct backup *b, const struct backup_result *res)
{
	char name[ARCHIVE_NAME_MAX + 32], path[PATH_MAX];
	struct errbuf e2;

	if (!res->binlog.file[0])
		return;
	if (backup_position_name(name, sizeof(name), res->file) ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s", b->o->dir, name) >= sizeof(path)) {
		logger_log(b->o->log, LOGL_WARN, "backup_position_failed",
			   "file=%s error=\"path too long\"", res->file);
		return;
	}
	if (binlog_position_store(path, &res->binlog, 0440, b->o->group, &e2))
		logger_log(b->o->log, LOGL_WARN, "backup_position_failed", "file=%s error=\"%s\"",
			   res->file, e2.msg);
}

/* Steps 3-6 of backup.h, under the lock. */
static int produce(struct backup *b, struct backup_result *res, struct errbuf *err)
{
	char path[PATH_MAX];
	struct errbuf e2;
	unsigned removed;
	int rc;

	if (archive_clean_temps(b->o->dir, b->o->prefix, true, time(NULL), b->o->log, &removed,
				&e2))
		logger_log(b->o->log, LOGL_WARN, "cleanup_failed", "error=\"%s\"", e2.msg);
	report_missing_sidecars(b);
	rc = pick_name(b, res->file, err);
	if (!rc)
		rc = write_backup(b, res->file, res, err);
	if (rc)
		return rc;
	rc = write_sidecar(b, res->file, res->sha256, err);
	if (rc) {
		/* A backup without its sidecar would look verified by nothing. */
		snprintf(path, sizeof(path), "%s/%s", b->o->dir, res->file);
		if (unlink(path) < 0)
			logger_log(b->o->log, LOGL_ERROR, "backup_unlink_failed",
				   "file=%s error=\"%s\"", res->file, strerror(errno));
		error_prefix(err, rc, "backup '%s' removed", res->file);
		return rc;
	}
	write_position(b, res);
	return 0;
}

/* Step 7: the run succeeded; what follows never makes it fail. */
static void after_success(struct backup *b, struct backup_result *res)
{
	struct archive_prune_opts po = {
		.dir = b->o->dir,
		.prefix = b->o->prefix,
		.rules = b->o->retention,
		.new_name = res->file,
		.log = b->o->log,
	};
	struct archive_prune_result pr;
	struct errbuf e2;
	unsigned removed;

	if (state_record_success(b->o->dir, time(NULL), res->file, res->size, res->seconds, &e2))
		logger_log(b->o->log, LOGL_ERROR, "state_error", "error=\"%s\"", e2.msg);
	po.now = time(NULL);
	if (archive_prune(&po, &pr, &e2))
		logger_log(b->o->log, LOGL_ERROR, "prune_failed", "error=\"%s\"", e2.msg);
	res->pruned = pr.deleted;
	if (pr.skipped)
		snprintf(res->retention_skipped, sizeof(res->retention_skipped), "%s", pr.reason);
	if (archive_clean_temps(b->o->dir, b->o->prefix, true, time(NULL), b->o->log, &removed,
				&e2))
		logger_log(b->o->log, LOGL_WARN, "cleanup_failed", "error=\"%s\"", e2.msg);
}

static void after_failure(struct backup *b, const struct errbuf *err)
{
	struct errbuf e2;

	logger_log(b->o->log, LOGL_ERROR, "backup_failed", "dir=\"%s\" error=\"%s\"", b->o->dir,
		   err->msg);
	if (state_record_failure(b->o->dir, time(NULL), err->msg, &e2))
		logger_log(b->o->log, LOGL_ERROR, "state_error", "error=\"%s\"", e2.msg);
}

int backup_run(struct backup *b, struct backup_result *res, struct errbuf *err)
{
	struct runlock lk = RUNLOCK_INIT;
	struct backup_result local;
	struct timespec t0;
	int rc;

	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	if (b->ran)
		return error_set(err, -EINVAL, "a backup object runs only once");
	b->ran = true;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = runlock_acquire(&lk, b->o->dir, NULL, err);
	if (rc == -EBUSY)
		return rc; /* the running one records its own result */
	if (rc)
		return error_prefix(err, rc,
				    "cannot use archive directory '%s' (check [archive] dir)",
				    b->o->dir);
	logger_log(b->o->log, LOGL_INFO, "backup_start", "dir=\"%s\"", b->o->dir);
	rc = state_begin_run(b->o->dir, time(NULL), getpid(), err);
	if (!rc)
		rc = produce(b, res, err);
	res->seconds = since(&t0);
	if (rc) {
		after_failure(b, err);
	} else {
		after_success(b, res);
		logger_log(b->o->log, LOGL_INFO, "backup_done",
			   "file=%s size=%llu sql_bytes=%llu seconds=%.1f sha256=%s pruned=%u",
			   res->file, (unsigned long long)res->size,
			   (unsigned long long)res->sql_bytes, res->seconds, res->sha256,
			   res->pruned);
	}
	runlock_release(&lk);
	return rc;
}
