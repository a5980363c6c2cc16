/* Trailer sets (dumper/trailer.c): what `rehearse` compares.  The file's
 * lines are untrusted: a bad line, a table twice or two objects lines
 * must make the set bad, never pass. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../dumper/rowdigest.h"
#include "../../dumper/strbuf.h"
#include "../../dumper/trailer.h"
#include "unit.h"

/* A table line for db.table with `rows` rows, digest over "1".."rows"
 * with `salt` as the second column. */
static void table_line(struct strbuf *sb, const char *db, const char *table, unsigned rows,
		       const char *salt)
{
	struct rowdigest dg;

	rowdigest_init(&dg);
	for (unsigned i = 1; i <= rows; i++) {
		char id[16];
		char *v[2] = {id, (char *)salt};
		unsigned long l[2];

		snprintf(id, sizeof(id), "%u", i);
		l[0] = strlen(id);
		l[1] = strlen(salt);
		rowdigest_add(&dg, 2, v, l);
	}
	rowdigest_add_line(sb, db, table, &dg);
}

static void set_of(struct trailer *t, const struct strbuf *sb)
{
	trailer_init(t);
	trailer_add_text(t, sb->buf, sb->len);
}

struct seen {
	enum trailer_verdict v[8];
	char name[8][64];
	size_t n;
};

static void record(void *arg, const struct trailer_row *row)
{
	struct seen *s = arg;

	if (s->n < 8) {
		s->v[s->n] = row->verdict;
		snprintf(s->name[s->n], sizeof(s->name[0]), "%s.%s", row->db, row->table);
		s->n++;
	}
}

TEST(trailer_equal_sets_match_in_any_order)
{
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	struct trailer x, y;
	struct seen s = {0};

	table_line(&a, "shop", "item", 3, "x");
	table_line(&a, "café", "t`q", 0, "");
	strbuf_addstr(&a,
		      "-- dumpfs: objects views=1 triggers=2 routines=3 events=0 sequences=1\n");
	table_line(&b, "café", "t`q", 0, "");
	strbuf_addstr(&b,
		      "-- dumpfs: objects views=1 triggers=2 routines=3 events=0 sequences=1\n");
	table_line(&b, "shop", "item", 3, "x");
	strbuf_addstr(&b, "-- dumpfs: something-new 42\n"); /* a later version's line */
	set_of(&x, &a);
	set_of(&y, &b);
	CHECK(!trailer_empty(&x));
	CHECK(trailer_compare(&x, &y, record, &s) == 0);
	CHECK(s.n == 2 && s.v[0] == TRAILER_OK && s.v[1] == TRAILER_OK);
	CHECK_STREQ(s.name[0], "café.t`q"); /* byte order: 'c' < 's' */
	CHECK(!x.bad[0] && !y.bad[0]);
	CHECK(x.have_objects && x.objects.routines == 3 && x.objects.sequences == 1);
	trailer_release(&x);
	trailer_release(&y);
	strbuf_release(&a);
	strbuf_release(&b);
}

TEST(trailer_verdicts)
{
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	struct trailer want, got;
	struct seen s = {0};

	table_line(&a, "d", "digest", 5, "x");
	table_line(&a, "d", "missing", 2, "x");
	table_line(&a, "d", "rows", 5, "x");
	table_line(&a, "d", "same", 4, "x");
	table_line(&b, "d", "digest", 5, "y");
	table_line(&b, "d", "extra", 1, "x");
	table_line(&b, "d", "rows", 4, "x");
	table_line(&b, "d", "same", 4, "x");
	set_of(&want, &a);
	set_of(&got, &b);
	CHECK(trailer_compare(&want, &got, record, &s) == 4);
	CHECK(s.n == 5);
	CHECK_STREQ(s.name[0], "d.digest");
	CHECK(s.v[0] == TRAILER_DIGEST);
	CHECK_STREQ(s.name[1], "d.extra");
	CHECK(s.v[1] == TRAILER_EXTRA);
	CHECK_STREQ(s.name[2], "d.missing");
	CHECK(s.v[2] == TRAILER_MISSING);
	CHECK_STREQ(s.name[3], "d.rows");
	CHECK(s.v[3] == TRAILER_ROWS);
	CHECK_STREQ(s.name[4], "d.same");
	CHECK(s.v[4] == TRAILER_OK);
	trailer_release(&want);
	trailer_release(&got);
	strbuf_release(&a);
	strbuf_release(&b);
}

