/* The reader of archived binlog segments (dumper/binlog_filter.c) on any
 * bytes, fed whole and in random pieces: the verdict, the output and
 * what it reports must not depend on where the reads cut the input, and
 * nothing passed on is longer than what came in.  The first byte picks
 * the options (database filter, a time cut, a start offset). */
#include <string.h>

#include "../../dumper/binlog_filter.h"
#include "../../dumper/strbuf.h"
#include "../unit/strbufsink.h"
#include "fuzz.h"

static bool keep_a(void *arg, const char *db, size_t len)
{
	(void)arg;
	return len == 1 && db[0] == 'a';
}

static int run(const uint8_t *data, size_t size, uint8_t opts, bool pieces,
	       struct binlog_seginfo *info, struct strbuf *out, struct errbuf *err)
{
	struct binlog_filter_opts o = {.name = "fuzz", .magic = opts & 1};
	struct strbufsink c;
	struct writer *f = NULL;
	int rc;

	if (opts & 2)
		o.keep_db = keep_a;
	if (opts & 4) {
		o.has_until = true;
		o.until = 1700000005;
	}
	if (opts & 8)
		o.from = 300;
	strbufsink_init(&c);
	errbuf_clear(err);
	rc = binlog_filter_new(&f, &c.w, &o, info, err);
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
	struct binlog_seginfo *i1, *i2;
	struct strbuf o1, o2;
	struct errbuf e1, e2;
	int r1, r2;

	if (!size)
		return 0;
	i1 = malloc(sizeof(*i1));
	i2 = malloc(sizeof(*i2));
	FUZZ_ASSERT(i1 && i2);
	r1 = run(data + 1, size - 1, data[0], false, i1, &o1, &e1);
	r2 = run(data + 1, size - 1, data[0], true, i2, &o2, &e2);
	FUZZ_ASSERT(r1 == r2);
	FUZZ_ASSERT(o1.len <= size - 1 && o2.len <= size - 1);
	if (!r1) {
		FUZZ_ASSERT(o1.len == o2.len && (!o1.len || !memcmp(o1.buf, o2.buf, o1.len)));
		FUZZ_ASSERT(i1->end == i2->end && i1->first == i2->first &&
			    i1->events == i2->events && i1->passed == i2->passed &&
			    i1->passed <= i1->events && i1->end <= size - 1);
	}
	strbuf_release(&o1);
	strbuf_release(&o2);
	free(i1);
	free(i2);
	return 0;
}
