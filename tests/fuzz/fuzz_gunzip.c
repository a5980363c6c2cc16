/* The restore's gunzip (dumper/gunzip.c) on any bytes, which are what an
 * archive file decrypts to, fed whole and in random pieces: the verdict
 * and the output must not depend on where the reads cut the stream, and
 * must be those of one zlib pass over the members, as gunzip reads them
 * (same output on success; on failure one output is a prefix of the
 * other).  regress-libdeflate-lenient: a member with an invalid code and
 * a matching CRC that libdeflate accepted and zlib refuses. */
#include <string.h>
#include <zlib.h>

#include "../../dumper/restore.h"
#include "../../dumper/strbuf.h"
#include "../unit/strbufsink.h"
#include "fuzz.h"

/* The reference: zlib alone, members one after the other. */
static bool zlib_gunzip(const uint8_t *data, size_t size, struct strbuf *out)
{
	unsigned char buf[16384];
	bool in_member = false, ok = true;
	unsigned members = 0;
	z_stream z;

	memset(&z, 0, sizeof(z));
	FUZZ_ASSERT(inflateInit2(&z, 15 + 16) == Z_OK);
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)size;
	while (ok && z.avail_in) {
		int zr;

		if (!in_member) {
			FUZZ_ASSERT(inflateReset(&z) == Z_OK);
			in_member = true;
		}
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		zr = inflate(&z, Z_NO_FLUSH);
		strbuf_add(out, buf, sizeof(buf) - z.avail_out);
		if (zr == Z_STREAM_END) {
			in_member = false;
			members++;
		} else if (zr != Z_OK && !(zr == Z_BUF_ERROR && !z.avail_in)) {
			ok = false;
		}
	}
	inflateEnd(&z);
	return ok && !in_member && members;
}

static bool stage_gunzip(const uint8_t *data, size_t size, bool pieces, struct strbuf *out)
{
	struct strbufsink c;
	struct writer *g = NULL;
	struct errbuf err;
	uint64_t n = 0;
	int rc;

	strbufsink_init(&c);
	rc = gunzipstage_new(&g, &c.w, &n, &err);
	FUZZ_ASSERT(!rc);
	rc = fuzz_write(g, data, size, pieces, &err);
	if (!rc)
		rc = writer_close(g, &err);
	writer_free(g);
	FUZZ_ASSERT(n == c.sb.len);
	*out = c.sb;
	return !rc;
}

static bool prefix(const struct strbuf *a, const struct strbuf *b)
{
	return a->len <= b->len && (!a->len || !memcmp(a->buf, b->buf, a->len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf ref = STRBUF_INIT, got;
	bool ok_ref = zlib_gunzip(data, size, &ref);

	for (int pieces = 0; pieces < 2; pieces++) {
		bool ok = stage_gunzip(data, size, pieces, &got);

		FUZZ_ASSERT(ok == ok_ref);
		if (ok)
			FUZZ_ASSERT(got.len == ref.len &&
				    (!ref.len || !memcmp(got.buf, ref.buf, ref.len)));
		else
			FUZZ_ASSERT(prefix(&got, &ref) || prefix(&ref, &got));
		strbuf_release(&got);
	}
	strbuf_release(&ref);
	return 0;
}
