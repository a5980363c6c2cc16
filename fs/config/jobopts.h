/* From the configuration to the dumper library's options: shared by the
 * commands (dump, backup, ...) and the mount. */
#ifndef FS_JOBOPTS_H
#define FS_JOBOPTS_H

#include "../../dumper/backup.h"
#include "../../dumper/binlog.h"
#include "../../dumper/pipeline.h"
#include "config.h"

/* The config file to use: `opt` (-c) when set, else $DUMPFS_CONFIG when
 * set and non-empty, else "/etc/dumpfs/dumpfs.ini".  Borrowed strings. */
const char *jobopts_config_path(const char *opt);

/* Loads the configured public key ([gpg] public_key_file, recipient,
 * fingerprint); *key is the caller's (gpg_key_free). */
int jobopts_load_key(struct gpg_key **key, const struct config *cfg, struct errbuf *err);

/* Fills *o from cfg.  Everything is borrowed from cfg, key and lg, which
 * must outlive *o.  key NULL = plain SQL. */
int jobopts_from_config(struct pipeline_opts *o, const struct config *cfg, struct gpg_key *key,
			struct logger *lg);

/* The retention rules of cfg's [archive] section. */
void jobopts_retention(struct retention_rules *r, const struct config *cfg);

/* Fills *b from cfg's [archive] section; `pipeline` and lg borrowed. */
void jobopts_backup(struct backup_opts *b, const struct config *cfg,
		    const struct pipeline_opts *pipeline, struct logger *lg);

/* "<[archive] dir>/binlog" into buf (the segment directory, docs/pitr.md);
 * with `make`, created (0750, [fs] group) when missing. */
int jobopts_binlog_dir(char *buf, size_t len, const struct config *cfg, bool make,
		       struct errbuf *err);

/* Fills *o from cfg's [binlog] and [mariadb] sections to stream into
 * `dir`; everything borrowed from cfg, dir, key and lg.  No alerts
 * (o->alert NULL). */
void jobopts_binlog(struct binlog_stream_opts *o, const struct config *cfg, const char *dir,
		    struct gpg_key *key, struct logger *lg);

#endif
