/* Spans of SQL text that are hex digits encoding incompressible bytes.
 *
 * The dump writes BLOBs and binary strings as 0x<uppercase hex>.  When
 * the bytes are already compressed or random (images, archives, keys),
 * deflate's match search finds only useless three-digit matches in their
 * hex: on random data zlib's is about 4x slower than Huffman coding alone
 * and its output is about 12% larger (57% of the hex against 51%).
 * gzstage codes these spans with Huffman only (huffgz.h) and everything
 * else as usual.
 *
 * A span is a run of at least HEXSPAN_MIN characters of [0-9A-F], cut
 * into pieces of at most HEXSPAN_PROBE_EVERY characters; a piece counts
 * when the bytes of its first HEXSPAN_PROBE characters (or fewer, in a
 * shorter piece) take nearly as many distinct values as random bytes
 * would.  Text (at most 95 printable values), zero padding, small
 * integers and other repetitive data stay below that and keep the full
 * deflate.  Neighbouring pieces closer than HEXSPAN_GAP are joined.
 */
#ifndef DUMPER_HEXSPAN_H
#define DUMPER_HEXSPAN_H

#include <stdbool.h>
#include <stddef.h>

#define HEXSPAN_MIN	    512
#define HEXSPAN_PROBE	    1024
#define HEXSPAN_PROBE_EVERY (64 * 1024)
#define HEXSPAN_GAP	    64

/* Walks the spans of p[0, len) in order, each byte scanned once (the
 * iterator holds the piece found after the last span).  p is borrowed
 * and must outlive the iterator. */
struct hexspan_iter {
	const unsigned char *p;
	size_t len;
	bool have; /* a piece [a, b) was found and not returned yet */
	size_t a, b;
};

void hexspan_iter_init(struct hexspan_iter *it, const unsigned char *p, size_t len);
/* The next span [*start, *end), or false when there is none. */
bool hexspan_iter_next(struct hexspan_iter *it, size_t *start, size_t *end);

#endif
