/* Row digests and their trailer lines.  See rowdigest.h. */
#include "rowdigest.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "sha256.h"
#include "sqlquote.h"

#define LINE_PREFIX    "-- dumpfs: table "
#define OBJECTS_PREFIX "-- dumpfs: objects"

void rowdigest_init(struct rowdigest *dg)
{
	memset(dg, 0, sizeof(*dg));
}

/* The row hash: four 64-bit lanes in the manner of xxHash64 (multiply,
 * rotate; its primes), 32 bytes a step, each lane mixed with the others
 * at the end.  Not a cryptographic hash, and it need not be: whoever can
 * change a dump can change its trailer too; what the digest must catch is
 * a restore that does not bring back what was read, at a cost small
 * beside the dump's (a SHA-256 a row took 13% of its CPU). */
#define P1 0x9E3779B185EBCA87ULL
#define P2 0xC2B2AE3D27D4EB4FULL
#define P3 0x165667B19E3779F9ULL
#define P4 0x85EBCA77C2B2AE63ULL
#define P5 0x27D4EB2F165667C5ULL

struct lanes {
	uint64_t v[4];
};

static inline uint64_t rotl(uint64_t x, unsigned r)
{
	return x << r | x >> (64 - r);
}

static inline uint64_t round64(uint64_t acc, uint64_t in)
{
	return rotl(acc + in * P2, 31) * P1;
}

static inline uint64_t read64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v); /* the same digest on every host */
}

static inline uint64_t read32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

/* The last len (1..7) bytes at p as a little-endian number, read with
 * whole loads: a byte loop into a word stalls on store forwarding, and
 * this is the row hash's hottest spot.  before: how many bytes of the
 * field precede p (readable). */
static inline uint64_t tail_bytes(const unsigned char *p, size_t len, size_t before)
{
	if (before >= 8 - len)
		return read64(p + len - 8) >> (8 * (8 - len));
	if (len >= 4) /* two overlapping loads; the overlap holds equal bytes */
		return read32(p) | read32(p + len - 4) << (8 * (len - 4));
	return (uint64_t)p[0] | (uint64_t)p[len / 2] << (8 * (len / 2)) |
	       (uint64_t)p[len - 1] << (8 * (len - 1));
}

/* A field: its header word (NULL, or 1 and its length) in lane 0, 32-byte
 * stripes across the four lanes, whole words in lane 1, the last bytes in
 * lane 2 (fixed lanes: the compiler keeps them in registers). */
static void lanes_field(struct lanes *l, const char *value, unsigned long len)
{
	const unsigned char *p = (const unsigned char *)value;

	if (!value) {
		l->v[0] = round64(l->v[0], 0);
		return;
	}
	l->v[0] = round64(l->v[0], (uint64_t)1 << 63 | (uint64_t)len);
	for (; len >= 32; p += 32, len -= 32) {
		l->v[0] = round64(l->v[0], read64(p));
		l->v[1] = round64(l->v[1], read64(p + 8));
		l->v[2] = round64(l->v[2], read64(p + 16));
		l->v[3] = round64(l->v[3], read64(p + 24));
	}
	for (; len >= 8; p += 8, len -= 8)
		l->v[1] = round64(l->v[1], read64(p));
	if (len)
		l->v[2] = round64(l->v[2], tail_bytes(p, len, p - (const unsigned char *)value));
}

static uint64_t avalanche(uint64_t h)
{
	h ^= h >> 33;
	h *= P2;
	h ^= h >> 29;
	h *= P3;
	h ^= h >> 32;
	return h;
}

/* Adds the row's 256-bit hash to sum (big-endian, modulo 2^256): word w
 * of the hash goes to bytes 8w..8w+7, so the words add with carry from
 * the last. */
static void sum_add(unsigned char sum[ROWDIGEST_LEN], const struct lanes *l)
{
	uint64_t all = l->v[0] ^ rotl(l->v[1], 13) ^ rotl(l->v[2], 29) ^ rotl(l->v[3], 47);
	unsigned carry = 0;

	for (int w = 3; w >= 0; w--) {
		uint64_t h = avalanche(l->v[w] + all * P4 + (uint64_t)w * P5), s;
		unsigned c;

		memcpy(&s, sum + 8 * w, 8);
		c = __builtin_add_overflow(be64toh(s), h, &s);
		c += __builtin_add_overflow(s, (uint64_t)carry, &s);
		carry = c;
		s = htobe64(s);
		memcpy(sum + 8 * w, &s, 8);
	}
}

void rowdigest_add(struct rowdigest *dg, unsigned n, char *const *values, const unsigned long *lens)
{
	struct lanes l = {{P1 + P2, P2, 0, 0 - P1}};

	for (unsigned i = 0; i < n; i++)
		lanes_field(&l, values[i], lens[i]);
	l.v[3] = round64(l.v[3], n);
	sum_add(dg->sum, &l);
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

static const char *const object_keys[] = {"views", "triggers", "routines", "events", "sequences"};

static unsigned *object_field(struct rowdigest_objects *o, size_t i)
{
	unsigned *f[] = {&o->views, &o->triggers, &o->routines, &o->events, &o->sequences};

	return f[i];
}

void rowdigest_add_objects_line(struct strbuf *sb, const struct rowdigest_objects *o)
{
	struct rowdigest_objects c = *o;

	strbuf_addstr(sb, OBJECTS_PREFIX);
	for (size_t i = 0; i < sizeof(object_keys) / sizeof(object_keys[0]); i++)
		strbuf_addf(sb, " %s=%u", object_keys[i], *object_field(&c, i));
	strbuf_addch(sb, '\n');
}

int rowdigest_parse_objects(const char *line, size_t len, struct rowdigest_objects *out)
{
	const char *p = line, *end = line + len;
	size_t plen = strlen(OBJECTS_PREFIX);

	memset(out, 0, sizeof(*out));
	if (len < plen || memcmp(p, OBJECTS_PREFIX, plen))
		return -EINVAL;
	p += plen;
	for (size_t i = 0; i < sizeof(object_keys) / sizeof(object_keys[0]); i++) {
		size_t klen = strlen(object_keys[i]);
		const char *digits;
		unsigned v = 0;

		if ((size_t)(end - p) < klen + 2 || p[0] != ' ' ||
		    memcmp(p + 1, object_keys[i], klen) || p[1 + klen] != '=')
			return -EINVAL;
		p += klen + 2;
		for (digits = p; p < end && *p >= '0' && *p <= '9'; p++) {
			if (p - digits >= 9)
				return -EINVAL;
			v = v * 10 + (unsigned)(*p - '0');
		}
		if (p == digits || (p - digits > 1 && *digits == '0'))
			return -EINVAL;
		*object_field(out, i) = v;
	}
	return p == end ? 0 : -EINVAL;
}
