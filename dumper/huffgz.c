/* Huffman-only gzip members; see huffgz.h.  References: RFC 1951 (the
 * dynamic block: 3.2.7; canonical codes: 3.2.2) and RFC 1952 (the member
 * around it). */
#include "huffgz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>

#define NLIT	     257 /* literals 0..255 and end-of-block; no lengths */
#define NDIST	     2	 /* two unused distance codes of one bit: a complete code */
#define NCLEN	     19	 /* the code length alphabet */
#define END_BLOCK    256
#define MAX_LIT_BITS 15
#define MAX_CL_BITS  7
#define STORED_MAX   65535
#define GZ_HEADER    10
#define GZ_TRAILER   8

/* Order of the code length code lengths in the block header. */
static const uint8_t clen_order[NCLEN] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
					  11, 4,  12, 3, 13, 2, 14, 1, 15};

struct bitwriter {
	unsigned char *p;
	uint64_t buf; /* pending bits, the oldest in bit 0 */
	unsigned n;   /* how many */
};

static void put_bits(struct bitwriter *w, uint32_t bits, unsigned n)
{
	w->buf |= (uint64_t)bits << w->n;
	w->n += n;
	while (w->n >= 8) {
		*w->p++ = (unsigned char)w->buf;
		w->buf >>= 8;
		w->n -= 8;
	}
}

