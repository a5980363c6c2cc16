#include "snapshot.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../dumper/state.h"
#include "snapbuf.h"
#include "spool.h"
#include "../../dumper/thread.h"

struct snapshot {
	struct dumpfs *fs;
	struct snapshot *next, **pprev; /* on fs->live, under fs->lock */
	struct dump_job *job;
	/* What it dumps: the mount's options, limited to `database` when
	 * that is not empty (dbv is then the job's database list). */
	struct pipeline_opts opts;
	char database[NAME_MAX + 1];
	const char *dbv[2];
	unsigned id; /* for log lines */
	pid_t owner; /* the process that opened it */
	bool spooled;
	bool spool_ready; /* under fs->lock */
	/* Stream mode. */
	struct snapbuf *buf;
	pthread_t worker;
	bool worker_started;
	/* Spool mode. */
	struct spool spool;
	/* The worker is done (under fs->lock): the opener waits on spool_cv
	 * (CLOCK_MONOTONIC) then joins it with pthread_join, which unlike
	 * pthread_clockjoin_np ThreadSanitizer understands. */
	bool spool_done, spool_cv_ok;
	pthread_cond_t spool_cv;
	/* Set by snapshot_close() or the shutdown before they stop the dump,
	 * so its failure is known to be theirs. */
	atomic_bool stopped;
	bool interrupted; /* spool: the opener gave up (killed) */
	/* The outcome, written by whoever ran the dump. */
	int rc;
	struct dump_result res;
	struct errbuf err;
};

static void stop(struct snapshot *s);

static bool is_stopped(struct snapshot *s)
{
	return atomic_load(&s->stopped);
}

/* A failure of the dump itself: tell the logs, the state file (so
 * status/last_error shows it) and the alerts hook. */
static void record_failure(struct snapshot *s)
{
	struct dumpfs *fs = s->fs;
	struct errbuf err;

	if (s->database[0]) /* say which file failed: status/ and alerts show it */
		error_prefix(&s->err, s->rc, "snapshot of database '%s'", s->database);
	logger_log(fs->lg, LOGL_ERROR, "snapshot_failed", "id=%u bytes=%llu error=\"%s\"", s->id,
		   (unsigned long long)s->res.out_bytes, s->err.msg);
	errbuf_clear(&err);
	if (state_record_error(fs->cfg->archive.dir, time(NULL), s->err.msg, &err))
		logger_log(fs->lg, LOGL_ERROR, "state_error",
			   "error=\"cannot record the snapshot failure: %s\"", err.msg);
	if (fs->on_snapshot_failure)
		fs->on_snapshot_failure(fs, s->err.msg);
}

static bool unmounting(struct dumpfs *fs)
{
	bool stopping;

	mutex_lock(&fs->lock);
	stopping = fs->stopping;
	mutex_unlock(&fs->lock);
	return stopping;
}

/* Runs the dump into `sink` and reports how it went. */
static int run_dump(struct snapshot *s, struct writer *sink)
{
	errbuf_clear(&s->err);
	s->rc = dump_job_run(s->job, sink, &s->res, &s->err);
	if (!s->rc)
		logger_log(s->fs->lg, LOGL_INFO, "snapshot_done", "id=%u bytes=%llu seconds=%.1f",
			   s->id, (unsigned long long)s->res.out_bytes, s->res.seconds);
	else if (is_stopped(s))
		logger_log(s->fs->lg, LOGL_INFO, "snapshot_aborted",
			   "id=%u bytes=%llu reason=\"%s\"", s->id,
			   (unsigned long long)s->res.out_bytes,
			   unmounting(s->fs) ? "unmount"
			   : s->interrupted  ? "opener interrupted"
					     : "reader closed");
	else
		record_failure(s);
	return s->rc;
}

static void *stream_worker(void *arg)
{
	struct snapshot *s = arg;
	int rc;

	/* Named for ps and the tests; the dump's own threads inherit it. */
	pthread_setname_np(pthread_self(), SNAPSHOT_THREAD_NAME);
	rc = run_dump(s, snapbuf_writer(s->buf));

	/* Only now may the reader see the end: EOF or EIO, after the
	 * failure was recorded. */
	snapbuf_finish(s->buf, rc);
	return NULL;
}

static void *spool_worker(void *arg)
{
	struct snapshot *s = arg;

	pthread_setname_np(pthread_self(), SNAPSHOT_THREAD_NAME);
	run_dump(s, s->spool.sink);
	mutex_lock(&s->fs->lock);
	s->spool_done = true;
	cond_signal(&s->spool_cv);
	mutex_unlock(&s->fs->lock);
	return NULL;
}

