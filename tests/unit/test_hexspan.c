/* hexspan: which runs of hex digits count as incompressible bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../dumper/hexspan.h"
#include "../../dumper/strbuf.h"
#include "unit.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned next_byte(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng >> 32) & 0xff;
}

/* Appends `bytes` bytes as uppercase hex: random, zero, or ASCII text. */
enum fill { RANDOM, ZERO, TEXT };

static void add_hex(struct strbuf *sb, size_t bytes, enum fill f)
{
	static const char text[] = "The quick brown fox jumps over the lazy dog. ";

	for (size_t i = 0; i < bytes; i++) {
		unsigned b = f == RANDOM ? next_byte()
			     : f == ZERO ? 0
					 : (unsigned char)text[i % 45];

		strbuf_addf(sb, "%02X", b);
	}
}

static int spans(const struct strbuf *sb, size_t *v, int max)
{
	struct hexspan_iter it;
	size_t a, b;
	int n = 0;

	hexspan_iter_init(&it, (const unsigned char *)sb->buf, sb->len);
	while (n < max && hexspan_iter_next(&it, &a, &b)) {
		CHECK(a < b && (n == 0 || a >= v[2 * n - 1] + HEXSPAN_GAP));
		v[2 * n] = a;
		v[2 * n + 1] = b;
		n++;
	}
	return n;
}

TEST(hexspan_random_blob_in_sql_is_found_exactly)
{
	struct strbuf sb = STRBUF_INIT;
	size_t v[8], start, end;

	strbuf_addstr(&sb, "INSERT INTO `t` VALUES (1,'ABCDEF 0123',0x");
	start = sb.len;
	add_hex(&sb, 3000, RANDOM);
	end = sb.len;
	strbuf_addstr(&sb, ",'DEADBEEF');\n");
	CHECK(spans(&sb, v, 4) == 1);
	CHECK(v[0] == start && v[1] == end);
	strbuf_release(&sb);
}

TEST(hexspan_zero_text_and_short_blobs_are_not_spans)
{
	struct strbuf sb = STRBUF_INIT;
	size_t v[8];

	strbuf_addstr(&sb, "(1,0x");
	add_hex(&sb, 4096, ZERO);
	strbuf_addstr(&sb, "),(2,0x");
	add_hex(&sb, 4096, TEXT);
	strbuf_addstr(&sb, "),(3,0x");
	add_hex(&sb, HEXSPAN_MIN / 2 - 1, RANDOM); /* one digit short */
	strbuf_addstr(&sb, ")");
	CHECK(spans(&sb, v, 4) == 0);
	strbuf_release(&sb);
}

TEST(hexspan_close_blobs_join_far_ones_do_not)
{
	struct strbuf sb = STRBUF_INIT;
	size_t v[8], a0, a1, b0, b1;

	strbuf_addstr(&sb, "(1,0x");
	a0 = sb.len;
	add_hex(&sb, 1000, RANDOM);
	strbuf_addstr(&sb, ",0x"); /* the next column */
	add_hex(&sb, 1000, RANDOM);
	a1 = sb.len;
	strbuf_addstr(&sb, "),\n(2,'");
	for (int i = 0; i < 20; i++)
		strbuf_addstr(&sb, "some text ");
	strbuf_addstr(&sb, "',0x");
	b0 = sb.len;
	add_hex(&sb, 1000, RANDOM);
	b1 = sb.len;
	strbuf_addstr(&sb, ")");
	CHECK(spans(&sb, v, 4) == 2);
	CHECK(v[0] == a0 && v[1] == a1);
	CHECK(v[2] == b0 && v[3] == b1);
	strbuf_release(&sb);
}

TEST(hexspan_long_blob_is_judged_piece_by_piece)
{
	struct strbuf sb = STRBUF_INIT;
	size_t v[8], start;

	/* In one run, pieces of HEXSPAN_PROBE_EVERY digits: one random, two
	 * of zero padding, two random. */
	strbuf_addstr(&sb, "(1,0x");
	start = sb.len;
	add_hex(&sb, HEXSPAN_PROBE_EVERY / 2, RANDOM);
	add_hex(&sb, HEXSPAN_PROBE_EVERY, ZERO);
	add_hex(&sb, HEXSPAN_PROBE_EVERY, RANDOM);
	strbuf_addstr(&sb, ")");
	CHECK(spans(&sb, v, 4) == 2);
	CHECK(v[0] == start && v[1] == start + HEXSPAN_PROBE_EVERY);
	CHECK(v[2] == start + 3 * HEXSPAN_PROBE_EVERY);
	CHECK(v[3] == sb.len - 1);
	strbuf_release(&sb);
}

