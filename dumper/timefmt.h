/* Times as text, the forms dumpfs writes in its files and messages. */
#ifndef DUMPER_TIMEFMT_H
#define DUMPER_TIMEFMT_H

#include <time.h>

#define ISO8601_LEN 32

/* "2026-11-29T01:00:00Z"; "" when t cannot be represented. */
void iso8601_utc(time_t t, char buf[ISO8601_LEN]);

/* "2026-11-29T02:00:00+01:00": local time with its offset; "" when t
 * cannot be represented. */
void iso8601_local(time_t t, char buf[ISO8601_LEN]);

/* "YYYY-MM-DD HH:MM:SS" in local time (exactly that shape) into *t: 0,
 * -EINVAL (not that shape, or no such local time: 2026-02-31, a time the
 * clocks skip), or -ERANGE (a time the clocks pass twice). */
int parse_local_datetime(const char *s, time_t *t);

#endif
