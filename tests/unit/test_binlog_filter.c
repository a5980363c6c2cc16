/* Reading archived binlog segments back (dumper/binlog_filter.c): the
 * checks, the cut at a position and a time, the database filter; and the
 * --until time parser. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../dumper/binlog_filter.h"
#include "../../dumper/timefmt.h"
#include "binlogmk.h"
#include "strbufsink.h"
#include "unit.h"

#define T0 1700000000u

/* Runs the segment through a filter in pieces of `step` bytes (0: at
 * once); 0 or the error, the output in *out. */
static int run_filter(const struct blmk *s, const struct binlog_filter_opts *o, size_t step,
		      struct binlog_seginfo *info, struct strbufsink *out, struct errbuf *err)
{
	struct writer *w;
	int ret = binlog_filter_new(&w, &out->w, o, info, err);

	for (size_t at = 0; !ret && at < s->len;) {
		size_t n = step && s->len - at > step ? step : s->len - at;

		ret = writer_write(w, s->b + at, n, err);
		at += n;
	}
	if (!ret)
		ret = writer_close(w, err);
	writer_free(w);
	return ret;
}

static void plain_segment(struct blmk *s)
{
	blmk_start(s, T0);
	blmk_pad(s, T0, 300);
	blmk_query(s, T0 + 1, "app", "BEGIN");
	blmk_table_map(s, T0 + 1, 70, "app", "t");
	blmk_rows(s, T0 + 1, 70, 7);
	blmk_xid(s, T0 + 1);
	blmk_query(s, T0 + 5, "app", "CREATE TABLE u (k INT)");
	blmk_rotate(s, T0 + 6, "bin.000002");
}

TEST(binlog_filter_passes_a_segment_without_its_padding)
{
	struct binlog_filter_opts o = {.name = "seg", .magic = true};
	struct binlog_seginfo info;
	struct strbufsink out;
	struct errbuf err;
	struct blmk s;
	size_t fde_end;

	plain_segment(&s);
	fde_end = 4 + (size_t)(s.b[4 + 9] | s.b[4 + 10] << 8);
	for (size_t step = 0; step <= 7; step += 7) { /* at once, and in small pieces */
		strbufsink_init(&out);
		CHECK(run_filter(&s, &o, step, &info, &out, &err) == 0);
		CHECK(info.padded && info.first == 300 && info.end == s.len);
		CHECK(info.events == 6 && info.passed == 6 && info.skipped == 0);
		CHECK(info.first_time == (time_t)T0 + 1 && info.last_time == (time_t)T0 + 6);
		CHECK(info.rotated && !strcmp(info.rotate_to.file, "bin.000002"));
		CHECK(info.fde_len == fde_end - 4);
		/* magic + FDE, then everything after the padding */
		CHECK(out.sb.len == fde_end + (s.len - 300));
		CHECK(!memcmp(out.sb.buf, s.b, fde_end));
		CHECK(!memcmp(out.sb.buf + fde_end, s.b + 300, s.len - 300));
		strbuf_release(&out.sb);
	}
}

TEST(binlog_filter_cuts_at_the_position_and_the_time)
{
	struct binlog_filter_opts o = {.name = "seg", .has_until = true, .until = T0 + 5};
	struct binlog_seginfo info;
	struct strbufsink out;
	struct errbuf err;
	struct blmk s;

	plain_segment(&s);
	strbufsink_init(&out);
	CHECK(run_filter(&s, &o, 3, &info, &out, &err) == 0);
	CHECK(info.reached_until && info.passed == 4); /* the transaction, not the DDL */
	CHECK(strstr(out.sb.buf, "CREATE TABLE") == NULL && info.end == s.len);
	strbuf_release(&out.sb);

	/* from the second event on; the FDE is not repeated when the same */
	memset(&o, 0, sizeof(o));
	o.name = "seg";
	plain_segment(&s);
	o.prev_fde = s.b + 4;
	o.prev_fde_len = (size_t)(s.b[4 + 9] | s.b[4 + 10] << 8);
	o.from = 300 + 19 + 13 + 4 + 5 + 4; /* after BEGIN */
	strbufsink_init(&out);
	CHECK(run_filter(&s, &o, 0, &info, &out, &err) == 0);
	CHECK(info.passed == 5);
	CHECK(out.sb.len == s.len - o.from);
	strbuf_release(&out.sb);
}

static bool only_app(void *arg, const char *db, size_t len)
{
	(void)arg;
	return len == 3 && !memcmp(db, "app", 3);
}

