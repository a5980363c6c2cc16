/* Row digests: order independence, no cancelling, NULL and boundaries,
 * and the strict parser of trailer lines (untrusted input). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../dumper/rowdigest.h"
#include "unit.h"

static void add(struct rowdigest *dg, const char *a, const char *b)
{
	char *v[2] = {(char *)a, (char *)b};
	unsigned long l[2] = {a ? strlen(a) : 0, b ? strlen(b) : 0};

	rowdigest_add(dg, 2, v, l);
}

static int same(const struct rowdigest *x, const struct rowdigest *y)
{
	return x->rows == y->rows && !memcmp(x->sum, y->sum, ROWDIGEST_LEN);
}

TEST(rowdigest_order_does_not_count)
{
	struct rowdigest x, y;

	rowdigest_init(&x);
	rowdigest_init(&y);
	add(&x, "1", "apple");
	add(&x, "2", "pear");
	add(&x, "3", NULL);
	add(&y, "3", NULL);
	add(&y, "1", "apple");
	add(&y, "2", "pear");
	CHECK(same(&x, &y));
	CHECK(x.rows == 3);
}

TEST(rowdigest_equal_rows_do_not_cancel)
{
	struct rowdigest once, twice, none;

	rowdigest_init(&once);
	rowdigest_init(&twice);
	rowdigest_init(&none);
	add(&once, "1", "a");
	add(&twice, "1", "a");
	add(&twice, "1", "a");
	CHECK(memcmp(twice.sum, none.sum, ROWDIGEST_LEN) != 0); /* XOR would give 0 */
	CHECK(memcmp(twice.sum, once.sum, ROWDIGEST_LEN) != 0);
}

TEST(rowdigest_null_and_boundaries_differ)
{
	struct rowdigest a, b, c, d;

	rowdigest_init(&a);
	rowdigest_init(&b);
	rowdigest_init(&c);
	rowdigest_init(&d);
	add(&a, "x", NULL);
	add(&b, "x", "NULL");
	add(&c, "ab", "c");
	add(&d, "a", "bc");
	CHECK(!same(&a, &b));
	CHECK(!same(&c, &d));
}

TEST(rowdigest_line_round_trip)
{
	struct strbuf sb = STRBUF_INIT;
	struct rowdigest dg;
	struct rowdigest_line l;

	rowdigest_init(&dg);
	add(&dg, "1", "a");
	rowdigest_add_line(&sb, "we`ird db", "t.1", &dg);
	static const char head[] = "-- dumpfs: table `we``ird db`.`t.1` rows=1 digest=";

	CHECK(!strncmp(strbuf_str(&sb), head, sizeof(head) - 1));
	CHECK(sb.len == sizeof(head) - 1 + 64 + 1);
	CHECK(sb.buf[sb.len - 1] == '\n');
	CHECK(rowdigest_parse_line(sb.buf, sb.len - 1, &l) == 0);
	CHECK_STREQ(l.db, "we`ird db");
	CHECK_STREQ(l.table, "t.1");
	CHECK(l.rows == 1 && !memcmp(l.sum, dg.sum, ROWDIGEST_LEN));
	strbuf_release(&sb);
}

TEST(rowdigest_parser_is_strict)
{
	static const char hex[] =
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	static const char *const bad[] = {
		"-- dumpfs: table `a`.`b` rows=1 digest=",
		"-- dumpfs: table `a`.`b` rows= digest=%s",
		"-- dumpfs: table `a`.`b` rows=01 digest=%s",
		"-- dumpfs: table `a`.`b` rows=99999999999999999999 digest=%s",
		"-- dumpfs: table `a`.`b` rows=-1 digest=%s",
		"-- dumpfs: table `a`.`b`  rows=1 digest=%s",
		"-- dumpfs: table `a` rows=1 digest=%s",
		"-- dumpfs: table `a`.b rows=1 digest=%s",
		"-- dumpfs: table ``.`b` rows=1 digest=%s",
		"-- dumpfs: table `a`.`b rows=1 digest=%s",
		"-- dumpfs: table `a`.`b` rows=1 digest=%sX",
		"-- dumpfs: table `a`.`b` rows=1 digest=%.63s",
		"-- dumpfs: objects views=0 triggers=0 routines=0 events=0 sequences=0%s",
	};
	struct rowdigest_line l;
	char line[512], upper[80];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *mark = strstr(bad[i], "%");
		size_t head = mark ? (size_t)(mark - bad[i]) : strlen(bad[i]);
		size_t nhex = mark && mark[1] == '.' ? 63 : mark ? 64 : 0;

		/* bad[i] with its %s (or %.63s) replaced by hex */
		snprintf(line, sizeof(line), "%.*s%.*s%s", (int)head, bad[i], (int)nhex, hex,
			 mark ? strchr(mark, 's') + 1 : "");
		CHECK(rowdigest_parse_line(line, strlen(line), &l) == -EINVAL);
	}
	for (size_t i = 0; hex[i]; i++)
		upper[i] = (char)(hex[i] >= 'a' ? hex[i] - 32 : hex[i]);
	upper[64] = '\0';
	snprintf(line, sizeof(line), "-- dumpfs: table `a`.`b` rows=1 digest=%s", upper);
	CHECK(rowdigest_parse_line(line, strlen(line), &l) == -EINVAL);
	memset(line, 'a', sizeof(line));
	memcpy(line, "-- dumpfs: table `", 18);
	CHECK(rowdigest_parse_line(line, sizeof(line), &l) == -EINVAL); /* name > 255 */
	snprintf(line, sizeof(line), "-- dumpfs: table `a`.`b` rows=0 digest=%s", hex);
	CHECK(rowdigest_parse_line(line, strlen(line), &l) == 0 && l.rows == 0);
}

/* The digest is a format: trailers written by one version are checked by
 * the next, so the sum of these rows is pinned.  Lengths 0..99 cover every
 * tail length, whole words and 32-byte stripes; 3000 rows carry through
 * every byte of the sum. */
TEST(rowdigest_known_answer)
{
	static const char want[] =
		"c3e54a66bb68cca7ed59a1c4c20092319114e4f32397f628d99ec6fbaa7320c8";
	char buf[107], hex[2 * ROWDIGEST_LEN + 1];
	struct rowdigest dg;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 37 + 11);
	rowdigest_init(&dg);
	for (unsigned r = 0; r < 3000; r++) {
		char *v[3] = {buf + r % 7, r % 5 ? buf : NULL, buf};
		unsigned long l[3] = {r % 100, r % 93, 0};

		rowdigest_add(&dg, 1 + r % 3, v, l);
	}
	for (int i = 0; i < ROWDIGEST_LEN; i++)
		sprintf(hex + 2 * i, "%02x", dg.sum[i]);
	CHECK(dg.rows == 3000);
	CHECK_STREQ(hex, want);
}
