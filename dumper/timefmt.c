/* Times as text.  See timefmt.h. */
#include "timefmt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void iso8601_utc(time_t t, char buf[ISO8601_LEN])
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, ISO8601_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm))
		buf[0] = '\0';
}

void iso8601_local(time_t t, char buf[ISO8601_LEN])
{
	struct tm tm;
	long off;
	int oh, om;

	buf[0] = '\0';
	/* The bounds keep every field to its width (and -Wformat-truncation quiet). */
	if (!localtime_r(&t, &tm) || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
		return;
	off = tm.tm_gmtoff < 0 ? -tm.tm_gmtoff : tm.tm_gmtoff;
	oh = (int)(off / 3600 % 100);
	om = (int)(off % 3600 / 60);
	snprintf(buf, ISO8601_LEN, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
		 (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100, tm.tm_mday % 100,
		 tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100, tm.tm_gmtoff < 0 ? '-' : '+',
		 oh, om);
}

int parse_local_datetime(const char *s, time_t *t)
{
	static const char shape[] = "dddd-dd-dd dd:dd:dd";
	struct tm tm, asked, other;
	const char *end;
	time_t alt;

	for (size_t i = 0; i < sizeof(shape); i++)
		if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
			return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
	if (!end || *end)
		return -EINVAL;
	tm.tm_isdst = -1;
	asked = tm;
	*t = mktime(&tm);
	/* mktime rolls 2026-02-31 over, and moves a time the clocks skip
	 * (spring forward) by an hour: neither is the time asked for */
	if (*t == (time_t)-1 || tm.tm_mday != asked.tm_mday || tm.tm_mon != asked.tm_mon ||
	    tm.tm_hour != asked.tm_hour || tm.tm_min != asked.tm_min)
		return -EINVAL;
	/* a time the clocks pass twice (fall back) names two instants */
	other = asked;
	other.tm_isdst = !tm.tm_isdst;
	alt = mktime(&other);
	if (alt != (time_t)-1 && alt != *t && other.tm_hour == asked.tm_hour &&
	    other.tm_min == asked.tm_min && other.tm_mday == asked.tm_mday)
		return -ERANGE;
	return 0;
}