TEST(hexspan_edges)
{
	struct strbuf sb = STRBUF_INIT;
	size_t v[8];

	CHECK(spans(&sb, v, 4) == 0); /* empty */
	add_hex(&sb, 600, RANDOM);    /* the whole buffer is one run */
	CHECK(spans(&sb, v, 4) == 1);
	CHECK(v[0] == 0 && v[1] == sb.len);
	/* Lowercase is not what the dump writes: left alone. */
	for (size_t i = 0; i < sb.len; i++)
		if (sb.buf[i] >= 'A' && sb.buf[i] <= 'F')
			sb.buf[i] = (char)(sb.buf[i] - 'A' + 'a');
	CHECK(spans(&sb, v, 4) == 0);
	strbuf_release(&sb);
}

/* Random layouts of rows: numbers and words (short digit runs that the
 * scan must step over), random BLOBs of lengths around HEXSPAN_MIN, zero
 * padding, and gaps either side of HEXSPAN_GAP.  The expected spans follow
 * from the layout: the random runs of HEXSPAN_MIN digits or more, joined
 * when less than HEXSPAN_GAP apart. */
TEST(hexspan_random_layouts_find_exactly_the_long_random_runs)
{
	static const size_t lens[] = {HEXSPAN_MIN - 1,	   HEXSPAN_MIN,	    HEXSPAN_MIN + 1,
				      2 * HEXSPAN_MIN - 1, 2 * HEXSPAN_MIN, 3 * HEXSPAN_MIN + 7};
	struct strbuf sb = STRBUF_INIT;
	size_t want[128], got[128];

	for (int round = 0; round < 200; round++) {
		int nwant = 0, ngot;

		strbuf_reset(&sb);
		for (int row = 0; row < 12; row++) {
			unsigned kind = next_byte() % 4, gap = next_byte() % 3;
			size_t len = next_byte() % 2 ? lens[next_byte() % 6] : 8 + next_byte() * 8u;
			size_t a;

			/* Separators: digits and words, never a hex letter next
			 * to a run (',' and 'x' end it). */
			strbuf_addf(&sb, "(%u,'order %u',", next_byte() * 977u, next_byte());
			if (gap == 1)
				strbuf_addstr(&sb, "'short note',");
			else if (gap == 2)
				for (int i = 0; i < HEXSPAN_GAP / 8 + 1; i++)
					strbuf_addstr(&sb, "'longer',");
			strbuf_addstr(&sb, "0x");
			a = sb.len;
			/* Digits only: one hex pair per byte, so len / 2 bytes;
			 * an odd len ends in one more digit. */
			add_hex(&sb, len / 2, kind == 0 ? ZERO : RANDOM);
			if (len % 2)
				strbuf_addch(&sb, '7');
			strbuf_addstr(&sb, "),\n");
			if (kind == 0 || len < HEXSPAN_MIN)
				continue;
			if (nwant && a - want[2 * nwant - 1] < HEXSPAN_GAP) {
				want[2 * nwant - 1] = a + len;
				continue;
			}
			want[2 * nwant] = a;
			want[2 * nwant + 1] = a + len;
			nwant++;
		}
		ngot = spans(&sb, got, 64);
		CHECK(ngot == nwant);
		for (int i = 0; i < 2 * nwant && i < 2 * ngot; i++)
			CHECK(got[i] == want[i]);
	}
	strbuf_release(&sb);
}

/* A run of exactly HEXSPAN_MIN random digits at every alignment, after
 * nothing or after a short digit run on the scan's first probe: the scan
 * looks only at some bytes, and none of these runs may fall between. */
TEST(hexspan_shortest_run_is_found_at_every_offset)
{
	struct strbuf sb = STRBUF_INIT;
	size_t v[8];

	for (size_t off = 0; off < 2 * HEXSPAN_MIN + 2; off++) {
		for (int lead = 0; lead < 2; lead++) {
			size_t a;

			strbuf_reset(&sb);
			if (lead) { /* "12" on the first probe */
				for (size_t i = 0; i < HEXSPAN_MIN - 2; i++)
					strbuf_addch(&sb, 'y');
				strbuf_addstr(&sb, "12,");
			}
			for (size_t i = 0; i < off; i++)
				strbuf_addch(&sb, 'x');
			a = sb.len;
			add_hex(&sb, HEXSPAN_MIN / 2, RANDOM);
			strbuf_addstr(&sb, "),(34,'y')");
			CHECK(spans(&sb, v, 4) == 1);
			CHECK(v[0] == a && v[1] == a + HEXSPAN_MIN);
		}
	}
	strbuf_release(&sb);
}
