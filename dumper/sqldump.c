/* Session, snapshot and the walk over databases.  See sqldump.h. */
#include "sqldump_priv.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sqlquote.h"
#include "timefmt.h"
#include "thread.h"

static const char *const system_databases[] = {
	"information_schema", "performance_schema", "sys", "mysql", NULL,
};

/* Engines whose rows live elsewhere: their data is not dumped. */
static const char *const engines_without_data[] = {"MRG_MyISAM", "BLACKHOLE", NULL};

struct snapshot_info {
	char binlog_file[256]; /* empty when the binlog is off */
	unsigned long long binlog_pos;
	char gtid[1024];
	char started[32];
};

struct namelist {
	char **v;
	size_t n;
};

static void namelist_release(struct namelist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int namelist_add(struct namelist *l, const char *name, struct errbuf *err)
{
	char **v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (!v)
		return error_set(err, -ENOMEM, "out of memory");
	l->v = v;
	v[l->n] = strdup(name);
	if (!v[l->n])
		return error_set(err, -ENOMEM, "out of memory");
	l->n++;
	return 0;
}

static int namelist_has(const struct namelist *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], name))
			return 1;
	return 0;
}

static int in_list(const char *const *list, const char *name, int nocase)
{
	for (size_t i = 0; list && list[i]; i++)
		if (nocase ? !strcasecmp(list[i], name) : !strcmp(list[i], name))
			return 1;
	return 0;
}

bool sqldump_is_system_database(const char *name)
{
	return in_list(system_databases, name, 1);
}

int sqldump_new(struct sqldump **out, const struct sqldump_opts *opts, struct errbuf *err)
{
	struct sqldump *d = calloc(1, sizeof(*d));

	if (!d)
		return error_set(err, -ENOMEM, "out of memory");
	if (mutex_init(&d->lock)) {
		free(d);
		return error_set(err, -ENOMEM, "cannot create a mutex");
	}
	d->opts = opts;
	d->sock = -1;
	atomic_init(&d->cancelled, false);
	strbuf_init(&d->sb);
	strbuf_init(&d->views);
	strbuf_init(&d->trailer);
	*out = d;
	return 0;
}

const char *sqldump_trailer(const struct sqldump *d, size_t *len)
{
	*len = d->trailer.len;
	return d->trailer.len ? d->trailer.buf : "";
}

void sqldump_free(struct sqldump *d)
{
	if (!d)
		return;
	strbuf_release(&d->sb);
	strbuf_release(&d->views);
	strbuf_release(&d->trailer);
	mutex_destroy(&d->lock);
	free(d);
}

/* Cuts the dump's connection without a word to the server, so it never
 * waits on a server that may not answer: shutdown() wakes a read blocked
 * in libmariadb at once (it fails as a lost connection), and the
 * connection, closed with unread rows, ends with a reset that makes a
 * server thread blocked writing to us (a reader that closed early) fail
 * its write and end the query.  `sock` is our own duplicate of the
 * socket, so its number cannot have been reused by anything else while
 * libmariadb closes its own; run() closes it under the lock. */
void sqldump_cancel(struct sqldump *d)
{
	atomic_store(&d->cancelled, true);
	mutex_lock(&d->lock);
	if (d->sock >= 0)
		(void)shutdown(d->sock, SHUT_RDWR); /* ENOTCONN: already cut */
	mutex_unlock(&d->lock);
}

/* After a cancelled or cut dump: a query the server was running without
 * writing to us (waiting on a lock...) has not seen the reset yet, so it
 * is killed from a second connection.  Best effort and bounded: a server
 * that does not answer costs KILL_TIMEOUT seconds per step, not more. */
#define KILL_TIMEOUT 2

static void kill_leftover(struct sqldump *d, unsigned long id)
{
	struct dbconn_opts o = d->opts->conn;
	struct errbuf err;
	char sql[64];
	MYSQL *m;

	o.connect_timeout = KILL_TIMEOUT;
	o.read_timeout = KILL_TIMEOUT;
	errbuf_clear(&err);
	if (dbconn_open(&m, &o, &err)) {
		logger_log(d->opts->log, LOGL_DEBUG, "dump.kill_failed", "error=\"%s\"", err.msg);
		return;
	}
	snprintf(sql, sizeof(sql), "KILL CONNECTION %lu", id);
	/* No such thread: the server already ended it. */
	if (mysql_real_query(m, sql, strlen(sql)) && mysql_errno(m) != ER_NO_SUCH_THREAD)
		logger_log(d->opts->log, LOGL_DEBUG, "dump.kill_failed", "error=\"%s\"",
			   mysql_error(m));
	mysql_close(m);
}

