#include "dblist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sqldump.h"

static const char list_sql[] =
	"SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY BINARY SCHEMA_NAME";

void dblist_free(char **names)
{
	for (size_t i = 0; names && names[i]; i++)
		free(names[i]);
	free(names);
}

/* Appends a copy of name to the NULL-terminated *v of *n names. */
static int add_name(char ***v, size_t *n, const char *name, struct errbuf *err)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(*nv));

	if (!nv)
		return error_set(err, -ENOMEM, "out of memory");
	*v = nv;
	nv[*n + 1] = NULL;
	nv[*n] = strdup(name);
	if (!nv[*n])
		return error_set(err, -ENOMEM, "out of memory");
	(*n)++;
	return 0;
}

static int collect(MYSQL *m, char ***out, struct errbuf *err)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	size_t n = 0;
	int ret;

	if (mysql_real_query(m, list_sql, sizeof(list_sql) - 1) || !(res = mysql_store_result(m)))
		return error_set(err, -EIO, "cannot list the databases: %s", mysql_error(m));
	/* An empty list is an array too: NULL stays for failures. */
	*out = calloc(1, sizeof(**out));
	ret = *out ? 0 : error_set(err, -ENOMEM, "out of memory");
	while (!ret && (row = mysql_fetch_row(res)))
		if (row[0] && !sqldump_is_system_database(row[0]))
			ret = add_name(out, &n, row[0], err);
	mysql_free_result(res);
	return ret;
}

int dblist_fetch(char ***out, const struct dbconn_opts *conn, struct errbuf *err)
{
	MYSQL *m;
	int ret;

	*out = NULL;
	ret = dbconn_open(&m, conn, err);
	if (ret)
		return ret;
	ret = collect(m, out, err);
	mysql_close(m);
	if (ret) {
		dblist_free(*out);
		*out = NULL;
	}
	return ret;
}
