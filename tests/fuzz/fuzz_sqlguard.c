/* The restore's guard against client commands (dumper/sqlguard.c) on any
 * SQL, fed whole and in random pieces: the verdict must not depend on
 * where the reads cut the text.  An odd first byte also sets the charset
 * option (sqlguard_allow_charset(), mariadb-binlog output); that byte
 * stays part of the SQL, so the seeds keep their meaning. */
#include <string.h>

#include "../../dumper/sqlguard.h"
#include "fuzz.h"

static int judge(const uint8_t *data, size_t size, bool pieces, struct errbuf *err)
{
	struct sqlguard *g = sqlguard_new();
	uint32_t seed = fuzz_seed(data, size);
	int rc = 0;

	FUZZ_ASSERT(g);
	if (size && (data[0] & 1))
		sqlguard_allow_charset(g);
	if (!pieces) {
		rc = sqlguard_feed(g, (const char *)data, size, err);
	} else {
		for (size_t off = 0, n; off < size && !rc; off += n) {
			n = fuzz_chunk(&seed, size - off);
			rc = sqlguard_feed(g, (const char *)data + off, n, err);
		}
	}
	if (!rc)
		rc = sqlguard_end(g, err);
	sqlguard_free(g);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct errbuf e1, e2;
	int r1, r2;

	errbuf_clear(&e1);
	errbuf_clear(&e2);
	r1 = judge(data, size, false, &e1);
	r2 = judge(data, size, true, &e2);
	if (r1 != r2 || strcmp(e1.msg, e2.msg))
		fprintf(stderr, "whole: %d %s\npieces: %d %s\n", r1, e1.msg, r2, e2.msg);
	FUZZ_ASSERT(r1 == r2);
	FUZZ_ASSERT(!strcmp(e1.msg, e2.msg));
	return 0;
}
