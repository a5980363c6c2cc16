/* Which backups retention keeps (docs/retention.md), as a pure decision:
 * no files, no clock.  archive_clean.c applies it to the archive dir,
 * status.c counts what each rule keeps.
 *
 * Times are the local times in the backup names (the process's TZ): a
 * backup's calendar day, ISO week (Monday to Sunday), month and year are
 * those of its name, and keep_days compares wall-clock times, so a DST
 * change never keeps or drops one backup more.
 *
 * A backup is kept when any rule keeps it:
 *   days     dated less than `days` days before the newest backup;
 *   daily    the newest backup of its calendar day, and that day is one
 *            of the `daily` most recent days that have a backup;
 *   weekly, monthly, yearly   the same per ISO week, month, year;
 *   min_keep one of the `min_keep` newest backups.
 * A rule set to 0 is off; with every rule 0 nothing keeps anything here
 * (archive_prune() then deletes nothing: see retention_off()).
 */
#ifndef DUMPER_RETENTION_H
#define DUMPER_RETENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "errbuf.h"

struct retention_rules {
	unsigned days, daily, weekly, monthly, yearly, min_keep;
};

/* The rules that keep a backup, as bits; 0 = delete. */
enum {
	RETAIN_DAYS = 1u << 0,
	RETAIN_DAILY = 1u << 1,
	RETAIN_WEEKLY = 1u << 2,
	RETAIN_MONTHLY = 1u << 3,
	RETAIN_YEARLY = 1u << 4,
	RETAIN_MIN_KEEP = 1u << 5,
};
#define RETENTION_NRULES 6

/* "days", "daily", "weekly", "monthly", "yearly", "min_keep" for rule
 * i (0..RETENTION_NRULES-1, bit 1u << i); NULL past the end. */
const char *retention_rule_name(unsigned i);

/* True when no rule is set, min_keep included: retention is off. */
bool retention_off(const struct retention_rules *r);

/* when[i] is backup i's name time (archive_parse_name), in any order;
 * ties are broken by index (the higher index is the newer).  keep[i]
 * (caller's array of n) gets the RETAIN_* bits of the rules that keep
 * backup i.  -ENOMEM, or -ERANGE when a time has no local time. */
int retention_decide(const struct retention_rules *r, const time_t *when, size_t n, unsigned *keep,
		     struct errbuf *err);

/* "days,weekly" (rule names in RETAIN_* order, comma separated) into buf;
 * "" for 0.  Names that do not fit in len are left out. */
void retention_format(unsigned keep, char *buf, size_t len);

#endif
