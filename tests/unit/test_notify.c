/* The alert policy (notify_decide) and the notifier's use of the state
 * file: "notified once" must hold across processes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../dumper/notify.h"
#include "../../dumper/state.h"
#include "unit.h"

#define DAY 86400
#define NOW ((time_t)1796000000) /* 2026-11-30 */

static struct notify_facts facts(enum notify_mode mode, enum notify_trigger t)
{
	struct notify_facts f;

	memset(&f, 0, sizeof(f));
	f.mode = mode;
	f.trigger = t;
	f.now = NOW;
	f.key_expires = (time_t)-1;
	f.warn_expiry_days = 30;
	return f;
}

static unsigned events(const struct notify_facts *f)
{
	struct notify_decision d;

	notify_decide(f, &d);
	return d.events;
}

TEST(notify_failure_is_notified_unless_never)
{
	struct notify_facts f = facts(NOTIFY_MODE_FAILURE, NOTIFY_RUN_FAILED);
	struct notify_decision d;

	notify_decide(&f, &d);
	CHECK(d.events == NOTIFY_BIT(NOTIFY_EV_FAILURE));
	CHECK(!d.heartbeat);
	CHECK(!d.flags_changed);
	f.mode = NOTIFY_MODE_ALWAYS;
	CHECK(events(&f) == NOTIFY_BIT(NOTIFY_EV_FAILURE));
	f.mode = NOTIFY_MODE_NEVER;
	CHECK(events(&f) == 0);
	/* Every failed run, not only the first: the state does not hide a
	 * second failure. */
	f = facts(NOTIFY_MODE_FAILURE, NOTIFY_RUN_FAILED);
	f.had_problem = true;
	CHECK(events(&f) == NOTIFY_BIT(NOTIFY_EV_FAILURE));
	f = facts(NOTIFY_MODE_FAILURE, NOTIFY_SNAPSHOT_FAILED);
	CHECK(events(&f) == NOTIFY_BIT(NOTIFY_EV_FAILURE));
}

TEST(notify_success_quiet_unless_always)
{
	struct notify_facts f = facts(NOTIFY_MODE_FAILURE, NOTIFY_RUN_OK);
	struct notify_decision d;

	notify_decide(&f, &d);
	CHECK(d.events == 0);
	CHECK(d.heartbeat); /* the dead man's switch, whatever `on` says */
	f.mode = NOTIFY_MODE_ALWAYS;
	CHECK(events(&f) == NOTIFY_BIT(NOTIFY_EV_SUCCESS));
	f.mode = NOTIFY_MODE_NEVER;
	notify_decide(&f, &d);
	CHECK(d.events == 0);
	CHECK(d.heartbeat);
}

/* Issue 9: a run whose retention was skipped (a clock jump) succeeded,
 * but someone must look at the clock. */
TEST(notify_retention_skipped_is_a_notice)
{
	struct notify_facts f = facts(NOTIFY_MODE_FAILURE, NOTIFY_RUN_OK);
	struct notify_decision d;

	f.retention_skipped = true;
	notify_decide(&f, &d);
	CHECK(d.events == NOTIFY_BIT(NOTIFY_EV_RETENTION_SKIPPED));
	CHECK(d.heartbeat);
	f.mode = NOTIFY_MODE_ALWAYS;
	CHECK(events(&f) ==
	      (NOTIFY_BIT(NOTIFY_EV_SUCCESS) | NOTIFY_BIT(NOTIFY_EV_RETENTION_SKIPPED)));
	f.mode = NOTIFY_MODE_NEVER;
	CHECK(events(&f) == 0);
	/* Only for a successful run. */
	f = facts(NOTIFY_MODE_FAILURE, NOTIFY_RUN_FAILED);
	f.retention_skipped = true;
	CHECK(events(&f) == NOTIFY_BIT(NOTIFY_EV_FAILURE));
	CHECK_STREQ(notify_kind_name(NOTIFY_EV_RETENTION_SKIPPED), "retention_skipped");
	CHECK_STREQ(notify_kind_status(NOTIFY_EV_RETENTION_SKIPPED), "error");
}

