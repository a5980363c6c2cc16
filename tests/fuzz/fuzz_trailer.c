/* The dump trailer (dumper/rowdigest.c, dumper/trailer.c), which a
 * rehearsal reads back from a file it was given: on any bytes, a table or
 * objects line that is accepted formats back to exactly the same line
 * (the parsers are strict: one spelling per line); the bytes as a set of
 * lines compare equal to themselves unless the set is bad. */
#include <string.h>

#include "../../dumper/rowdigest.h"
#include "../../dumper/strbuf.h"
#include "../../dumper/trailer.h"
#include "fuzz.h"

static void nothing(void *arg, const struct trailer_row *row)
{
	(void)arg;
	FUZZ_ASSERT(row->db && row->table);
}

/* The whole input as trailer lines, against itself. */
static void as_set(const char *text, size_t size)
{
	struct trailer a, b;
	size_t diffs;

	trailer_init(&a);
	trailer_init(&b);
	trailer_add_text(&a, text, size);
	trailer_add_text(&b, text, size);
	diffs = trailer_compare(&a, &b, nothing, NULL);
	FUZZ_ASSERT(a.nomem || b.nomem || diffs == 0 || a.bad[0]);
	trailer_release(&a);
	trailer_release(&b);
}

static void objects_round_trip(const char *text, size_t size)
{
	struct rowdigest_objects o;
	struct strbuf sb;

	if (rowdigest_parse_objects(text, size, &o))
		return;
	strbuf_init(&sb);
	rowdigest_add_objects_line(&sb, &o);
	FUZZ_ASSERT(sb.len == size + 1 && !memcmp(sb.buf, text, size));
	strbuf_release(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rowdigest_line l;
	struct rowdigest dg;
	struct strbuf sb;
	/* an exact-size copy, so ASan sees any read past the end */
	char *text = malloc(size ? size : 1);

	FUZZ_ASSERT(text);
	memcpy(text, data, size);
	as_set(text, size);
	objects_round_trip(text, size);
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
