/* Backup schedules: parsing and "when is the next run".
 *
 * Local-time rules (the README documents them):
 * - A daily time that does not exist (the hour skipped when DST starts)
 *   runs at the instant the clock jumps, e.g. 02:30 runs at 03:00 on the
 *   spring day in Europe/Paris.
 * - A daily time that exists twice (the hour repeated when DST ends) runs
 *   once, at its first occurrence.
 * - "every N" restarts at each local midnight: slots are midnight + k*N
 *   for every k with k*N < 24h, so an interval that does not divide 24h
 *   leaves a shorter gap before midnight ("every 7h": 00:00, 07:00,
 *   14:00, 21:00, then 00:00).
 */
#include "schedule.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DAY_MIN (24 * 60)

static const char accepted[] =
	"expected \"off\", daily times HH:MM (00:00..23:59) separated by commas such as "
	"\"02:00,14:00\", or an interval \"every Nh\" (1..24) or \"every Nm\" (1..1440)";

static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Length of `p` without trailing spaces, from `len`. */
static size_t trim_len(const char *p, size_t len)
{
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	return len;
}

static int bad(struct errbuf *err, const char *what, const char *tok, size_t len)
{
	return error_set(err, -EINVAL, "%s '%.*s' in schedule: %s", what, (int)len, tok, accepted);
}

/* Parses "every N(h|m)"; `text` starts with the word "every". */
static int parse_every(struct schedule *s, const char *text, struct errbuf *err)
{
	const char *p = skip_space(text + 5);
	size_t len = trim_len(p, strlen(p));
	const char *q = p;
	unsigned long n = 0;
	int unit;

	for (; isdigit((unsigned char)*q); q++)
		n = n > DAY_MIN ? n : n * 10 + (unsigned long)(*q - '0');
	q = skip_space(q);
	unit = tolower((unsigned char)*q);
	if (q == p || (unit != 'h' && unit != 'm') || q + 1 != p + len)
		return bad(err, "bad interval", p, len);
	if (n == 0 || n > (unit == 'h' ? 24 : DAY_MIN))
		return bad(err, "interval out of range", p, len);
	s->every_min = (unsigned)(unit == 'h' ? n * 60 : n);
	return 0;
}

/* Parses one "HH:MM" token (H may be one digit) into minutes. */
static int parse_hhmm(const char *tok, size_t len, unsigned *out)
{
	size_t colon = 0;
	unsigned h = 0, m = 0;

	while (colon < len && tok[colon] != ':')
		colon++;
	if (colon < 1 || colon > 2 || len - colon != 3)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (i != colon && !isdigit((unsigned char)tok[i]))
			return -1;
	for (size_t i = 0; i < colon; i++)
		h = h * 10 + (unsigned)(tok[i] - '0');
	m = (unsigned)(tok[colon + 1] - '0') * 10 + (unsigned)(tok[colon + 2] - '0');
	if (h > 23 || m > 59)
		return -1;
	*out = h * 60 + m;
	return 0;
}

static void add_time(struct schedule *s, unsigned minute)
{
	unsigned i = 0;

	while (i < s->ntimes && s->times[i] < minute)
		i++;
	if (i < s->ntimes && s->times[i] == minute)
		return; /* duplicate */
	memmove(&s->times[i + 1], &s->times[i], (s->ntimes - i) * sizeof(s->times[0]));
	s->times[i] = (unsigned short)minute;
	s->ntimes++;
}

