/* Definitions: tables, sequences, views, triggers, routines, events.
 *
 * Everything comes from the server's own SHOW CREATE output, so quoting
 * inside bodies is the server's.  Stored programs are written with the
 * sql_mode and collation_connection they were created with; the text is
 * utf8mb4 (the dump connection's charset) and restored as such, which
 * keeps every character of a body intact. */
#include "sqldump_priv.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "sqlquote.h"

/* "SHOW CREATE <what> `db`.`name`" -> a one-row result. */
static int show_create(struct sqldump *d, const char *what, const char *db, const char *name,
		       MYSQL_RES **res, MYSQL_ROW *row, unsigned min_fields, struct errbuf *err)
{
	struct strbuf q = STRBUF_INIT;
	int ret;

	strbuf_addf(&q, "SHOW CREATE %s ", what);
	sql_add_ident(&q, db);
	strbuf_addch(&q, '.');
	sql_add_ident(&q, name);
	ret = dq_query_sb(d, &q, res, err);
	if (ret)
		return ret;
	*row = mysql_fetch_row(*res);
	if (!*row || mysql_num_fields(*res) < min_fields) {
		mysql_free_result(*res);
		return error_set(err, -EIO, "sql: SHOW CREATE %s of %s returned nothing", what,
				 d->object);
	}
	return 0;
}

/* A query on information_schema filtered by schema (and table). */
static int is_query(struct sqldump *d, const char *select, const char *schema_col, const char *db,
		    const char *table_col, const char *table, const char *order, MYSQL_RES **res,
		    struct errbuf *err)
{
	struct strbuf q = STRBUF_INIT;
	int ret;

	strbuf_addf(&q, "%s WHERE %s = ", select, schema_col);
	sql_add_string(&q, db, strlen(db));
	if (table_col) {
		strbuf_addf(&q, " AND %s = ", table_col);
		sql_add_string(&q, table, strlen(table));
	}
	strbuf_addf(&q, " ORDER BY %s", order);
	ret = dq_query_sb(d, &q, res, err);
	return ret;
}

static void add_section(struct strbuf *sb, const char *kind, const char *name)
{
	strbuf_addf(sb, "\n--\n-- %s ", kind);
	for (; *name; name++)
		strbuf_addch(sb, (unsigned char)*name < 0x20 ? '?' : *name);
	strbuf_addstr(sb, "\n--\n\n");
}

int dump_table_ddl(struct sqldump *d, const char *db, const char *table, struct errbuf *err)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	int ret = show_create(d, "TABLE", db, table, &res, &row, 2, err);

	if (ret)
		return ret;
	add_section(&d->sb, "Table", table);
	strbuf_addstr(&d->sb, "DROP TABLE IF EXISTS ");
	sql_add_ident(&d->sb, table);
	strbuf_addstr(&d->sb, ";\n");
	strbuf_addstr(&d->sb, row[1]);
	strbuf_addstr(&d->sb, ";\n");
	mysql_free_result(res);
	return dout_flush(d, 0, err);
}

/* The sequence's definition, then its position: the next value not yet
 * handed out to any cache, as mariadb-dump does (never reuses a value). */
int dump_sequence(struct sqldump *d, const char *db, const char *seq, struct errbuf *err)
{
	struct strbuf q = STRBUF_INIT;
	MYSQL_RES *res;
	MYSQL_ROW row;
	int ret = show_create(d, "SEQUENCE", db, seq, &res, &row, 2, err);

	if (ret)
		return ret;
	add_section(&d->sb, "Sequence", seq);
	strbuf_addstr(&d->sb, "DROP SEQUENCE IF EXISTS ");
	sql_add_ident(&d->sb, seq);
	strbuf_addstr(&d->sb, ";\n");
	strbuf_addstr(&d->sb, row[1]);
	strbuf_addstr(&d->sb, ";\n");
	mysql_free_result(res);

	strbuf_addstr(&q, "SELECT next_not_cached_value FROM ");
	sql_add_ident(&q, db);
	strbuf_addch(&q, '.');
	sql_add_ident(&q, seq);
	ret = dq_query_sb(d, &q, &res, err);
	if (ret)
		return ret;
	row = mysql_fetch_row(res);
	if (row && row[0]) {
		strbuf_addstr(&d->sb, "DO SETVAL(");
		sql_add_ident(&d->sb, seq);
		strbuf_addf(&d->sb, ", %s, 0);\n", row[0]);
	} else {
		ret = error_set(err, -EIO, "sql: cannot read the position of sequence %s",
				d->object);
	}
	mysql_free_result(res);
	return ret ? ret : dout_flush(d, 0, err);
}

/* A stand-in with the view's column names, so views on views (in any
 * order, in any database) can be created at the end. */
