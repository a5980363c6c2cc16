/* The restore's gunzip stage (restore.h): one or more concatenated gzip
 * members, inflated by zlib as they stream in, into the next stage.
 *
 * libdeflate decompresses dumpfs's members whole about 2.5x faster, but
 * it accepts some deflate data that zlib and gunzip refuse (fuzz_gunzip
 * found a member with an invalid code whose CRC still matched): a
 * restore must refuse what `gunzip` refuses, so zlib does it all. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "restore.h"

#define GZ_OUT (256 * 1024)

struct gunzip {
	struct writer w;
	struct writer *next;
	uint64_t *sql_bytes;
	z_stream z;
	bool zinit;
	bool in_member;	  /* inside a member (started, not ended) */
	unsigned members; /* complete ones */
	uint64_t in_off;  /* compressed bytes consumed */
	bool failed;
	unsigned char out[GZ_OUT];
};

static int gz_push(struct gunzip *g, size_t n, struct errbuf *err)
{
	int ret;

	if (!n)
		return 0;
	if (g->sql_bytes)
		*g->sql_bytes += n;
	ret = writer_write(g->next, g->out, n, err);
	if (ret)
		g->failed = true;
	return ret;
}

static int gz_write(struct writer *w, const void *buf, size_t len, struct errbuf *err)
{
	struct gunzip *g = (struct gunzip *)w;

	if (g->failed)
		return error_set(err, -EIO, "gunzip: an earlier write failed");
	g->z.next_in = (unsigned char *)buf;
	while (len) {
		uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;
		uInt before;
		int zr, ret;

		if (!g->in_member) {
			if (inflateReset(&g->z) != Z_OK)
				return error_set(err, -EIO, "gunzip: inflateReset failed");
			g->in_member = true;
		}
		g->z.avail_in = chunk;
		g->z.next_out = g->out;
		g->z.avail_out = GZ_OUT;
		before = chunk;
		zr = inflate(&g->z, Z_NO_FLUSH);
		ret = gz_push(g, GZ_OUT - g->z.avail_out, err);
		len -= before - g->z.avail_in;
		g->in_off += before - g->z.avail_in;
		if (ret)
			return ret;
		if (zr == Z_STREAM_END) {
			g->in_member = false;
			g->members++;
		} else if (zr == Z_BUF_ERROR && !g->z.avail_in) {
			break; /* needs more input */
		} else if (zr != Z_OK && zr != Z_BUF_ERROR) {
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

static int gz_close(struct writer *w, struct errbuf *err)
{
	struct gunzip *g = (struct gunzip *)w;

	if (g->failed)
		return error_set(err, -EIO, "gunzip: an earlier write failed");
	if (g->in_member)
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
	if (inflateInit2(&g->z, 15 + 16) != Z_OK) { /* gzip only */
		free(g);
		return error_set(err, -ENOMEM, "gunzip: inflateInit2 failed");
	}
	g->zinit = true;
	*out = &g->w;
	return 0;
}
