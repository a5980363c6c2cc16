#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../dumper/schedule.h"
#include "unit.h"

/* Runs the enclosed checks with TZ set to `zone`, restoring the runner's
 * TZ afterwards. */
struct tzsave {
	char *old;
	int had;
};

static struct tzsave tz_set(const char *zone)
{
	const char *old = getenv("TZ");
	struct tzsave s = {old ? strdup(old) : NULL, old != NULL};

	setenv("TZ", zone, 1);
	tzset();
	return s;
}

static void tz_restore(struct tzsave s)
{
	if (s.had)
		setenv("TZ", s.old, 1);
	else
		unsetenv("TZ");
	tzset();
	free(s.old);
}

/* Seconds since the epoch for a UTC date. */
static time_t utc(int y, int mon, int d, int h, int m)
{
	struct tm tm = {
		.tm_year = y - 1900, .tm_mon = mon - 1, .tm_mday = d, .tm_hour = h, .tm_min = m};

	return timegm(&tm);
}

static struct schedule parsed(const char *text)
{
	struct schedule s;
	struct errbuf err;

	memset(&s, 0xff, sizeof(s));
	errbuf_clear(&err);
	if (schedule_parse(&s, text, &err)) {
		unit_fail_str(__FILE__, __LINE__, text, err.msg, "(parse ok)");
		memset(&s, 0, sizeof(s));
		s.off = 1;
	}
	return s;
}

TEST(schedule_parse_list_sorted_unique)
{
	struct schedule s = parsed(" 14:00 , 02:00,2:00,23:59,00:00 ");

	CHECK(!s.off);
	CHECK(s.every_min == 0);
	CHECK(s.ntimes == 4);
	CHECK(s.times[0] == 0);
	CHECK(s.times[1] == 120);
	CHECK(s.times[2] == 840);
	CHECK(s.times[3] == 23 * 60 + 59);
}

TEST(schedule_parse_off_and_every)
{
	struct schedule s = parsed("off");

	CHECK(s.off == 1);
	s = parsed("OFF");
	CHECK(s.off == 1);
	s = parsed("every 6h");
	CHECK(!s.off && s.every_min == 360 && s.ntimes == 0);
	s = parsed("every 90m");
	CHECK(s.every_min == 90);
	s = parsed("Every  24 H");
	CHECK(s.every_min == 1440);
	s = parsed("every 1440m");
	CHECK(s.every_min == 1440);
}

static void check_bad(const char *text, const char *want)
{
	struct schedule s = parsed("02:00");
	struct errbuf err;

	errbuf_clear(&err);
	CHECK(schedule_parse(&s, text, &err) < 0);
	if (!strstr(err.msg, want))
		unit_fail_str(__FILE__, __LINE__, text, err.msg, want);
	if (!strstr(err.msg, "every Nh"))
		unit_fail_str(__FILE__, __LINE__, text, err.msg, "accepted forms");
	CHECK(s.ntimes == 1 && s.times[0] == 120); /* untouched on error */
}

TEST(schedule_parse_errors_name_the_token)
{
	check_bad("24:00", "bad time '24:00'");
	check_bad("02:00, 12:60", "bad time '12:60'");
	check_bad("02:00,,03:00", "empty time");
	check_bad("02:00,", "empty time");
	check_bad("2h", "bad time '2h'");
	check_bad("02:5", "bad time '02:5'");
	check_bad("", "empty schedule");
	check_bad("   ", "empty schedule");
	check_bad("every 0h", "interval out of range '0h'");
	check_bad("every 25h", "interval out of range '25h'");
	check_bad("every 1441m", "interval out of range");
	check_bad("every 99999999999999999999m", "interval out of range");
	check_bad("every 6", "bad interval '6'");
	check_bad("every h", "bad interval 'h'");
	check_bad("every 6d", "bad interval '6d'");
	check_bad("every 6h x", "bad interval '6h x'");
	check_bad("daily", "bad time 'daily'");
}

TEST(schedule_parse_too_many)
{
	char text[1024] = "";
	struct schedule s;
	struct errbuf err;

	for (int i = 0; i < 49; i++) {
		char one[32];

		snprintf(one, sizeof(one), "%s%02d:%02d", i ? "," : "", i * 29 / 60, i * 29 % 60);
		strcat(text, one);
	}
	CHECK(schedule_parse(&s, text, &err) < 0);
	CHECK(strstr(err.msg, "too many") != NULL);
	*strrchr(text, ',') = '\0'; /* 48 times */
	CHECK(schedule_parse(&s, text, &err) == 0);
	CHECK(s.ntimes == 48);
}

TEST(schedule_next_daily_list_utc)
{
	struct tzsave tz = tz_set("UTC");
	struct schedule s = parsed("02:00,14:00");

	CHECK(schedule_next(&s, utc(2026, 3, 10, 1, 0)) == utc(2026, 3, 10, 2, 0));
	/* strictly after: exactly at a slot gives the next one */
	CHECK(schedule_next(&s, utc(2026, 3, 10, 2, 0)) == utc(2026, 3, 10, 14, 0));
	/* wraps to the next day, across a month and a year end */
	CHECK(schedule_next(&s, utc(2026, 3, 10, 14, 0)) == utc(2026, 3, 11, 2, 0));
	CHECK(schedule_next(&s, utc(2026, 12, 31, 23, 59)) == utc(2027, 1, 1, 2, 0));
	s = parsed("00:00");
	CHECK(schedule_next(&s, utc(2026, 2, 28, 23, 59)) == utc(2026, 3, 1, 0, 0));
	tz_restore(tz);
}