int dump_view_standin(struct sqldump *d, const char *db, const char *view, struct errbuf *err)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	unsigned n = 0;
	int ret;

	ret = is_query(d, "SELECT COLUMN_NAME FROM information_schema.COLUMNS", "TABLE_SCHEMA", db,
		       "TABLE_NAME", view, "ORDINAL_POSITION", &res, err);
	if (ret)
		return ret;
	add_section(&d->sb, "Stand-in for view", view);
	strbuf_addstr(&d->sb, "DROP TABLE IF EXISTS ");
	sql_add_ident(&d->sb, view);
	strbuf_addstr(&d->sb, ";\nDROP VIEW IF EXISTS ");
	sql_add_ident(&d->sb, view);
	strbuf_addstr(&d->sb, ";\nCREATE VIEW ");
	sql_add_ident(&d->sb, view);
	strbuf_addstr(&d->sb, " AS SELECT");
	while ((row = mysql_fetch_row(res))) {
		strbuf_addstr(&d->sb, n++ ? ",\n 1 AS " : "\n 1 AS ");
		sql_add_ident(&d->sb, row[0]);
	}
	strbuf_addstr(&d->sb, ";\n");
	mysql_free_result(res);
	if (!n)
		return error_set(err, -EINVAL,
				 "sql: view %s has no readable columns: it is probably invalid "
				 "(run SELECT on it to see why; fix or drop it)",
				 d->object);
	strbuf_add(&d->views, db, strlen(db) + 1);
	strbuf_add(&d->views, view, strlen(view) + 1);
	return dout_flush(d, 0, err);
}

static void set_collation(struct sqldump *d, const char *collation)
{
	strbuf_addstr(&d->sb, "SET @saved_col_connection = @@collation_connection;\n");
	strbuf_addstr(&d->sb, "SET collation_connection = ");
	sql_add_string(&d->sb, collation, strlen(collation));
	strbuf_addstr(&d->sb, ";\n");
}

static int dump_one_view(struct sqldump *d, const char *db, const char *view, struct errbuf *err)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	int ret;

	dset_object(d, db, view);
	ret = show_create(d, "VIEW", db, view, &res, &row, 4, err);
	if (ret)
		return ret;
	add_section(&d->sb, "View", view);
	strbuf_addstr(&d->sb, "USE ");
	sql_add_ident(&d->sb, db);
	strbuf_addstr(&d->sb, ";\nDROP VIEW IF EXISTS ");
	sql_add_ident(&d->sb, view);
	strbuf_addstr(&d->sb, ";\n");
	set_collation(d, row[3] ? row[3] : "utf8mb4_general_ci");
	strbuf_addstr(&d->sb, row[1]);
	strbuf_addstr(&d->sb, ";\nSET collation_connection = @saved_col_connection;\n");
	mysql_free_result(res);
	return dout_flush(d, 0, err);
}

int dump_views_final(struct sqldump *d, struct errbuf *err)
{
	const char *p = d->views.buf;
	const char *end = p + d->views.len;
	int ret = 0;

	while (!ret && p && p < end) {
		const char *db = p;
		const char *view = db + strlen(db) + 1;

		p = view + strlen(view) + 1;
		ret = dump_one_view(d, db, view, err);
	}
	return ret;
}

/* Writes a trigger, routine or event as the server reported it, between
 * DELIMITER lines, under the sql_mode (and time zone) it was created with.
 *
 * Every statement between the two SET sql_mode lines must parse under the
 * object's own mode, whatever it is: DROP PACKAGE, for one, is only valid
 * under sql_mode=ORACLE on 10.11, so the DROP comes after the switch.  What
 * runs there is kept to forms every mode accepts: backquoted identifiers
 * (ANSI_QUOTES makes "..." an identifier), single-quoted strings without
 * backslash escapes (NO_BACKSLASH_ESCAPES) and user variables. */
static void emit_program(struct sqldump *d, const char *drop_kind, const char *name,
			 const char *sql_mode, const char *time_zone, const char *collation,
			 const char *create)
{
	char dbuf[SQL_DELIMITER_MAX + 1];
	const char *delim = sql_pick_delimiter(create, dbuf);
	struct strbuf *sb = &d->sb;

	set_collation(d, collation ? collation : "utf8mb4_general_ci");
	strbuf_addstr(sb, "SET @saved_sql_mode = @@sql_mode;\nSET sql_mode = ");
	sql_add_string(sb, sql_mode ? sql_mode : "", sql_mode ? strlen(sql_mode) : 0);
	strbuf_addstr(sb, ";\n");
	strbuf_addf(sb, "DROP %s IF EXISTS ", drop_kind);
	sql_add_ident(sb, name);
	strbuf_addstr(sb, ";\n");
	if (time_zone) {
		strbuf_addstr(sb, "SET @saved_time_zone = @@time_zone;\nSET time_zone = ");
		sql_add_string(sb, time_zone, strlen(time_zone));
		strbuf_addstr(sb, ";\n");
	}
	strbuf_addf(sb, "DELIMITER %s\n%s %s\nDELIMITER ;\n", delim, create, delim);
	if (time_zone)
		strbuf_addstr(sb, "SET time_zone = @saved_time_zone;\n");
	strbuf_addstr(sb, "SET sql_mode = @saved_sql_mode;\n"
			  "SET collation_connection = @saved_col_connection;\n");
}