TEST(notify_recovered_after_failure_or_staleness)
{
	struct notify_facts f = facts(NOTIFY_MODE_FAILURE, NOTIFY_RUN_OK);
	struct notify_decision d;

	f.had_problem = true;
	CHECK(events(&f) == NOTIFY_BIT(NOTIFY_EV_RECOVERED));
	f.mode = NOTIFY_MODE_ALWAYS; /* recovered replaces success */
	CHECK(events(&f) == NOTIFY_BIT(NOTIFY_EV_RECOVERED));
	f.mode = NOTIFY_MODE_NEVER;
	CHECK(events(&f) == 0);

	f = facts(NOTIFY_MODE_FAILURE, NOTIFY_RUN_OK);
	f.flags.stale_notified = true;
	notify_decide(&f, &d);
	CHECK(d.events == NOTIFY_BIT(NOTIFY_EV_RECOVERED));
	CHECK(!d.flags.stale_notified);
	CHECK(d.flags_changed);
}

TEST(notify_stale_once)
{
	struct notify_facts f = facts(NOTIFY_MODE_FAILURE, NOTIFY_CHECK);
	struct notify_decision d;

	f.stale = true;
	notify_decide(&f, &d);
	CHECK(d.events == NOTIFY_BIT(NOTIFY_EV_STALE));
	CHECK(d.flags.stale_notified && d.flags_changed);
	CHECK(!d.heartbeat);
	f.flags = d.flags; /* the next check */
	notify_decide(&f, &d);
	CHECK(d.events == 0);
	CHECK(!d.flags_changed);
	/* Fresh again (a backup appeared): the flag goes, silently. */
	f.stale = false;
	notify_decide(&f, &d);
	CHECK(d.events == 0);
	CHECK(!d.flags.stale_notified && d.flags_changed);
	/* Not stale, nothing to do. */
	f.flags = d.flags;
	notify_decide(&f, &d);
	CHECK(d.events == 0 && !d.flags_changed);
}

TEST(notify_stale_never_still_moves_the_flag)
{
	struct notify_facts f = facts(NOTIFY_MODE_NEVER, NOTIFY_CHECK);
	struct notify_decision d;

	f.stale = true;
	notify_decide(&f, &d);
	CHECK(d.events == 0);
	CHECK(d.flags.stale_notified);
}

TEST(notify_key_expiry_once_a_day)
{
	struct notify_facts f = facts(NOTIFY_MODE_FAILURE, NOTIFY_CHECK);
	struct notify_decision d;

	f.key_expires = NOW + 10 * DAY;
	notify_decide(&f, &d);
	CHECK(d.events == NOTIFY_BIT(NOTIFY_EV_KEY_EXPIRY));
	CHECK(d.flags.expiry_warned_day == NOW / DAY && d.flags_changed);
	f.flags = d.flags;
	f.now = NOW + 3600; /* same day */
	CHECK(events(&f) == 0);
	f.now = NOW + DAY; /* next day */
	CHECK(events(&f) == NOTIFY_BIT(NOTIFY_EV_KEY_EXPIRY));
	/* Also along with a run's own notice. */
	f = facts(NOTIFY_MODE_FAILURE, NOTIFY_RUN_FAILED);
	f.key_expires = NOW + 10 * DAY;
	CHECK(events(&f) == (NOTIFY_BIT(NOTIFY_EV_FAILURE) | NOTIFY_BIT(NOTIFY_EV_KEY_EXPIRY)));
}

TEST(notify_key_expiry_window)
{
	struct notify_facts f = facts(NOTIFY_MODE_FAILURE, NOTIFY_CHECK);

	f.key_expires = NOW + 31 * DAY; /* outside 30 days */
	CHECK(events(&f) == 0);
	f.key_expires = NOW + 30 * DAY; /* the edge counts */
	CHECK(events(&f) == NOTIFY_BIT(NOTIFY_EV_KEY_EXPIRY));
	f.key_expires = NOW - DAY; /* expired: warned too */
	CHECK(events(&f) == NOTIFY_BIT(NOTIFY_EV_KEY_EXPIRY));
	f.key_expires = 0; /* never expires */
	CHECK(events(&f) == 0);
	f.key_expires = (time_t)-1; /* unknown */
	CHECK(events(&f) == 0);
	f.key_expires = NOW + DAY;
	f.warn_expiry_days = 0; /* warnings off */
	CHECK(events(&f) == 0);
}

