/* Gzip members coded with Huffman only: one dynamic deflate block of
 * literals, no match search.
 *
 * For the hex spans of incompressible bytes (hexspan.h) a match search
 * only finds useless short matches; zlib's Z_HUFFMAN_ONLY still tallies
 * every byte into its symbol buffer and codes it from there.  Here a
 * member is a byte histogram, a length-limited Huffman code (RFC 1951
 * 3.2.7) and one pass that packs the codes, about twice as fast for the
 * same output.  When the code would not make the data smaller, the member
 * holds stored blocks instead, so the output never exceeds
 * huffgz_bound().
 */
#ifndef DUMPER_HUFFGZ_H
#define DUMPER_HUFFGZ_H

#include <stddef.h>

/* The most bytes huffgz_member() writes for n bytes of input. */
size_t huffgz_bound(size_t n);

/* Writes one complete gzip member (RFC 1952) of in[0, n) to out, which
 * has room for `cap` bytes; returns its length, or 0 when cap is less
 * than huffgz_bound(n).  Pure: no allocation, safe from any thread. */
size_t huffgz_member(const unsigned char *in, size_t n, unsigned char *out, size_t cap);

#endif
