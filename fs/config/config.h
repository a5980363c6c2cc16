/* The configuration: docs/config.md.
 *
 * An INI file parsed with inih, then DUMPFS_<SECTION>_<KEY> environment
 * overrides, then `<key>_file` secrets read from files (Docker secrets).
 * Validation is strict: an unknown section or key, an invalid value, a
 * missing required key or an unreadable secret file fails the load with a
 * message naming the file, line and key (or the environment variable).
 *
 * All strings are owned by the config and freed by config_release();
 * optional strings that were not set are NULL (never "").
 */
#ifndef FS_CONFIG_H
#define FS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../../dumper/errbuf.h"
#include "../../dumper/log.h"
#include "../../dumper/schedule.h"

enum notify_on { NOTIFY_FAILURE, NOTIFY_ALWAYS, NOTIFY_NEVER };
enum smtp_tls { SMTP_TLS_TRY, SMTP_TLS_REQUIRE, SMTP_TLS_OFF };
enum snapshot_mode { SNAPSHOT_STREAM, SNAPSHOT_SPOOL };

struct db_target {
	char *host;    /* default "127.0.0.1"; ignored when socket is set */
	unsigned port; /* default 3306 */
	char *socket;
	char *user;
	char *password; /* secret; from password or password_file */
};

struct config {
	char *path; /* the file it was loaded from */

	struct {
		struct db_target conn;
		char **databases; /* NULL-terminated; NULL when empty: all user dbs */
		char *ssl_ca;
		unsigned read_timeout; /* seconds, default 600 */
	} mariadb;

	struct {
		bool routines, triggers, events;
		int compression_level;	    /* 1..9, default 6 */
		unsigned net_write_timeout; /* seconds, default 3600 */
		size_t max_insert_bytes;    /* default 1 MiB */
		unsigned threads;	    /* gzip threads, 0 = CPUs */
	} dump;

	struct {
		char *public_key_file;	   /* required */
		char *recipient;	   /* required */
		char *fingerprint;	   /* normalised: upper-case hex, no spaces */
		unsigned warn_expiry_days; /* default 30 */
	} gpg;

	struct {
		char *dir;				     /* default /var/lib/dumpfs/archive */
		char *prefix;				     /* default "mariadb" */
		struct schedule schedule;		     /* default 02:00 */
		unsigned keep_days, min_keep, max_age_hours; /* 30, 3, 26 */
		/* Retention tiers (docs/retention.md), 0 = off. */
		unsigned keep_daily, keep_weekly, keep_monthly, keep_yearly;
	} archive;

	struct {
		enum notify_on on;
		char *webhook_url;   /* secret */
		char *heartbeat_url; /* secret */
		char *ca_file;
		char *smtp_url;
		enum smtp_tls smtp_tls;
		char *smtp_user;
		char *smtp_password; /* secret */
		char *mail_from;
		char **mail_to; /* NULL-terminated; NULL when not set */
		char *mail_subject;
	} notify;

	struct {
		enum log_level level;
		char *file;
		bool syslog;
		enum log_format format; /* text (default) or json, every sink */
	} log;

	struct db_target restore; /* unset fields fall back to [mariadb] */
	struct {
		bool enabled;		  /* default false */
		unsigned segment_seconds; /* default 300 */
		unsigned max_lag_seconds; /* default 3600 */
		unsigned server_id;	  /* 0 (default) = derived */
	} binlog;

	struct {
		unsigned max_snapshot_readers; /* default 2 */
		enum snapshot_mode snapshot_mode;
		gid_t group; /* of the snapshot and archive files; default getgid() */
	} fs;
};

/* Loads `path` with overrides from `envp` (NULL-terminated "K=V" list,
 * usually environ).  On failure cfg is released and err says why. */
int config_load(struct config *cfg, const char *path, const char *const *envp, struct errbuf *err);
/* The same for a command that uses only [notify] and [log] (`rehearse` on
 * the DPO's workstation): every key is still checked where set, but
 * none is required. */
int config_load_alerts_only(struct config *cfg, const char *path, const char *const *envp,
			    struct errbuf *err);
void config_release(struct config *cfg);

/* Overwrites the values of the DUMPFS_* variables that carry secrets
 * (also in the initial environment block, /proc/PID/environ) and removes
 * them from the environment, so child processes (gpg, the client) never
 * inherit them.  Call after config_load(), which copies what it needs. */
void config_scrub_env(void);

#endif
