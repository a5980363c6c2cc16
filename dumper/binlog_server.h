/* What a binlog stream asks the server before it reads the binlog
 * (binlog_stream.c): where to start, the events' checksum, its replica
 * id.  Replies are untrusted: names and positions are checked. */
#ifndef DUMPER_BINLOG_SERVER_H
#define DUMPER_BINLOG_SERVER_H

#include <mysql.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "binlog.h"

/* -EIO "<what>: <server's message> (MariaDB error N)". */
int binlog_server_error(MYSQL *m, const char *what, struct errbuf *err);
/* Where a stream without a position file starts (binlog.h): the newest
 * backup's recorded position into an empty segment directory, when the
 * server still has that file; else the server's current position
 * (-EINVAL when it has no binlog). */
int binlog_first_position(MYSQL *m, const struct binlog_stream_opts *o, struct binlog_pos *p,
			  struct errbuf *err);
/* 4 when the session's events end in a CRC32, 0 when they have none. */
int binlog_checksum_length(MYSQL *m, size_t *len, struct errbuf *err);
/* The replica id: o->server_id, or when 0 one derived from o->dir; never
 * the server's own (-EINVAL, *fatal set: retrying cannot help). */
int binlog_replica_id(MYSQL *m, const struct binlog_stream_opts *o, uint32_t *id, bool *fatal,
		      struct errbuf *err);

#endif