TEST(notify_had_problem_from_state)
{
	struct run_state st;

	state_init(&st);
	CHECK(!notify_had_problem(&st));
	st.last_error_at = NOW;
	CHECK(notify_had_problem(&st));
	st.last_error_at = 0;
	st.stale_notified = true;
	CHECK(notify_had_problem(&st));
}

TEST(notify_kind_names)
{
	CHECK_STREQ(notify_kind_name(NOTIFY_EV_FAILURE), "failure");
	CHECK_STREQ(notify_kind_name(NOTIFY_EV_KEY_EXPIRY), "key_expiry");
	CHECK_STREQ(notify_kind_status(NOTIFY_EV_FAILURE), "error");
	CHECK_STREQ(notify_kind_status(NOTIFY_EV_STALE), "error");
	CHECK_STREQ(notify_kind_status(NOTIFY_EV_RECOVERED), "success");
	CHECK_STREQ(notify_kind_status(NOTIFY_EV_SUCCESS), "success");
	CHECK_STREQ(notify_kind_name(NOTIFY_EV_REHEARSAL_FAILED), "rehearsal_failed");
	CHECK_STREQ(notify_kind_status(NOTIFY_EV_REHEARSAL_FAILED), "error");
	CHECK_STREQ(notify_kind_name(NOTIFY_EV_BINLOG_BROKEN), "binlog_broken");
	CHECK_STREQ(notify_kind_status(NOTIFY_EV_BINLOG_BROKEN), "error");
	CHECK_STREQ(notify_kind_name(NOTIFY_EV_BINLOG_RECOVERED), "binlog_recovered");
	CHECK_STREQ(notify_kind_status(NOTIFY_EV_BINLOG_RECOVERED), "success");
}

/* The streamer decides when (once each); the policy only says `never`. */
TEST(notify_binlog_break_and_recovery_unless_never)
{
	struct notify_facts f = facts(NOTIFY_MODE_FAILURE, NOTIFY_BINLOG_BROKEN);
	struct notify_decision d;

	notify_decide(&f, &d);
	CHECK(d.events == NOTIFY_BIT(NOTIFY_EV_BINLOG_BROKEN));
	CHECK(!d.heartbeat && !d.flags_changed);
	f.trigger = NOTIFY_BINLOG_RECOVERED;
	CHECK(events(&f) == NOTIFY_BIT(NOTIFY_EV_BINLOG_RECOVERED));
	f.mode = NOTIFY_MODE_ALWAYS;
	CHECK(events(&f) == NOTIFY_BIT(NOTIFY_EV_BINLOG_RECOVERED));
	f.mode = NOTIFY_MODE_NEVER;
	CHECK(events(&f) == 0);
	f.trigger = NOTIFY_BINLOG_BROKEN;
	CHECK(events(&f) == 0);
}

TEST(notify_rehearsal_failed_every_time_unless_never)
{
	struct notify_facts f = facts(NOTIFY_MODE_FAILURE, NOTIFY_REHEARSAL_FAILED);
	struct notify_decision d;

	notify_decide(&f, &d);
	CHECK(d.events == NOTIFY_BIT(NOTIFY_EV_REHEARSAL_FAILED));
	CHECK(!d.heartbeat); /* not a backup: the dead man's switch stays put */
	CHECK(!d.flags_changed);
	f.flags.stale_notified = true; /* nothing the state says hides it */
	CHECK(events(&f) == NOTIFY_BIT(NOTIFY_EV_REHEARSAL_FAILED));
	f.mode = NOTIFY_MODE_ALWAYS;
	CHECK(events(&f) == NOTIFY_BIT(NOTIFY_EV_REHEARSAL_FAILED));
	f.mode = NOTIFY_MODE_NEVER;
	CHECK(events(&f) == 0);
}

/* ---- the notifier with a real state file, no channels ---- */