static int start_worker(struct snapshot *s, void *(*fn)(void *), struct errbuf *err)
{
	int e = thread_start_nosig(&s->worker, fn, s);

	if (e)
		return error_set(err, e, "cannot start a snapshot thread: %s", strerror(-e));
	s->worker_started = true;
	return 0;
}

/* Takes a reader slot and puts s on the live list. */
static int enlist(struct snapshot *s, struct errbuf *err)
{
	struct dumpfs *fs = s->fs;
	int ret = 0;

	mutex_lock(&fs->lock);
	if (fs->stopping) {
		ret = error_set(err, -ESHUTDOWN, "unmounting");
	} else if (fs->readers >= fs->cfg->fs.max_snapshot_readers) {
		ret = error_set(err, -EBUSY,
				"%u snapshot readers already ([fs] "
				"max_snapshot_readers)",
				fs->readers);
	} else {
		fs->readers++;
		s->id = ++fs->snapshots_started;
		s->next = fs->live;
		if (s->next)
			s->next->pprev = &s->next;
		s->pprev = &fs->live;
		fs->live = s;
	}
	mutex_unlock(&fs->lock);
	return ret;
}

static void delist(struct snapshot *s)
{
	struct dumpfs *fs = s->fs;

	mutex_lock(&fs->lock);
	if (s->pprev) {
		*s->pprev = s->next;
		if (s->next)
			s->next->pprev = s->pprev;
		s->pprev = NULL;
		fs->readers--;
	}
	mutex_unlock(&fs->lock);
}

static void destroy(struct snapshot *s)
{
	delist(s);
	if (s->spooled)
		spool_release(&s->spool);
	if (s->spool_cv_ok)
		cond_destroy(&s->spool_cv);
	snapbuf_free(s->buf);
	dump_job_free(s->job);
	free(s);
}

static int open_stream(struct snapshot *s, bool (*interrupted)(void), struct errbuf *err)
{
	int ret = snapbuf_new(&s->buf, SNAPBUF_DEFAULT_SIZE, SNAPBUF_ORDER_WAIT_MS, err);

	if (ret)
		return ret;
	snapbuf_set_gave_up(s->buf, interrupted);
	return start_worker(s, stream_worker, err);
}

/* How often a spooling open() looks whether its caller gave up. */
#define INTERRUPT_POLL_NS (100 * 1000 * 1000L)

/* Waits for the spool's worker; stops the dump when the opener gave up
 * (killed: the kernel sent an interrupt for its open()), so a dead
 * process does not keep a dump, a server query and a spool file going. */
static void wait_spool(struct snapshot *s, bool (*interrupted)(void))
{
	struct timespec ts;

	mutex_lock(&s->fs->lock);
	while (!s->spool_done) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += INTERRUPT_POLL_NS;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		cond_timedwait(&s->spool_cv, &s->fs->lock, &ts);
		/* stop() may run under fs->lock (snapshot_abort_all). */
		if (!s->spool_done && !s->interrupted && interrupted && interrupted()) {
			s->interrupted = true;
			stop(s);
		}
	}
	mutex_unlock(&s->fs->lock);
	thread_join(s->worker);
	s->worker_started = false;
}

static int spool_cv_init(struct snapshot *s, struct errbuf *err)
{
	int e = cond_init(&s->spool_cv, true);

	if (e)
		return error_set(err, e, "cannot start a snapshot: %s", strerror(-e));
	s->spool_cv_ok = true;
	return 0;
}

/* Runs the whole dump before open() returns, in a worker the caller
 * waits for.  A shutdown reaches it through fs->live. */
static int open_spool(struct snapshot *s, bool (*interrupted)(void), struct errbuf *err)
{
	int ret;

	s->spooled = true;
	ret = spool_create(&s->spool, s->fs->cfg->archive.dir, err);
	if (!ret)
		ret = spool_cv_init(s, err);
	if (!ret)
		ret = start_worker(s, spool_worker, err);
	if (ret)
		return ret;
	wait_spool(s, interrupted);
	ret = s->rc;
	if (ret) {
		/* The reader sees EIO, as a stream reader would: the dump's
		 * own code (ECONNREFUSED for a refused login, ...) would read
		 * as a problem of the mount.  run_dump() logged the message
		 * and recorded it in status/last_error: err stays empty. */
		errbuf_clear(err);
		if (s->interrupted)
			return -EINTR;
		return ret == -ECANCELED ? -ESHUTDOWN : -EIO;
	}
	ret = spool_complete(&s->spool, err);
	if (!ret) {
		mutex_lock(&s->fs->lock);
		s->spool_ready = true;
		mutex_unlock(&s->fs->lock);
	}
	return ret;
}

