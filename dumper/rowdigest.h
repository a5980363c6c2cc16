/* Row digests: what a dump read from each table, in a form a restore can
 * be checked against (docs/rehearse.md).
 *
 * A table's digest is the sum, modulo 2^256, of a 256-bit hash of each
 * row's values as the server sent them: so the order of the rows does not
 * count, and two equal rows do not cancel out (as they would with XOR).
 * Each field is hashed after a word holding NULL, or its length: NULL
 * differs from 'NULL' and field boundaries cannot shift.  The hash is
 * defined by rowdigest.c (four xxHash64-style lanes); a reader must use
 * this code, as `rehearse` will.
 *
 * The dump ends with one line per base table, then the object counts:
 *   -- dumpfs: table `db`.`name` rows=N digest=<64 hex>
 *   -- dumpfs: objects views=N triggers=N routines=N events=N sequences=N
 * (names quoted as in SQL, backquotes doubled). */
#ifndef DUMPER_ROWDIGEST_H
#define DUMPER_ROWDIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

#define ROWDIGEST_LEN 32

struct rowdigest {
	uint64_t rows;
	unsigned char sum[ROWDIGEST_LEN]; /* big-endian 256-bit integer */
};

void rowdigest_init(struct rowdigest *dg);
/* Adds one row of `n` fields: values[i] NULL for SQL NULL, else lens[i]
 * bytes (MYSQL_ROW and mysql_fetch_lengths()). */
void rowdigest_add(struct rowdigest *dg, unsigned n, char *const *values,
		   const unsigned long *lens);

/* Appends the trailer line of table `db`.`table` (with its newline). */
void rowdigest_add_line(struct strbuf *sb, const char *db, const char *table,
			const struct rowdigest *dg);

/* One parsed trailer line; db and table unquoted, NUL-terminated. */
struct rowdigest_line {
	char db[256], table[256];
	uint64_t rows;
	unsigned char sum[ROWDIGEST_LEN];
};

/* Parses `line` (len bytes, no newline) as a table line.  Untrusted input:
 * anything but exactly the form above (names of at most 255 bytes, a
 * decimal row count, 64 lowercase hex digits) returns -EINVAL. */
int rowdigest_parse_line(const char *line, size_t len, struct rowdigest_line *out);

/* The objects line's counts. */
struct rowdigest_objects {
	unsigned views, triggers, routines, events, sequences;
};

/* Appends the objects line (with its newline). */
void rowdigest_add_objects_line(struct strbuf *sb, const struct rowdigest_objects *o);
/* Parses `line` (len bytes, no newline) as the objects line: exactly the
 * form above, each count a decimal of at most 9 digits; else -EINVAL. */
int rowdigest_parse_objects(const char *line, size_t len, struct rowdigest_objects *out);

#endif
