/* The restore's SQL filter (dumper/restore_stages.c: completion line, one
 * database kept, the client-command guard) on any SQL in random pieces.
 * The first byte picks the options. */
#include <string.h>

#include "../../dumper/restore.h"
#include "../../dumper/strbuf.h"
#include "fuzz.h"

struct collect {
	struct writer w;
	size_t bytes;
};

static int c_write(struct writer *w, const void *buf, size_t len, struct errbuf *err)
{
	(void)buf;
	(void)err;
	((struct collect *)w)->bytes += len;
	return 0;
}

static int c_close(struct writer *w, struct errbuf *err)
{
	(void)w;
	(void)err;
	return 0;
}

static void c_free(struct writer *w)
{
	(void)w;
}

static const struct writer_ops collect_ops = {"collect", c_write, c_close, c_free};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const dbs[] = {NULL, "a", "we`ird", ""};
	struct collect c = {{&collect_ops}, 0};
	struct restore_stats st;
	struct writer *f = NULL;
	struct errbuf err;
	uint32_t seed;
	int rc;

	if (!size)
		return 0;
	memset(&st, 0, sizeof(st));
	errbuf_clear(&err);
	rc = sqlfilter_new(&f, &c.w, dbs[data[0] & 3], data[0] & 4, &st, &err);
	FUZZ_ASSERT(!rc);
	data++;
	size--;
	seed = fuzz_seed(data, size);
	for (size_t off = 0, n; off < size && !rc; off += n) {
		n = fuzz_chunk(&seed, size - off);
		rc = writer_write(f, data + off, n, &err);
	}
	if (!rc)
		rc = writer_close(f, &err);
	writer_free(f);
	/* what passed never exceeds the input (dropped lines: at most "\n") */
	FUZZ_ASSERT(c.bytes <= size);
	return 0;
}
