/* Synthetic binlog segments (binlog.h's layout: magic, format description
 * with CRC32, optional padding, events at their offsets) for the unit
 * tests and the fuzz target's seeds.  Header-only: small static helpers. */
#ifndef TESTS_BINLOGMK_H
#define TESTS_BINLOGMK_H

#include <stdint.h>
#include <string.h>
#include <zlib.h>

#define BLMK_MAX 16384

struct blmk {
	unsigned char b[BLMK_MAX];
	size_t len;
};

static inline void blmk_put(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* One event with header, body and CRC32 at the end of the stream. */
static inline void blmk_event(struct blmk *s, uint32_t ts, unsigned type, uint16_t flags,
			      const void *body, size_t blen)
{
	unsigned char *e = s->b + s->len;
	size_t size = 19 + blen + 4;

	blmk_put(e, ts, 4);
	e[4] = (unsigned char)type;
	blmk_put(e + 5, 1, 4);
	blmk_put(e + 9, size, 4);
	blmk_put(e + 13, s->len + size, 4);
	blmk_put(e + 17, flags, 2);
	memcpy(e + 19, body, blen);
	blmk_put(e + 19 + blen, crc32(0, e, (uInt)(19 + blen)), 4);
	s->len += size;
}

/* The magic and a format description announcing CRC32. */
static inline void blmk_start(struct blmk *s, uint32_t ts)
{
	unsigned char body[2 + 50 + 4 + 1 + 171 + 1];

	memset(body, 0, sizeof(body));
	memcpy(s->b,
	       "\xfe"
	       "bin",
	       4);
	s->len = 4;
	blmk_put(body, 4, 2);
	memcpy(body + 2, "10.11.6-MariaDB", 15);
	blmk_put(body + 52, ts, 4);
	body[56] = 19;
	body[57 + 2 - 1] = 13; /* QUERY */
	body[57 + 19 - 1] = 8; /* TABLE_MAP */
	for (int t = 23; t <= 25; t++)
		body[57 + t - 1] = 8;
	body[57 + 171] = 1; /* CRC32 */
	blmk_event(s, ts, 15, 0, body, sizeof(body));
}

/* Fills up to `to` with one ignorable event (the streamer's padding). */
static inline void blmk_pad(struct blmk *s, uint32_t ts, size_t to)
{
	unsigned char zero[512] = {0};

	blmk_event(s, ts, 28, 0x80, zero, to - s->len - 23);
}

static inline void blmk_query(struct blmk *s, uint32_t ts, const char *db, const char *sql)
{
	unsigned char body[1024];
	size_t dl = strlen(db), ql = strlen(sql);

	memset(body, 0, 13);
	body[8] = (unsigned char)dl;
	memcpy(body + 13, db, dl + 1);
	memcpy(body + 13 + dl + 1, sql, ql);
	blmk_event(s, ts, 2, 0, body, 13 + dl + 1 + ql);
}

static inline void blmk_table_map(struct blmk *s, uint32_t ts, uint64_t id, const char *db,
				  const char *table)
{
	unsigned char body[512];
	size_t dl = strlen(db), tl = strlen(table), n = 0;

	blmk_put(body, id, 6);
	blmk_put(body + 6, 0, 2);
	n = 8;
	body[n++] = (unsigned char)dl;
	memcpy(body + n, db, dl + 1);
	n += dl + 1;
	body[n++] = (unsigned char)tl;
	memcpy(body + n, table, tl + 1);
	n += tl + 1;
	body[n++] = 1; /* one column, a LONG */
	body[n++] = 3;
	body[n++] = 0;
	body[n++] = 0;
	blmk_event(s, ts, 19, 0, body, n);
}

/* A WRITE_ROWS_V1 of one INT, ending its statement. */
static inline void blmk_rows(struct blmk *s, uint32_t ts, uint64_t id, uint32_t value)
{
	unsigned char body[32];

	blmk_put(body, id, 6);
	blmk_put(body + 6, 1, 2); /* STMT_END_F */
	body[8] = 1;
	body[9] = 1;
	body[10] = 0; /* null bits */
	blmk_put(body + 11, value, 4);
	blmk_event(s, ts, 23, 0, body, 15);
}

static inline void blmk_xid(struct blmk *s, uint32_t ts)
{
	unsigned char body[8] = {1};

	blmk_event(s, ts, 16, 0, body, 8);
}

static inline void blmk_intvar(struct blmk *s, uint32_t ts, uint64_t v)
{
	unsigned char body[9];

	body[0] = 2; /* INSERT_ID */
	blmk_put(body + 1, v, 8);
	blmk_event(s, ts, 5, 0, body, 9);
}

static inline void blmk_rotate(struct blmk *s, uint32_t ts, const char *file)
{
	unsigned char body[160];
	size_t fl = strlen(file);

	blmk_put(body, 4, 8);
	memcpy(body + 8, file, fl);
	blmk_event(s, ts, 4, 0, body, 8 + fl);
}

#endif
