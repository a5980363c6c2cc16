/* The retention decision (dumper/retention.h) over synthetic archives.
 * Every expectation below was worked out by hand from the calendar (the
 * weekday of each date is in the comments), never by re-running the
 * algorithm. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../dumper/archive.h"
#include "../../dumper/retention.h"
#include "unit.h"

/* One backup: its name's local time "YYYY-MM-DD_HHMMSS" and the rules
 * expected to keep it ("" = deleted). */
struct case_item {
	const char *stamp;
	const char *want;
};

/* Sets TZ for one test and puts the previous value back afterwards. */
struct tz_save {
	char *old; /* NULL: TZ was unset */
};

static void tz_push(struct tz_save *s, const char *tz)
{
	const char *old = getenv("TZ");

	s->old = old ? strdup(old) : NULL;
	setenv("TZ", tz, 1);
	tzset();
}

static void tz_pop(struct tz_save *s)
{
	if (s->old)
		setenv("TZ", s->old, 1);
	else
		unsetenv("TZ");
	tzset();
	free(s->old);
}

/* The time of the backup named for `stamp`, through the real name parser. */
static time_t name_time(const char *stamp)
{
	char name[ARCHIVE_NAME_MAX];
	time_t t = (time_t)-1;

	snprintf(name, sizeof(name), "mariadb_%s.sql.gz.gpg", stamp);
	if (!archive_parse_name(name, "mariadb", &t)) {
		fprintf(stderr, "  bad test name %s\n", name);
		CHECK(!"test name parses");
	}
	return t;
}

/* Runs the decision over items (in the order given) and checks each. */
static void run_case(const struct retention_rules *r, const struct case_item *items, size_t n)
{
	time_t *when = calloc(n, sizeof(*when));
	unsigned *keep = calloc(n, sizeof(*keep));
	struct errbuf err;
	char got[128];

	CHECK(when && keep);
	if (!when || !keep) {
		free(when);
		free(keep);
		return;
	}
	for (size_t i = 0; i < n; i++)
		when[i] = name_time(items[i].stamp);
	CHECK(retention_decide(r, when, n, keep, &err) == 0);
	for (size_t i = 0; i < n; i++) {
		retention_format(keep[i], got, sizeof(got));
		if (strcmp(got, items[i].want))
			fprintf(stderr, "  %s: got \"%s\", want \"%s\"\n", items[i].stamp, got,
				items[i].want);
		CHECK_STREQ(got, items[i].want);
	}
	free(when);
	free(keep);
}

#define RUN(rules, items) run_case(&(rules), items, sizeof(items) / sizeof(items[0]))

TEST(retention_format_names_every_rule)
{
	char buf[128];

	retention_format(0, buf, sizeof(buf));
	CHECK_STREQ(buf, "");
	retention_format(RETAIN_DAYS | RETAIN_DAILY | RETAIN_WEEKLY | RETAIN_MONTHLY |
				 RETAIN_YEARLY | RETAIN_MIN_KEEP,
			 buf, sizeof(buf));
	CHECK_STREQ(buf, "days,daily,weekly,monthly,yearly,min_keep");
	retention_format(RETAIN_WEEKLY | RETAIN_MIN_KEEP, buf, sizeof(buf));
	CHECK_STREQ(buf, "weekly,min_keep");
	retention_format(RETAIN_DAYS | RETAIN_DAILY, buf, 7); /* "days," would not fit */
	CHECK_STREQ(buf, "days");
	CHECK(retention_rule_name(RETENTION_NRULES) == NULL);
}

/* ISO weeks run Monday to Sunday across the year boundary: 2020 has 53
 * weeks, and W53 is Mon 2020-12-28 .. Sun 2021-01-03. */
TEST(retention_iso_weeks_across_new_year)
{
	struct tz_save tz;
	const struct retention_rules r = {.weekly = 5, .monthly = 2, .yearly = 2};
	const struct case_item items[] = {
		{"2020-12-27_020000", "weekly"},		/* Sun, 2020-W52 */
		{"2020-12-28_020000", ""},			/* Mon, 2020-W53 */
		{"2020-12-31_230000", "yearly"},		/* Thu, W53; newest of 2020 */
		{"2021-01-03_020000", "weekly"},		/* Sun, still 2020-W53 */
		{"2021-01-04_020000", "weekly"},		/* Mon, 2021-W01 */
		{"2021-01-31_020000", "weekly,monthly"},	/* Sun, W04; newest of Jan */
		{"2021-02-01_020000", "weekly,monthly,yearly"}, /* Mon, W05 */
	};

	tz_push(&tz, "UTC");
	RUN(r, items);
	tz_pop(&tz);
}

/* Three years with month ends (a leap day), several backups a day, a
 * gap of more than a year and one of three weeks. */
TEST(retention_three_years_daily_monthly_yearly)
{
	struct tz_save tz;
	const struct retention_rules r = {.daily = 4, .monthly = 4, .yearly = 3, .min_keep = 2};
	const struct case_item items[] = {
		{"2019-03-15_020000", ""},
		{"2019-12-31_020000", "yearly"}, /* newest of 2019 */
		{"2020-01-01_020000", ""},
		{"2020-02-29_140000", "monthly"}, /* newest of Feb 2020, given first */
		{"2020-02-29_020000", ""},
		{"2020-03-01_020000", "monthly,yearly"}, /* newest of 2020 */
		{"2021-06-30_020000", "monthly"},
		{"2021-07-01_020000", ""},
		{"2021-07-01_140000", ""},
		{"2021-07-01_200000", "daily"}, /* newest of the 4th most recent day */
		{"2021-07-02_020000", "daily"},
		/* three weeks without a backup: days without one do not count */
		{"2021-07-23_020000", "daily,min_keep"},
		{"2021-07-24_020000", "daily,monthly,yearly,min_keep"},
	};

	tz_push(&tz, "UTC");
	RUN(r, items);
	tz_pop(&tz);
}