static int parse_list(struct schedule *s, const char *text, struct errbuf *err)
{
	const char *p = text;

	for (;;) {
		const char *tok = skip_space(p);
		const char *comma = strchr(tok, ',');
		size_t len = trim_len(tok, comma ? (size_t)(comma - tok) : strlen(tok));
		unsigned minute;

		if (len == 0)
			return bad(err, "empty time", text, strlen(text));
		if (parse_hhmm(tok, len, &minute))
			return bad(err, "bad time", tok, len);
		if (s->ntimes == SCHEDULE_MAX_TIMES)
			return error_set(err, -EINVAL, "too many times in schedule (at most %d)",
					 SCHEDULE_MAX_TIMES);
		add_time(s, minute);
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

int schedule_parse(struct schedule *s, const char *text, struct errbuf *err)
{
	struct schedule tmp;
	const char *p = skip_space(text);
	size_t len = trim_len(p, strlen(p));
	int rc;

	memset(&tmp, 0, sizeof(tmp));
	if (len == 0)
		return error_set(err, -EINVAL, "empty schedule: %s", accepted);
	if (len == 3 && !strncasecmp(p, "off", 3)) {
		tmp.off = 1;
		rc = 0;
	} else if (len > 5 && !strncasecmp(p, "every", 5) && (p[5] == ' ' || p[5] == '\t')) {
		rc = parse_every(&tmp, p, err);
	} else {
		rc = parse_list(&tmp, p, err);
	}
	if (rc)
		return rc;
	*s = tmp;
	return 0;
}

/* ---- next run ---- */

struct ymd {
	int year, mon, mday; /* struct tm conventions */
};

/* The calendar date `days` after `d` (pure calendar arithmetic). */
static struct ymd add_days(struct ymd d, int days)
{
	struct tm tm = {
		.tm_year = d.year, .tm_mon = d.mon, .tm_mday = d.mday + days, .tm_hour = 12};
	time_t t = timegm(&tm);
	struct ymd r = d;

	if (t != (time_t)-1 && gmtime_r(&t, &tm))
		r = (struct ymd){tm.tm_year, tm.tm_mon, tm.tm_mday};
	return r;
}

/* Compares the local wall clock at `t` with date d, minute `minute`. */
static int wall_cmp(time_t t, struct ymd d, unsigned minute)
{
	struct tm tm;
	long a, b;

	if (!localtime_r(&t, &tm))
		return 0;
	a = ((long)tm.tm_year * 12 + tm.tm_mon) * 31 + tm.tm_mday;
	b = ((long)d.year * 12 + d.mon) * 31 + d.mday;
	if (a != b)
		return a < b ? -1 : 1;
	a = tm.tm_hour * 60 + tm.tm_min;
	return a < (long)minute ? -1 : a > (long)minute ? 1 : 0;
}

/* The first instant whose wall clock reaches `minute` on day d, for a time
 * skipped by a forward clock change: searched below `hi`. */
static time_t gap_end(struct ymd d, unsigned minute, time_t hi)
{
	time_t lo = hi - 6 * 3600;

	if (wall_cmp(lo, d, minute) >= 0)
		return hi;
	while (hi - lo > 1) {
		time_t mid = lo + (hi - lo) / 2;

		if (wall_cmp(mid, d, minute) >= 0)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

/* The instant local date d shows `minute` after midnight: the earliest
 * occurrence when it repeats, the clock jump when it is skipped. */
static time_t local_instant(struct ymd d, unsigned minute)
{
	static const int isdst[] = {-1, 0, 1};
	time_t best = (time_t)-1, any = (time_t)-1;

	for (size_t i = 0; i < sizeof(isdst) / sizeof(isdst[0]); i++) {
		struct tm tm = {.tm_year = d.year,
				.tm_mon = d.mon,
				.tm_mday = d.mday,
				.tm_hour = (int)(minute / 60),
				.tm_min = (int)(minute % 60),
				.tm_isdst = isdst[i]};
		time_t t = mktime(&tm);

		if (t == (time_t)-1)
			continue;
		if (any == (time_t)-1 || t > any)
			any = t;
		if (wall_cmp(t, d, minute) == 0 && (best == (time_t)-1 || t < best))
			best = t;
	}
	if (best == (time_t)-1 && any != (time_t)-1 && wall_cmp(any, d, minute) > 0)
		best = gap_end(d, minute, any);
	return best;
}

/* The i-th daily slot in minutes after midnight, or -1 past the last. */
static long slot(const struct schedule *s, unsigned i)
{
	if (s->every_min)
		return (unsigned long)i * s->every_min < DAY_MIN ? (long)(i * s->every_min) : -1;
	return i < s->ntimes ? s->times[i] : -1;
}

static long utc_offset(time_t t)
{
	struct tm tm;

	return localtime_r(&t, &tm) ? tm.tm_gmtoff : 0;
}

/* The earliest slot of day d strictly after `now`, or -1. */
static time_t next_on_day(const struct schedule *s, struct ymd d, time_t now)
{
	time_t midnight = local_instant(d, 0);
	time_t tomorrow = local_instant(add_days(d, 1), 0);
	/* A day without a clock change: slots are plain offsets. */
	int regular = midnight != (time_t)-1 && tomorrow - midnight == 86400 &&
		      utc_offset(midnight) == utc_offset(tomorrow - 1);
	time_t best = (time_t)-1;
	long m;

	for (unsigned i = 0; (m = slot(s, i)) >= 0; i++) {
		time_t t = regular ? midnight + m * 60 : local_instant(d, (unsigned)m);

		if (t != (time_t)-1 && t > now && (best == (time_t)-1 || t < best))
			best = t;
	}
	return best;
}

time_t schedule_next(const struct schedule *s, time_t now)
{
	struct tm tm;
	struct ymd today;
	time_t best = (time_t)-1;

	if (s->off || (!s->every_min && !s->ntimes) || !localtime_r(&now, &tm))
		return (time_t)-1;
	today = (struct ymd){tm.tm_year, tm.tm_mon, tm.tm_mday};
	/* Three days: a slot late on one day may land after the next day's
	 * first slot around a clock change at midnight. */
	for (int day = 0; day < 3; day++) {
		time_t t = next_on_day(s, add_days(today, day), now);

		if (t != (time_t)-1 && (best == (time_t)-1 || t < best))
			best = t;
	}
	return best;
}
