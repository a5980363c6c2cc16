/* Table data: rows stream from the server (mysql_use_result) into
 * multi-row INSERT statements of at most max_insert_bytes each, so a
 * restore never exceeds max_allowed_packet; a single larger row goes in a
 * statement of its own.  Memory holds one row at a time. */
#include "sqldump_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sqlquote.h"

struct table_columns {
	struct strbuf select;	/* "SELECT `a`, `b` FROM `db`.`t`" */
	struct strbuf insert;	/* "INSERT INTO `t` (`a`, `b`) VALUES\n" */
	enum sql_value_kind *kinds;
	unsigned n;
};

static void columns_release(struct table_columns *c)
{
	strbuf_release(&c->select);
	strbuf_release(&c->insert);
	free(c->kinds);
}

/* Generated columns (and system-versioning period columns, generated as
 * well) are left out: the server computes them again.  Invisible columns
 * are named explicitly, which also makes SELECT return them. */
static int add_column(struct table_columns *c, MYSQL_ROW row, struct errbuf *err)
{
	enum sql_value_kind *kinds;

	if (row[2] && !strcmp(row[2], "ALWAYS"))
		return 0;
	kinds = realloc(c->kinds, (c->n + 1) * sizeof(*kinds));
	if (!kinds)
		return error_set(err, -ENOMEM, "out of memory");
	c->kinds = kinds;
	kinds[c->n] = sql_value_kind(row[1] ? row[1] : "");
	strbuf_addstr(&c->select, c->n ? ", " : "SELECT ");
	sql_add_ident(&c->select, row[0]);
	strbuf_addstr(&c->insert, c->n ? ", " : " (");
	sql_add_ident(&c->insert, row[0]);
	c->n++;
	return 0;
}

static int load_columns(struct sqldump *d, const char *db, const char *table,
			struct table_columns *c, struct errbuf *err)
{
	struct strbuf q = STRBUF_INIT;
	MYSQL_RES *res;
	MYSQL_ROW row;
	int ret;

	strbuf_addstr(&q, "SELECT COLUMN_NAME, DATA_TYPE, IS_GENERATED FROM information_schema.COLUMNS"
			  " WHERE TABLE_SCHEMA = ");
	sql_add_string(&q, db, strlen(db));
	strbuf_addstr(&q, " AND TABLE_NAME = ");
	sql_add_string(&q, table, strlen(table));
	strbuf_addstr(&q, " ORDER BY ORDINAL_POSITION");
	ret = strbuf_error(&q) ? error_set(err, -ENOMEM, "out of memory")
			       : dq_query(d, q.buf, &res, err);
	strbuf_release(&q);
	if (ret)
		return ret;
	strbuf_addstr(&c->insert, "INSERT INTO ");
	sql_add_ident(&c->insert, table);
	while (!ret && (row = mysql_fetch_row(res)))
		ret = add_column(c, row, err);
	mysql_free_result(res);
	strbuf_addstr(&c->select, " FROM ");
	sql_add_ident(&c->select, db);
	strbuf_addch(&c->select, '.');
	sql_add_ident(&c->select, table);
	strbuf_addstr(&c->insert, ") VALUES\n");
	if (!ret && (strbuf_error(&c->select) || strbuf_error(&c->insert)))
		ret = error_set(err, -ENOMEM, "out of memory");
	return ret;
}

static void format_row(struct strbuf *sb, const struct table_columns *c, MYSQL_ROW row,
		       const unsigned long *len)
{
	strbuf_addch(sb, '(');
	for (unsigned i = 0; i < c->n; i++) {
		if (i)
			strbuf_addch(sb, ',');
		if (!row[i])
			strbuf_addstr(sb, "NULL");
		else if (c->kinds[i] == SQLV_RAW)
			strbuf_add(sb, row[i], len[i]);
		else if (c->kinds[i] == SQLV_HEX)
			sql_add_hex(sb, row[i], len[i]);
		else
			sql_add_string(sb, row[i], len[i]);
	}
	strbuf_addch(sb, ')');
}

struct insert_state {
	size_t stmt_bytes; /* size of the open statement; 0 when none */
	struct strbuf row;
};

static int stream_rows(struct sqldump *d, MYSQL_RES *res, const struct table_columns *c,
		       struct insert_state *st, struct errbuf *err)
{
	size_t max = d->opts->max_insert_bytes ? d->opts->max_insert_bytes : 1024 * 1024;
	MYSQL_ROW row;
	int ret = 0;

	while (!ret && (row = mysql_fetch_row(res))) {
		strbuf_reset(&st->row);
		format_row(&st->row, c, row, mysql_fetch_lengths(res));
		if (st->stmt_bytes && st->stmt_bytes + st->row.len + 2 > max) {
			strbuf_addstr(&d->sb, ";\n");
			st->stmt_bytes = 0;
		}
		if (!st->stmt_bytes) {
			strbuf_add(&d->sb, c->insert.buf, c->insert.len);
			st->stmt_bytes = c->insert.len;
		} else {
			strbuf_addstr(&d->sb, ",\n");
			st->stmt_bytes += 2;
		}
		strbuf_add(&d->sb, st->row.buf, st->row.len);
		st->stmt_bytes += st->row.len;
		d->stats->rows++;
		ret = strbuf_error(&st->row) ? error_set(err, -ENOMEM, "out of memory")
					     : dout_flush(d, 0, err);
	}
	if (!ret && mysql_errno(d->conn))
		ret = dq_error(d, "reading rows", err);
	if (!ret && st->stmt_bytes)
		strbuf_addstr(&d->sb, ";\n");
	return ret;
}

int dump_table_rows(struct sqldump *d, const char *db, const char *table, struct errbuf *err)
{
	struct table_columns c = { STRBUF_INIT, STRBUF_INIT, NULL, 0 };
	struct insert_state st = { 0, STRBUF_INIT };
	MYSQL_RES *res;
	int ret;

	ret = load_columns(d, db, table, &c, err);
	if (ret || !c.n)
		goto out;
	if (mysql_real_query(d->conn, c.select.buf, c.select.len)) {
		ret = dq_error(d, "reading rows", err);
		goto out;
	}
	res = mysql_use_result(d->conn);
	if (!res) {
		ret = dq_error(d, "reading rows", err);
		goto out;
	}
	if (mysql_num_fields(res) != c.n)
		ret = error_set(err, -EIO, "sql: %s: expected %u columns, the server sent %u",
				d->object, c.n, mysql_num_fields(res));
	if (!ret)
		ret = stream_rows(d, res, &c, &st, err);
	/* Freeing an unfinished streamed result would read every remaining
	 * row: cut the connection instead; the server then ends the query. */
	if (ret)
		mariadb_cancel(d->conn);
	mysql_free_result(res);
	if (!ret)
		ret = dout_flush(d, 0, err);
out:
	strbuf_release(&st.row);
	columns_release(&c);
	return ret;
}
