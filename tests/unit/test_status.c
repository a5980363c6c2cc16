#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../dumper/status.h"
#include "unit.h"

#define T0    1795917600 /* 2026-11-29T02:00:00Z */
#define NAME0 "mariadb_2026-11-29_020000.sql.gz.gpg"

static struct archive_entry entries[2];
static struct archive_list two = {entries, 2};
static struct archive_list none = {NULL, 0};

static void setup(struct status_input *in, struct run_state *st)
{
	memset(entries, 0, sizeof(entries));
	strcpy(entries[0].name, "mariadb_2026-11-28_020000.sql.gz.gpg");
	entries[0].when = T0 - 86400;
	entries[0].mtime.tv_sec = T0 - 86400 + 30;
	entries[0].size = 10;
	strcpy(entries[1].name, NAME0);
	entries[1].when = T0;
	entries[1].mtime.tv_sec = T0 + 42;
	entries[1].size = 123456;
	entries[1].has_sidecar = true;
	state_init(st);
	memset(in, 0, sizeof(*in));
	in->archives = &two;
	in->state = st;
	in->now = T0 + 3600;
	in->max_age_hours = 26;
	in->next_run = (time_t)-1;
	in->key_expires = (time_t)-1;
	in->max_snapshot_readers = 2;
	in->version = "0.1.0";
}

static char *render(enum status_file f, const struct status_input *in)
{
	struct strbuf sb = STRBUF_INIT;

	if (status_render(f, in, &sb))
		return NULL;
	return strbuf_detach(&sb);
}

#define CHECK_RENDER(f, in, want)                                                                  \
	do {                                                                                       \
		char *got_ = render(f, in);                                                        \
		CHECK_STREQ(got_, want);                                                           \
		free(got_);                                                                        \
	} while (0)

TEST(status_ok_files)
{
	struct status_input in;
	struct run_state st;
	struct status_eval ev;

	setup(&in, &st);
	status_evaluate(&in, &ev);
	CHECK(ev.health == HEALTH_OK && ev.age == 3600 && ev.newest == &entries[1]);
	CHECK(status_exit_code(ev.health) == 0);
	CHECK_RENDER(STATUS_HEALTH, &in, "OK 3600 " NAME0 "\n");
	CHECK_RENDER(STATUS_LAST_SUCCESS, &in, "2026-11-29T02:00:00Z\n");
	CHECK_RENDER(STATUS_AGE_SECONDS, &in, "3600\n");
	CHECK_RENDER(STATUS_LAST_ERROR, &in, "\n");
	/* A failed later run leaves health OK; last_error shows it. */
	st.last_error_at = T0 + 1800;
	strcpy(st.last_error, "dump: cannot connect to '127.0.0.1:3306'");
	st.failures = 1;
	CHECK_RENDER(STATUS_HEALTH, &in, "OK 3600 " NAME0 "\n");
	CHECK_RENDER(STATUS_LAST_ERROR, &in,
		     "2026-11-29T02:30:00Z dump: cannot connect to '127.0.0.1:3306'\n");
}

TEST(status_critical_and_boundaries)
{
	struct status_input in;
	struct run_state st;
	struct status_eval ev;

	setup(&in, &st);
	in.now = T0 + 100000;
	CHECK_RENDER(STATUS_HEALTH, &in, "CRITICAL 100000 " NAME0 " older than 26h\n");
	status_evaluate(&in, &ev);
	CHECK(status_exit_code(ev.health) == 1);
	in.now = T0 + 26 * 3600;
	CHECK_RENDER(STATUS_HEALTH, &in, "OK 93600 " NAME0 "\n");
	in.now++;
	CHECK_RENDER(STATUS_HEALTH, &in, "CRITICAL 93601 " NAME0 " older than 26h\n");
	/* A file touched back in time is as old as its mtime says. */
	in.now = T0 + 3600;
	entries[1].mtime.tv_sec = T0 - 200000;
	CHECK_RENDER(STATUS_HEALTH, &in, "CRITICAL 203600 " NAME0 " older than 26h\n");
	CHECK_RENDER(STATUS_AGE_SECONDS, &in, "203600\n");
	/* A name in the future: age 0, not negative. */
	entries[1].mtime.tv_sec = T0 + 42;
	in.now = T0 - 10;
	CHECK_RENDER(STATUS_HEALTH, &in, "OK 0 " NAME0 "\n");
	/* An unreadable archive dir is critical. */
	in.archives = &none;
	in.archive_error = "cannot read archive directory '/x': Permission denied";
	CHECK_RENDER(STATUS_HEALTH, &in,
		     "CRITICAL cannot read archive directory '/x': Permission denied\n");
}