TEST(schedule_next_every_and_off)
{
	struct tzsave tz = tz_set("UTC");
	struct schedule s = parsed("every 6h");

	CHECK(schedule_next(&s, utc(2026, 5, 1, 0, 0)) == utc(2026, 5, 1, 6, 0));
	CHECK(schedule_next(&s, utc(2026, 5, 1, 17, 59)) == utc(2026, 5, 1, 18, 0));
	CHECK(schedule_next(&s, utc(2026, 5, 1, 18, 0)) == utc(2026, 5, 2, 0, 0));
	s = parsed("every 90m");
	CHECK(schedule_next(&s, utc(2026, 5, 1, 1, 0)) == utc(2026, 5, 1, 1, 30));
	CHECK(schedule_next(&s, utc(2026, 5, 1, 22, 30)) == utc(2026, 5, 2, 0, 0));
	/* restarts at midnight: 21:00 is the last slot of "every 7h" */
	s = parsed("every 7h");
	CHECK(schedule_next(&s, utc(2026, 5, 1, 21, 0)) == utc(2026, 5, 2, 0, 0));
	s = parsed("off");
	CHECK(schedule_next(&s, utc(2026, 5, 1, 0, 0)) == (time_t)-1);
	tz_restore(tz);
}

TEST(schedule_next_local_time_offset)
{
	struct tzsave tz = tz_set("Europe/Paris");
	struct schedule s = parsed("02:00");

	/* 02:00 in Paris in winter is 01:00 UTC, in summer 00:00 UTC */
	CHECK(schedule_next(&s, utc(2026, 1, 15, 12, 0)) == utc(2026, 1, 16, 1, 0));
	CHECK(schedule_next(&s, utc(2026, 7, 15, 12, 0)) == utc(2026, 7, 16, 0, 0));
	tz_restore(tz);
}

/* Europe/Paris 2026: DST starts Sun 29 March (02:00 CET -> 03:00 CEST, at
 * 01:00 UTC) and ends Sun 25 October (03:00 CEST -> 02:00 CET, at 01:00
 * UTC). */
TEST(schedule_next_dst_paris)
{
	struct tzsave tz = tz_set("Europe/Paris");
	struct schedule s = parsed("02:30");

	/* skipped time: runs when the clock jumps to 03:00 CEST */
	CHECK(schedule_next(&s, utc(2026, 3, 28, 12, 0)) == utc(2026, 3, 29, 1, 0));
	CHECK(schedule_next(&s, utc(2026, 3, 29, 1, 0)) == utc(2026, 3, 30, 0, 30));
	/* repeated time: only the first 02:30 (CEST, 00:30 UTC) */
	CHECK(schedule_next(&s, utc(2026, 10, 24, 12, 0)) == utc(2026, 10, 25, 0, 30));
	CHECK(schedule_next(&s, utc(2026, 10, 25, 0, 30)) == utc(2026, 10, 26, 1, 30));
	/* a time after the change on the change day */
	s = parsed("12:00");
	CHECK(schedule_next(&s, utc(2026, 3, 29, 0, 0)) == utc(2026, 3, 29, 10, 0));
	CHECK(schedule_next(&s, utc(2026, 10, 25, 0, 0)) == utc(2026, 10, 25, 11, 0));
	/* every hour: the spring day has 23 runs, the autumn day 24 */
	s = parsed("every 1h");
	{
		int n = 0;
		time_t t = utc(2026, 3, 28, 23, 0); /* 00:00 CET on the 29th */

		while ((t = schedule_next(&s, t)) < utc(2026, 3, 29, 22, 0))
			n++;
		CHECK(n == 23 - 1);		     /* 01:00 .. 23:00, midnight excluded */
		CHECK(t == utc(2026, 3, 29, 22, 0)); /* 00:00 CEST on the 30th */
		n = 0;
		t = utc(2026, 10, 24, 22, 0); /* 00:00 CEST on the 25th */
		while ((t = schedule_next(&s, t)) < utc(2026, 10, 25, 23, 0))
			n++;
		CHECK(n == 23); /* 01:00 .. 23:00 once each, 02:00 once */
	}
	tz_restore(tz);
}

TEST(schedule_next_every_minute_is_cheap)
{
	struct tzsave tz = tz_set("Europe/Paris");
	struct schedule s = parsed("every 1m");
	time_t t = utc(2026, 3, 29, 0, 58);
	clock_t c0 = clock();

	/* across the spring gap: 02:59 CET is followed by 03:00 CEST */
	for (int i = 0; i < 5; i++)
		t = schedule_next(&s, t);
	CHECK(t == utc(2026, 3, 29, 1, 3));
	for (int i = 0; i < 200; i++)
		t = schedule_next(&s, t);
	CHECK(t == utc(2026, 3, 29, 4, 23));
	CHECK(clock() - c0 < 20 * CLOCKS_PER_SEC);
	tz_restore(tz);
}
