/* The mount's schedule thread: next run time, prompt stop.  (Runs that
 * actually back up are covered by the integration tests.) */
#include <time.h>

#include "../../fs/mount/scheduler.h"
#include "unit.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct scheduler *start(const struct schedule *sched)
{
	static const struct backup_opts bo = {.dir = "/nonexistent",
					      .prefix = "mariadb",
					      .retention = {.min_keep = 1},
					      .group = (gid_t)-1};
	struct scheduler_opts o = {sched, &bo, NULL, NULL, NULL};
	struct scheduler *s = NULL;
	struct errbuf err;

	CHECK(scheduler_start(&s, &o, &err) == 0);
	return s;
}

TEST(scheduler_reports_the_next_run_and_stops_at_once)
{
	struct schedule sched;
	struct errbuf err;
	struct scheduler *s;
	time_t before = time(NULL), next;
	double t0;

	CHECK(schedule_parse(&sched, "02:00,14:00", &err) == 0);
	s = start(&sched);
	next = scheduler_next_run(s);
	CHECK(next == schedule_next(&sched, before) || next == schedule_next(&sched, time(NULL)));
	CHECK(next > before);
	t0 = now_s();
	scheduler_stop(s);
	CHECK(now_s() - t0 < 1.0);
}

TEST(scheduler_cancel_is_idempotent_and_clears_next_run)
{
	struct schedule sched;
	struct errbuf err;
	struct scheduler *s;

	CHECK(schedule_parse(&sched, "every 6h", &err) == 0);
	s = start(&sched);
	scheduler_cancel(s);
	scheduler_cancel(s);
	/* The thread ends soon and then reports no next run. */
	for (int i = 0; i < 100 && scheduler_next_run(s) != (time_t)-1; i++) {
		struct timespec ts = {0, 10000000};

		nanosleep(&ts, NULL);
	}
	CHECK(scheduler_next_run(s) == (time_t)-1);
	scheduler_stop(s);
	scheduler_stop(NULL);
}
