/* `dumpfs rehearse` (docs/rehearse.md): proves that a dump file
 * restores the rows it was made from.
 *
 *   a throwaway server (tmpserver.h)
 *   FILE --restore.h (the same checks, guard and sandboxed client)--> it,
 *        the file's trailer lines (rowdigest.h) collected on the way
 *   re-read: the dump's own reading and digest code (sqldump.h with
 *        digests_only), so a row reads back exactly as the dump read it
 *   compare per table (trailer.h) and the object counts
 *
 * The server and its directory are gone when rehearse_run() returns,
 * whatever happened (failure, rehearse_cancel()). */
#ifndef DUMPER_REHEARSE_H
#define DUMPER_REHEARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"
#include "log.h"
#include "trailer.h"

struct rehearse_opts {
	const char *file;
	const char *tmpdir; /* NULL = $TMPDIR, else /tmp */
	unsigned jobs;	    /* for the restore: data connections, 0 = online CPUs */
	bool progress;	    /* the restore's progress line on stderr */
	struct logger *log; /* may be NULL */
};

/* One table of the dump's trailer or of the restored server. */
struct rehearse_table {
	char *db, *table;   /* owned (one allocation) */
	uint64_t dump_rows; /* 0 when not in the trailer */
	uint64_t rows;	    /* restored; 0 when not restored */
	bool ok;
};

struct rehearse_result {
	bool ok;		       /* every table and object count matches */
	struct rehearse_table *tables; /* owned; in (db, table) order */
	size_t ntables;
	char **mismatches; /* owned; one line each, naming its table */
	size_t nmismatches;
	uint64_t rows; /* restored rows, all tables */
	double restore_seconds, reread_seconds;
};

void rehearse_result_release(struct rehearse_result *res);

struct rehearse;

/* opts is borrowed and must outlive *out. */
int rehearse_new(struct rehearse **out, const struct rehearse_opts *opts, struct errbuf *err);
/* Runs once.  0: the comparison ran, res says whether it matched; else a
 * negative code (the server could not start, the restore failed: an
 * undecryptable, damaged or truncated file, a statement the server
 * refused; -ECANCELED) with err set.  res is filled in both cases (as far
 * as the run got) and must be released. */
int rehearse_run(struct rehearse *r, struct rehearse_result *res, struct errbuf *err);
/* Any thread (a signal handler thread): the run stops soon with
 * -ECANCELED, the server is killed and its directory removed. */
void rehearse_cancel(struct rehearse *r);
void rehearse_free(struct rehearse *r);

#endif
