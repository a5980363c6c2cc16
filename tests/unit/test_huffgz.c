/* huffgz: Huffman-only gzip members, read back by zlib. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../../dumper/huffgz.h"
#include "unit.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;

static unsigned next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng >> 32);
}

/* in[0, n) as one member; true when zlib reads back exactly in[0, n)
 * (its CRC and size checked) and the member fills its whole length.
 * *outlen: the member's size. */
static bool round_trip(const unsigned char *in, size_t n, size_t *outlen)
{
	size_t cap = huffgz_bound(n);
	unsigned char *out = malloc(cap), *back = malloc(n + 1);
	z_stream zs;
	bool ok = false;
	int rc;

	memset(&zs, 0, sizeof(zs));
	if (!out || !back || inflateInit2(&zs, 15 + 16) != Z_OK)
		goto done;
	*outlen = huffgz_member(in, n, out, cap);
	if (!*outlen || *outlen > cap)
		goto end;
	zs.next_in = out;
	zs.avail_in = (uInt)*outlen;
	zs.next_out = back;
	zs.avail_out = (uInt)(n + 1);
	rc = inflate(&zs, Z_FINISH);
	ok = rc == Z_STREAM_END && zs.avail_in == 0 && zs.total_out == n &&
	     (n == 0 || memcmp(in, back, n) == 0);
end:
	inflateEnd(&zs);
done:
	free(out);
	free(back);
	return ok;
}

/* zlib's own Huffman-only member of the same bytes: the size to match. */
static size_t zlib_huffman_size(const unsigned char *in, size_t n)
{
	z_stream zs;
	unsigned char *out;
	size_t got = 0;

	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_HUFFMAN_ONLY) != Z_OK)
		return 0;
	out = malloc(deflateBound(&zs, n));
	if (out) {
		zs.next_in = (Bytef *)in;
		zs.avail_in = (uInt)n;
		zs.next_out = out;
		zs.avail_out = (uInt)deflateBound(&zs, n);
		if (deflate(&zs, Z_FINISH) == Z_STREAM_END)
			got = zs.total_out;
	}
	deflateEnd(&zs);
	free(out);
	return got;
}

static void random_hex(unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)digits[next_rand() & 15];
}

TEST(huffgz_small_inputs_read_back)
{
	unsigned char buf[300] = {0};
	size_t len;

	CHECK(round_trip(buf, 0, &len) && len == 20); /* zlib's empty member */
	buf[0] = 'A';
	CHECK(round_trip(buf, 1, &len));
	memset(buf, 'B', 200);
	CHECK(round_trip(buf, 200, &len)); /* one symbol and end-of-block */
	for (unsigned i = 0; i < 256; i++)
		buf[i] = (unsigned char)i;
	CHECK(round_trip(buf, 256, &len)); /* every byte value once */
}

TEST(huffgz_hex_is_as_small_as_zlibs_huffman_only)
{
	size_t n = 1 << 20, len = 0, zlen;
	unsigned char *p = malloc(n);

	CHECK(p != NULL);
	if (!p)
		return;
	random_hex(p, n);
	/* A few other bytes, as when spans join across ",0x". */
	for (size_t i = 1000; i < n; i += 3000)
		memcpy(p + i, "),(7,0x", 7);
	CHECK(round_trip(p, n, &len));
	zlen = zlib_huffman_size(p, n);
	CHECK(zlen > 0 && len <= zlen + zlen / 1000);
	CHECK(len < n * 52 / 100); /* about 4 bits a digit */
	free(p);
}

TEST(huffgz_incompressible_bytes_are_stored_within_the_bound)
{
	size_t n = 200000, len = 0;
	unsigned char *p = malloc(n);

	CHECK(p != NULL);
	if (!p)
		return;
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)next_rand();
	CHECK(round_trip(p, n, &len)); /* four stored blocks */
	CHECK(len == huffgz_bound(n));
	CHECK(round_trip(p, 65535, &len) && len == huffgz_bound(65535));
	CHECK(round_trip(p, 65536, &len) && len == huffgz_bound(65536));
	free(p);
}

/* Frequencies that grow like Fibonacci numbers make Huffman's tree as
 * deep as there are symbols: the lengths must be cut to 15 bits. */
TEST(huffgz_deep_trees_are_length_limited)
{
	size_t n = 0, len = 0, f0 = 1, f1 = 1;
	unsigned char *p = malloc(1 << 20);

	CHECK(p != NULL);
	if (!p)
		return;
	for (unsigned sym = 0; sym < 26 && n + f1 <= (1 << 20); sym++) {
		memset(p + n, 'a' + (int)sym, f1);
		n += f1;
		f1 += f0;
		f0 = f1 - f0;
	}
	CHECK(round_trip(p, n, &len));
	CHECK(len < n * 3 / 8); /* coded (about 2.6 bits a byte), not stored */
	free(p);
}

TEST(huffgz_random_mixtures_read_back)
{
	unsigned char *p = malloc(70000);
	size_t len;

	CHECK(p != NULL);
	if (!p)
		return;
	for (int round = 0; round < 300; round++) {
		size_t n = next_rand() % 70000;
		unsigned alphabet = 1 + next_rand() % 256, skew = next_rand() % 4;

		for (size_t i = 0; i < n; i++) {
			unsigned v = next_rand() % alphabet;

			p[i] = (unsigned char)(skew ? v >> (next_rand() % (skew * 3)) : v);
		}
		CHECK(round_trip(p, n, &len));
	}
	CHECK(huffgz_member(p, 10, p, huffgz_bound(10) - 1) == 0); /* no room */
	free(p);
}
