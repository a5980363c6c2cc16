/* The Huffman-only gzip members that carry the hex of every BLOB in a
 * dump (dumper/huffgz.c): on any bytes, the member stays within
 * huffgz_bound() and zlib reads back exactly those bytes, CRC checked.
 * The first input byte picks how the rest is shaped: as is, or folded
 * onto a small alphabet (the skewed histograms that make deep trees). */
#include <string.h>
#include <zlib.h>

#include "../../dumper/huffgz.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = size ? size - 1 : 0, cap = huffgz_bound(n), got;
	unsigned char *in = malloc(n + 1), *out = malloc(cap), *back = malloc(n + 1);
	unsigned fold = size ? data[0] : 0;
	z_stream zs;

	FUZZ_ASSERT(in && out && back);
	for (size_t i = 0; i < n; i++)
		in[i] = fold < 128 ? data[i + 1] : (unsigned char)(data[i + 1] % (fold - 126));
	got = huffgz_member(in, n, out, cap);
	FUZZ_ASSERT(got > 0 && got <= cap);
	FUZZ_ASSERT(huffgz_member(in, n, out, cap - 1) == 0);
	memset(&zs, 0, sizeof(zs));
	FUZZ_ASSERT(inflateInit2(&zs, 15 + 16) == Z_OK);
	zs.next_in = out;
	zs.avail_in = (uInt)got;
	zs.next_out = back;
	zs.avail_out = (uInt)(n + 1);
	FUZZ_ASSERT(inflate(&zs, Z_FINISH) == Z_STREAM_END);
	FUZZ_ASSERT(zs.avail_in == 0 && zs.total_out == n);
	FUZZ_ASSERT(n == 0 || memcmp(in, back, n) == 0);
	inflateEnd(&zs);
	free(in);
	free(out);
	free(back);
	return 0;
}
