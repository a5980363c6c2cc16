#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../dumper/archive.h"
#include "../../dumper/sink.h"
#include "unit.h"

#define DAY 86400

static void use_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static char *mkdir_tmp(void)
{
	char tmpl[] = "/tmp/dumpfs-ut-archive-XXXXXX";
	char *d = mkdtemp(tmpl);

	return d ? strdup(d) : NULL;
}

static void rm_rf(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static void put(const char *dir, const char *name, const char *content)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	CHECK(fputs(content, f) >= 0);
	CHECK(fclose(f) == 0);
}

static bool exists(const char *dir, const char *name)
{
	char path[512];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)) {
		CHECK(!"path fits");
		return false;
	}
	return lstat(path, &st) == 0;
}

static void set_mtime(const char *dir, const char *name, time_t t)
{
	char path[512];
	struct timespec ts[2] = {{t, 0}, {t, 0}};

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW);
}

static int unlink_name(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return unlink(path);
}

/* A backup plus sidecar named for time t, return the name in buf. */
static void put_backup(const char *dir, time_t t, char *buf, bool sidecar)
{
	char side[ARCHIVE_NAME_MAX];

	archive_format_name(buf, ARCHIVE_NAME_MAX, "mariadb", t, NULL);
	put(dir, buf, "ciphertext");
	if (sidecar) {
		archive_sidecar_name(side, sizeof(side), buf);
		put(dir, side, "x");
	}
}

TEST(archive_name_format_and_parse)
{
	char name[ARCHIVE_NAME_MAX];
	struct errbuf err;
	time_t when;

	use_tz("UTC");
	CHECK(archive_format_name(name, sizeof(name), "mariadb", 1795917600, &err) == 0);
	CHECK_STREQ(name, "mariadb_2026-11-29_020000.sql.gz.gpg");
	CHECK(archive_parse_name(name, "mariadb", &when));
	CHECK(when == 1795917600);
	/* Local time of the process. */
	use_tz("Europe/Paris");
	CHECK(archive_format_name(name, sizeof(name), "db-1.x", 1795917600, &err) == 0);
	CHECK_STREQ(name, "db-1.x_2026-11-29_030000.sql.gz.gpg");
	CHECK(archive_parse_name(name, "db-1.x", &when) && when == 1795917600);
	use_tz("UTC");

	CHECK(archive_format_name(name, sizeof(name), ".hidden", 0, &err) == -EINVAL);
	CHECK(archive_format_name(name, sizeof(name), "a/b", 0, &err) == -EINVAL);
	CHECK(archive_format_name(name, sizeof(name), "", 0, &err) == -EINVAL);
	CHECK(archive_format_name(name, 20, "mariadb", 0, &err) == -ENAMETOOLONG);
}

TEST(archive_parse_rejects)
{
	static const char *const bad[] = {
		"mariadb_2026-02-29_020000.sql.gz.gpg", /* not a leap year */
		"mariadb_2026-13-01_020000.sql.gz.gpg",
		"mariadb_2026-11-29_240000.sql.gz.gpg",
		"mariadb_2026-11-29_026000.sql.gz.gpg",
		"mariadb_2026-11-29_02000.sql.gz.gpg",
		"mariadb_2026-11-29_0200001.sql.gz.gpg",
		"mariadb_2026-11-29_020000.sql.gz.gpg.sha256",
		"mariadb_2026-11-29_020000.sql.gz",
		"mariadb-2026-11-29_020000.sql.gz.gpg",
		"mariadb_2026-11-29-020000.sql.gz.gpg",
		"other_2026-11-29_020000.sql.gz.gpg",
		"xmariadb_2026-11-29_020000.sql.gz.gpg",
		".mariadb_2026-11-29_020000.sql.gz.gpg.tmp-abcdef",
		"mariadb_2O26-11-29_020000.sql.gz.gpg",
		"latest.sql.gz.gpg",
		"",
	};

	use_tz("UTC");
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		if (archive_parse_name(bad[i], "mariadb", NULL))
			unit_fail(__FILE__, __LINE__, bad[i]);
	CHECK(archive_parse_name("mariadb_2024-02-29_235959.sql.gz.gpg", "mariadb", NULL));
	CHECK(archive_is_sidecar_name("mariadb_2024-02-29_235959.sql.gz.gpg.sha256", "mariadb"));
	CHECK(!archive_is_sidecar_name("mariadb_2024-02-29_235959.sql.gz.gpg", "mariadb"));
	CHECK(!archive_is_sidecar_name(".sha256", "mariadb"));
}

