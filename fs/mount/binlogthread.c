/* The mount's binlog streamer thread.  See binlogthread.h. */
#include "binlogthread.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "../../dumper/binlog.h"
#include "../../dumper/notify.h"
#include "../../dumper/thread.h"
#include "../config/jobopts.h"

/* Seconds between attempts to start while another streamer holds the
 * directory or it cannot be set up. */
#define START_RETRY 10

struct binlog_thread {
	char dir[4096];
	struct binlog_stream_opts o; /* borrows dir and fs's config, key, logger */
	struct dumpfs *fs;	     /* borrowed */
	pthread_t tid;
	pthread_mutex_t lock;
	bool stopping;		      /* under lock */
	struct binlog_stream *stream; /* under lock; owned, NULL until started */
};

static bool stopping(struct binlog_thread *t)
{
	bool stop;

	mutex_lock(&t->lock);
	stop = t->stopping;
	mutex_unlock(&t->lock);
	return stop;
}

/* The stream, once the directory is ours; NULL when stopping first.  A
 * directory another streamer holds, or one that cannot be set up, is
 * tried again every START_RETRY seconds (logged once, and alerted once
 * when it is not another streamer). */
static struct binlog_stream *start_stream(struct binlog_thread *t)
{
	struct binlog_stream *s = NULL;
	bool alerted = false; /* a set-up failure: its end is alerted too */
	int last = 0, rc;
	struct errbuf err;

	while (!stopping(t)) {
		errbuf_clear(&err);
		rc = jobopts_binlog_dir(t->dir, sizeof(t->dir), t->fs->cfg, true, &err);
		if (!rc)
			rc = binlog_stream_new(&s, &t->o, &err);
		if (!rc) {
			if (last)
				logger_log(t->fs->lg, LOGL_INFO, "binlog_streaming",
					   "msg=\"the mount streams the binlog now\"");
			if (alerted)
				notifier_binlog(t->fs->notifier, false, NULL);
			mutex_lock(&t->lock);
			if (t->stopping) {
				binlog_stream_free(s);
				s = NULL;
			}
			t->stream = s;
			mutex_unlock(&t->lock);
			return s;
		}
		if (rc != last && rc == -EBUSY)
			logger_log(t->fs->lg, LOGL_WARN, "binlog_streamed_elsewhere",
				   "msg=\"%s: the mount reports its status and takes over when it "
				   "stops\"",
				   err.msg);
		else if (rc != last) {
			logger_log(t->fs->lg, LOGL_ERROR, "binlog_failed", "error=\"%s\"", err.msg);
			if (!alerted)
				notifier_binlog(t->fs->notifier, true, err.msg);
			alerted = true;
		}
		last = rc;
		for (int i = 0; i < 10 * START_RETRY && !stopping(t); i++)
			nanosleep(&(struct timespec){0, 100000000}, NULL);
	}
	return NULL;
}

static void *run(void *arg)
{
	struct binlog_thread *t = arg;
	struct binlog_stream *s = start_stream(t);
	struct errbuf err;

	errbuf_clear(&err);
	/* 0: cancelled.  Else retrying cannot help; the status file and
	 * the alert already say why, the mount goes on without it. */
	if (s && binlog_stream_run(s, &err))
		logger_log(t->fs->lg, LOGL_ERROR, "binlog_failed", "error=\"%s\"", err.msg);
	return NULL;
}

int binlog_thread_start(struct binlog_thread **out, struct dumpfs *fs, struct errbuf *err)
{
	struct binlog_thread *t = calloc(1, sizeof(*t));
	int rc;

	*out = NULL;
	if (!t)
		return error_set(err, -ENOMEM, "out of memory");
	t->fs = fs;
	jobopts_binlog(&t->o, fs->cfg, t->dir, fs->key, fs->lg);
	t->o.alert = notifier_binlog_hook;
	t->o.alert_arg = fs->notifier;
	if ((rc = mutex_init(&t->lock))) {
		free(t);
		return error_set(err, rc, "cannot start the binlog thread");
	}
	if ((rc = thread_start_nosig(&t->tid, run, t))) {
		mutex_destroy(&t->lock);
		free(t);
		return error_set(err, rc, "cannot start the binlog thread");
	}
	*out = t;
	return 0;
}

void binlog_thread_cancel(struct binlog_thread *t)
{
	if (!t)
		return;
	mutex_lock(&t->lock);
	t->stopping = true;
	if (t->stream)
		binlog_stream_cancel(t->stream);
	mutex_unlock(&t->lock);
}

void binlog_thread_stop(struct binlog_thread *t)
{
	if (!t)
		return;
	binlog_thread_cancel(t);
	thread_join(t->tid);
	binlog_stream_free(t->stream);
	mutex_destroy(&t->lock);
	free(t);
}
