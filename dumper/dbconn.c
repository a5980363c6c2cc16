#include "dbconn.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

void dbconn_describe(const struct dbconn_opts *o, char *buf, size_t len)
{
	if (o->socket && *o->socket)
		snprintf(buf, len, "socket '%s'", o->socket);
	else
		snprintf(buf, len, "%s:%u", o->host ? o->host : "127.0.0.1",
			 o->port ? o->port : 3306);
}

static int set_option(MYSQL *m, enum mysql_option opt, const void *arg, const char *what,
		      struct errbuf *err)
{
	if (mysql_optionsv(m, opt, arg))
		return error_set(err, -EINVAL, "cannot set connection option %s: %s", what,
				 mysql_error(m));
	return 0;
}

static int set_options(MYSQL *m, const struct dbconn_opts *o, struct errbuf *err)
{
	unsigned connect_timeout = o->connect_timeout ? o->connect_timeout : DBCONN_CONNECT_TIMEOUT;
	unsigned io_timeout = o->read_timeout ? o->read_timeout : DBCONN_READ_TIMEOUT;
	bool verify = true;
	int ret;

	/* Without timeouts a server that stops answering (no packet, no
	 * reset) blocks a read forever.  libmariadb applies them per wait
	 * on the socket: connect_timeout during the login, then these. */
	ret = set_option(m, MYSQL_SET_CHARSET_NAME, "utf8mb4", "charset", err);
	if (!ret)
		ret = set_option(m, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout, "connect timeout",
				 err);
	if (!ret)
		ret = set_option(m, MYSQL_OPT_READ_TIMEOUT, &io_timeout, "read timeout", err);
	if (!ret)
		ret = set_option(m, MYSQL_OPT_WRITE_TIMEOUT, &io_timeout, "write timeout", err);
	if (!ret && o->ssl_ca && *o->ssl_ca) {
		ret = set_option(m, MYSQL_OPT_SSL_CA, o->ssl_ca, "ssl_ca", err);
		if (!ret)
			ret = set_option(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify,
					 "server certificate verification", err);
		if (!ret)
			ret = set_option(m, MYSQL_OPT_SSL_ENFORCE, &verify, "TLS", err);
	}
	return ret;
}

int dbconn_open(MYSQL **out, const struct dbconn_opts *o, struct errbuf *err)
{
	bool use_socket = o->socket && *o->socket;
	char where[512];
	MYSQL *m;
	int ret;

	dbconn_describe(o, where, sizeof(where));
	m = mysql_init(NULL);
	if (!m)
		return error_set(err, -ENOMEM,
				 "cannot initialise the MariaDB client: out of memory");
	ret = set_options(m, o, err);
	if (ret) {
		mysql_close(m);
		return ret;
	}
	if (!mysql_real_connect(m, use_socket ? "localhost" : (o->host ? o->host : "127.0.0.1"),
				o->user, o->password, NULL, o->port ? o->port : 3306,
				use_socket ? o->socket : NULL, 0)) {
		ret = error_set(err, -ECONNREFUSED,
				"cannot connect to MariaDB at %s as '%s': %s (check [mariadb] "
				"host/port/socket, user and password)",
				where, o->user ? o->user : "", mysql_error(m));
		mysql_close(m);
		return ret;
	}
	*out = m;
	return 0;
}