static char *notify_tmpdir(void)
{
	char tmpl[] = "/tmp/dumpfs-ut-notify-XXXXXX";
	char *d = mkdtemp(tmpl);

	return d ? strdup(d) : NULL;
}

static void notify_rmdir(char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	free(dir);
}

static void touch(const char *dir, const char *name)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		if (write(fd, "x", 1) != 1)
			fprintf(stderr, "cannot write %s\n", path);
		close(fd);
	}
}

static struct notifier *quiet_notifier(const char *dir)
{
	struct notify_opts o;
	struct notifier *n = NULL;
	struct errbuf err;

	memset(&o, 0, sizeof(o));
	o.mode = NOTIFY_MODE_FAILURE;
	o.archive_dir = dir;
	o.prefix = "mariadb";
	o.max_age_hours = 26;
	o.warn_expiry_days = 30;
	if (notifier_new(&n, &o, &err))
		printf("# notifier_new: %s\n", err.msg);
	return n;
}

TEST(notify_stale_flag_persists_across_notifiers)
{
	char *dir = notify_tmpdir();
	char path[512];
	struct notifier *n;
	struct run_state st;
	struct errbuf err;

	CHECK(dir != NULL);
	if (!dir)
		return;
	touch(dir, "mariadb_2020-01-01_000000.sql.gz.gpg"); /* years old */
	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE_NAME);
	n = quiet_notifier(dir);
	CHECK(n != NULL);
	notifier_check(n, time(NULL));
	CHECK(state_load(&st, path, &err) == 0);
	CHECK(st.stale_notified);
	notifier_free(n);

	/* A success clears it (state_record_success), and the notifier
	 * remembered the problem for the hook: it would say "recovered". */
	n = quiet_notifier(dir);
	CHECK(n != NULL);
	if (n) {
		struct notify_run run;

		notifier_run_begin(n, &run);
		CHECK(run.valid && run.had_problem);
		notifier_free(n);
	}
	notify_rmdir(dir);
}

TEST(notify_key_warning_day_persists)
{
	char *dir = notify_tmpdir();
	char path[512];
	struct gpg_key_info key;
	struct notifier *n;
	struct run_state st;
	struct errbuf err;

	CHECK(dir != NULL);
	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE_NAME);
	n = quiet_notifier(dir);
	CHECK(n != NULL);
	if (!n) {
		notify_rmdir(dir);
		return;
	}
	memset(&key, 0, sizeof(key));
	snprintf(key.fingerprint, sizeof(key.fingerprint), "ABCDEF");
	key.expires = time(NULL) + 10 * DAY;
	notifier_set_key(n, &key);
	notifier_check(n, time(NULL));
	CHECK(state_load(&st, path, &err) == 0);
	CHECK(st.expiry_warned_day == (long)(time(NULL) / DAY));
	CHECK(!st.stale_notified); /* no backup at all is not "stale" */
	notifier_free(n);
	notify_rmdir(dir);
}

static bool file_has(const char *path, const char *needle)
{
	char buf[8192];
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

TEST(notify_busy_run_notifies_nothing)
{
	char *dir = notify_tmpdir();
	struct logger *lg = logger_new(LOGL_DEBUG);
	struct notify_opts o;
	struct notifier *n = NULL;
	struct errbuf err;
	char logpath[512];

	CHECK(dir != NULL && lg != NULL);
	if (!dir || !lg)
		return;
	snprintf(logpath, sizeof(logpath), "%s/log", dir);
	logger_set_quiet(lg, true);
	CHECK(logger_set_file(lg, logpath, &err) == 0);
	memset(&o, 0, sizeof(o));
	o.archive_dir = dir;
	o.log = lg;
	CHECK(notifier_new(&n, &o, &err) == 0);
	if (n) {
		notifier_run_end(n, NULL, -EBUSY, NULL, "another backup is running");
		CHECK(!file_has(logpath, "event=failure"));
		notifier_run_end(n, NULL, -EIO, NULL, "sql: connection refused");
		CHECK(file_has(logpath, "event=failure"));
		notifier_free(n);
	}
	logger_free(lg);
	notify_rmdir(dir);
}
