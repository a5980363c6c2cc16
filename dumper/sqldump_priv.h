/* Shared by sqldump.c (session, snapshot, databases), sqlobjects.c (DDL of
 * tables, views, routines, triggers, events, sequences) and sqlrows.c
 * (table data).  Not part of the library's public surface. */
#ifndef DUMPER_SQLDUMP_PRIV_H
#define DUMPER_SQLDUMP_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "rowdigest.h"
#include "sqldump.h"
#include "strbuf.h"

/* Output is staged here and handed to the writer in chunks of this size. */
#define SQLDUMP_FLUSH_BYTES (256 * 1024)

struct sqldump {
	const struct sqldump_opts *opts;
	pthread_mutex_t lock;  /* guards conn_id and sock against sqldump_cancel() */
	unsigned long conn_id; /* server thread id of the dump's connection */
	int sock;	       /* a dup of the connection's socket, or -1 */
	atomic_bool cancelled;

	/* Valid during sqldump_run() only. */
	MYSQL *conn;
	struct writer *out;
	struct strbuf sb; /* staged output */
	struct sqldump_stats *stats;
	struct strbuf views;   /* views to create last: "db\0view\0" pairs */
	struct strbuf trailer; /* a rowdigest line per base table dumped */
	char object[512];      /* what is being dumped, for messages */
};

/* Runs a statement that returns no rows. */
int dq_exec(struct sqldump *d, const char *sql, struct errbuf *err);
/* Runs a query and stores its (small) result; *res is the caller's. */
int dq_query(struct sqldump *d, const char *sql, MYSQL_RES **res, struct errbuf *err);
/* dq_query() of the text built in q, which it releases (a failed
 * allocation while building it is reported here). */
int dq_query_sb(struct sqldump *d, struct strbuf *q, MYSQL_RES **res, struct errbuf *err);
/* Fails with the server's message, naming the current object and `what`;
 * -ECANCELED when the dump was cancelled. */
int dq_error(struct sqldump *d, const char *what, struct errbuf *err);
/* Hands the staged output to the writer once it is large enough, or
 * always with `force`. */
int dout_flush(struct sqldump *d, int force, struct errbuf *err);
/* Sets the object named in error messages: 'db'.'name' or 'db'. */
void dset_object(struct sqldump *d, const char *db, const char *name);
/* True when the configuration asks for that kind of object. */

/* sqlobjects.c */
int dump_table_ddl(struct sqldump *d, const char *db, const char *table, struct errbuf *err);
int dump_sequence(struct sqldump *d, const char *db, const char *seq, struct errbuf *err);
int dump_view_standin(struct sqldump *d, const char *db, const char *view, struct errbuf *err);
int dump_views_final(struct sqldump *d, struct errbuf *err);
int dump_triggers(struct sqldump *d, const char *db, const char *table, struct errbuf *err);
int dump_routines(struct sqldump *d, const char *db, struct errbuf *err);
int dump_events(struct sqldump *d, const char *db, struct errbuf *err);

/* sqlrows.c */
/* Also adds every row dumped to dg. */
int dump_table_rows(struct sqldump *d, const char *db, const char *table, struct rowdigest *dg,
		    struct errbuf *err);

#endif
