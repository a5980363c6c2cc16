/* The OpenPGP packet parser of `dumpfs verify` (dumper/pgpverify.c) on
 * any bytes: fed whole, then in random pieces; both must agree (the
 * parser is push-style, a chunk boundary must not change its verdict). */
#include <string.h>

#include "../../dumper/pgpverify.h"
#include "fuzz.h"

static int parse(const uint8_t *data, size_t size, bool pieces, struct pgp_info *info,
		 struct errbuf *err)
{
	struct pgp_parser p;
	uint32_t seed = fuzz_seed(data, size);
	int rc = 0;

	pgp_parser_init(&p);
	if (!pieces) {
		rc = pgp_parser_feed(&p, data, size, err);
	} else {
		for (size_t off = 0, n; off < size && !rc; off += n) {
			n = fuzz_chunk(&seed, size - off);
			rc = pgp_parser_feed(&p, data + off, n, err);
		}
	}
	return rc ? rc : pgp_parser_finish(&p, info, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pgp_info whole, pieces;
	struct errbuf e1, e2;
	int r1, r2;

	memset(&whole, 0, sizeof(whole));
	memset(&pieces, 0, sizeof(pieces));
	errbuf_clear(&e1);
	errbuf_clear(&e2);
	r1 = parse(data, size, false, &whole, &e1);
	r2 = parse(data, size, true, &pieces, &e2);
	if (r1 != r2 || strcmp(e1.msg, e2.msg))
		fprintf(stderr, "whole: %d %s\npieces: %d %s\n", r1, e1.msg, r2, e2.msg);
	FUZZ_ASSERT(r1 == r2);
	FUZZ_ASSERT(!strcmp(e1.msg, e2.msg));
	if (!r1) {
		FUZZ_ASSERT(!memcmp(&whole, &pieces, sizeof(whole)));
		FUZZ_ASSERT(whole.nkeyids >= 1 && whole.nkeyids <= PGP_MAX_RECIPIENTS);
		FUZZ_ASSERT(whole.file_size == size);
		FUZZ_ASSERT(whole.data_offset < size && whole.data_length <= size);
	}
	return 0;
}
