/* The server's side of starting a binlog stream.  See binlog_server.h. */
#include "binlog_server.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"

int binlog_server_error(MYSQL *m, const char *what, struct errbuf *err)
{
	return error_set(err, -EIO, "%s: %s (MariaDB error %u)", what, mysql_error(m),
			 mysql_errno(m));
}

/* The server's current binlog position, where a stream without a
 * position file starts. */
static int current_position(MYSQL *m, struct binlog_pos *p, struct errbuf *err)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	bool have_file = false, have_pos = false;
	int rc = 0;

	if (mysql_query(m, "SHOW STATUS LIKE 'binlog_snapshot_%'") ||
	    !(res = mysql_store_result(m)))
		return binlog_server_error(m, "cannot read the binlog position", err);
	while ((row = mysql_fetch_row(res))) {
		if (!row[0] || !row[1])
			continue;
		if (!strcmp(row[0], "Binlog_snapshot_file") && strlen(row[1]) <= BINLOG_FILE_MAX) {
			strcpy(p->file, row[1]);
			have_file = binlog_file_name_valid(p->file);
		} else if (!strcmp(row[0], "Binlog_snapshot_position")) {
			char *end;

			errno = 0;
			p->pos = strtoull(row[1], &end, 10);
			have_pos = !errno && !*end && p->pos >= 4;
		}
	}
	mysql_free_result(res);
	if (!have_file || !have_pos)
		rc = error_set(err, -EINVAL,
			       "the server reports no usable binlog position: is the binary log on "
			       "(log_bin)?");
	return rc;
}

/* Whether the server still has binlog file `name`. */
static int server_has_file(MYSQL *m, const char *name, bool *has, struct errbuf *err)
{
	MYSQL_RES *res;
	MYSQL_ROW row;

	*has = false;
	if (mysql_query(m, "SHOW BINARY LOGS") || !(res = mysql_store_result(m)))
		return binlog_server_error(m, "cannot list the binlog files", err);
	while ((row = mysql_fetch_row(res)))
		if (row[0] && !strcmp(row[0], name))
			*has = true;
	mysql_free_result(res);
	return 0;
}

/* Whether the segment directory holds a segment already. */
static bool has_segments(const char *dir)
{
	struct binlog_pos start;
	struct dirent *de;
	size_t plen;
	bool found = false;
	DIR *d = opendir(dir);

	if (!d)
		return false;
	while (!found && (de = readdir(d)))
		found = binlog_segment_name_parse(de->d_name, &start, &plen);
	closedir(d);
	return found;
}

/* The newest backup's recorded snapshot position (binlogpos.h), or
 * -ENOENT when there is none to use (why is logged). */
static int newest_backup_position(const struct binlog_stream_opts *o, struct binlog_pos *p,
				  char backup[ARCHIVE_NAME_MAX])
{
	struct archive_list l = ARCHIVE_LIST_INIT;
	const struct archive_entry *e;
	char name[ARCHIVE_NAME_MAX + 32], path[PATH_MAX];
	struct errbuf e2;
	int rc = -ENOENT;

	if (!o->backups_dir)
		return -ENOENT;
	if (archive_scan(&l, o->backups_dir, o->prefix, &e2)) {
		logger_log(o->log, LOGL_WARN, "binlog_backup_position_unknown", "error=\"%s\"",
			   e2.msg);
		return -ENOENT;
	}
	e = archive_newest(&l);
	if (e && !backup_position_name(name, sizeof(name), e->name) &&
	    (size_t)snprintf(path, sizeof(path), "%s/%s", o->backups_dir, name) < sizeof(path)) {
		rc = binlog_position_load(path, p, &e2);
		if (rc && rc != -ENOENT) /* untrusted: not followed */
			logger_log(o->log, LOGL_WARN, "binlog_backup_position_bad", "error=\"%s\"",
				   e2.msg);
		snprintf(backup, ARCHIVE_NAME_MAX, "%s", e->name);
	}
	archive_list_release(&l);
	return rc ? -ENOENT : 0;
}

/* Where a stream without a position file starts.  In an empty segment
 * directory: the newest backup's snapshot position, so that backup can be
 * rolled forward, when it is recorded and the server still has that
 * file.  Else, and when segments are there already (the position file
 * was removed to start afresh: starting at a backup would overlap them),
 * the server's current position. */
int binlog_first_position(MYSQL *m, const struct binlog_stream_opts *o, struct binlog_pos *p,
			  struct errbuf *err)
{
	char backup[ARCHIVE_NAME_MAX];
	struct errbuf e2;
	bool has;

	if (!has_segments(o->dir) && !newest_backup_position(o, p, backup)) {
		if (!server_has_file(m, p->file, &has, &e2) && has) {
			logger_log(o->log, LOGL_INFO, "binlog_start",
				   "from=\"%s:%" PRIu64 "\" backup=%s", p->file, p->pos, backup);
			return 0;
		}
		/* (an error here, e.g. no binlog at all, is current_position's to say) */
		logger_log(o->log, LOGL_WARN, "binlog_backup_position_gone",
			   "backup=%s binlog_file=%s msg=\"the server does not have the "
			   "binlog file of the newest backup: the archive starts at the "
			   "server's current position; take a backup to roll forward from\"",
			   backup, p->file);
	}
	return current_position(m, p, err);
}

/* Whether the events will end in a CRC32, as agreed for this session. */
int binlog_checksum_length(MYSQL *m, size_t *len, struct errbuf *err)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	int rc = 0;

	if (mysql_query(m, "SELECT @master_binlog_checksum") || !(res = mysql_store_result(m)))
		return binlog_server_error(m, "cannot read the binlog checksum setting", err);
	row = mysql_fetch_row(res);
	if (row && row[0] && !strcmp(row[0], "CRC32"))
		*len = 4;
	else if (row && row[0] && !strcmp(row[0], "NONE"))
		*len = 0;
	else
		rc = error_set(err, -EPROTO,
			       "unknown binlog checksum '%s' (expected CRC32 or NONE)",
			       row && row[0] ? row[0] : "NULL");
	mysql_free_result(res);
	return rc;
}

/* 0 in the config: an id derived from the directory, not the server's. */
int binlog_replica_id(MYSQL *m, const struct binlog_stream_opts *o, uint32_t *id, bool *fatal,
		      struct errbuf *err)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	uint32_t own = 0, h = 2166136261u;

	if (mysql_query(m, "SELECT @@server_id") || !(res = mysql_store_result(m)))
		return binlog_server_error(m, "cannot read the server's server_id", err);
	if ((row = mysql_fetch_row(res)) && row[0])
		own = (uint32_t)strtoul(row[0], NULL, 10);
	mysql_free_result(res);
	*id = o->server_id;
	if (!*id) {
		for (const char *c = o->dir; *c; c++)
			h = (h ^ (unsigned char)*c) * 16777619u;
		*id = 1000000000u + h % 1000000000u;
		if (*id == own)
			(*id)++;
	}
	if (*id == own) {
		*fatal = true;
		return error_set(err, -EINVAL,
				 "[binlog] server_id %" PRIu32
				 " is the server's own: choose another, or 0 for a derived one",
				 *id);
	}
	return 0;
}