TEST(status_none)
{
	struct status_input in;
	struct run_state st;
	struct status_eval ev;

	setup(&in, &st);
	in.archives = &none;
	status_evaluate(&in, &ev);
	CHECK(ev.health == HEALTH_NONE && status_exit_code(ev.health) == 2);
	CHECK_RENDER(STATUS_HEALTH, &in, "NONE no backup found\n");
	CHECK_RENDER(STATUS_LAST_SUCCESS, &in, "\n");
	CHECK_RENDER(STATUS_AGE_SECONDS, &in, "\n");
	in.archives = NULL;
	in.state = NULL;
	CHECK_RENDER(STATUS_HEALTH, &in, "NONE no backup found\n");
	CHECK_RENDER(STATUS_LAST_ERROR, &in, "\n");
}

TEST(status_file_names)
{
	CHECK_STREQ(status_file_name(STATUS_HEALTH), "health");
	CHECK_STREQ(status_file_name(STATUS_METRICS), "metrics.prom");
	CHECK(status_file_lookup("status.json") == STATUS_JSON);
	CHECK(status_file_lookup("last_error") == STATUS_LAST_ERROR);
	CHECK(status_file_lookup("nope") == -1);
	CHECK(status_file_name(STATUS_NFILES) == NULL);
}

/* Runs `cmd` with `input` on stdin; returns its stdout (malloc'ed). */
static char *pipe_through(const char *cmd, const char *input)
{
	char tmpl[] = "/tmp/dumpfs-ut-status-XXXXXX", full[512];
	struct strbuf out = STRBUF_INIT;
	char buf[4096];
	size_t n;
	FILE *f;
	int fd = mkstemp(tmpl);

	if (fd < 0 || write(fd, input, strlen(input)) != (ssize_t)strlen(input))
		return NULL;
	close(fd);
	snprintf(full, sizeof(full), "%s < %s 2>&1", cmd, tmpl);
	f = popen(full, "r");
	while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&out, buf, n);
	if (f && pclose(f) != 0)
		strbuf_addstr(&out, "[exit non-zero]");
	unlink(tmpl);
	return strbuf_detach(&out);
}

#define PYJSON                                                                                     \
	"python3 -c 'import json,sys; d=json.load(sys.stdin); print(\" \".join(\"%%s=%%r\" %% "    \
	"(k, d[k]) for k in sys.argv[1:]))' "

TEST(status_json_is_valid_and_complete)
{
	static const char *const fprs[] = {"89ABCDEF0123456789ABCDEF0123456789ABCDEF",
					   "0123456789ABCDEF0123456789ABCDEF01234567"};
	struct status_input in;
	struct run_state st;
	char *json, *got, cmd[1024];

	setup(&in, &st);
	st.last_error_at = T0 + 1800;
	strcpy(st.last_error, "quote \" backslash \\ tab \t ctl \x01 bad \xff utf8 \xc3\xa9");
	st.last_duration = 12.25;
	st.successes = 3;
	st.failures = 1;
	st.running = true;
	in.next_run = T0 + 86400;
	in.key_fingerprint = "0123456789ABCDEF0123456789ABCDEF01234567";
	in.key_fingerprints = fprs;
	in.n_key_fingerprints = 2;
	in.snapshot_readers = 1;
	json = render(STATUS_JSON, &in);
	CHECK(json && json[strlen(json) - 1] == '\n');
	snprintf(cmd, sizeof(cmd), PYJSON "%s",
		 "state last_success age_seconds max_age_seconds last_file last_size_bytes "
		 "last_duration_seconds last_error last_error_at running archive_count next_run "
		 "key_fingerprint key_expires key_fingerprints snapshot_readers version");
	got = pipe_through(cmd, json);
	CHECK_STREQ(
		got,
		"state='ok' last_success='2026-11-29T02:00:00Z' age_seconds=3600 "
		"max_age_seconds=93600 last_file='" NAME0 "' last_size_bytes=123456 "
		"last_duration_seconds=12.25 "
		"last_error='quote \" backslash \\\\ tab \\t ctl \\x01 bad \xef\xbf\xbd utf8 é' "
		"last_error_at='2026-11-29T02:30:00Z' running=True archive_count=2 "
		"next_run='2026-11-30T02:00:00Z' "
		"key_fingerprint='0123456789ABCDEF0123456789ABCDEF01234567' "
		"key_expires=None key_fingerprints=['89ABCDEF0123456789ABCDEF0123456789ABCDEF', "
		"'0123456789ABCDEF0123456789ABCDEF01234567'] snapshot_readers=1 version='0.1.0'\n");
	free(got);
	free(json);

	in.archives = &none;
	state_init(&st);
	in.key_expires = T0 + 10 * 86400;
	in.next_run = (time_t)-1;
	in.key_fingerprint = NULL;
	in.n_key_fingerprints = 0;
	json = render(STATUS_JSON, &in);
	snprintf(cmd, sizeof(cmd), PYJSON "%s",
		 "state last_success age_seconds last_file last_size_bytes last_duration_seconds "
		 "last_error last_error_at running next_run key_fingerprint key_expires "
		 "key_fingerprints");
	got = pipe_through(cmd, json);
	CHECK_STREQ(got, "state='none' last_success=None age_seconds=None last_file=None "
			 "last_size_bytes=None last_duration_seconds=None last_error=None "
			 "last_error_at=None running=False next_run=None key_fingerprint=None "
			 "key_expires='2026-12-09T02:00:00Z' key_fingerprints=None\n");
	free(got);
	free(json);
}