TEST(binlog_filter_skips_other_databases)
{
	struct binlog_filter_opts o = {.name = "seg", .keep_db = only_app};
	struct binlog_seginfo info;
	struct strbufsink out;
	struct errbuf err;
	struct blmk s;

	blmk_start(&s, T0);
	blmk_query(&s, T0, "other", "BEGIN"); /* kept: a transaction's frame */
	blmk_table_map(&s, T0, 71, "other", "t");
	blmk_rows(&s, T0, 71, 1);
	blmk_table_map(&s, T0, 70, "app", "t");
	blmk_rows(&s, T0, 70, 2);
	blmk_xid(&s, T0);
	blmk_intvar(&s, T0, 42);
	blmk_query(&s, T0, "other", "INSERT INTO x VALUES (NULL)");
	blmk_intvar(&s, T0, 43);
	blmk_query(&s, T0, "app", "INSERT INTO y VALUES (NULL)");
	/* no default database: judged by the names in the text */
	blmk_query(&s, T0, "", "GRANT SELECT ON app.* TO 'u'@'%'"); /* accounts: never */
	blmk_query(&s, T0, "", "create or replace user u");
	blmk_query(&s, T0, "", "CREATE TABLE `app`.`n``q` (k INT)");
	blmk_query(&s, T0, "", "ALTER TABLE app.u ADD COLUMN note TEXT DEFAULT 'other.x'");
	blmk_query(&s, T0, "", "INSERT INTO other.x VALUES ('app.y')");
	blmk_query(&s, T0, "", "DROP DATABASE IF EXISTS app");
	blmk_query(&s, T0, "", "DROP DATABASE other");
	blmk_query(&s, T0, "", "INSERT INTO nodb VALUES (1)");
	/* accounts whatever the database, comments or not */
	blmk_query(&s, T0, "app", "GRANT ALL ON *.* TO evil@'%'");
	blmk_query(&s, T0, "", "/* x */ -- y\n GRANT ALL ON app.* TO evil@'%'");
	blmk_query(&s, T0, "app", "/*!80000 CREATE OR REPLACE USER evil */");
	for (size_t step = 0; step <= 5; step += 5) {
		strbufsink_init(&out);
		CHECK(run_filter(&s, &o, step, &info, &out, &err) == 0);
		CHECK(info.events == 21 && info.skipped == 11);
		/* BEGIN, app's map and rows, XID, INSERT_ID 43 and its
		 * statement; CREATE, ALTER, DROP DATABASE of app */
		CHECK(info.passed == 9);
		CHECK(memmem(out.sb.buf, out.sb.len, "`n``q`", 6) != NULL);
		CHECK(memmem(out.sb.buf, out.sb.len, "ALTER TABLE app.u", 17) != NULL);
		CHECK(memmem(out.sb.buf, out.sb.len, "IF EXISTS app", 13) != NULL);
		CHECK(memmem(out.sb.buf, out.sb.len, "DATABASE other", 14) == NULL);
		CHECK(memmem(out.sb.buf, out.sb.len, "user u", 6) == NULL);
		CHECK(memmem(out.sb.buf, out.sb.len, "nodb", 4) == NULL);
		CHECK(memmem(out.sb.buf, out.sb.len, "evil", 4) == NULL);
		CHECK(memmem(out.sb.buf, out.sb.len, "INSERT INTO x", 13) == NULL);
		CHECK(memmem(out.sb.buf, out.sb.len, "INSERT INTO y", 13) != NULL);
		CHECK(memmem(out.sb.buf, out.sb.len, "GRANT", 5) == NULL);
		CHECK(memmem(out.sb.buf, out.sb.len, "other", 5) != NULL); /* BEGIN's db */
		/* the INSERT_ID of the skipped statement went with it */
		CHECK(memmem(out.sb.buf, out.sb.len, "\x02\x2a\0\0\0", 5) == NULL);
		CHECK(memmem(out.sb.buf, out.sb.len, "\x02\x2b\0\0\0", 5) != NULL);
		strbuf_release(&out.sb);
	}
}

static int damaged(void (*harm)(struct blmk *s), struct errbuf *err)
{
	struct binlog_filter_opts o = {.name = "seg-x"};
	struct binlog_seginfo info;
	struct strbufsink out;
	struct blmk s;
	int ret;

	plain_segment(&s);
	harm(&s);
	strbufsink_init(&out);
	ret = run_filter(&s, &o, 0, &info, &out, err);
	strbuf_release(&out.sb);
	return ret;
}

static void flip_body(struct blmk *s)
{
	s->b[s->len - 10] ^= 1;
}

static void truncate_it(struct blmk *s)
{
	s->len -= 3;
}

static void bad_pos(struct blmk *s)
{
	s->b[300 + 13] ^= 1; /* the first event's end position */
}

static void no_magic(struct blmk *s)
{
	s->b[0] = 'x';
}

static void load_data(struct blmk *s)
{
	/* BEGIN (45 bytes at 300) becomes a BEGIN_LOAD_QUERY event */
	s->b[300 + 4] = 17;
	blmk_put(s->b + 300 + 41, crc32(0, s->b + 300, 41), 4);
}

static void only_header(struct blmk *s)
{
	s->len = 300;
}

