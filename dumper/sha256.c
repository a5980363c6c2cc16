/* SHA-256 per FIPS 180-4, and the hashing pass-through stage. */
#include "sha256.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

static inline uint32_t ror(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

typedef void compress_fn(uint32_t h[8], const unsigned char *p);

static void compress_c(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, hh, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (i = 16; i < 64; i++) {
		uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0], b = h[1], c = h[2], d = h[3];
	e = h[4], f = h[5], g = h[6], hh = h[7];
	for (i = 0; i < 64; i++) {
		t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] +
		     w[i];
		t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		hh = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d;
	h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#include <pthread.h>

/* The SHA extensions (SHA-NI) do two rounds an instruction: about 10x the
 * plain C above, which matters for the row digests (one hash per row) and
 * the sidecar of every backup.  The same FIPS 180-4 function: the unit
 * tests' vectors run through whichever compress() this machine uses. */
__attribute__((target("sha,sse4.1,ssse3"))) static void compress_ni(uint32_t h[8],
								    const unsigned char *p)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	__m128i st0, st1, tmp, msg, abef, cdgh, x[4];

	tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xB1); /* CDAB */
	st1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1B); /* EFGH */
	st0 = _mm_alignr_epi8(tmp, st1, 8);					/* ABEF */
	st1 = _mm_blend_epi16(st1, tmp, 0xF0);					/* CDGH */
	abef = st0;
	cdgh = st1;
	for (int g = 0; g < 16; g++) {
		if (g < 4) {
			x[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)),
						bswap);
		} else {
			__m128i w = _mm_sha256msg1_epu32(x[g & 3], x[(g + 1) & 3]);

			w = _mm_add_epi32(w, _mm_alignr_epi8(x[(g + 3) & 3], x[(g + 2) & 3], 4));
			x[g & 3] = _mm_sha256msg2_epu32(w, x[(g + 3) & 3]);
		}
		msg = _mm_add_epi32(x[g & 3], _mm_loadu_si128((const __m128i *)&K[4 * g]));
		st1 = _mm_sha256rnds2_epu32(st1, st0, msg);
		st0 = _mm_sha256rnds2_epu32(st0, st1, _mm_shuffle_epi32(msg, 0x0E));
	}
	st0 = _mm_add_epi32(st0, abef);
	st1 = _mm_add_epi32(st1, cdgh);
	tmp = _mm_shuffle_epi32(st0, 0x1B);    /* FEBA */
	st1 = _mm_shuffle_epi32(st1, 0xB1);    /* DCHG */
	st0 = _mm_blend_epi16(tmp, st1, 0xF0); /* DCBA */
	st1 = _mm_alignr_epi8(st1, tmp, 8);    /* HGFE */
	_mm_storeu_si128((__m128i *)&h[0], st0);
	_mm_storeu_si128((__m128i *)&h[4], st1);
}

static pthread_once_t pick_once = PTHREAD_ONCE_INIT;
static compress_fn *picked; /* written once, under pick_once */

static void pick(void)
{
	unsigned a, b, c, d;
	bool sha = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29));
	bool sse41 = __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 19)) && (c & (1u << 9));

	picked = sha && sse41 ? compress_ni : compress_c;
}

/* Once per update, not per 64-byte block. */
static compress_fn *compressor(void)
{
	pthread_once(&pick_once, pick);
	return picked;
}
#else
static compress_fn *compressor(void)
{
	return compress_c;
}
#endif

void sha256_init(struct sha256 *c)
{
	static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
				       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

	memcpy(c->h, iv, sizeof(iv));
	c->nbytes = 0;
	c->nblock = 0;
}

void sha256_update(struct sha256 *c, const void *data, size_t len)
{
	compress_fn *compress = compressor();
	const unsigned char *p = data;
	size_t take;

	c->nbytes += len;
	if (c->nblock) {
		take = 64 - c->nblock < len ? 64 - c->nblock : len;
		memcpy(c->block + c->nblock, p, take);
		c->nblock += take;
		p += take;
		len -= take;
		if (c->nblock < 64)
			return;
		compress(c->h, c->block);
		c->nblock = 0;
	}
	for (; len >= 64; p += 64, len -= 64)
		compress(c->h, p);
	if (len) {
		memcpy(c->block, p, len);
		c->nblock = len;
	}
}

void sha256_final(struct sha256 *c, unsigned char out[SHA256_DIGEST_LEN])
{
	compress_fn *compress = compressor();
	uint64_t bits = c->nbytes * 8;
	int i;

	c->block[c->nblock++] = 0x80;
	if (c->nblock > 56) {
		memset(c->block + c->nblock, 0, 64 - c->nblock);
		compress(c->h, c->block);
		c->nblock = 0;
	}
	memset(c->block + c->nblock, 0, 56 - c->nblock);
	for (i = 0; i < 8; i++)
		c->block[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
	compress(c->h, c->block);
	for (i = 0; i < 8; i++) {
		out[4 * i] = (unsigned char)(c->h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(c->h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(c->h[i] >> 8);
		out[4 * i + 3] = (unsigned char)c->h[i];
	}
	c->nblock = 0;
}

void sha256_hex(const unsigned char digest[SHA256_DIGEST_LEN], char hex[SHA256_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < SHA256_DIGEST_LEN; i++) {
		hex[2 * i] = digits[digest[i] >> 4];
		hex[2 * i + 1] = digits[digest[i] & 15];
	}
	hex[SHA256_HEX_LEN] = '\0';
}

void sha256_final_hex(struct sha256 *c, char hex[SHA256_HEX_LEN + 1])
{
	unsigned char d[SHA256_DIGEST_LEN];

	sha256_final(c, d);
	sha256_hex(d, hex);
}

struct sha256stage {
	struct writer w;
	struct writer *next; /* borrowed */
	struct sha256 *ctx;  /* borrowed */
};

static int stage_write(struct writer *w, const void *buf, size_t len, struct errbuf *err)
{
	struct sha256stage *s = (struct sha256stage *)w;
	int rc = writer_write(s->next, buf, len, err);

	/* Only bytes the next stage took are part of the file. */
	if (!rc)
		sha256_update(s->ctx, buf, len);
	return rc;
}

static int stage_close(struct writer *w, struct errbuf *err)
{
	(void)w;
	(void)err;
	return 0;
}

static void stage_free(struct writer *w)
{
	free(w);
}

static const struct writer_ops sha256stage_ops = {
	.stage = "sha256",
	.write = stage_write,
	.close = stage_close,
	.free = stage_free,
};

int sha256stage_new(struct writer **out, struct writer *next, struct sha256 *ctx,
		    struct errbuf *err)
{
	struct sha256stage *s = calloc(1, sizeof(*s));

	if (!s)
		return error_set(err, -ENOMEM, "out of memory");
	s->w.ops = &sha256stage_ops;
	s->next = next;
	s->ctx = ctx;
	sha256_init(ctx);
	*out = &s->w;
	return 0;
}