static int no_definition(struct sqldump *d, const char *what, struct errbuf *err)
{
	return error_set(err, -EACCES,
			 "sql: cannot read the definition of %s %s: the backup user lacks "
			 "privileges (grant SELECT ON *.*, see README)",
			 what, d->object);
}

/* How to list and show one kind of stored program.  The list query's
 * first column is the name; `kind_col` >= 0 names a column of the list
 * that holds the kind (ROUTINE_TYPE: PROCEDURE, FUNCTION, PACKAGE,
 * PACKAGE BODY), else `kind` is it.  The SHOW CREATE columns: sql_mode,
 * time zone (-1: none), definition, collation_connection. */
struct program_kind {
	const char *kind;    /* SHOW CREATE <kind>, DROP <kind>; NULL: kind_col */
	const char *section; /* the "-- <section>: name" comment; NULL: the kind */
	const char *what;    /* in errors: "trigger" */
	const char *list, *schema_col, *table_col, *order;
	int kind_col;
	unsigned min_cols;
	int mode_col, tz_col, create_col, collation_col;
	size_t counter; /* offsetof(struct sqldump_stats, ...) */
};

static const struct program_kind triggers = {
	"TRIGGER",
	"Trigger",
	"trigger",
	"SELECT TRIGGER_NAME FROM information_schema.TRIGGERS",
	"EVENT_OBJECT_SCHEMA",
	"EVENT_OBJECT_TABLE",
	/* Creation order keeps the order of triggers on the same event. */
	"EVENT_MANIPULATION, ACTION_TIMING, ACTION_ORDER",
	-1,
	5,
	1,
	-1,
	2,
	4,
	offsetof(struct sqldump_stats, triggers),
};

static const struct program_kind routines = {
	NULL,
	NULL,
	NULL,
	"SELECT ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES",
	"ROUTINE_SCHEMA",
	NULL,
	/* PACKAGE sorts before PACKAGE BODY, as creation needs. */
	"ROUTINE_TYPE, BINARY ROUTINE_NAME",
	1,
	5,
	1,
	-1,
	2,
	4,
	offsetof(struct sqldump_stats, routines),
};

static const struct program_kind events = {
	"EVENT",
	"Event",
	"event",
	"SELECT EVENT_NAME FROM information_schema.EVENTS",
	"EVENT_SCHEMA",
	NULL,
	"BINARY EVENT_NAME",
	-1,
	6,
	1,
	2,
	3,
	5,
	offsetof(struct sqldump_stats, events),
};

/* One program of kind k, named name[0] (its kind in name[k->kind_col]). */
static int dump_program(struct sqldump *d, const struct program_kind *k, const char *db,
			MYSQL_ROW name, struct errbuf *err)
{
	const char *kind = k->kind ? k->kind : name[k->kind_col];
	MYSQL_RES *res;
	MYSQL_ROW row;
	int ret;

	dset_object(d, db, name[0]);
	ret = show_create(d, kind, db, name[0], &res, &row, k->min_cols, err);
	if (ret)
		return ret;
	if (!row[k->create_col]) {
		ret = no_definition(d, k->what ? k->what : kind, err);
	} else {
		add_section(&d->sb, k->section ? k->section : kind, name[0]);
		emit_program(d, kind, name[0], row[k->mode_col],
			     k->tz_col < 0 ? NULL : row[k->tz_col], row[k->collation_col],
			     row[k->create_col]);
		(*(unsigned *)((char *)d->stats + k->counter))++;
		ret = dout_flush(d, 0, err);
	}
	mysql_free_result(res);
	return ret;
}

static int dump_programs(struct sqldump *d, const struct program_kind *k, const char *db,
			 const char *table, struct errbuf *err)
{
	MYSQL_RES *list = NULL;
	MYSQL_ROW name;
	int ret;

	ret = is_query(d, k->list, k->schema_col, db, k->table_col, table, k->order, &list, err);
	while (!ret && (name = mysql_fetch_row(list)))
		ret = dump_program(d, k, db, name, err);
	if (list)
		mysql_free_result(list);
	return ret;
}

int dump_triggers(struct sqldump *d, const char *db, const char *table, struct errbuf *err)
{
	return dump_programs(d, &triggers, db, table, err);
}

int dump_routines(struct sqldump *d, const char *db, struct errbuf *err)
{
	return dump_programs(d, &routines, db, NULL, err);
}

int dump_events(struct sqldump *d, const char *db, struct errbuf *err)
{
	return dump_programs(d, &events, db, NULL, err);
}