TEST(binlog_filter_refuses_damage_naming_the_segment)
{
	void (*harms[])(struct blmk *) = {flip_body, truncate_it, bad_pos,
					  no_magic,  load_data,	  only_header};
	struct errbuf err;

	for (size_t i = 0; i < sizeof(harms) / sizeof(harms[0]); i++) {
		CHECK(damaged(harms[i], &err) == -EBADMSG);
		CHECK(strstr(err.msg, "'seg-x'") != NULL);
	}
	CHECK(damaged(load_data, &err) == -EBADMSG && strstr(err.msg, "LOAD DATA"));
	CHECK(damaged(flip_body, &err) == -EBADMSG && strstr(err.msg, "checksum"));
	CHECK(damaged(truncate_it, &err) == -EBADMSG && strstr(err.msg, "truncated"));
}

TEST(binlog_filter_never_passes_an_unchecked_event_whole)
{
	struct binlog_filter_opts o = {.name = "seg"};
	struct binlog_seginfo info;
	struct strbufsink out;
	struct errbuf err;
	struct blmk s;
	size_t last, fde_len;

	plain_segment(&s);
	fde_len = (size_t)(s.b[4 + 9] | s.b[4 + 10] << 8);
	last = s.len - (19 + 8 + 10 + 4); /* the rotate event starts there */
	s.b[s.len - 6] ^= 1;		  /* its file name, so its CRC fails */
	for (size_t step = 0; step <= 3; step += 3) {
		strbufsink_init(&out);
		CHECK(run_filter(&s, &o, step, &info, &out, &err) == -EBADMSG);
		/* the FDE, the events before it, and of it all but its CRC */
		CHECK(out.sb.len == fde_len + (last - 300) + (s.len - last) - 4);
		strbuf_release(&out.sb);
	}
}

TEST(binlog_filter_context_and_cut_edges)
{
	struct binlog_filter_opts o = {.name = "seg-c", .keep_db = only_app};
	static unsigned char big[1100 * 1024];
	struct binlog_seginfo info;
	struct strbufsink out;
	struct errbuf err;
	static struct blmk s;
	struct writer *w;

	/* a user variable of more than 1 MiB: refused, saying why */
	blmk_start(&s, T0);
	CHECK(binlog_filter_new(&w, NULL, &o, &info, &err) == 0);
	CHECK(writer_write(w, s.b, s.len, &err) == 0);
	memset(big, 'x', sizeof(big));
	{
		unsigned char hdr[19];
		uint32_t size = 19 + sizeof(big) + 4;

		memset(hdr, 0, sizeof(hdr));
		hdr[4] = 14; /* USER_VAR */
		blmk_put(hdr + 9, size, 4);
		blmk_put(hdr + 13, s.len + size, 4);
		CHECK(writer_write(w, hdr, sizeof(hdr), &err) == -E2BIG);
		CHECK(strstr(err.msg, "'seg-c'") && strstr(err.msg, "binlog_format=ROW"));
	}
	writer_free(w);

	/* an event before the start position stamped after the time does
	 * not end the replay */
	memset(&o, 0, sizeof(o));
	o.name = "seg";
	o.has_until = true;
	o.until = T0 + 3;
	blmk_start(&s, T0);
	blmk_pad(&s, T0, 300);
	blmk_query(&s, T0 + 9, "app", "BEGIN"); /* a clock ahead, before the dump */
	o.from = s.len;
	blmk_query(&s, T0 + 1, "app", "INSERT INTO t VALUES (1)");
	strbufsink_init(&out);
	CHECK(run_filter(&s, &o, 0, &info, &out, &err) == 0);
	CHECK(!info.reached_until && info.passed == 1);
	strbuf_release(&out.sb);
}

TEST(until_time_shape)
{
	char *old;
	time_t t;

	CHECK(parse_local_datetime("2026-12-05 13:45:07", &t) == 0);
	CHECK(parse_local_datetime("2026-12-05 13:45:07 ", &t) == -EINVAL);
	CHECK(parse_local_datetime("2026-12-05T13:45:07", &t) == -EINVAL);
	CHECK(parse_local_datetime("2026-02-31 00:00:00", &t) == -EINVAL);
	CHECK(parse_local_datetime("2026-12-5 13:45:07", &t) == -EINVAL);
	CHECK(parse_local_datetime("latest", &t) == -EINVAL);
	CHECK(parse_local_datetime("", &t) == -EINVAL);
	/* clocks that skip an hour and pass one twice (Europe/Paris's rule,
	 * spelled out: no tzdata needed) */
	old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
	setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
	tzset();
	CHECK(parse_local_datetime("2026-03-29 02:30:00", &t) == -EINVAL);
	CHECK(parse_local_datetime("2026-03-29 03:30:00", &t) == 0);
	CHECK(parse_local_datetime("2026-10-25 02:30:00", &t) == -ERANGE);
	CHECK(parse_local_datetime("2026-10-25 03:30:00", &t) == 0);
	CHECK(t == 1792895400); /* 02:30 UTC */
	if (old)
		setenv("TZ", old, 1);
	else
		unsetenv("TZ");
	free(old);
	tzset();
}