TEST(archive_sidecar_roundtrip)
{
	struct strbuf sb = STRBUF_INIT;
	char hex[65], name[ARCHIVE_NAME_MAX];
	const char *h = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	struct errbuf err;

	archive_sidecar_format(&sb, h, "mariadb_2026-11-29_020000.sql.gz.gpg");
	CHECK_STREQ(strbuf_str(&sb),
		    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
		    "  mariadb_2026-11-29_020000.sql.gz.gpg\n");
	CHECK(archive_sidecar_parse(sb.buf, sb.len, hex, name, &err) == 0);
	CHECK_STREQ(hex, h);
	CHECK_STREQ(name, "mariadb_2026-11-29_020000.sql.gz.gpg");
	/* Binary marker, upper case, no final newline. */
	CHECK(archive_sidecar_parse(
		      "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855 *f", 67,
		      hex, name, &err) == 0);
	CHECK_STREQ(hex, h);
	CHECK_STREQ(name, "f");
	CHECK(archive_sidecar_parse(sb.buf, 60, hex, name, &err) == -EINVAL);
	CHECK(archive_sidecar_parse("zz", 2, hex, name, &err) == -EINVAL);
	strbuf_addstr(&sb, "second line\n");
	CHECK(archive_sidecar_parse(sb.buf, sb.len, hex, name, &err) == -EINVAL);
	strbuf_release(&sb);
}

