/* The restore's gunzip stage (restore.h): one or more concatenated gzip
 * members, decompressed into the next stage.
 *
 * Dumps made by dumpfs are members of at most a block (1 MiB) of SQL
 * each, which libdeflate decompresses whole about 2.5x faster than
 * zlib's inflate.  So input is held until FAST_MIN bytes (or the end) are
 * there and each member is first tried whole with libdeflate; a member it
 * does not take (larger than FAST_OUT of output or than the bytes held, or
 * damaged) is inflated by zlib, streaming, from its first byte.  Every
 * verdict on damaged or truncated data is zlib's, with its message, so
 * both paths accept and refuse exactly the same input.  After
 * FAST_GIVE_UP members in a row that libdeflate did not take, zlib
 * alone goes on.
 *
 *   hold[0, held): input not decompressed yet; the member at hold[0]
 *   starts at compressed byte in_off of the stream.
 *   in_zlib: zlib is inside a member; new input goes to it, not to hold.
 *
 * Memory: at most FAST_HOLD + FAST_OUT + GZ_OUT, whatever the dump's
 * size; the first two grow to what the input needs (a small stream
 * stays small). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>
#include <zlib.h>

#include "restore.h"

#define GZ_OUT	  (256 * 1024)	/* zlib's output per call */
#define FAST_MIN  (1536 * 1024) /* held before a member is tried whole */
#define FAST_HOLD (2048 * 1024)
#define FAST_OUT  (4096 * 1024) /* the largest member output tried whole */
/* Members in a row that libdeflate did not take: then the stream is not
 * made of small members (one `gzip` member, or big ones), and trying each
 * one whole first would only cost time; zlib does the rest. */
#define FAST_GIVE_UP 4

struct gunzip {
	struct writer w;
	struct writer *next;
	uint64_t *sql_bytes;
	struct libdeflate_decompressor *ld;
	z_stream z;
	bool zinit;
	bool in_zlib;	  /* zlib is inside a member (started, not ended) */
	unsigned members; /* complete ones */
	unsigned misses;  /* members in a row libdeflate did not take */
	uint64_t in_off;  /* compressed bytes consumed */
	bool failed;
	unsigned char *hold; /* hold_cap <= FAST_HOLD bytes */
	size_t held, hold_cap;
	unsigned char *fast_out; /* out_cap <= FAST_OUT bytes */
	size_t out_cap;
	unsigned char out[GZ_OUT];
};

static int push(struct gunzip *g, const unsigned char *p, size_t n, struct errbuf *err)
{
	int ret;

	if (!n)
		return 0;
	if (g->sql_bytes)
		*g->sql_bytes += n;
	ret = writer_write(g->next, p, n, err);
	if (ret)
		g->failed = true;
	return ret;
}

/* Inflates from p[0, *len) until the member ends or the input does;
 * *len becomes what is left after the member. */
static int zlib_member(struct gunzip *g, const unsigned char *p, size_t *len, struct errbuf *err)
{
	g->z.next_in = (unsigned char *)p;
	while (*len) {
		uInt chunk = *len > (1u << 30) ? (1u << 30) : (uInt)*len;
		uInt before;
		int zr, ret;

		if (!g->in_zlib) {
			if (inflateReset(&g->z) != Z_OK)
				return error_set(err, -EIO, "gunzip: inflateReset failed");
			g->in_zlib = true;
		}
		g->z.avail_in = chunk;
		g->z.next_out = g->out;
		g->z.avail_out = GZ_OUT;
		before = chunk;
		zr = inflate(&g->z, Z_NO_FLUSH);
		ret = push(g, g->out, GZ_OUT - g->z.avail_out, err);
		*len -= before - g->z.avail_in;
		g->in_off += before - g->z.avail_in;
		if (ret)
			return ret;
		if (zr == Z_STREAM_END) {
			g->in_zlib = false;
			g->members++;
			return 0;
		}
		if (zr == Z_BUF_ERROR && !g->z.avail_in)
			return 0; /* needs more input */
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			g->failed = true;
			return error_set(
				err, -EBADMSG,
				"the gzip data is corrupt near compressed byte %llu (%s%s): "
				"the file is damaged",
				(unsigned long long)g->in_off,
				g->members ? "after a complete member: " : "",
				g->z.msg ? g->z.msg : "inflate error");
		}
	}
	return 0;
}

