/* When scheduled backups run: "off", a daily list of local times
 * "02:00,14:00", or an interval "every 6h" / "every 30m" counted from
 * local midnight ("every 6h" runs at 00:00, 06:00, 12:00, 18:00). */
#ifndef DUMPER_SCHEDULE_H
#define DUMPER_SCHEDULE_H

#include <time.h>

#include "errbuf.h"

#define SCHEDULE_MAX_TIMES 48

struct schedule {
	int off;				  /* 1: no scheduled runs */
	unsigned every_min;			  /* interval in minutes, or 0 for the list */
	unsigned ntimes;			  /* daily list: minutes after local midnight, */
	unsigned short times[SCHEDULE_MAX_TIMES]; /* sorted, unique */
};

/* Parses `text`; on error names the bad part and the accepted forms. */
int schedule_parse(struct schedule *s, const char *text, struct errbuf *err);
/* The first run time strictly after `now` (local time, DST-aware), or
 * (time_t)-1 when off. */
time_t schedule_next(const struct schedule *s, time_t now);

#endif
