/* From the configuration to the dumper library's options. */
#include "jobopts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_CONFIG "/etc/dumpfs/dumpfs.ini"
/* Seconds without a byte from the server before the binlog stream counts
 * as broken: its heartbeat comes every second; also bounds how long a
 * stop waits for a read to return. */
#define BINLOG_READ_TIMEOUT 8

const char *jobopts_config_path(const char *opt)
{
	const char *env;

	if (opt && *opt)
		return opt;
	env = getenv("DUMPFS_CONFIG");
	return env && *env ? env : DEFAULT_CONFIG;
}

int jobopts_load_key(struct gpg_key **key, const struct config *cfg, struct errbuf *err)
{
	*key = NULL;
	return gpg_key_load(key, cfg->gpg.public_key_file, cfg->gpg.recipient, cfg->gpg.fingerprint,
			    err);
}

int jobopts_from_config(struct pipeline_opts *o, const struct config *cfg, struct gpg_key *key,
			struct logger *lg)
{
	const struct db_target *db = &cfg->mariadb.conn;

	memset(o, 0, sizeof(*o));
	o->sql.conn.host = db->host;
	o->sql.conn.port = db->port;
	o->sql.conn.socket = db->socket;
	o->sql.conn.user = db->user;
	o->sql.conn.password = db->password;
	o->sql.conn.ssl_ca = cfg->mariadb.ssl_ca;
	o->sql.conn.read_timeout = cfg->mariadb.read_timeout;
	o->sql.databases = (const char *const *)cfg->mariadb.databases;
	o->sql.routines = cfg->dump.routines;
	o->sql.triggers = cfg->dump.triggers;
	o->sql.events = cfg->dump.events;
	o->sql.max_insert_bytes = cfg->dump.max_insert_bytes;
	o->sql.net_write_timeout = cfg->dump.net_write_timeout;
	o->sql.log = lg;
	o->gz.level = cfg->dump.compression_level;
	o->gz.threads = cfg->dump.threads;
	o->gz.block_size = 0;
	o->key = key;
	return 0;
}

void jobopts_retention(struct retention_rules *r, const struct config *cfg)
{
	r->days = cfg->archive.keep_days;
	r->daily = cfg->archive.keep_daily;
	r->weekly = cfg->archive.keep_weekly;
	r->monthly = cfg->archive.keep_monthly;
	r->yearly = cfg->archive.keep_yearly;
	r->min_keep = cfg->archive.min_keep;
}

void jobopts_backup(struct backup_opts *b, const struct config *cfg,
		    const struct pipeline_opts *pipeline, struct logger *lg)
{
	memset(b, 0, sizeof(*b));
	b->dir = cfg->archive.dir;
	b->prefix = cfg->archive.prefix;
	jobopts_retention(&b->retention, cfg);
	b->pipeline = pipeline;
	b->log = lg;
	b->group = cfg->fs.group;
}

int jobopts_binlog_dir(char *buf, size_t len, const struct config *cfg, bool make,
		       struct errbuf *err)
{
	if ((size_t)snprintf(buf, len, "%s/%s", cfg->archive.dir, BINLOG_DIR_NAME) >= len)
		return error_set(err, -ENAMETOOLONG, "[archive] dir '%s' is too long",
				 cfg->archive.dir);
	if (!make)
		return 0;
	if (mkdir(buf, 0750)) {
		struct stat st;

		/* the archive's own directory, never a link to elsewhere */
		if (errno == EEXIST && !lstat(buf, &st) && S_ISDIR(st.st_mode))
			return 0;
		if (errno == EEXIST)
			return error_set(err, -ENOTDIR,
					 "'%s' is not a directory (a symlink?): move it away", buf);
		return error_set(err, -errno, "cannot create '%s': %s (check [archive] dir)", buf,
				 strerror(errno));
	}
	/* the segments' group ([fs] group) must be able to get to them */
	if (chown(buf, (uid_t)-1, cfg->fs.group))
		return error_set(err, -errno,
				 "cannot give '%s' to group %u: %s (check [fs] group: this user "
				 "must be a member of it)",
				 buf, (unsigned)cfg->fs.group, strerror(errno));
	return 0;
}

void jobopts_binlog(struct binlog_stream_opts *o, const struct config *cfg, const char *dir,
		    struct gpg_key *key, struct logger *lg)
{
	memset(o, 0, sizeof(*o));
	o->conn.host = cfg->mariadb.conn.host;
	o->conn.port = cfg->mariadb.conn.port;
	o->conn.socket = cfg->mariadb.conn.socket;
	o->conn.user = cfg->mariadb.conn.user;
	o->conn.password = cfg->mariadb.conn.password;
	o->conn.ssl_ca = cfg->mariadb.ssl_ca;
	o->conn.read_timeout = BINLOG_READ_TIMEOUT;
	o->server_id = cfg->binlog.server_id;
	o->segment_seconds = cfg->binlog.segment_seconds;
	o->dir = dir;
	o->backups_dir = cfg->archive.dir;
	o->prefix = cfg->archive.prefix;
	o->key = key;
	o->compression_level = cfg->dump.compression_level;
	o->group = cfg->fs.group;
	o->log = lg;
}