/* Grows *buf to hold at least `want` bytes (at most `max`), doubling. */
static int grow(unsigned char **buf, size_t *cap, size_t want, size_t max, struct errbuf *err)
{
	size_t n = *cap ? *cap : 65536;
	unsigned char *nb;

	if (want <= *cap || *cap == max)
		return 0;
	while (n < want)
		n *= 2;
	if (n > max)
		n = max;
	nb = realloc(*buf, n);
	if (!nb)
		return error_set(err, -ENOMEM, "gunzip: out of memory");
	*buf = nb;
	*cap = n;
	return 0;
}

/* Decompresses the members held: whole with libdeflate while at least
 * FAST_MIN bytes are held (any at the end), else the member goes to
 * zlib with everything held. */
static int drain(struct gunzip *g, bool at_end, struct errbuf *err)
{
	size_t pos = 0, left;
	int ret = 0;

	while (!ret && pos < g->held && (at_end || g->held - pos >= FAST_MIN)) {
		size_t in_used, out_len;

		/* Room for 8x the input held (dumpfs's members: about 3x). */
		ret = grow(&g->fast_out, &g->out_cap, 8 * (g->held - pos), FAST_OUT, err);
		if (ret)
			break;
		if (g->misses < FAST_GIVE_UP &&
		    libdeflate_gzip_decompress_ex(g->ld, g->hold + pos, g->held - pos, g->fast_out,
						  g->out_cap, &in_used,
						  &out_len) == LIBDEFLATE_SUCCESS) {
			ret = push(g, g->fast_out, out_len, err);
			pos += in_used;
			g->in_off += in_used;
			g->members++;
			g->misses = 0;
			continue;
		}
		g->misses++;
		/* zlib takes the member and says what is wrong with it, if
		 * anything; if the input ends inside it, all of it went in. */
		left = g->held - pos;
		ret = zlib_member(g, g->hold + pos, &left, err);
		pos = g->held - left;
	}
	if (pos) {
		memmove(g->hold, g->hold + pos, g->held - pos);
		g->held -= pos;
	}
	return ret;
}

static int gz_write(struct writer *w, const void *buf, size_t len, struct errbuf *err)
{
	struct gunzip *g = (struct gunzip *)w;
	const unsigned char *p = buf;
	int ret = 0;

	if (g->failed)
		return error_set(err, -EIO, "gunzip: an earlier write failed");
	while (!ret && len) {
		size_t n;

		if (g->in_zlib) {
			n = len;
			ret = zlib_member(g, p, &n, err);
			p += len - n;
			len = n;
			continue;
		}
		ret = grow(&g->hold, &g->hold_cap, g->held + len, FAST_HOLD, err);
		if (ret)
			break;
		n = g->hold_cap - g->held < len ? g->hold_cap - g->held : len;
		memcpy(g->hold + g->held, p, n);
		g->held += n;
		p += n;
		len -= n;
		ret = drain(g, false, err);
	}
	return ret;
}

static int gz_close(struct writer *w, struct errbuf *err)
{
	struct gunzip *g = (struct gunzip *)w;
	int ret;

	if (g->failed)
		return error_set(err, -EIO, "gunzip: an earlier write failed");
	ret = drain(g, true, err);
	if (ret)
		return ret;
	if (g->in_zlib)
		return error_set(err, -EPROTO,
				 "the gzip data is truncated (it ends inside a member after %llu "
				 "compressed bytes): the file is incomplete",
				 (unsigned long long)g->in_off);
	if (!g->members)
		return error_set(err, -EPROTO, "the decrypted data is empty: no gzip member");
	return 0;
}

static void gz_free(struct writer *w)
{
	struct gunzip *g = (struct gunzip *)w;

	if (g->zinit)
		inflateEnd(&g->z);
	libdeflate_free_decompressor(g->ld);
	free(g->hold);
	free(g->fast_out);
	free(g);
}

static const struct writer_ops gunzip_ops = {"gunzip", gz_write, gz_close, gz_free};

int gunzipstage_new(struct writer **out, struct writer *next, uint64_t *sql_bytes,
		    struct errbuf *err)
{
	struct gunzip *g = calloc(1, sizeof(*g));

	*out = NULL;
	if (!g)
		return error_set(err, -ENOMEM, "gunzip: out of memory");
	g->w.ops = &gunzip_ops;
	g->next = next;
	g->sql_bytes = sql_bytes;
	g->ld = libdeflate_alloc_decompressor();
	if (!g->ld) {
		gz_free(&g->w);
		return error_set(err, -ENOMEM, "gunzip: out of memory");
	}
	if (inflateInit2(&g->z, 15 + 16) != Z_OK) { /* gzip only */
		gz_free(&g->w);
		return error_set(err, -ENOMEM, "gunzip: inflateInit2 failed");
	}
	g->zinit = true;
	*out = &g->w;
	return 0;
}
