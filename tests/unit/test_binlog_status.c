/* The binlog streamer's status file (dumper/binlog_status.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../dumper/binlog_status.h"
#include "unit.h"

#define T0 1795917600

static int parse(const char *text, struct binlog_status *st, unsigned *line)
{
	return binlog_status_parse(text, strlen(text), st, line);
}

TEST(binlog_status_parses_its_keys)
{
	struct binlog_status st;
	unsigned line;

	CHECK(!parse("# comment\nversion=1\nupdated_at=1795917600\nlast_event_at=5\n"
		     "behind_since=7\nlast_error_at=9\nlast_error=it broke\nbroken_notified=1\n"
		     "failing_since=3\na_newer_key=anything\n\n",
		     &st, &line));
	CHECK(st.failing_since == 3);
	CHECK(st.updated_at == T0 && st.last_event_at == 5 && st.behind_since == 7);
	CHECK(st.last_error_at == 9 && st.broken_notified);
	CHECK_STREQ(st.last_error, "it broke");
	/* a message without its time is no message */
	CHECK(!parse("version=1\nupdated_at=5\nlast_error=left over\n", &st, &line) &&
	      !st.last_error[0]);
}

/* Not written by a streamer: an empty file would read as "caught up". */
TEST(binlog_status_needs_version_and_updated_at)
{
	struct binlog_status st;
	unsigned line;

	CHECK(parse("", &st, &line) == -EINVAL && line == 0);
	CHECK(parse("version=1\n", &st, &line) == -EINVAL);
	CHECK(parse("version=1\nupdated_at=0\n", &st, &line) == -EINVAL);
	CHECK(parse("updated_at=7\nbehind_since=0\n", &st, &line) == -EINVAL);
	CHECK(!parse("updated_at=7\nversion=1\n", &st, &line) && st.updated_at == 7);
}

/* What the streamer writes reads back the same. */
TEST(binlog_status_format_round_trip)
{
	struct binlog_status st, back;
	struct strbuf sb = STRBUF_INIT;
	unsigned line;

	memset(&st, 0, sizeof(st));
	st.updated_at = T0;
	st.last_event_at = T0 - 9;
	st.behind_since = T0 - 8;
	st.last_error_at = T0 - 7;
	st.failing_since = T0 - 60;
	strcpy(st.last_error, "gone = away");
	st.broken_notified = true;
	binlog_status_format(&st, &sb);
	CHECK(!binlog_status_parse(sb.buf, sb.len, &back, &line));
	CHECK(!memcmp(&st, &back, sizeof(st)));
	strbuf_release(&sb);
}

TEST(binlog_status_refuses_what_it_did_not_write)
{
	static const char *const bad[] = {
		"updated_at=1\nbehind_since=-1\n",
		"updated_at=12a\n",
		"updated_at=\n",
		"updated_at=99999999999999999999\n",
		"version=2\n",
		"broken_notified=2\n",
		"broken_notified=\n",
		"no equals sign\n",
		"=1\n",
		"updated_at=1", /* no final newline */
	};
	struct binlog_status st;
	unsigned line;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(parse(bad[i], &st, &line) == -EINVAL);
		CHECK(!st.updated_at && !st.behind_since); /* nothing half-read */
	}
	CHECK(parse("version=1\nupdated_at=1\nbehind_since=x\n", &st, &line) == -EINVAL &&
	      line == 3);
	CHECK(binlog_status_parse("updated_at=1\n\0\n", 15, &st, &line) == -EINVAL && line == 0);
}

TEST(binlog_status_lag_counts_a_stale_file)
{
	struct binlog_status st;

	memset(&st, 0, sizeof(st));
	st.updated_at = T0;
	CHECK(binlog_status_lag(&st, T0 + 5) == 0); /* caught up, fresh */
	st.behind_since = T0 - 100;
	CHECK(binlog_status_lag(&st, T0 + 5) == 105);
	CHECK(binlog_status_lag(&st, T0 - 200) == 0); /* a clock set back */
	/* nobody refreshed it: behind since the last refresh at the latest */
	st.behind_since = 0;
	CHECK(binlog_status_lag(&st, T0 + BINLOG_STATUS_STALE) == 0);
	CHECK(binlog_status_lag(&st, T0 + BINLOG_STATUS_STALE + 1) == BINLOG_STATUS_STALE + 1);
	st.behind_since = T0 - 50; /* older than the refresh: it counts */
	CHECK(binlog_status_lag(&st, T0 + 100) == 150);
}

TEST(binlog_status_store_and_load)
{
	char tmpl[] = "/tmp/dumpfs-ut-blstatus-XXXXXX", path[256], cmd[300];
	char *dir = mkdtemp(tmpl);
	struct binlog_status st, back;
	struct errbuf err;
	struct stat sb;
	FILE *f;

	CHECK(dir != NULL);
	if (!dir)
		return;
	CHECK(binlog_status_load(dir, &back, &err) == -ENOENT);
	memset(&st, 0, sizeof(st));
	st.updated_at = T0;
	st.behind_since = T0 - 3;
	st.last_error_at = T0 - 3;
	strcpy(st.last_error, "two\nlines\tand a tab");
	st.broken_notified = true;
	CHECK(!binlog_status_store(dir, &st, (gid_t)-1, &err));
	CHECK(!binlog_status_load(dir, &back, &err));
	CHECK(back.updated_at == T0 && back.behind_since == T0 - 3 && back.broken_notified);
	CHECK_STREQ(back.last_error, "two lines and a tab"); /* one line, always */
	snprintf(path, sizeof(path), "%s/%s", dir, BINLOG_STATUS_NAME);
	CHECK(!stat(path, &sb) && (sb.st_mode & 0777) == 0640);
	f = fopen(path, "a");
	CHECK(f != NULL);
	if (f) {
		fputs("behind_since=soon\n", f);
		fclose(f);
	}
	CHECK(binlog_status_load(dir, &back, &err) == -EINVAL);
	CHECK(strstr(err.msg, BINLOG_STATUS_NAME) && strstr(err.msg, "line 10"));
	/* a FIFO planted there is refused, not waited on */
	CHECK(!unlink(path) && !mkfifo(path, 0600));
	CHECK(binlog_status_load(dir, &back, &err) == -EINVAL &&
	      strstr(err.msg, "not a regular file"));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
}