static const char *bad_reason(const char *text)
{
	static char why[256];
	struct trailer t;
	struct seen s = {0};

	trailer_init(&t);
	trailer_add_text(&t, text, strlen(text));
	trailer_compare(&t, &t, record, &s); /* sorting finds twins */
	snprintf(why, sizeof(why), "%s", t.bad);
	trailer_release(&t);
	return why;
}

TEST(trailer_bad_sets_are_bad)
{
	struct strbuf a = STRBUF_INIT;
	char *twice;

	CHECK(strstr(bad_reason("-- dumpfs: table `d`.`t` rows=1 digest=zz\n"), "does not parse"));
	CHECK(strstr(bad_reason("-- dumpfs: objects views=1\n"), "does not parse"));
	CHECK(strstr(bad_reason("-- dumpfs: objects views=0 triggers=0 routines=0 events=0 "
				"sequences=0\n-- dumpfs: objects views=0 triggers=0 routines=0 "
				"events=0 sequences=0\n"),
		     "two objects lines"));
	table_line(&a, "d", "t", 1, "x");
	table_line(&a, "d", "u", 1, "x");
	table_line(&a, "d", "t", 1, "x");
	twice = strdup(a.buf);
	CHECK(twice && strstr(bad_reason(twice), "listed twice"));
	free(twice);
	CHECK(bad_reason("-- dumpfs: dump completed\n-- not ours\n")[0] == '\0');
	strbuf_release(&a);
}

TEST(trailer_empty_only_without_lines)
{
	struct trailer t;

	trailer_init(&t);
	trailer_add_text(&t, "-- dumpfs: dump completed\n", 26);
	CHECK(trailer_empty(&t));
	trailer_add_line(&t, "-- dumpfs: table junk", 21);
	CHECK(!trailer_empty(&t)); /* bad is not empty: it must not pass as "old" */
	trailer_release(&t);
}

static int parse_objects(const char *line, struct rowdigest_objects *o)
{
	return rowdigest_parse_objects(line, strlen(line), o);
}

TEST(trailer_objects_parse_strictly_and_diff)
{
	struct rowdigest_objects o, w = {1, 2, 3, 4, 5}, g = {1, 0, 3, 4, 6};
	struct strbuf sb = STRBUF_INIT;
	char diff[256];

	rowdigest_add_objects_line(&sb, &w);
	CHECK(!rowdigest_parse_objects(sb.buf, sb.len - 1, &o));
	CHECK(!memcmp(&o, &w, sizeof(o)));
	CHECK(rowdigest_parse_objects(sb.buf, sb.len, &o) == -EINVAL); /* the newline */
	CHECK(parse_objects("-- dumpfs: objects views=01 triggers=0 routines=0 "
			    "events=0 sequences=0",
			    &o) == -EINVAL);
	CHECK(parse_objects("-- dumpfs: objects views=1234567890 triggers=0 "
			    "routines=0 events=0 sequences=0",
			    &o) == -EINVAL);
	CHECK(parse_objects("-- dumpfs: objects triggers=0 views=0 routines=0 "
			    "events=0 sequences=0",
			    &o) == -EINVAL);
	CHECK(trailer_objects_diff(&w, &g, diff, sizeof(diff)) == 2);
	CHECK_STREQ(diff,
		    "triggers 2 in the dump, 0 restored; sequences 5 in the dump, 6 restored");
	CHECK(trailer_objects_diff(&w, &w, diff, sizeof(diff)) == 0 && !diff[0]);
	strbuf_release(&sb);
}