TEST(status_metrics_format)
{
	struct status_input in;
	struct run_state st;
	char *m;

	setup(&in, &st);
	st.successes = 5;
	st.failures = 2;
	st.last_duration = 3.5;
	in.key_expires = T0 + 86400;
	in.snapshot_readers = 2;
	m = render(STATUS_METRICS, &in);
	CHECK(m && m[strlen(m) - 1] == '\n');
	CHECK(strstr(m, "\ndumpfs_last_success_timestamp_seconds 1795917600\n") != NULL);
	CHECK(strstr(m, "\ndumpfs_backup_age_seconds 3600\n") != NULL);
	CHECK(strstr(m, "\ndumpfs_last_backup_size_bytes 123456\n") != NULL);
	CHECK(strstr(m, "\ndumpfs_last_backup_duration_seconds 3.500\n") != NULL);
	CHECK(strstr(m, "\ndumpfs_backups_total{result=\"success\"} 5\n") != NULL);
	CHECK(strstr(m, "\ndumpfs_backups_total{result=\"failure\"} 2\n") != NULL);
	CHECK(strstr(m, "\n# TYPE dumpfs_backups_total counter\n") != NULL);
	CHECK(strstr(m, "\ndumpfs_archive_files 2\n") != NULL);
	CHECK(strstr(m, "\ndumpfs_snapshot_readers 2\n") != NULL);
	CHECK(strstr(m, "\ndumpfs_key_expiry_timestamp_seconds 1796004000\n") != NULL);
	CHECK(strstr(m, "\ndumpfs_build_info{version=\"0.1.0\"} 1\n") != NULL);
	CHECK(strncmp(m, "# HELP dumpfs_up ", 17) == 0 && strstr(m, "\ndumpfs_up 1\n"));
	free(m);

	in.archives = &none;
	in.key_expires = 0;
	state_init(&st);
	m = render(STATUS_METRICS, &in);
	CHECK(strstr(m, "\ndumpfs_backup_age_seconds +Inf\n") != NULL);
	CHECK(strstr(m, "\ndumpfs_last_success_timestamp_seconds 0\n") != NULL);
	CHECK(strstr(m, "\ndumpfs_last_backup_duration_seconds NaN\n") != NULL);
	CHECK(strstr(m, "key_expiry") == NULL);
	free(m);
}

/* The same two renderings as above, checked by Prometheus' own linter. */
TEST(status_metrics_pass_promtool)
{
	struct status_input in;
	struct run_state st;
	char *m, *got;

	if (access("/usr/bin/promtool", X_OK) != 0) {
		unit_skip("/usr/bin/promtool is not installed (tests/deps.sh test)");
		return;
	}
	setup(&in, &st);
	st.successes = 5;
	st.failures = 2;
	st.last_duration = 3.5;
	in.key_expires = T0 + 86400;
	in.snapshot_readers = 2;
	m = render(STATUS_METRICS, &in);
	got = pipe_through("promtool check metrics", m);
	CHECK_STREQ(got, "");
	free(got);
	free(m);

	in.archives = &none;
	in.key_expires = 0;
	state_init(&st);
	m = render(STATUS_METRICS, &in);
	got = pipe_through("promtool check metrics", m);
	CHECK_STREQ(got, "");
	free(got);
	free(m);
}

