/* Which databases a dump with an empty database list would take, asked
 * of the server with one short query (no snapshot, no lock): every
 * database the user can see but the system ones (sqldump.h). */
#ifndef DUMPER_DBLIST_H
#define DUMPER_DBLIST_H

#include "dbconn.h"

/* Connects with `conn` (borrowed), lists, disconnects.  On success *out
 * is a NULL-terminated array in binary name order, owned by the caller
 * (dblist_free).  Errors name the server (dbconn.h). */
int dblist_fetch(char ***out, const struct dbconn_opts *conn, struct errbuf *err);
void dblist_free(char **names); /* NULL is fine */

#endif
