/* The dump trailer's table lines (dumper/rowdigest.c,
 * rowdigest_parse_line), which a rehearsal reads back from a file it was
 * given: on any bytes, what is accepted formats back to exactly the same
 * line (the parser is strict: one spelling per line). */
#include <string.h>

#include "../../dumper/rowdigest.h"
#include "../../dumper/strbuf.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rowdigest_line l;
	struct rowdigest dg;
	struct strbuf sb;
	/* an exact-size copy, so ASan sees any read past the end */
	char *text = malloc(size ? size : 1);

	FUZZ_ASSERT(text);
	memcpy(text, data, size);
	if (rowdigest_parse_line(text, size, &l)) {
		free(text);
		return 0;
	}
	FUZZ_ASSERT(l.db[0] && l.table[0]);
	dg.rows = l.rows;
	memcpy(dg.sum, l.sum, ROWDIGEST_LEN);
	strbuf_init(&sb);
	rowdigest_add_line(&sb, l.db, l.table, &dg);
	FUZZ_ASSERT(sb.len == size + 1 && sb.buf[size] == '\n' && !memcmp(sb.buf, text, size));
	strbuf_release(&sb);
	free(text);
	return 0;
}
