/* From the configuration to the dumper library's options. */
#include "jobopts.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_CONFIG "/etc/dumpfs/dumpfs.ini"

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
