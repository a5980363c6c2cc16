/* Row digests and their trailer lines.  See rowdigest.h. */
#include "rowdigest.h"

#include <errno.h>
#include <string.h>

#include "sha256.h"
#include "sqlquote.h"

#define LINE_PREFIX "-- dumpfs: table "

void rowdigest_init(struct rowdigest *dg)
{
	memset(dg, 0, sizeof(*dg));
}

static void sum_add(unsigned char sum[ROWDIGEST_LEN], const unsigned char h[ROWDIGEST_LEN])
{
	unsigned carry = 0;

	for (int i = ROWDIGEST_LEN - 1; i >= 0; i--) {
		unsigned v = (unsigned)sum[i] + h[i] + carry;

		sum[i] = (unsigned char)v;
		carry = v >> 8;
	}
}

void rowdigest_add(struct rowdigest *dg, unsigned n, char *const *values, const unsigned long *lens)
{
	unsigned char h[SHA256_DIGEST_LEN];
	struct sha256 c;

	sha256_init(&c);
	for (unsigned i = 0; i < n; i++) {
		unsigned char head[9] = {0};
		uint64_t len = lens[i];

		if (!values[i]) {
			sha256_update(&c, head, 1);
			continue;
		}
		head[0] = 1;
		for (int b = 0; b < 8; b++)
			head[1 + b] = (unsigned char)(len >> (8 * b));
		sha256_update(&c, head, sizeof(head));
		sha256_update(&c, values[i], lens[i]);
	}
	sha256_final(&c, h);
	sum_add(dg->sum, h);
	dg->rows++;
}

void rowdigest_add_line(struct strbuf *sb, const char *db, const char *table,
			const struct rowdigest *dg)
{
	char hex[SHA256_HEX_LEN + 1];

	sha256_hex(dg->sum, hex);
	strbuf_addstr(sb, LINE_PREFIX);
	sql_add_ident(sb, db);
	strbuf_addch(sb, '.');
	sql_add_ident(sb, table);
	strbuf_addf(sb, " rows=%llu digest=%s\n", (unsigned long long)dg->rows, hex);
}

/* A backquoted name at *p (doubled backquotes inside) into out[256]. */
static int parse_ident(const char **p, const char *end, char out[256])
{
	const char *s = *p;
	size_t n = 0;

	if (s >= end || *s++ != '`')
		return -EINVAL;
	for (;;) {
		if (s >= end)
			return -EINVAL;
		if (*s == '`') {
			if (s + 1 < end && s[1] == '`')
				s++;
			else
				break;
		}
		if (*s == '\0' || n >= 255)
			return -EINVAL;
		out[n++] = *s++;
	}
	out[n] = '\0';
	*p = s + 1;
	return n ? 0 : -EINVAL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int parse_tail(const char *p, const char *end, struct rowdigest_line *out)
{
	uint64_t rows = 0;
	const char *digits;

	if ((size_t)(end - p) < 6 || memcmp(p, " rows=", 6))
		return -EINVAL;
	p += 6;
	for (digits = p; p < end && *p >= '0' && *p <= '9'; p++) {
		if (rows > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		rows = rows * 10 + (uint64_t)(*p - '0');
	}
	if (p == digits || (p - digits > 1 && *digits == '0'))
		return -EINVAL;
	if ((size_t)(end - p) != 8 + 2 * ROWDIGEST_LEN || memcmp(p, " digest=", 8))
		return -EINVAL;
	p += 8;
	for (int i = 0; i < ROWDIGEST_LEN; i++) {
		int hi = hexval(p[2 * i]), lo = hexval(p[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out->sum[i] = (unsigned char)(hi << 4 | lo);
	}
	out->rows = rows;
	return 0;
}

int rowdigest_parse_line(const char *line, size_t len, struct rowdigest_line *out)
{
	const char *p = line, *end = line + len;
	size_t plen = strlen(LINE_PREFIX);

	memset(out, 0, sizeof(*out));
	if (len < plen || memcmp(p, LINE_PREFIX, plen))
		return -EINVAL;
	p += plen;
	if (parse_ident(&p, end, out->db) || p >= end || *p++ != '.' ||
	    parse_ident(&p, end, out->table))
		return -EINVAL;
	return parse_tail(p, end, out);
}