/* Weeks with gaps between them: only weeks that have a backup count. */
TEST(retention_weekly_with_gaps)
{
	struct tz_save tz;
	const struct retention_rules r = {.weekly = 3};
	const struct case_item items[] = {
		{"2021-03-01_020000", ""},	 /* Mon */
		{"2021-03-07_020000", "weekly"}, /* Sun, same week: its newest */
		{"2021-03-29_020000", "weekly"}, /* Mon, after three empty weeks */
		{"2021-05-10_020000", ""},	 /* Mon */
		{"2021-05-16_235900", "weekly"}, /* Sun, same week */
	};

	tz_push(&tz, "UTC");
	RUN(r, items);
	tz_pop(&tz);
}

/* keep_days counts back from the newest backup ("less than D days
 * before": exactly D days is out); min_keep overlaps and extends it. */
TEST(retention_keep_days_from_newest_and_min_keep)
{
	struct tz_save tz;
	const struct retention_rules r = {.days = 5, .min_keep = 4};
	const struct case_item items[] = {
		{"2020-01-01_000000", ""},
		{"2020-01-06_000000", "min_keep"}, /* exactly 5 days before */
		{"2020-01-06_000001", "days,min_keep"},
		{"2020-01-10_120000", "days,min_keep"},
		{"2020-01-11_000000", "days,min_keep"}, /* the newest */
	};
	const struct retention_rules r2 = {.days = 5, .min_keep = 1};
	const struct case_item items2[] = {
		{"2020-01-01_000000", ""},
		{"2020-01-06_000000", ""},
		{"2020-01-06_000001", "days"},
		{"2020-01-10_120000", "days"},
		{"2020-01-11_000000", "days,min_keep"},
	};
	/* min_keep larger than the archive keeps everything; days does not
	 * care how old the newest is (there is no clock here at all). */
	const struct retention_rules r3 = {.days = 1, .min_keep = 10};
	const struct case_item items3[] = {
		{"1999-01-01_000000", "min_keep"},
		{"2000-01-01_000000", "days,min_keep"},
	};

	tz_push(&tz, "UTC");
	RUN(r, items);
	RUN(r2, items2);
	RUN(r3, items3);
	tz_pop(&tz);
}

/* Europe/Berlin: 2021-03-28 02:00 CET -> 03:00 CEST (a 23 h day),
 * 2021-10-31 03:00 CEST -> 02:00 CET (a 25 h day).  Days are local
 * calendar days and keep_days compares the wall-clock times in the names,
 * so a DST change never keeps or drops one backup more. */
TEST(retention_dst_days_berlin)
{
	struct tz_save tz;
	const struct retention_rules daily2 = {.daily = 2};
	const struct case_item spring_days[] = {
		{"2021-03-27_120000", ""},
		/* 00:30 CET is 2021-03-27 23:30 UTC: still the 28th here */
		{"2021-03-28_003000", ""},
		{"2021-03-28_233000", "daily"},
		{"2021-03-29_001500", "daily"}, /* 2021-03-28 22:15 UTC */
	};
	const struct retention_rules days1 = {.days = 1};
	const struct case_item spring_cut[] = {
		/* 24 h of wall clock (23 h of real time) before the newest: out */
		{"2021-03-28_010000", ""},
		{"2021-03-28_010001", "days"},
		{"2021-03-29_010000", "days"},
	};
	const struct case_item autumn_cut[] = {
		/* 24 h 01 min of wall clock before the newest: out */
		{"2021-10-31_012900", ""},
		/* 23 h 45 min of wall clock (24 h 45 min of real time): in */
		{"2021-10-31_014500", "days"},
		{"2021-11-01_013000", "days"},
	};
	const struct retention_rules weekly1 = {.weekly = 2, .daily = 1};
	const struct case_item autumn_week[] = {
		{"2021-10-25_000100", ""},	       /* Mon 00:01 CEST, = Sun 22:01 UTC */
		{"2021-10-31_235900", "weekly"},       /* Sun 23:59 CET, the week's newest */
		{"2021-11-01_000100", "daily,weekly"}, /* Mon: a new week */
	};

	tz_push(&tz, "Europe/Berlin");
	RUN(daily2, spring_days);
	RUN(days1, spring_cut);
	RUN(days1, autumn_cut);
	RUN(weekly1, autumn_week);
	tz_pop(&tz);
}

/* Names are unique, so ties only come from the caller: the higher index
 * counts as the newer, and an empty list is fine. */
TEST(retention_ties_and_empty)
{
	struct errbuf err;
	const struct retention_rules r = {.daily = 1, .min_keep = 1};
	time_t when[2] = {1000000, 1000000};
	unsigned keep[2] = {99, 99};

	CHECK(retention_decide(&r, when, 0, keep, &err) == 0);
	CHECK(retention_decide(&r, when, 2, keep, &err) == 0);
	CHECK(keep[0] == 0 && keep[1] == (RETAIN_DAILY | RETAIN_MIN_KEEP));
	CHECK(retention_off(&(struct retention_rules){0}));
	CHECK(!retention_off(&r));
}
