/* The retention decision: calendar periods of local name times. */
#include "retention.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400

static const char *const rule_names[RETENTION_NRULES] = {
	"days", "daily", "weekly", "monthly", "yearly", "min_keep",
};

const char *retention_rule_name(unsigned i)
{
	return i < RETENTION_NRULES ? rule_names[i] : NULL;
}

bool retention_off(const struct retention_rules *r)
{
	return !r->days && !r->daily && !r->weekly && !r->monthly && !r->yearly && !r->min_keep;
}

/* One backup's local calendar position. */
struct slot {
	size_t idx;
	int64_t wall;  /* local wall-clock seconds since 1970-01-01 00:00 */
	int64_t day;   /* local days since 1970-01-01 */
	int64_t week;  /* day of the Monday starting its ISO week */
	int64_t month; /* year * 12 + month - 1 */
	int64_t year;
};

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int fill_slot(struct slot *s, size_t idx, time_t t, struct errbuf *err)
{
	struct tm tm;
	int64_t wd;

	if (!localtime_r(&t, &tm))
		return error_set(err, -ERANGE, "retention: time %lld has no local time",
				 (long long)t);
	s->idx = idx;
	s->year = (int64_t)tm.tm_year + 1900;
	s->month = s->year * 12 + tm.tm_mon;
	s->day = days_from_civil(s->year, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday);
	/* 1970-01-01 was a Thursday: (day + 3) mod 7 is 0 on Mondays. */
	wd = ((s->day + 3) % 7 + 7) % 7;
	s->week = s->day - wd;
	s->wall = s->day * DAY + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	return 0;
}

/* Newest first; ties: the higher index first. */
static int newest_first(const void *a, const void *b)
{
	const struct slot *x = a, *y = b;

	if (x->wall != y->wall)
		return x->wall < y->wall ? 1 : -1;
	return x->idx < y->idx ? 1 : x->idx > y->idx ? -1 : 0;
}

static int64_t period_of(const struct slot *s, unsigned rule)
{
	switch (rule) {
	case RETAIN_DAILY:
		return s->day;
	case RETAIN_WEEKLY:
		return s->week;
	case RETAIN_MONTHLY:
		return s->month;
	default:
		return s->year;
	}
}

/* Sorted newest first, a period's backups are contiguous and its first
 * one is its newest: keep the first of each of the n newest periods. */
static void keep_periods(const struct slot *v, size_t n, unsigned rule, unsigned count,
			 unsigned *keep)
{
	unsigned periods = 0;
	int64_t last = 0;

	for (size_t i = 0; i < n && count; i++) {
		int64_t p = period_of(&v[i], rule);

		if (i && p == last)
			continue;
		last = p;
		if (++periods > count)
			break;
		keep[v[i].idx] |= rule;
	}
}

int retention_decide(const struct retention_rules *r, const time_t *when, size_t n, unsigned *keep,
		     struct errbuf *err)
{
	struct slot *v;
	size_t i;
	int rc;

	if (!n)
		return 0;
	memset(keep, 0, n * sizeof(*keep));
	v = calloc(n, sizeof(*v));
	if (!v)
		return error_set(err, -ENOMEM, "retention: out of memory");
	for (i = 0; i < n; i++) {
		rc = fill_slot(&v[i], i, when[i], err);
		if (rc) {
			free(v);
			return rc;
		}
	}
	qsort(v, n, sizeof(*v), newest_first);
	for (i = 0; i < n; i++) {
		if (r->days && v[0].wall - v[i].wall < (int64_t)r->days * DAY)
			keep[v[i].idx] |= RETAIN_DAYS;
		if (i < r->min_keep)
			keep[v[i].idx] |= RETAIN_MIN_KEEP;
	}
	keep_periods(v, n, RETAIN_DAILY, r->daily, keep);
	keep_periods(v, n, RETAIN_WEEKLY, r->weekly, keep);
	keep_periods(v, n, RETAIN_MONTHLY, r->monthly, keep);
	keep_periods(v, n, RETAIN_YEARLY, r->yearly, keep);
	free(v);
	return 0;
}

void retention_format(unsigned keep, char *buf, size_t len)
{
	size_t used = 0;

	if (!len)
		return;
	buf[0] = '\0';
	for (unsigned i = 0; i < RETENTION_NRULES; i++) {
		int w;

		if (!(keep & (1u << i)))
			continue;
		w = snprintf(buf + used, len - used, "%s%s", used ? "," : "", rule_names[i]);
		if (w < 0 || (size_t)w >= len - used) {
			buf[used] = '\0'; /* whole names only */
			return;
		}
		used += (size_t)w;
	}
}