void dset_object(struct sqldump *d, const char *db, const char *name)
{
	if (!db)
		d->object[0] = '\0';
	else if (!name)
		snprintf(d->object, sizeof(d->object), "'%s'", db);
	else
		snprintf(d->object, sizeof(d->object), "'%s'.'%s'", db, name);
}

int dq_error(struct sqldump *d, const char *what, struct errbuf *err)
{
	unsigned code = mysql_errno(d->conn);
	int lost = code == CR_SERVER_LOST || code == CR_SERVER_GONE_ERROR ||
		   code == CR_CONNECTION_ERROR;

	unsigned timeout =
		d->opts->conn.read_timeout ? d->opts->conn.read_timeout : DBCONN_READ_TIMEOUT;

	if (atomic_load(&d->cancelled))
		return error_set(err, -ECANCELED, "sql: dump cancelled");
	if (lost)
		return error_set(err, -ECONNRESET,
				 "sql: %s%s%s failed: %s (error %u): the server went away, the "
				 "connection was cut, or no answer came within [mariadb] "
				 "read_timeout (%u s)",
				 what, d->object[0] ? " of " : "", d->object, mysql_error(d->conn),
				 code, timeout);
	return error_set(err, -EIO, "sql: %s%s%s failed: %s (error %u)", what,
			 d->object[0] ? " of " : "", d->object, mysql_error(d->conn), code);
}

int dq_exec(struct sqldump *d, const char *sql, struct errbuf *err)
{
	MYSQL_RES *res;

	if (mysql_real_query(d->conn, sql, strlen(sql)))
		return dq_error(d, sql, err);
	res = mysql_store_result(d->conn);
	if (res)
		mysql_free_result(res);
	else if (mysql_field_count(d->conn))
		return dq_error(d, sql, err);
	return 0;
}

int dq_query(struct sqldump *d, const char *sql, MYSQL_RES **res, struct errbuf *err)
{
	if (mysql_real_query(d->conn, sql, strlen(sql)))
		return dq_error(d, sql, err);
	*res = mysql_store_result(d->conn);
	if (!*res)
		return dq_error(d, sql, err);
	return 0;
}

int dq_query_sb(struct sqldump *d, struct strbuf *q, MYSQL_RES **res, struct errbuf *err)
{
	int ret = strbuf_error(q) ? error_set(err, -ENOMEM, "out of memory")
				  : dq_query(d, q->buf, res, err);

	strbuf_release(q);
	return ret;
}

int dout_flush(struct sqldump *d, int force, struct errbuf *err)
{
	int ret;

	if (atomic_load(&d->cancelled))
		return error_set(err, -ECANCELED, "sql: dump cancelled");
	if (strbuf_error(&d->sb))
		return error_set(err, -ENOMEM, "sql: out of memory formatting %s", d->object);
	if (!d->sb.len || (!force && d->sb.len < SQLDUMP_FLUSH_BYTES))
		return 0;
	ret = writer_write(d->out, d->sb.buf, d->sb.len, err);
	if (ret)
		return ret;
	d->stats->sql_bytes += d->sb.len;
	strbuf_reset(&d->sb);
	return 0;
}

