/* A dump's trailer (rowdigest.h) as a set, and the comparison of two: what
 * a dump file says it holds against what a re-read of the server it was
 * restored into found (`dumpfs rehearse`, docs/rehearse.md).
 *
 * The file's lines are untrusted: each is parsed strictly, and the set is
 * bounded (TRAILER_MAX_TABLES tables, TRAILER_MAX_NAME_BYTES of names);
 * a line that does not parse, a table listed twice or a second objects
 * line makes the set "bad" (a mismatch), never a crash or a silent pass.
 * Lines of other kinds ("-- dumpfs: <word> ...") are ignored: a later
 * version may add some. */
#ifndef DUMPER_TRAILER_H
#define DUMPER_TRAILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"
#include "rowdigest.h"

#define TRAILER_MAX_TABLES     (1u << 20)
#define TRAILER_MAX_NAME_BYTES (64u << 20)

struct trailer_table {
	char *db, *table; /* one allocation: db's, table's follows */
	uint64_t rows;
	unsigned char sum[ROWDIGEST_LEN];
};

struct trailer {
	struct trailer_table *v; /* owned */
	size_t n, cap;
	size_t name_bytes;
	struct rowdigest_objects objects;
	bool have_objects;
	/* Why the set cannot be trusted (a line that does not parse, a
	 * table twice, too many...): the first reason; "" when none. */
	char bad[256];
	bool nomem;
};

void trailer_init(struct trailer *t);
void trailer_release(struct trailer *t);

/* One line without its newline.  "-- dumpfs: table ..." and
 * "-- dumpfs: objects ..." are added or mark the set bad; other lines are
 * ignored.  Never fails: see t->bad and t->nomem. */
void trailer_add_line(struct trailer *t, const char *line, size_t len);
/* Lines separated by newlines (sqldump_trailer()). */
void trailer_add_text(struct trailer *t, const char *text, size_t len);

/* True when t holds no line at all (a dump made before the trailer). */
bool trailer_empty(const struct trailer *t);

enum trailer_verdict {
	TRAILER_OK,
	TRAILER_ROWS,	 /* row counts differ */
	TRAILER_DIGEST,	 /* same count, different rows */
	TRAILER_MISSING, /* in `want`, not in `got` */
	TRAILER_EXTRA,	 /* in `got`, not in `want` */
};

/* One table of the comparison, in (db, table) byte order. */
struct trailer_row {
	const char *db, *table;
	enum trailer_verdict verdict;
	uint64_t want_rows, got_rows; /* 0 when absent */
};

/* Sorts both sets and calls fn once per table of either; returns how
 * many were not TRAILER_OK.  A table twice in a set marks it bad (sorting
 * finds it), so check t->bad afterwards. */
size_t trailer_compare(struct trailer *want, struct trailer *got,
		       void (*fn)(void *arg, const struct trailer_row *row), void *arg);

/* "views 3 in the dump, 2 restored; routines ..." into buf for the kinds
 * whose counts differ; returns how many differ. */
unsigned trailer_objects_diff(const struct rowdigest_objects *want,
			      const struct rowdigest_objects *got, char *buf, size_t len);

#endif