/* Issue 9: a backup made while the clock ran a year ahead stayed the
 * "newest" and health stayed OK after the clock was fixed. */
TEST(status_dated_in_the_future)
{
	struct status_input in;
	struct run_state st;
	struct status_eval ev;

	setup(&in, &st);
	/* Named a year ahead, written now (the kernel's mtime). */
	strcpy(entries[1].name, "mariadb_2027-11-29_020000.sql.gz.gpg");
	entries[1].when = T0 + 365 * 86400;
	entries[1].mtime.tv_sec = T0 + 3000;
	status_evaluate(&in, &ev);
	CHECK(ev.health == HEALTH_CRITICAL && ev.future);
	CHECK(status_exit_code(ev.health) == 1);
	CHECK_RENDER(STATUS_HEALTH, &in,
		     "CRITICAL 600 mariadb_2027-11-29_020000.sql.gz.gpg dated in the future\n");
	{
		char *json = render(STATUS_JSON, &in), *prom = render(STATUS_METRICS, &in);

		CHECK(json && strstr(json, "\"state\": \"critical\""));
		CHECK(json && strstr(json, "dated in the future"));
		CHECK(prom && strstr(prom, "dumpfs_healthy 0\n"));
		free(json);
		free(prom);
	}
	/* Up to one hour ahead is clock skew, not a jump. */
	entries[1].when = in.now + 3600;
	status_evaluate(&in, &ev);
	CHECK(ev.health == HEALTH_OK && !ev.future);
	entries[1].when = in.now + 3601;
	status_evaluate(&in, &ev);
	CHECK(ev.health == HEALTH_CRITICAL && ev.future);
}

/* Issue 9: a backup without a sidecar is shown, not only logged. */
TEST(status_lists_missing_sidecars)
{
	struct status_input in;
	struct run_state st;
	char *json, *prom;

	setup(&in, &st); /* entries[0] has no sidecar */
	json = render(STATUS_JSON, &in);
	prom = render(STATUS_METRICS, &in);
	CHECK(json &&
	      strstr(json, "\"missing_sidecars\": [\"mariadb_2026-11-28_020000.sql.gz.gpg\"]"));
	CHECK(prom && strstr(prom, "\ndumpfs_archive_missing_sidecars 1\n"));
	free(json);
	free(prom);
	entries[0].has_sidecar = true;
	json = render(STATUS_JSON, &in);
	prom = render(STATUS_METRICS, &in);
	CHECK(json && strstr(json, "\"missing_sidecars\": []"));
	CHECK(prom && strstr(prom, "\ndumpfs_archive_missing_sidecars 0\n"));
	free(json);
	free(prom);
}

/* Issue 11: the retention rules in force and how many backups each keeps. */
TEST(status_json_retention)
{
	const struct retention_rules rules = {.days = 30, .daily = 1, .weekly = 2, .min_keep = 1};
	const char *old = getenv("TZ");
	char *saved = old ? strdup(old) : NULL;
	struct status_input in;
	struct run_state st;
	char *json, *got, cmd[1024];

	setenv("TZ", "UTC", 1);
	tzset();
	setup(&in, &st);
	/* Sat 2026-11-28 and Sun 2026-11-29: one day each, one ISO week. */
	in.retention = &rules;
	json = render(STATUS_JSON, &in);
	snprintf(cmd, sizeof(cmd), PYJSON "%s", "retention");
	got = pipe_through(cmd, json);
	CHECK_STREQ(got, "retention={'keep_days': 30, 'keep_daily': 1, 'keep_weekly': 2, "
			 "'keep_monthly': 0, 'keep_yearly': 0, 'min_keep': 1, 'kept': 2, "
			 "'kept_by': {'days': 2, 'daily': 1, 'weekly': 1, 'monthly': 0, "
			 "'yearly': 0, 'min_keep': 1}}\n");
	free(got);
	free(json);

	in.archives = &none;
	json = render(STATUS_JSON, &in);
	got = pipe_through(cmd, json);
	CHECK(got && strstr(got, "'kept': 0, 'kept_by': {'days': 0, 'daily': 0"));
	free(got);
	free(json);

	in.retention = NULL;
	json = render(STATUS_JSON, &in);
	got = pipe_through(cmd, json);
	CHECK_STREQ(got, "retention=None\n");
	free(got);
	free(json);
	if (saved)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved);
}