static int connect_session(struct sqldump *d, struct errbuf *err)
{
	unsigned timeout = d->opts->net_write_timeout ? d->opts->net_write_timeout : 3600;
	unsigned idle = timeout > 28800 ? timeout : 28800;
	char sql[512];
	int ret;

	int sock;

	ret = dbconn_open(&d->conn, &d->opts->conn, err);
	if (ret)
		return ret;
	sock = fcntl(mysql_get_socket(d->conn), F_DUPFD_CLOEXEC, 0);
	if (sock < 0)
		return error_set(err, -errno, "sql: cannot duplicate the connection's socket: %s",
				 strerror(errno));
	mutex_lock(&d->lock);
	d->conn_id = mysql_thread_id(d->conn);
	d->sock = sock;
	mutex_unlock(&d->lock);
	/* A cancel before the socket was known had nothing to cut. */
	if (atomic_load(&d->cancelled))
		return error_set(err, -ECANCELED, "sql: dump cancelled");
	/* A reader may pause for minutes: the server must wait for us, not
	 * give up on a slow client (net_write_timeout) or an idle one. */
	snprintf(sql, sizeof(sql),
		 "SET SESSION net_write_timeout = %u, net_read_timeout = %u, wait_timeout = %u,"
		 " time_zone = '+00:00', sql_mode = '', sql_quote_show_create = 1,"
		 " max_statement_time = 0",
		 timeout, timeout, idle);
	ret = dq_exec(d, sql, err);
	if (!ret)
		ret = dq_exec(d, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", err);
	return ret;
}

/* One snapshot of all InnoDB tables, and where it sits in the binlog:
 * MariaDB reports the snapshot's binlog position without a global lock. */
static int start_snapshot(struct sqldump *d, struct snapshot_info *snap, struct errbuf *err)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	char sql[512];
	int ret;

	ret = dq_exec(d, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", err);
	if (!ret)
		ret = dq_query(d, "SHOW STATUS LIKE 'binlog_snapshot_%'", &res, err);
	if (ret)
		return ret;
	while ((row = mysql_fetch_row(res))) {
		if (!strcasecmp(row[0], "Binlog_snapshot_file") && row[1])
			snprintf(snap->binlog_file, sizeof(snap->binlog_file), "%s", row[1]);
		else if (!strcasecmp(row[0], "Binlog_snapshot_position") && row[1])
			snap->binlog_pos = strtoull(row[1], NULL, 10);
	}
	mysql_free_result(res);
	if (!snap->binlog_file[0] || strchr(snap->binlog_file, '\''))
		return 0;
	snprintf(sql, sizeof(sql), "SELECT BINLOG_GTID_POS('%s', %llu)", snap->binlog_file,
		 snap->binlog_pos);
	ret = dq_query(d, sql, &res, err);
	if (ret)
		return ret;
	row = mysql_fetch_row(res);
	if (row && row[0])
		snprintf(snap->gtid, sizeof(snap->gtid), "%s", row[0]);
	mysql_free_result(res);
	return 0;
}

static int list_databases(struct sqldump *d, struct namelist *dbs, struct errbuf *err)
{
	const char *const *wanted = d->opts->databases;
	struct namelist all = {NULL, 0};
	MYSQL_RES *res;
	MYSQL_ROW row;
	int ret;

	ret = dq_query(
		d,
		"SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY BINARY SCHEMA_NAME",
		&res, err);
	if (ret)
		return ret;
	while (!ret && (row = mysql_fetch_row(res)))
		ret = namelist_add(&all, row[0], err);
	mysql_free_result(res);
	for (size_t i = 0; !ret && i < all.n; i++) {
		int take = wanted && wanted[0] ? in_list(wanted, all.v[i], 0)
					       : !in_list(system_databases, all.v[i], 1);
		if (take)
			ret = namelist_add(dbs, all.v[i], err);
	}
	for (size_t i = 0; !ret && wanted && wanted[i]; i++)
		if (!namelist_has(&all, wanted[i]))
			ret = error_set(err, -ENOENT,
					"sql: database '%s' not found or not visible to the backup "
					"user (check [mariadb] databases and the GRANT)",
					wanted[i]);
	namelist_release(&all);
	return ret;
}

/* Names in comments lose control characters: a newline in a table name
 * must not end the comment and turn the rest into SQL. */
static void add_comment_text(struct strbuf *sb, const char *s)
{
	for (; *s; s++)
		strbuf_addch(sb, (unsigned char)*s < 0x20 ? '?' : *s);
}

static void header_databases(struct strbuf *sb, const struct namelist *dbs)
{
	strbuf_addstr(sb, "-- Databases:");
	for (size_t i = 0; i < dbs->n; i++) {
		strbuf_addstr(sb, i ? ", " : " ");
		add_comment_text(sb, dbs->v[i]);
	}
	if (!dbs->n)
		strbuf_addstr(sb, " (none)");
	strbuf_addch(sb, '\n');
}

static void write_header(struct sqldump *d, const struct snapshot_info *snap,
			 const struct namelist *dbs)
{
	struct strbuf *sb = &d->sb;
	char where[512];

	dbconn_describe(&d->opts->conn, where, sizeof(where));
	strbuf_addf(sb, "-- dumpfs %s MariaDB dump\n--\n-- Server: ", DUMPFS_VERSION);
	add_comment_text(sb, mysql_get_server_info(d->conn));
	strbuf_addstr(sb, " at ");
	add_comment_text(sb, where);
	strbuf_addch(sb, '\n');
	header_databases(sb, dbs);
	strbuf_addf(sb, "-- Started: %s\n", snap->started);
	if (snap->binlog_file[0]) {
		strbuf_addstr(sb, "-- Consistent snapshot at binlog position:\n");
		strbuf_addstr(sb, "--   CHANGE MASTER TO MASTER_LOG_FILE='");
		add_comment_text(sb, snap->binlog_file);
		strbuf_addf(sb, "', MASTER_LOG_POS=%llu;\n", snap->binlog_pos);
		strbuf_addstr(sb, "--   SET GLOBAL gtid_slave_pos='");
		add_comment_text(sb, snap->gtid);
		strbuf_addstr(sb, "';\n");
	} else {
		strbuf_addstr(sb, "-- Binary log: off (no replication coordinates)\n");
	}
	strbuf_addstr(sb,
		      "-- Restore: gpg --decrypt FILE | gunzip | mariadb --comments "
		      "--max-allowed-packet=1G --binary-mode --sandbox\n"
		      "\n"
		      "SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT,"
		      " @OLD_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS,"
		      " @OLD_COLLATION_CONNECTION=@@COLLATION_CONNECTION;\n"
		      "SET NAMES utf8mb4;\n"
		      "SET @OLD_TIME_ZONE=@@TIME_ZONE, TIME_ZONE='+00:00';\n"
		      "SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0;\n"
		      "SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0;\n"
		      "SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO';\n"
		      "SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0;\n");
}

/* What a restore can be checked against (rowdigest.h). */
static void write_trailer(struct sqldump *d)
{
	const struct sqldump_stats *s = d->stats;
	struct rowdigest_objects o = {s->views, s->triggers, s->routines, s->events, s->sequences};

	strbuf_addch(&d->sb, '\n');
	if (d->trailer.len)
		strbuf_add(&d->sb, d->trailer.buf, d->trailer.len);
	rowdigest_add_objects_line(&d->sb, &o);
}

static void write_footer(struct sqldump *d)
{
	strbuf_addstr(&d->sb, "\nSET SQL_MODE=@OLD_SQL_MODE;\n"
			      "SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS;\n"
			      "SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS;\n"
			      "SET TIME_ZONE=@OLD_TIME_ZONE;\n"
			      "SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT,"
			      " CHARACTER_SET_RESULTS=@OLD_CHARACTER_SET_RESULTS,"
			      " COLLATION_CONNECTION=@OLD_COLLATION_CONNECTION;\n"
			      "SET SQL_NOTES=@OLD_SQL_NOTES;\n");
	write_trailer(d);
	strbuf_addstr(&d->sb, "\n" SQLDUMP_COMPLETION_LINE "\n");
}

static int dump_database_ddl(struct sqldump *d, const char *db, struct errbuf *err)
{
	struct strbuf q = STRBUF_INIT;
	MYSQL_RES *res;
	MYSQL_ROW row;
	int ret;

	strbuf_addstr(&q, "SHOW CREATE DATABASE IF NOT EXISTS ");
	sql_add_ident(&q, db);
	ret = dq_query_sb(d, &q, &res, err);
	if (ret)
		return ret;
	row = mysql_fetch_row(res);
	if (row && row[1]) {
		strbuf_addstr(&d->sb, "\n--\n-- Database ");
		add_comment_text(&d->sb, db);
		strbuf_addstr(&d->sb, "\n--\n\n");
		strbuf_addstr(&d->sb, row[1]);
		strbuf_addstr(&d->sb, ";\nUSE ");
		sql_add_ident(&d->sb, db);
		strbuf_addstr(&d->sb, ";\n");
	} else {
		/* A result without a row: no server error to quote. */
		ret = error_set(err, -EIO, "sql: SHOW CREATE DATABASE of '%s' returned nothing",
				db);
	}
	mysql_free_result(res);
	return ret;
}

static void warn_outside_snapshot(struct sqldump *d, const char *db, const char *table,
				  const char *engine)
{
	logger_log(d->opts->log, LOGL_WARN, "dump.non_transactional",
		   "database=\"%s\" table=\"%s\" engine=%s note=\"not part of the consistent "
		   "snapshot; rows may be from a slightly different moment\"",
		   db, table, engine);
}

static int dump_one_table(struct sqldump *d, const char *db, const char *table, const char *type,
			  const char *engine, struct errbuf *err)
{
	struct rowdigest dg;
	int ret;

	dset_object(d, db, table);
	if (!strcmp(type, "VIEW")) {
		d->stats->views++;
		return dump_view_standin(d, db, table, err);
	}
	if (!strcmp(type, "SEQUENCE")) {
		d->stats->sequences++;
		return dump_sequence(d, db, table, err);
	}
	d->stats->tables++;
	ret = dump_table_ddl(d, db, table, err);
	if (ret)
		return ret;
	if (engine && strcasecmp(engine, "InnoDB"))
		warn_outside_snapshot(d, db, table, engine);
	rowdigest_init(&dg);
	if (!engine || !in_list(engines_without_data, engine, 1))
		ret = dump_table_rows(d, db, table, &dg, err);
	if (!ret) {
		rowdigest_add_line(&d->trailer, db, table, &dg);
		if (strbuf_error(&d->trailer))
			return error_set(err, -ENOMEM, "out of memory");
	}
	if (!ret && d->opts->triggers)
		ret = dump_triggers(d, db, table, err);
	return ret;
}

static int dump_database(struct sqldump *d, const char *db, struct errbuf *err)
{
	struct strbuf q = STRBUF_INIT;
	MYSQL_RES *res;
	MYSQL_ROW row;
	int ret;

	dset_object(d, db, NULL);
	d->stats->databases++;
	ret = dump_database_ddl(d, db, err);
	if (ret)
		return ret;
	strbuf_addstr(&q, "SELECT TABLE_NAME, TABLE_TYPE, ENGINE FROM information_schema.TABLES"
			  " WHERE TABLE_SCHEMA = ");
	sql_add_string(&q, db, strlen(db));
	strbuf_addstr(&q, " ORDER BY BINARY TABLE_NAME"); /* stable: `T` and `t` never tie */
	ret = dq_query_sb(d, &q, &res, err);
	if (ret)
		return ret;
	while (!ret && (row = mysql_fetch_row(res)))
		ret = dump_one_table(d, db, row[0], row[1] ? row[1] : "", row[2], err);
	mysql_free_result(res);
	dset_object(d, db, NULL);
	if (!ret && d->opts->routines)
		ret = dump_routines(d, db, err);
	if (!ret && d->opts->events)
		ret = dump_events(d, db, err);
	if (!ret)
		ret = dout_flush(d, 0, err);
	logger_log(d->opts->log, LOGL_DEBUG, "dump.database", "database=\"%s\" ok=%s", db,
		   LOG_BOOL(!ret));
	return ret;
}

static int dump_all(struct sqldump *d, struct errbuf *err)
{
	struct snapshot_info snap = {0};
	struct namelist dbs = {NULL, 0};
	int ret;

	iso8601_utc(time(NULL), snap.started);
	ret = connect_session(d, err);
	if (!ret)
		ret = start_snapshot(d, &snap, err);
	if (!ret && binlog_file_name_valid(snap.binlog_file) && snap.binlog_pos >= 4) {
		memcpy(d->stats->binlog.file, snap.binlog_file, strlen(snap.binlog_file) + 1);
		d->stats->binlog.pos = snap.binlog_pos;
	}
	if (!ret)
		ret = list_databases(d, &dbs, err);
	if (!ret)
		write_header(d, &snap, &dbs);
	for (size_t i = 0; !ret && i < dbs.n; i++)
		ret = dump_database(d, dbs.v[i], err);
	if (!ret)
		ret = dump_views_final(d, err);
	if (!ret) {
		write_footer(d);
		ret = dout_flush(d, 1, err);
	}
	if (!ret)
		ret = dq_exec(d, "ROLLBACK", err);
	namelist_release(&dbs);
	return ret;
}

int sqldump_run(struct sqldump *d, struct writer *out, struct sqldump_stats *stats,
		struct errbuf *err)
{
	struct sqldump_stats local;
	unsigned long id;
	int ret;

	d->out = out;
	d->stats = stats ? stats : &local;
	memset(d->stats, 0, sizeof(*d->stats));
	strbuf_reset(&d->sb);
	strbuf_reset(&d->views);
	strbuf_reset(&d->trailer);
	d->object[0] = '\0';
	ret = dump_all(d, err);
	mutex_lock(&d->lock);
	id = d->conn_id;
	d->conn_id = 0;
	mutex_unlock(&d->lock);
	if (d->conn) {
		mysql_close(d->conn);
		d->conn = NULL;
	}
	mutex_lock(&d->lock);
	if (d->sock >= 0)
		close(d->sock); /* the last reference: the connection ends here */
	d->sock = -1;
	mutex_unlock(&d->lock);
	if (id && (ret == -ECANCELED || ret == -ECONNRESET))
		kill_leftover(d, id);
	d->out = NULL;
	if (ret)
		logger_log(d->opts->log, LOGL_DEBUG, "dump.failed",
			   "databases=%u tables=%u rows=%llu sql_bytes=%llu error=\"%s\"",
			   d->stats->databases, d->stats->tables,
			   (unsigned long long)d->stats->rows,
			   (unsigned long long)d->stats->sql_bytes, err->msg);
	else
		logger_log(d->opts->log, LOGL_INFO, "dump.done",
			   "databases=%u tables=%u rows=%llu sql_bytes=%llu", d->stats->databases,
			   d->stats->tables, (unsigned long long)d->stats->rows,
			   (unsigned long long)d->stats->sql_bytes);
	return ret;
}
