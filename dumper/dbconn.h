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
	const char *password; /* secret; may be NULL */
	const char *ssl_ca;   /* TLS with server verification when set */
	/* Seconds each step of the login may wait for the server (TCP
	 * connect, then every read and write of the handshake); 0 = 5, so a
	 * cancel that cannot reach a connection still being opened waits at
	 * most that long (docs/security.md: shutdowns within 10 s). */
	unsigned connect_timeout;
	/* Seconds any later read or write may wait for the server; 0 = 600.
	 * Only time spent blocked on the socket counts: a caller that stops
	 * reading rows (its own reader paused) is not waiting for the server. */
	unsigned read_timeout;
};

#define DBCONN_CONNECT_TIMEOUT 5
#define DBCONN_READ_TIMEOUT    600

/* Opens a utf8mb4 connection.  On success *out is owned by the caller
 * (mysql_close).  Errors name the server ("socket '/run/x'" or
 * "127.0.0.1:3306") and the user, never the password. */
int dbconn_open(MYSQL **out, const struct dbconn_opts *o, struct errbuf *err);

/* "socket '/path'" or "host:port", for messages. */
void dbconn_describe(const struct dbconn_opts *o, char *buf, size_t len);

#endif