/* [binlog] on (docs/pitr.md): health, status.json "binlog", the gauges. */
TEST(status_binlog_lag_makes_health_critical)
{
	struct binlog_report b;
	struct status_input in;
	struct run_state st;
	struct status_eval ev;
	char *json, *got, *prom, cmd[512];

	setup(&in, &st);
	memset(&b, 0, sizeof(b));
	b.max_lag_seconds = 600;
	b.segments = 7;
	in.binlog = &b;
	/* no streamer ever wrote a status */
	status_evaluate(&in, &ev);
	CHECK(ev.health == HEALTH_CRITICAL && ev.binlog_lag == -1);
	CHECK_RENDER(STATUS_HEALTH, &in, "CRITICAL 3600 " NAME0 " binlog archive never streamed\n");
	prom = render(STATUS_METRICS, &in);
	CHECK(prom && strstr(prom, "\ndumpfs_binlog_lag_seconds +Inf\n") &&
	      strstr(prom, "\ndumpfs_binlog_segments 7\n") &&
	      strstr(prom, "\ndumpfs_binlog_max_lag_seconds 600\n") &&
	      strstr(prom, "\ndumpfs_healthy 0\n"));
	free(prom);
	/* caught up, refreshed just now */
	b.have_status = true;
	b.st.updated_at = in.now - 5;
	b.st.last_event_at = T0 + 3000;
	CHECK_RENDER(STATUS_HEALTH, &in, "OK 3600 " NAME0 "\n");
	prom = render(STATUS_METRICS, &in);
	CHECK(prom && strstr(prom, "\ndumpfs_binlog_lag_seconds 0\n"));
	free(prom);
	/* behind, at the limit (OK) and past it (CRITICAL) */
	b.st.behind_since = in.now - 600;
	CHECK_RENDER(STATUS_HEALTH, &in, "OK 3600 " NAME0 "\n");
	b.st.behind_since = in.now - 601;
	b.st.last_error_at = in.now - 601;
	strcpy(b.st.last_error, "the binlog stream broke: gone");
	CHECK_RENDER(STATUS_HEALTH, &in,
		     "CRITICAL 3600 " NAME0 " binlog archive 601 s behind (max_lag_seconds 600)\n");
	CHECK(status_exit_code(HEALTH_CRITICAL) == 1);
	json = render(STATUS_JSON, &in);
	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import json,sys; b=json.load(sys.stdin)[\"binlog\"]; "
		 "print(sorted(b.items()))'");
	got = pipe_through(cmd, json);
	CHECK_STREQ(got, "[('enabled', True), ('lag_seconds', 601), "
			 "('last_error', 'the binlog stream broke: gone'), "
			 "('last_error_at', '2026-11-29T02:49:59Z'), "
			 "('last_event_at', '2026-11-29T02:50:00Z'), "
			 "('max_lag_seconds', 600), ('segments', 7), "
			 "('updated_at', '2026-11-29T02:59:55Z')]\n");
	free(got);
	free(json);
	/* an old backup and the binlog: both reasons */
	in.now = T0 + 27 * 3600;
	b.st.updated_at = in.now;
	b.st.behind_since = in.now - 700;
	CHECK_RENDER(STATUS_HEALTH, &in,
		     "CRITICAL 97200 " NAME0
		     " older than 26h; binlog archive 700 s behind (max_lag_seconds 600)\n");
	/* no backup at all stays NONE */
	in.archives = &none;
	status_evaluate(&in, &ev);
	CHECK(ev.health == HEALTH_NONE);
	/* [binlog] off: an object saying so, no gauges */
	setup(&in, &st);
	json = render(STATUS_JSON, &in);
	got = pipe_through(cmd, json);
	CHECK_STREQ(got, "[('enabled', False), ('lag_seconds', None), ('last_error', None), "
			 "('last_error_at', None), ('last_event_at', None), "
			 "('max_lag_seconds', None), ('segments', 0), ('updated_at', None)]\n");
	free(got);
	free(json);
	prom = render(STATUS_METRICS, &in);
	CHECK(prom && !strstr(prom, "dumpfs_binlog"));
	free(prom);
}