static void flush_bits(struct bitwriter *w)
{
	while (w->n) {
		*w->p++ = (unsigned char)w->buf;
		w->buf >>= 8;
		w->n = w->n > 8 ? w->n - 8 : 0;
	}
	w->buf = 0;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

struct leaf {
	uint32_t freq;
	uint16_t sym;
};

static int by_freq(const void *a, const void *b)
{
	const struct leaf *x = a, *y = b;

	if (x->freq != y->freq)
		return x->freq < y->freq ? -1 : 1;
	return x->sym < y->sym ? -1 : x->sym > y->sym;
}

/* Code lengths of at most maxbits for the symbols of freq[0, n) (n <= 286)
 * into len[]: 0 for an unused symbol.  At least two symbols get a code,
 * even if fewer are used, so the code is always complete.  Huffman's
 * tree by the two-queue method, then lengths over maxbits are pushed
 * back in, keeping the Kraft sum at 1, and dealt out longest first to
 * the rarest symbols. */
static void code_lengths(const uint32_t *freq, unsigned n, unsigned maxbits, uint8_t *len)
{
	struct leaf leaves[NLIT];
	uint32_t weight[2 * NLIT];
	uint16_t parent[2 * NLIT], depth[2 * NLIT];
	unsigned count[MAX_LIT_BITS + 1] = {0};
	unsigned m = 0, next_leaf = 0, next_node, node, total, i;

	memset(len, 0, n);
	for (i = 0; i < n; i++)
		if (freq[i])
			leaves[m++] = (struct leaf){freq[i], (uint16_t)i};
	for (i = 0; m < 2 && i < n; i++)
		if (!freq[i])
			leaves[m++] = (struct leaf){0, (uint16_t)i};
	qsort(leaves, m, sizeof(leaves[0]), by_freq);
	for (i = 0; i < m; i++)
		weight[i] = leaves[i].freq;
	/* Internal nodes m .. 2m-2 are made in nondecreasing weight, so the
	 * two lightest are always at the heads of the two queues. */
	next_node = m;
	for (node = m; node < 2 * m - 1; node++) {
		unsigned pick[2];

		for (int k = 0; k < 2; k++) {
			if (next_leaf < m &&
			    (next_node >= node || weight[next_leaf] <= weight[next_node]))
				pick[k] = next_leaf++;
			else
				pick[k] = next_node++;
		}
		weight[node] = weight[pick[0]] + weight[pick[1]];
		parent[pick[0]] = parent[pick[1]] = (uint16_t)node;
	}
	depth[2 * m - 2] = 0;
	for (node = 2 * m - 2; node-- > 0;)
		depth[node] = (uint16_t)(depth[parent[node]] + 1);
	for (i = 0; i < m; i++)
		count[depth[i] > maxbits ? maxbits : depth[i]]++;
	/* Each round takes one code off the longest length and splits one
	 * shorter code in two: the Kraft sum falls by 2^-maxbits. */
	total = 0;
	for (i = 1; i <= maxbits; i++)
		total += count[i] << (maxbits - i);
	while (total > (1u << maxbits)) {
		count[maxbits]--;
		for (i = maxbits - 1; i > 0; i--) {
			if (count[i]) {
				count[i]--;
				count[i + 1] += 2;
				break;
			}
		}
		total--;
	}
	/* The rarest symbols come first in leaves[]: the longest codes. */
	node = 0;
	for (i = maxbits; i > 0; i--)
		for (unsigned k = count[i]; k > 0; k--)
			len[leaves[node++].sym] = (uint8_t)i;
}

/* The canonical codes of len[0, n), bit-reversed for the LSB-first
 * stream (RFC 1951 3.2.2). */
static void canonical_codes(const uint8_t *len, unsigned n, unsigned maxbits, uint16_t *code)
{
	unsigned count[MAX_LIT_BITS + 1] = {0}, next[MAX_LIT_BITS + 1];
	unsigned c = 0, i;

	for (i = 0; i < n; i++)
		count[len[i]]++;
	count[0] = 0;
	for (i = 1; i <= maxbits; i++) {
		c = (c + count[i - 1]) << 1;
		next[i] = c;
	}
	for (i = 0; i < n; i++) {
		unsigned v = len[i] ? next[len[i]]++ : 0, r = 0;

		for (unsigned b = 0; b < len[i]; b++)
			r |= ((v >> b) & 1) << (len[i] - 1 - b);
		code[i] = (uint16_t)r;
	}
}

/* The code length sequence, run-length coded: a symbol of the code
 * length alphabet and its extra bits per entry (17: 3-10 zeros, 18:
 * 11-138 zeros; repeats of other lengths are rare here and sent as is). */
struct rle {
	uint8_t sym[NLIT + NDIST];
	uint8_t extra[NLIT + NDIST];
	unsigned n;
};

static void rle_lengths(const uint8_t *lens, unsigned n, struct rle *out)
{
	unsigned i = 0, run;

	out->n = 0;
	while (i < n) {
		for (run = 0; lens[i] == 0 && i + run < n && lens[i + run] == 0 && run < 138;)
			run++;
		if (run >= 3) {
			out->sym[out->n] = run >= 11 ? 18 : 17;
			out->extra[out->n++] = (uint8_t)(run >= 11 ? run - 11 : run - 3);
			i += run;
		} else {
			out->sym[out->n] = lens[i++];
			out->extra[out->n++] = 0;
		}
	}
}

static unsigned extra_bits(unsigned sym)
{
	return sym == 18 ? 7 : sym == 17 ? 3 : 0;
}

/* A member of stored blocks: n + 5 bytes per block of at most 64 KiB. */
static size_t stored_size(size_t n)
{
	size_t blocks = (n + STORED_MAX - 1) / STORED_MAX;

	return n + 5 * (blocks ? blocks : 1);
}

size_t huffgz_bound(size_t n)
{
	return GZ_HEADER + stored_size(n) + GZ_TRAILER;
}

static unsigned char *put_stored(const unsigned char *in, size_t n, unsigned char *o)
{
	do {
		size_t k = n > STORED_MAX ? STORED_MAX : n;

		*o++ = k == n; /* BFINAL on the last, BTYPE 00, padding */
		o[0] = (unsigned char)k;
		o[1] = (unsigned char)(k >> 8);
		o[2] = (unsigned char)~k;
		o[3] = (unsigned char)(~k >> 8);
		memcpy(o + 4, in, k);
		o += 4 + k;
		in += k;
		n -= k;
	} while (n);
	return o;
}

/* The literals, two at a time: two codes of at most 15 bits join the
 * under 32 pending bits in the 64-bit buffer. */
static void put_literals(struct bitwriter *w, const unsigned char *in, size_t n,
			 const uint16_t *code, const uint8_t *len)
{
	uint64_t buf = w->buf;
	unsigned bits = w->n;
	unsigned char *o = w->p;
	size_t i = 0;

	for (; i + 1 < n; i += 2) {
		unsigned a = in[i], b = in[i + 1];

		buf |= ((uint64_t)code[a] | (uint64_t)code[b] << len[a]) << bits;
		bits += len[a] + len[b];
		if (bits >= 32) {
			put_le32(o, (uint32_t)buf);
			o += 4;
			buf >>= 32;
			bits -= 32;
		}
	}
	w->buf = buf;
	w->n = bits;
	w->p = o;
	if (i < n)
		put_bits(w, code[in[i]], len[in[i]]);
}

/* Four histograms: a run of one byte value (hex has 16) does not wait on
 * the store of the count before. */
static void count_bytes(const unsigned char *in, size_t n, uint32_t *freq)
{
	uint32_t lane[4][256] = {{0}};
	size_t k = 0;

	for (; k + 4 <= n; k += 4) {
		lane[0][in[k]]++;
		lane[1][in[k + 1]]++;
		lane[2][in[k + 2]]++;
		lane[3][in[k + 3]]++;
	}
	for (; k < n; k++)
		lane[0][in[k]]++;
	for (unsigned b = 0; b < 256; b++)
		freq[b] = lane[0][b] + lane[1][b] + lane[2][b] + lane[3][b];
}

/* The empty member: BFINAL, BTYPE 01 (fixed codes), end-of-block (seven
 * zero bits); CRC and size 0. */
static size_t empty_member(unsigned char *out)
{
	out[GZ_HEADER] = 0x03;
	out[GZ_HEADER + 1] = 0x00;
	memset(out + GZ_HEADER + 2, 0, GZ_TRAILER);
	return GZ_HEADER + 2 + GZ_TRAILER;
}

size_t huffgz_member(const unsigned char *in, size_t n, unsigned char *out, size_t cap)
{
	static const unsigned char header[GZ_HEADER] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
	uint32_t freq[NLIT] = {0}, clfreq[NCLEN] = {0};
	uint8_t lens[NLIT + NDIST], cllen[NCLEN];
	uint16_t code[NLIT], clcode[NCLEN];
	struct bitwriter w;
	struct rle rle;
	unsigned hclen, i;
	uint64_t bits;

	if (cap < huffgz_bound(n))
		return 0;
	memcpy(out, header, GZ_HEADER);
	if (!n) /* as zlib: a fixed-code block of just its end */
		return empty_member(out);
	count_bytes(in, n, freq);
	freq[END_BLOCK] = 1;
	code_lengths(freq, NLIT, MAX_LIT_BITS, lens);
	lens[NLIT] = lens[NLIT + 1] = 1;
	rle_lengths(lens, NLIT + NDIST, &rle);
	for (i = 0; i < rle.n; i++)
		clfreq[rle.sym[i]]++;
	code_lengths(clfreq, NCLEN, MAX_CL_BITS, cllen);
	for (hclen = NCLEN; hclen > 4 && !cllen[clen_order[hclen - 1]];)
		hclen--;

	/* The block's exact size, to choose it or stored blocks. */
	bits = 3 + 5 + 5 + 4 + 3 * hclen;
	for (i = 0; i < rle.n; i++)
		bits += cllen[rle.sym[i]] + extra_bits(rle.sym[i]);
	for (i = 0; i < NLIT; i++)
		bits += (uint64_t)freq[i] * lens[i];

	w.p = out + GZ_HEADER;
	if ((bits + 7) / 8 >= stored_size(n)) {
		w.p = put_stored(in, n, w.p);
	} else {
		canonical_codes(lens, NLIT, MAX_LIT_BITS, code);
		canonical_codes(cllen, NCLEN, MAX_CL_BITS, clcode);
		w.buf = 0;
		w.n = 0;
		put_bits(&w, 1 | 2 << 1, 3); /* BFINAL, BTYPE 10: dynamic */
		put_bits(&w, NLIT - 257, 5);
		put_bits(&w, NDIST - 1, 5);
		put_bits(&w, hclen - 4, 4);
		for (i = 0; i < hclen; i++)
			put_bits(&w, cllen[clen_order[i]], 3);
		for (i = 0; i < rle.n; i++) {
			put_bits(&w, clcode[rle.sym[i]], cllen[rle.sym[i]]);
			put_bits(&w, rle.extra[i], extra_bits(rle.sym[i]));
		}
		put_literals(&w, in, n, code, lens);
		put_bits(&w, code[END_BLOCK], lens[END_BLOCK]);
		flush_bits(&w);
	}
	put_le32(w.p, (uint32_t)libdeflate_crc32(0, in, n));
	put_le32(w.p + 4, (uint32_t)n);
	return (size_t)(w.p + GZ_TRAILER - out);
}
