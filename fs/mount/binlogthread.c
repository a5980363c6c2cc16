/* The mount's binlog streamer thread.  See binlogthread.h. */
#include "binlogthread.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "../../dumper/binlog.h"
#include "../../dumper/notify.h"
#include "../../dumper/thread.h"
#include "../config/jobopts.h"

struct binlog_thread {
	char dir[4096];
	struct binlog_stream_opts o; /* borrows dir */
	struct binlog_stream *stream;
	struct logger *lg;
	pthread_t tid;
};

static void *run(void *arg)
{
	struct binlog_thread *t = arg;
	struct errbuf err;

	errbuf_clear(&err);
	/* 0: cancelled.  Else retrying cannot help; the status file and
	 * the alert already say why, the mount goes on without it. */
	if (binlog_stream_run(t->stream, &err))
		logger_log(t->lg, LOGL_ERROR, "binlog_failed", "error=\"%s\"", err.msg);
	return NULL;
}

int binlog_thread_start(struct binlog_thread **out, struct dumpfs *fs, struct errbuf *err)
{
	struct binlog_thread *t = calloc(1, sizeof(*t));
	int rc;

	*out = NULL;
	if (!t)
		return error_set(err, -ENOMEM, "out of memory");
	t->lg = fs->lg;
	rc = jobopts_binlog_dir(t->dir, sizeof(t->dir), fs->cfg, true, err);
	if (!rc) {
		jobopts_binlog(&t->o, fs->cfg, t->dir, fs->key, fs->lg);
		t->o.alert = notifier_binlog_hook;
		t->o.alert_arg = fs->notifier;
		rc = binlog_stream_new(&t->stream, &t->o, err);
	}
	if (!rc && (rc = thread_start_nosig(&t->tid, run, t)))
		rc = error_set(err, rc, "cannot start the binlog thread");
	if (rc) {
		binlog_stream_free(t->stream);
		free(t);
		return rc;
	}
	*out = t;
	return 0;
}

void binlog_thread_stop(struct binlog_thread *t)
{
	if (!t)
		return;
	binlog_stream_cancel(t->stream);
	thread_join(t->tid);
	binlog_stream_free(t->stream);
	free(t);
}
