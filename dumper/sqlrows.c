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
	struct strbuf select; /* "SELECT `a`, `b` FROM `db`.`t`" */
	struct strbuf insert; /* "INSERT INTO `t` (`a`, `b`) VALUES\n" */
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
	sql_add_select_expr(&c->select, row[1] ? row[1] : "", row[0]);
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

	strbuf_addstr(&q,
		      "SELECT COLUMN_NAME, DATA_TYPE, IS_GENERATED FROM information_schema.COLUMNS"
		      " WHERE TABLE_SCHEMA = ");
	sql_add_string(&q, db, strlen(db));
	strbuf_addstr(&q, " AND TABLE_NAME = ");
	sql_add_string(&q, table, strlen(table));
	strbuf_addstr(&q, " ORDER BY ORDINAL_POSITION");
	ret = dq_query_sb(d, &q, &res, err);
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

/* The size a value takes in the statement. */
static size_t value_len(enum sql_value_kind kind, const char *v, unsigned long len)
{
	if (!v)
		return 4; /* NULL */
	if (kind == SQLV_RAW)
		return len;
	if (kind == SQLV_HEX)
		return len ? 2 + 2 * (size_t)len : 2;
	return 2 + sql_escaped_len(v, len);
}

/* An upper bound, cheap: every byte at most doubles. */
static size_t row_len_bound(const struct table_columns *c, const unsigned long *len)
{
	size_t n = 2 + c->n;

	for (unsigned i = 0; i < c->n; i++)
		n += 2 * (size_t)len[i] + 4;
	return n;
}

#define VALUE_CHUNK (128 * 1024)

/* Writes one value of a large row in pieces, so a big BLOB is never held
 * a second time (as hex, twice its size) in memory. */
static int add_value_chunked(struct sqldump *d, enum sql_value_kind kind, const char *v,
			     unsigned long len, struct errbuf *err)
{
	if (!v || kind == SQLV_RAW || (kind == SQLV_HEX && !len)) {
		struct strbuf *sb = &d->sb;

		if (!v)
			strbuf_addstr(sb, "NULL");
		else if (kind == SQLV_RAW)
			strbuf_add(sb, v, len);
		else
			strbuf_addstr(sb, "''");
		return dout_flush(d, 0, err);
	}
	strbuf_addstr(&d->sb, kind == SQLV_HEX ? "0x" : "'");
	for (size_t off = 0, n; off < len; off += n) {
		int ret;

		n = len - off < VALUE_CHUNK ? len - off : VALUE_CHUNK;
		if (kind == SQLV_HEX)
			sql_add_hex_digits(&d->sb, v + off, n);
		else
			sql_add_escaped(&d->sb, v + off, n);
		ret = dout_flush(d, 0, err);
		if (ret)
			return ret;
	}
	if (kind == SQLV_STRING)
		strbuf_addch(&d->sb, '\'');
	return 0;
}

static int add_row_chunked(struct sqldump *d, const struct table_columns *c, MYSQL_ROW row,
			   const unsigned long *len, struct errbuf *err)
{
	int ret = 0;

	strbuf_addch(&d->sb, '(');
	for (unsigned i = 0; !ret && i < c->n; i++) {
		if (i)
			strbuf_addch(&d->sb, ',');
		ret = add_value_chunked(d, c->kinds[i], row[i], len[i], err);
	}
	strbuf_addch(&d->sb, ')');
	return ret ? ret : dout_flush(d, 0, err);
}

/* Ends the open INSERT when `row_len` more bytes would pass the bound,
 * and opens one when none is open. */
static void begin_row(struct sqldump *d, const struct table_columns *c, size_t *stmt_bytes,
		      size_t row_len)
{
	size_t max = d->opts->max_insert_bytes ? d->opts->max_insert_bytes : 1024 * 1024;

	if (*stmt_bytes && *stmt_bytes + row_len + 2 > max) {
		strbuf_addstr(&d->sb, ";\n");
		*stmt_bytes = 0;
	}
	if (!*stmt_bytes) {
		strbuf_add(&d->sb, c->insert.buf, c->insert.len);
		*stmt_bytes = c->insert.len;
	} else {
		strbuf_addstr(&d->sb, ",\n");
		*stmt_bytes += 2;
	}
	*stmt_bytes += row_len;
}

/* Small rows are formatted apart first (their size decides where the
 * statement ends); large ones are measured, then written in pieces. */
static int add_row(struct sqldump *d, const struct table_columns *c, MYSQL_ROW row,
		   const unsigned long *len, struct insert_state *st, struct errbuf *err)
{
	size_t row_len;

	if (row_len_bound(c, len) > SQLDUMP_FLUSH_BYTES) {
		row_len = 2 + c->n - 1;
		for (unsigned i = 0; i < c->n; i++)
			row_len += value_len(c->kinds[i], row[i], len[i]);
		begin_row(d, c, &st->stmt_bytes, row_len);
		return add_row_chunked(d, c, row, len, err);
	}
	strbuf_reset(&st->row);
	format_row(&st->row, c, row, len);
	if (strbuf_error(&st->row))
		return error_set(err, -ENOMEM, "out of memory");
	begin_row(d, c, &st->stmt_bytes, st->row.len);
	strbuf_add(&d->sb, st->row.buf, st->row.len);
	return dout_flush(d, 0, err);
}

static int stream_rows(struct sqldump *d, MYSQL_RES *res, const struct table_columns *c,
		       struct insert_state *st, struct rowdigest *dg, struct errbuf *err)
{
	MYSQL_ROW row;
	int ret = 0;

	while (!ret && (row = mysql_fetch_row(res))) {
		const unsigned long *len = mysql_fetch_lengths(res);

		if (!d->opts->digests_only)
			ret = add_row(d, c, row, len, st, err);
		if (!ret) {
#ifndef DUMPFS_BENCH_NO_DIGESTS
			rowdigest_add(dg, c->n, row, len);
#else /* the bench's build without digests, to measure their cost */
			dg->rows++;
#endif
			d->stats->rows++;
		}
	}
	if (!ret && mysql_errno(d->conn))
		ret = dq_error(d, "reading rows", err);
	if (!ret && st->stmt_bytes)
		strbuf_addstr(&d->sb, ";\n");
	return ret;
}

int dump_table_rows(struct sqldump *d, const char *db, const char *table, struct rowdigest *dg,
		    struct errbuf *err)
{
	struct table_columns c = {STRBUF_INIT, STRBUF_INIT, NULL, 0};
	struct insert_state st = {0, STRBUF_INIT};
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
		ret = stream_rows(d, res, &c, &st, dg, err);
	/* Freeing an unfinished streamed result would read every remaining
	 * row: cut the connection instead; the server then ends the query. */
	if (ret)
		/* Fails only without a transport, and then the reads
		 * mysql_free_result would do fail at once too. */
		(void)mariadb_cancel(d->conn);
	mysql_free_result(res);
	if (!ret)
		ret = dout_flush(d, 0, err);
out:
	strbuf_release(&st.row);
	columns_release(&c);
	return ret;
}
