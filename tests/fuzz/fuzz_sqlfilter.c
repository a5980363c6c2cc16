/* The restore's SQL filter (dumper/restore_stages.c: completion line, one
 * database kept, the client-command guard) on any SQL, fed whole and in
 * random pieces: the output and the verdict must not depend on where the
 * reads cut the text.  The first byte picks the options. */
#include <string.h>

#include "../../dumper/restore.h"
#include "../../dumper/strbuf.h"
#include "../unit/strbufsink.h"
#include "fuzz.h"

static int filter(const uint8_t *data, size_t size, uint8_t opts, bool pieces, struct strbuf *out,
		  struct errbuf *err)
{
	static const char *const dbs[] = {NULL, "a", "we`ird", ""};
	struct strbufsink c;
	struct restore_stats st;
	struct writer *f = NULL;
	int rc;

	strbufsink_init(&c);
	memset(&st, 0, sizeof(st));
	errbuf_clear(err);
	rc = sqlfilter_new(&f, &c.w, dbs[opts & 3], opts & 4, &st, err);
	FUZZ_ASSERT(!rc);
	if (!rc)
		rc = fuzz_write(f, data, size, pieces, err);
	if (!rc)
		rc = writer_close(f, err);
	writer_free(f);
	*out = c.sb;
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf o1, o2;
	struct errbuf e1, e2;
	int r1, r2;

	if (!size)
		return 0;
	r1 = filter(data + 1, size - 1, data[0], false, &o1, &e1);
	r2 = filter(data + 1, size - 1, data[0], true, &o2, &e2);
	if ((r1 == 0) != (r2 == 0))
		fprintf(stderr, "whole: %d %s\npieces: %d %s\n", r1, e1.msg, r2, e2.msg);
	/* Both refuse, or both pass.  (Which refusal is reported may differ:
	 * the guard judges a whole write before the filter reads its lines,
	 * so a later line's client command can win over an earlier line's
	 * broken section in one large write.) */
	FUZZ_ASSERT((r1 == 0) == (r2 == 0));
	/* what passed never exceeds the input (dropped lines: at most "\n");
	 * on success, it is the same however it was cut */
	FUZZ_ASSERT(o1.len <= size - 1 && o2.len <= size - 1);
	if (!r1)
		FUZZ_ASSERT(o1.len == o2.len && (!o1.len || !memcmp(o1.buf, o2.buf, o1.len)));
	strbuf_release(&o1);
	strbuf_release(&o2);
	return 0;
}
