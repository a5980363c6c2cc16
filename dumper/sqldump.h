/* The SQL dump: a consistent logical dump of MariaDB databases.
 *
 * One connection, REPEATABLE READ + START TRANSACTION WITH CONSISTENT
 * SNAPSHOT: every InnoDB table of every dumped database is read at one
 * instant.  Non-transactional tables (MyISAM, Aria, ...) are dumped too,
 * with a logged warning.  Rows stream with mysql_use_result, so memory
 * does not grow with table size.  The SQL written restores with stock
 * `mariadb --comments --max-allowed-packet=1G` into an empty server and
 * ends with SQLDUMP_COMPLETION_LINE.
 */
#ifndef DUMPER_SQLDUMP_H
#define DUMPER_SQLDUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "binlogpos.h"
#include "dbconn.h"
#include "log.h"
#include "writer.h"

#define SQLDUMP_COMPLETION_LINE "-- dumpfs: dump completed"

struct sqldump_opts {
	struct dbconn_opts conn;      /* borrowed strings */
	const char *const *databases; /* NULL or NULL-terminated; borrowed */
	bool routines, triggers, events;
	size_t max_insert_bytes;    /* 0 = 1 MiB */
	unsigned net_write_timeout; /* 0 = 3600 s */
	struct logger *log;	    /* borrowed; may be NULL */
	/* Rows are read and digested but not written (`rehearse` re-reads a
	 * restored server with the dump's own code): the output is the DDL
	 * only, and sqldump_trailer() what the dump's trailer would say. */
	bool digests_only;
};

struct sqldump_stats {
	uint64_t sql_bytes;
	uint64_t rows;
	unsigned databases, tables, views, routines, triggers, events, sequences;
	struct binlog_pos binlog; /* the snapshot's; file "" when the binlog is off */
};

struct sqldump;

/* Copies nothing: opts and everything it points to must outlive *out. */
int sqldump_new(struct sqldump **out, const struct sqldump_opts *opts, struct errbuf *err);
/* Connects, dumps everything into `out`, disconnects.  Does not close
 * `out`.  Errors name the stage and the object ('db'.'table').  A server
 * that stops answering fails it after opts->conn.read_timeout (-ECONNRESET). */
int sqldump_run(struct sqldump *d, struct writer *out, struct sqldump_stats *stats,
		struct errbuf *err);
/* From any thread, without blocking: makes sqldump_run() fail with
 * -ECANCELED soon by cutting its connection (never a word to the server,
 * which may not answer); sqldump_run() then kills its server query from a
 * second connection, best effort, a few seconds at most. */
void sqldump_cancel(struct sqldump *d);
void sqldump_free(struct sqldump *d);

/* After a successful sqldump_run(): the trailer's table lines
 * (rowdigest.h), *len bytes, each ending with a newline; the object
 * counts are in the stats.  Owned by d, valid until the next run or
 * sqldump_free(). */
const char *sqldump_trailer(const struct sqldump *d, size_t *len);

/* True for the server's own databases (information_schema, mysql, ...),
 * which a dump with an empty database list leaves out. */
bool sqldump_is_system_database(const char *name);

#endif
