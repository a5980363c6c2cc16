/* The binlog streamer's position file (untrusted input when read back)
 * and the binlog file names it accepts from a server. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../dumper/binlog.h"
#include "unit.h"

static int parse(const char *text, struct binlog_pos *p)
{
	return binlog_position_parse(text, strlen(text), p);
}

TEST(binlog_position_parses_exact_text)
{
	struct binlog_pos p;

	CHECK(parse("file=binlog.000012\npos=4\n", &p) == 0);
	CHECK_STREQ(p.file, "binlog.000012");
	CHECK(p.pos == 4);
	CHECK(parse("file=mysql-bin.000001\npos=18446744073709551615\n", &p) == 0);
	CHECK(p.pos == UINT64_MAX);
}

TEST(binlog_position_refuses_the_rest)
{
	static const char *const bad[] = {
		"",
		"file=binlog.000001\npos=4",	 /* no final newline */
		"file=binlog.000001\npos=4\n\n", /* trailing data */
		"file=binlog.000001\npos=3\n",	 /* before the magic */
		"file=binlog.000001\npos=04\n",	 /* leading zero */
		"file=binlog.000001\npos=-4\n",
		"file=binlog.000001\npos=18446744073709551616\n", /* overflow */
		"file=../etc/passwd\npos=4\n",			  /* a path */
		"file=.hidden\npos=4\n",
		"file=\npos=4\n",
		"file=a b\npos=4\n",
		"pos=4\nfile=binlog.000001\n",
		"FILE=binlog.000001\npos=4\n",
	};
	struct binlog_pos p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(parse(bad[i], &p) == -EINVAL);
	/* a NUL inside the name */
	CHECK(binlog_position_parse("file=a\0b\npos=4\n", 15, &p) == -EINVAL);
}

TEST(binlog_file_names)
{
	char longest[BINLOG_FILE_MAX + 2];

	CHECK(binlog_file_name_valid("binlog.000001"));
	CHECK(binlog_file_name_valid("my_host-bin.9"));
	CHECK(!binlog_file_name_valid(""));
	CHECK(!binlog_file_name_valid("."));
	CHECK(!binlog_file_name_valid("a/b"));
	CHECK(!binlog_file_name_valid("a\nb"));
	memset(longest, 'a', sizeof(longest) - 1);
	longest[BINLOG_FILE_MAX] = '\0';
	CHECK(binlog_file_name_valid(longest));
	longest[BINLOG_FILE_MAX] = 'a';
	longest[BINLOG_FILE_MAX + 1] = '\0';
	CHECK(!binlog_file_name_valid(longest));
}

TEST(binlog_position_files_round_trip)
{
	char dir[] = "/tmp/dfs-blpos-XXXXXX", path[256], name[300];
	struct binlog_pos p = {"binlog.000042", 12345}, q;
	struct errbuf err;
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/pos", dir);
	CHECK(binlog_position_load(path, &q, &err) == -ENOENT);
	CHECK(binlog_position_store(path, &p, 0440, (gid_t)-1, &err) == 0);
	CHECK(binlog_position_load(path, &q, &err) == 0);
	CHECK_STREQ(q.file, "binlog.000042");
	CHECK(q.pos == 12345);
	unlink(path);
	f = fopen(path, "w");
	CHECK(f != NULL);
	fputs("file=binlog.000042\npos=1\n", f);
	fclose(f);
	CHECK(binlog_position_load(path, &q, &err) == -EINVAL);
	CHECK(strstr(err.msg, path) != NULL);
	unlink(path);
	rmdir(dir);
	CHECK(backup_position_name(name, sizeof(name), "m_2026-12-05_020000.sql.gz.gpg") == 0);
	CHECK_STREQ(name, ".m_2026-12-05_020000.sql.gz.gpg.binlog-position");
	CHECK(backup_position_name(name, 10, "m_2026-12-05_020000.sql.gz.gpg") == -ENAMETOOLONG);
}

/* A file of `dir` with `text`. */
static void put_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static bool exists(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static const char *const segs[] = {
	"m_2026-12-01_000000_bin.000001_256.binlog.gz.gpg",
	"m_2026-12-01_000100_bin.000001_900.binlog.gz.gpg",
	"m_2026-12-01_000200_bin.000002_256.binlog.gz.gpg",
	"m_2026-12-01_000300_bin.000002_700.binlog.gz.gpg",
	"m_2026-12-01_000400_bin.000002_990.binlog.gz.gpg",
	"m_2026-12-01_000500_other.000001_256.binlog.gz.gpg", /* another log_bin name */
};

/* An archive with two backups at the given positions (NULL: no record)
 * and the segments above; prunes; *deleted. */
static int prune_case(char *dir, const char *pos1, const char *pos2, unsigned *deleted)
{
	char bl[300], side[300];
	struct errbuf err;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(bl, sizeof(bl), "%s/binlog", dir);
	mkdir(bl, 0700);
	put_file(dir, "m_2026-12-02_020000.sql.gz.gpg", "x");
	put_file(dir, "m_2026-12-03_020000.sql.gz.gpg", "x");
	if (pos1)
		put_file(dir, ".m_2026-12-02_020000.sql.gz.gpg.binlog-position", pos1);
	if (pos2)
		put_file(dir, ".m_2026-12-03_020000.sql.gz.gpg.binlog-position", pos2);
	for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
		put_file(bl, segs[i], "");
		snprintf(side, sizeof(side), "%s.sha256", segs[i]);
		put_file(bl, side, "");
	}
	return binlog_prune_segments(dir, "m", NULL, deleted, &err);
}

static void prune_cleanup(const char *dir)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
}

TEST(binlog_retention_keeps_what_backups_need)
{
	char dir[64], bl[128];
	unsigned deleted;

	/* the oldest backup at bin.000002:800: the segments ending before it
	 * go (the one holding it, the newest and other names stay) */
	strcpy(dir, "/tmp/dfs-blprune-XXXXXX");
	CHECK(prune_case(dir, "file=bin.000002\npos=800\n", "file=bin.000002\npos=1000\n",
			 &deleted) == 0);
	snprintf(bl, sizeof(bl), "%s/binlog", dir);
	CHECK(deleted == 3);
	CHECK(!exists(bl, segs[0]) && !exists(bl, segs[1]) && !exists(bl, segs[2]));
	CHECK(!exists(bl, "m_2026-12-01_000000_bin.000001_256.binlog.gz.gpg.sha256"));
	CHECK(exists(bl, segs[3]) && exists(bl, segs[4]) && exists(bl, segs[5]));
	prune_cleanup(dir);

	/* a backup without a record: nothing goes */
	strcpy(dir, "/tmp/dfs-blprune-XXXXXX");
	CHECK(prune_case(dir, NULL, "file=bin.000002\npos=1000\n", &deleted) == 0);
	CHECK(deleted == 0);
	prune_cleanup(dir);

	/* positions going backwards (RESET MASTER): nothing goes */
	strcpy(dir, "/tmp/dfs-blprune-XXXXXX");
	CHECK(prune_case(dir, "file=bin.000002\npos=800\n", "file=bin.000001\npos=300\n",
			 &deleted) == 0);
	CHECK(deleted == 0);
	prune_cleanup(dir);

	/* a new log_bin name: nothing goes */
	strcpy(dir, "/tmp/dfs-blprune-XXXXXX");
	CHECK(prune_case(dir, "file=bin.000002\npos=800\n", "file=other.000001\npos=300\n",
			 &deleted) == 0);
	CHECK(deleted == 0);
	prune_cleanup(dir);
}
