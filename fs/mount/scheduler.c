#include "scheduler.h"
#include "../../dumper/thread.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Sleeps are cut into slices this long, so a change of the wall clock
 * (NTP step, suspend) is noticed soon. */
#define SLICE_SECONDS 30

struct scheduler {
	struct scheduler_opts o;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* cancel */
	bool cancelled;
	time_t next;		/* (time_t)-1: none */
	struct backup *running; /* the run in progress, for cancel */
};

static void run_backup(struct scheduler *s)
{
	struct backup_result res;
	struct backup *b = NULL;
	struct errbuf err;
	int rc;

	errbuf_clear(&err);
	memset(&res, 0, sizeof(res));
	rc = backup_new(&b, s->o.backup, &err);
	if (!rc) {
		mutex_lock(&s->lock);
		s->running = b;
		if (s->cancelled)
			backup_cancel(b);
		mutex_unlock(&s->lock);
		rc = backup_run(b, &res, &err);
		mutex_lock(&s->lock);
		s->running = NULL;
		mutex_unlock(&s->lock);
		backup_free(b);
	}
	if (rc == -EBUSY)
		logger_log(s->o.log, LOGL_WARN, "scheduled_backup_skipped", "error=\"%s\"",
			   err.msg);
	else if (rc && rc != -ECANCELED)
		logger_log(s->o.log, LOGL_ERROR, "scheduled_backup_failed", "error=\"%s\"",
			   err.msg);
	if (s->o.on_run)
		s->o.on_run(s->o.hook_arg, rc, &res, &err);
}

/* Waits, with the lock held, until `when` or cancel.  True when due. */
static bool sleep_until(struct scheduler *s, time_t when)
{
	for (;;) {
		time_t now = time(NULL);
		struct timespec ts = {0, 0};

		if (s->cancelled)
			return false;
		if (now >= when)
			return true;
		ts.tv_sec = when - now > SLICE_SECONDS ? now + SLICE_SECONDS : when;
		cond_timedwait(&s->wake, &s->lock, &ts);
	}
}

static void *scheduler_main(void *arg)
{
	struct scheduler *s = arg;

	pthread_setname_np(pthread_self(), "dumpfs-sched");
	mutex_lock(&s->lock);
	while (!s->cancelled) {
		time_t next = schedule_next(s->o.schedule, time(NULL));

		s->next = next;
		if (next == (time_t)-1) {
			while (!s->cancelled)
				cond_wait(&s->wake, &s->lock);
			break;
		}
		if (!sleep_until(s, next))
			break;
		/* While it runs, status shows the run after it. */
		s->next = schedule_next(s->o.schedule, next);
		mutex_unlock(&s->lock);
		logger_log(s->o.log, LOGL_INFO, "scheduled_backup", "due=%lld", (long long)next);
		run_backup(s);
		mutex_lock(&s->lock);
	}
	s->next = (time_t)-1;
	mutex_unlock(&s->lock);
	return NULL;
}

int scheduler_start(struct scheduler **out, const struct scheduler_opts *o, struct errbuf *err)
{
	struct scheduler *s = calloc(1, sizeof(*s));
	int e;

	*out = NULL;
	if (!s)
		return error_set(err, -ENOMEM, "out of memory");
	s->o = *o;
	s->next = schedule_next(o->schedule, time(NULL));
	e = mutex_init(&s->lock);
	if (e) {
		free(s);
		return error_set(err, e, "cannot create the schedule's mutex: %s", strerror(-e));
	}
	e = cond_init(&s->wake, false); /* CLOCK_REALTIME: wall times */
	if (e) {
		mutex_destroy(&s->lock);
		free(s);
		return error_set(err, e, "cannot create the schedule's condition: %s",
				 strerror(-e));
	}
	e = thread_start_nosig(&s->thread, scheduler_main, s);
	if (e) {
		cond_destroy(&s->wake);
		mutex_destroy(&s->lock);
		free(s);
		return error_set(err, e, "cannot start the schedule thread: %s", strerror(-e));
	}
	*out = s;
	return 0;
}

time_t scheduler_next_run(struct scheduler *s)
{
	time_t next;

	mutex_lock(&s->lock);
	next = s->next;
	mutex_unlock(&s->lock);
	return next;
}

void scheduler_cancel(struct scheduler *s)
{
	mutex_lock(&s->lock);
	s->cancelled = true;
	if (s->running)
		backup_cancel(s->running);
	cond_broadcast(&s->wake);
	mutex_unlock(&s->lock);
}

void scheduler_stop(struct scheduler *s)
{
	if (!s)
		return;
	scheduler_cancel(s);
	thread_join(s->thread);
	cond_destroy(&s->wake);
	mutex_destroy(&s->lock);
	free(s);
}