/* The dump's options: the mount's, limited to one database if asked. */
static int set_database(struct snapshot *s, const char *database, struct errbuf *err)
{
	s->opts = s->fs->dump;
	if (!database || !*database)
		return 0;
	if ((size_t)snprintf(s->database, sizeof(s->database), "%s", database) >=
	    sizeof(s->database))
		return error_set(err, -ENAMETOOLONG, "database name too long");
	s->dbv[0] = s->database;
	s->dbv[1] = NULL;
	s->opts.sql.databases = s->dbv;
	return 0;
}

int snapshot_open(struct snapshot **out, struct dumpfs *fs, const char *database, pid_t owner,
		  bool (*interrupted)(void), struct errbuf *err)
{
	struct snapshot *s = calloc(1, sizeof(*s));
	int ret;

	*out = NULL;
	if (!s)
		return error_set(err, -ENOMEM, "out of memory");
	s->fs = fs;
	s->owner = owner;
	atomic_init(&s->stopped, false);
	ret = set_database(s, database, err);
	if (!ret)
		ret = dump_job_new(&s->job, &s->opts, err);
	if (ret) {
		free(s);
		return ret;
	}
	ret = enlist(s, err);
	if (ret) {
		dump_job_free(s->job);
		free(s);
		return ret;
	}
	logger_log(fs->lg, LOGL_INFO, "snapshot_open", "id=%u mode=%s database=\"%s\"", s->id,
		   fs->cfg->fs.snapshot_mode == SNAPSHOT_SPOOL ? "spool" : "stream",
		   s->database[0] ? s->database : "(all)");
	if (fs->cfg->fs.snapshot_mode == SNAPSHOT_SPOOL)
		ret = open_spool(s, interrupted, err);
	else
		ret = open_stream(s, interrupted, err);
	if (ret) {
		destroy(s);
		return ret;
	}
	*out = s;
	return 0;
}

ssize_t snapshot_read(struct snapshot *s, void *buf, size_t size, off_t off)
{
	ssize_t n;

	if (s->spooled)
		return spool_read(&s->spool, buf, size, off);
	n = snapbuf_read_at(s->buf, buf, size, off);
	if (n == -EIO)
		logger_log(s->fs->lg, LOGL_DEBUG, "snapshot_read_failed",
			   "id=%u offset=%lld position=%llu", s->id, (long long)off,
			   (unsigned long long)snapbuf_position(s->buf));
	return n == -ECANCELED ? -EIO : n;
}

uint64_t snapshot_size(const struct snapshot *s)
{
	return s->spooled ? s->spool.size : 0;
}

bool snapshot_spool_size(struct dumpfs *fs, pid_t owner, const char *database, uint64_t *size)
{
	bool found = false;

	if (!database)
		database = "";
	mutex_lock(&fs->lock);
	/* The list is newest first. */
	for (struct snapshot *s = fs->live; s && !found; s = s->next) {
		if (s->spool_ready && s->owner == owner && !strcmp(s->database, database)) {
			*size = s->spool.size;
			found = true;
		}
	}
	mutex_unlock(&fs->lock);
	return found;
}

/* Stops the dump without waiting; callers make sure s stays valid. */
static void stop(struct snapshot *s)
{
	atomic_store(&s->stopped, true);
	if (s->buf)
		snapbuf_abort(s->buf);
	dump_job_cancel(s->job);
}

void snapshot_close(struct snapshot *s)
{
	if (!s)
		return;
	/* Off the list first: the shutdown no longer touches it. */
	delist(s);
	if (s->worker_started) {
		stop(s);
		thread_join(s->worker);
	}
	logger_log(s->fs->lg, LOGL_DEBUG, "snapshot_closed", "id=%u", s->id);
	destroy(s);
}

void snapshot_abort_all(struct dumpfs *fs)
{
	mutex_lock(&fs->lock);
	fs->stopping = true;
	for (struct snapshot *s = fs->live; s; s = s->next)
		stop(s);
	mutex_unlock(&fs->lock);
}

void snapshot_close_all(struct dumpfs *fs)
{
	struct snapshot *s;

	snapshot_abort_all(fs);
	for (;;) {
		mutex_lock(&fs->lock);
		s = fs->live;
		mutex_unlock(&fs->lock);
		if (!s)
			break;
		snapshot_close(s);
	}
}
