/* Connecting to MariaDB with libmariadb. */
#ifndef DUMPER_DBCONN_H
#define DUMPER_DBCONN_H

#include <mysql.h>

#include "errbuf.h"

struct dbconn_opts {
	const char *host;   /* used when socket is NULL; NULL = 127.0.0.1 */
	unsigned port;	    /* 0 = 3306 */
	const char *socket; /* unix socket path or NULL */
	const char *user;
	const char *password;	  /* secret; may be NULL */
	const char *ssl_ca;	  /* TLS with server verification when set */
	unsigned connect_timeout; /* seconds; 0 = 10 */
	unsigned read_timeout;	  /* seconds; 0 = libmariadb default */
};

/* Opens a utf8mb4 connection.  On success *out is owned by the caller
 * (mysql_close).  Errors name the server ("socket '/run/x'" or
 * "127.0.0.1:3306") and the user, never the password. */
int dbconn_open(MYSQL **out, const struct dbconn_opts *o, struct errbuf *err);

/* "socket '/path'" or "host:port", for messages. */
void dbconn_describe(const struct dbconn_opts *o, char *buf, size_t len);

#endif