TEST(archive_scan_lists_only_complete_backups)
{
	char *dir = mkdir_tmp();
	char a[ARCHIVE_NAME_MAX], b[ARCHIVE_NAME_MAX], c[ARCHIVE_NAME_MAX], path[600];
	struct archive_list l = ARCHIVE_LIST_INIT;
	struct errbuf err;
	time_t now = time(NULL);

	use_tz("UTC");
	put_backup(dir, now - 3 * DAY, b, true);
	put_backup(dir, now - 5 * DAY, a, false);
	put_backup(dir, now - DAY, c, true);
	put(dir, ".mariadb_2026-01-01_000000.sql.gz.gpg.tmp-Ab12Cd", "partial");
	put(dir, "other_2026-01-01_000000.sql.gz.gpg", "foreign");
	put(dir, "mariadb_2026-01-01_000000.sql.gz", "foreign");
	put(dir, "notes.txt", "foreign");
	put(dir, "mariadb_2020-01-01_000000.sql.gz.gpg.sha256", "orphan");
	snprintf(path, sizeof(path), "%s/mariadb_2021-01-01_000000.sql.gz.gpg", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/mariadb_2022-01-01_000000.sql.gz.gpg", dir);
	if (symlink(a, path) < 0)
		unit_fail(__FILE__, __LINE__, "symlink");

	CHECK(archive_scan(&l, dir, "mariadb", &err) == 0);
	CHECK(l.n == 3);
	if (l.n == 3) {
		CHECK_STREQ(l.v[0].name, a);
		CHECK_STREQ(l.v[1].name, b);
		CHECK_STREQ(l.v[2].name, c);
		CHECK(!l.v[0].has_sidecar && l.v[1].has_sidecar && l.v[2].has_sidecar);
		CHECK(l.v[1].size == 10 && l.v[1].sidecar_size == 1);
		CHECK(l.v[0].when < l.v[1].when);
		CHECK(archive_newest(&l) == &l.v[2]);
		CHECK(archive_find(&l, b) == &l.v[1]);
		CHECK(archive_find(&l, "notes.txt") == NULL);
	}
	archive_list_release(&l);
	CHECK(l.n == 0 && archive_newest(&l) == NULL);

	rm_rf(dir);
	CHECK(archive_scan(&l, dir, "mariadb", &err) == -ENOENT);
	CHECK(strstr(err.msg, dir) != NULL);
	free(dir);
}

/* archive_prune with keep_days and min_keep only, as before the tiers. */
static int prune(const char *dir, unsigned keep_days, unsigned min_keep, const char *new_name,
		 time_t now, struct archive_prune_result *pr, struct errbuf *err)
{
	struct archive_prune_opts o = {
		.dir = dir,
		.prefix = "mariadb",
		.rules = {.days = keep_days, .min_keep = min_keep},
		.new_name = new_name,
		.now = now,
	};

	return archive_prune(&o, pr, err);
}

TEST(archive_prune_keep_days_min_keep_foreign)
{
	char *dir = mkdir_tmp();
	char n40[ARCHIVE_NAME_MAX], n35[ARCHIVE_NAME_MAX], n31[ARCHIVE_NAME_MAX];
	char n10[ARCHIVE_NAME_MAX], n0[ARCHIVE_NAME_MAX], side[ARCHIVE_NAME_MAX];
	char orphan_old[ARCHIVE_NAME_MAX], orphan_new[ARCHIVE_NAME_MAX];
	struct archive_prune_result pr;
	struct errbuf err;
	time_t now = time(NULL);

	use_tz("UTC");
	put_backup(dir, now - 40 * DAY, n40, true);
	put_backup(dir, now - 35 * DAY, n35, true);
	put_backup(dir, now - 31 * DAY, n31, true);
	put_backup(dir, now - 10 * DAY, n10, true);
	put_backup(dir, now, n0, true);
	archive_format_name(orphan_old, sizeof(orphan_old), "mariadb", now - 50 * DAY, NULL);
	strcat(orphan_old, ".sha256");
	put(dir, orphan_old, "x");
	archive_format_name(orphan_new, sizeof(orphan_new), "mariadb", now - 2 * DAY, NULL);
	strcat(orphan_new, ".sha256");
	put(dir, orphan_new, "x");
	put(dir, "other_2000-01-01_000000.sql.gz.gpg", "foreign");
	put(dir, "mariadb_2000-01-01_000000.sql.gz", "foreign");
	put(dir, "mariadb_2000-01-01_000000.sql.gz.gpg.bak", "foreign");
	put(dir, "old.txt", "foreign");
	set_mtime(dir, "old.txt", now - 400 * DAY);

	/* No rule at all (min_keep 0 too) keeps everything. */
	CHECK(prune(dir, 0, 0, NULL, now, &pr, &err) == 0);
	CHECK(pr.deleted == 0 && !pr.skipped && exists(dir, n40));

	/* 5 backups, 3 more than 30 days older than the newest, min_keep 3:
	 * only 2 may go. */
	CHECK(prune(dir, 30, 3, n0, now, &pr, &err) == 0);
	CHECK(pr.deleted == 2 && !pr.skipped);
	CHECK(!exists(dir, n40) && !exists(dir, n35));
	archive_sidecar_name(side, sizeof(side), n40);
	CHECK(!exists(dir, side));
	archive_sidecar_name(side, sizeof(side), n35);
	CHECK(!exists(dir, side));
	CHECK(exists(dir, n31) && exists(dir, n10) && exists(dir, n0));
	archive_sidecar_name(side, sizeof(side), n31);
	CHECK(exists(dir, side));
	CHECK(!exists(dir, orphan_old));
	CHECK(exists(dir, orphan_new));
	CHECK(exists(dir, "other_2000-01-01_000000.sql.gz.gpg"));
	CHECK(exists(dir, "mariadb_2000-01-01_000000.sql.gz"));
	CHECK(exists(dir, "mariadb_2000-01-01_000000.sql.gz.gpg.bak"));
	CHECK(exists(dir, "old.txt"));

	/* min_keep 1: the 31-day-old one goes now. */
	CHECK(prune(dir, 30, 1, NULL, now, &pr, &err) == 0);
	CHECK(pr.deleted == 1 && !exists(dir, n31) && exists(dir, n10) && exists(dir, n0));
	/* Even min_keep 0 keeps backups younger than keep_days. */
	CHECK(prune(dir, 30, 0, NULL, now, &pr, &err) == 0);
	CHECK(pr.deleted == 0 && exists(dir, n10) && exists(dir, n0));
	/* Ages count from the newest backup, not the clock: a month later,
	 * with no new backup, min_keep 0 still keeps the newest. */
	CHECK(prune(dir, 1, 0, NULL, now + 30 * DAY, &pr, &err) == 0);
	CHECK(pr.deleted == 1 && !exists(dir, n10) && exists(dir, n0));
	CHECK(!exists(dir, orphan_new)); /* 2 days before the newest */
	CHECK(exists(dir, "other_2000-01-01_000000.sql.gz.gpg") && exists(dir, "old.txt"));
	rm_rf(dir);
	free(dir);
}

/* Issue 9: one run with the clock a year ahead deleted every real backup
 * but min_keep. */
TEST(archive_prune_clock_jump_ahead_is_skipped)
{
	char *dir = mkdir_tmp();
	char real[5][ARCHIVE_NAME_MAX], ahead[ARCHIVE_NAME_MAX], later[ARCHIVE_NAME_MAX];
	struct archive_prune_result pr;
	struct errbuf err;
	time_t now = time(NULL), jump = now + 365 * DAY;

	use_tz("UTC");
	for (int i = 0; i < 5; i++)
		put_backup(dir, now - (4 - i) * DAY, real[i], true);
	/* The run with the clock a year ahead made this one. */
	put_backup(dir, jump, ahead, true);
	CHECK(prune(dir, 30, 2, ahead, jump, &pr, &err) == 0);
	CHECK(pr.skipped && pr.deleted == 0);
	CHECK(strstr(pr.reason, ahead) && strstr(pr.reason, real[4]) &&
	      strstr(pr.reason, "365 days after") && strstr(pr.reason, "keep_days = 30"));
	for (int i = 0; i < 5; i++)
		CHECK(exists(dir, real[i]));

	/* The clock is fixed; the next run must not measure from the
	 * future-dated backup either. */
	put_backup(dir, now + 60, later, true);
	CHECK(prune(dir, 30, 2, later, now + 60, &pr, &err) == 0);
	CHECK(pr.skipped && pr.deleted == 0);
	CHECK(strstr(pr.reason, ahead) && strstr(pr.reason, "dated in the future"));
	for (int i = 0; i < 5; i++)
		CHECK(exists(dir, real[i]));

	/* Within keep_days of the previous newest: a normal run. */
	CHECK(unlink_name(dir, ahead) == 0);
	CHECK(prune(dir, 30, 2, later, now + 60, &pr, &err) == 0);
	CHECK(!pr.skipped && pr.deleted == 0 && pr.reason[0] == '\0');
	/* A jump of exactly keep_days is still trusted; one second more is
	 * not. */
	put_backup(dir, now + 60 + 30 * DAY, ahead, true);
	CHECK(prune(dir, 30, 2, ahead, now + 60 + 30 * DAY, &pr, &err) == 0);
	CHECK(!pr.skipped && pr.deleted == 5);
	CHECK(exists(dir, later) && exists(dir, ahead));
	rm_rf(dir);
	free(dir);
}

/* min_keep holds whatever the dates say. */
TEST(archive_prune_min_keep_with_future_cutoff)
{
	char *dir = mkdir_tmp();
	char n[4][ARCHIVE_NAME_MAX];
	struct archive_prune_result pr;
	struct errbuf err;
	time_t now = time(NULL);

	use_tz("UTC");
	for (int i = 0; i < 4; i++)
		put_backup(dir, now - (100 - 20 * i) * DAY, n[i], true);
	/* Each one 20 days after the other: trusted; 3 are past 10 days
	 * before the newest, but min_keep 3 keeps 2 of them. */
	CHECK(prune(dir, 10, 3, n[3], now, &pr, &err) == 0);
	CHECK(pr.skipped);
	CHECK(prune(dir, 25, 3, n[3], now, &pr, &err) == 0);
	CHECK(!pr.skipped && pr.deleted == 1);
	CHECK(!exists(dir, n[0]) && exists(dir, n[1]) && exists(dir, n[2]) && exists(dir, n[3]));
	rm_rf(dir);
	free(dir);
}

static void collect(void *arg, const char *name, unsigned keep)
{
	char rules[128];

	retention_format(keep, rules, sizeof(rules));
	if (keep)
		strbuf_addf(arg, "keep %s %s\n", name, rules);
	else
		strbuf_addf(arg, "delete %s\n", name);
}

/* Issue 11: the tiers through archive_prune, a dry run first. */
TEST(archive_prune_tiers_dry_run_then_delete)
{
	static const char *const names[] = {
		"mariadb_2024-12-31_020000.sql.gz.gpg", "mariadb_2025-01-31_020000.sql.gz.gpg",
		"mariadb_2025-02-27_020000.sql.gz.gpg", "mariadb_2025-02-28_020000.sql.gz.gpg",
		"mariadb_2025-02-28_140000.sql.gz.gpg",
	};
	char *dir = mkdir_tmp();
	char side[ARCHIVE_NAME_MAX];
	struct strbuf out = STRBUF_INIT;
	struct archive_prune_result pr;
	struct errbuf err;
	time_t newest = 0;
	struct archive_prune_opts o = {
		.dir = dir,
		.prefix = "mariadb",
		.rules = {.monthly = 2, .yearly = 2, .min_keep = 1},
		.dry_run = true,
		.report = collect,
		.report_arg = &out,
	};

	use_tz("UTC");
	for (size_t i = 0; i < 5; i++) {
		put(dir, names[i], "ciphertext");
		archive_sidecar_name(side, sizeof(side), names[i]);
		put(dir, side, "x");
	}
	/* Orphan sidecars: one older than the oldest kept backup, one not. */
	put(dir, "mariadb_2024-06-01_020000.sql.gz.gpg.sha256", "x");
	put(dir, "mariadb_2025-01-15_020000.sql.gz.gpg.sha256", "x");
	CHECK(archive_parse_name(names[4], "mariadb", &newest));
	o.now = newest + 60;

	/* Monthly: Feb 2025's newest, Jan 2025's; yearly: 2025's, 2024's. */
	const char *want = "keep mariadb_2025-02-28_140000.sql.gz.gpg monthly,yearly,min_keep\n"
			   "delete mariadb_2025-02-28_020000.sql.gz.gpg\n"
			   "delete mariadb_2025-02-27_020000.sql.gz.gpg\n"
			   "keep mariadb_2025-01-31_020000.sql.gz.gpg monthly\n"
			   "keep mariadb_2024-12-31_020000.sql.gz.gpg yearly\n";
	CHECK(archive_prune(&o, &pr, &err) == 0);
	CHECK_STREQ(strbuf_str(&out), want);
	CHECK(pr.deleted == 2 && pr.kept == 3 && !pr.skipped);
	for (size_t i = 0; i < 5; i++)
		CHECK(exists(dir, names[i]));
	CHECK(exists(dir, "mariadb_2024-06-01_020000.sql.gz.gpg.sha256"));

	strbuf_reset(&out);
	o.dry_run = false;
	CHECK(archive_prune(&o, &pr, &err) == 0);
	CHECK_STREQ(strbuf_str(&out), want);
	CHECK(pr.deleted == 2 && pr.kept == 3);
	for (size_t i = 0; i < 5; i++) {
		archive_sidecar_name(side, sizeof(side), names[i]);
		CHECK(exists(dir, names[i]) == (i != 2 && i != 3));
		CHECK(exists(dir, side) == (i != 2 && i != 3));
	}
	CHECK(!exists(dir, "mariadb_2024-06-01_020000.sql.gz.gpg.sha256"));
	CHECK(exists(dir, "mariadb_2025-01-15_020000.sql.gz.gpg.sha256"));

	/* A second run has nothing left to delete. */
	strbuf_reset(&out);
	CHECK(archive_prune(&o, &pr, &err) == 0);
	CHECK(pr.deleted == 0 && pr.kept == 3);
	strbuf_release(&out);
	rm_rf(dir);
	free(dir);
}

/* keep_days 0 with tiers: a new backup a year after the previous one is
 * no clock jump to the tiers (they count days that have backups). */
TEST(archive_prune_tiers_without_keep_days_ignore_gaps)
{
	char *dir = mkdir_tmp();
	char n[3][ARCHIVE_NAME_MAX];
	struct archive_prune_result pr;
	struct errbuf err;
	time_t now = time(NULL);
	struct archive_prune_opts o = {
		.dir = dir,
		.prefix = "mariadb",
		.rules = {.daily = 2, .min_keep = 1},
		.now = now,
	};

	use_tz("UTC");
	put_backup(dir, now - 400 * DAY, n[0], true);
	put_backup(dir, now - 365 * DAY, n[1], true);
	put_backup(dir, now, n[2], true);
	o.new_name = n[2];
	CHECK(archive_prune(&o, &pr, &err) == 0);
	CHECK(!pr.skipped && pr.deleted == 1 && pr.kept == 2);
	CHECK(!exists(dir, n[0]) && exists(dir, n[1]) && exists(dir, n[2]));
	rm_rf(dir);
	free(dir);
}

TEST(archive_clean_temps_rules)
{
	char *dir = mkdir_tmp();
	const char *arch_tmp = ".mariadb_2026-01-01_000000.sql.gz.gpg.tmp-Ab12Cd";
	const char *side_tmp = ".mariadb_2026-01-01_000000.sql.gz.gpg.sha256.tmp-Zz99aa";
	const char *spool_new = ".snapshot.sql.gz.gpg.tmp-aaaaaa";
	const char *spool_old = ".snapshot.sql.gz.gpg.tmp-bbbbbb";
	const char *spool_held = ".snapshot.sql.gz.gpg.tmp-cccccc";
	const char *other_arch = ".other_2026-01-01_000000.sql.gz.gpg.tmp-dddddd";
	char path[600];
	struct errbuf err;
	time_t now = time(NULL);
	unsigned removed = 99;
	int fd;

	put(dir, arch_tmp, "x");
	put(dir, side_tmp, "x");
	put(dir, spool_new, "x");
	put(dir, spool_old, "x");
	put(dir, spool_held, "x");
	put(dir, other_arch, "x");
	put(dir, ".hidden", "x");
	put(dir, ".dumpfs-state", "x");
	set_mtime(dir, ".hidden", now - DAY);
	set_mtime(dir, spool_old, now - 60);
	set_mtime(dir, spool_held, now - 60);
	snprintf(path, sizeof(path), "%s/%s", dir, spool_held);
	fd = open(path, O_RDWR);
	CHECK(fd >= 0 && archive_hold_temp(fd, &err) == 0);

	/* Without the run lock: only the old, unheld one. */
	CHECK(archive_clean_temps(dir, "mariadb", false, now, NULL, &removed, &err) == 0);
	CHECK(removed == 1 && !exists(dir, spool_old));
	CHECK(exists(dir, arch_tmp) && exists(dir, side_tmp) && exists(dir, spool_new));
	/* With the run lock: fresh temporaries of this prefix's backups too. */
	CHECK(archive_clean_temps(dir, "mariadb", true, now, NULL, &removed, &err) == 0);
	CHECK(removed == 2 && !exists(dir, arch_tmp) && !exists(dir, side_tmp));
	CHECK(exists(dir, spool_new) && exists(dir, spool_held) && exists(dir, other_arch));
	CHECK(exists(dir, ".hidden") && exists(dir, ".dumpfs-state"));
	/* Later: the held one survives until its fd is closed. */
	CHECK(archive_clean_temps(dir, "mariadb", true, now + 60, NULL, &removed, &err) == 0);
	CHECK(removed == 2 && exists(dir, spool_held) && !exists(dir, spool_new));
	CHECK(!exists(dir, other_arch) && exists(dir, ".hidden"));
	close(fd);
	CHECK(archive_clean_temps(dir, "mariadb", false, now, NULL, &removed, &err) == 0);
	CHECK(removed == 1 && !exists(dir, spool_held));
	rm_rf(dir);
	free(dir);
}
