/* dumpfs binlog [-c CONFIG]: archive the binlog in the foreground until
 * SIGINT/SIGTERM (docs/pitr.md). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../dumper/archive.h"
#include "../../dumper/binlog.h"
#include "../../dumper/lock.h"
#include "../config/jobopts.h"
#include "cmd.h"
#include "cmdutil.h"
#include "sigcancel.h"

#define BINLOG_SUBDIR "binlog"
/* Seconds without a byte from the server before the stream counts as
 * broken: its heartbeat comes every second; also bounds how long a
 * SIGTERM waits for a read to return. */
#define STREAM_READ_TIMEOUT 8

static void cancel_stream(void *s)
{
	binlog_stream_cancel(s);
}

/* "<archive dir>/binlog", made (0750) when missing. */
static int segment_dir(char *buf, size_t len, const struct config *cfg, struct errbuf *err)
{
	if ((size_t)snprintf(buf, len, "%s/%s", cfg->archive.dir, BINLOG_SUBDIR) >= len)
		return error_set(err, -ENAMETOOLONG, "[archive] dir '%s' is too long",
				 cfg->archive.dir);
	if (mkdir(buf, 0750)) {
		if (errno == EEXIST)
			return 0;
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

static void stream_opts(struct binlog_stream_opts *o, const struct config *cfg, const char *dir,
			struct gpg_key *key, struct logger *lg)
{
	memset(o, 0, sizeof(*o));
	o->conn.host = cfg->mariadb.conn.host;
	o->conn.port = cfg->mariadb.conn.port;
	o->conn.socket = cfg->mariadb.conn.socket;
	o->conn.user = cfg->mariadb.conn.user;
	o->conn.password = cfg->mariadb.conn.password;
	o->conn.ssl_ca = cfg->mariadb.ssl_ca;
	o->conn.read_timeout = STREAM_READ_TIMEOUT;
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

static int stream(const struct binlog_stream_opts *o, struct errbuf *err)
{
	struct runlock lock = RUNLOCK_INIT;
	struct binlog_stream *s = NULL;
	struct sigcancel sc;
	pid_t holder = 0;
	int rc = runlock_acquire(&lock, o->dir, &holder, err);

	if (rc == -EBUSY && holder)
		return error_set(err, rc, "another binlog streamer (pid %d) archives into '%s'",
				 (int)holder, o->dir);
	if (rc == -EBUSY)
		return error_set(err, rc, "another binlog streamer archives into '%s'", o->dir);
	/* Under the lock every temporary here is a dead streamer's (its
	 * segment, OpenPGP data only, or the position file): all go. */
	if (!rc)
		rc = archive_clean_temps(o->dir, NULL, true, time(NULL), o->log, NULL, err);
	if (!rc)
		rc = binlog_stream_new(&s, o, err);
	if (!rc && !(rc = sigcancel_start(&sc, cancel_stream, s, err))) {
		rc = binlog_stream_run(s, err);
		sigcancel_stop(&sc);
	}
	binlog_stream_free(s);
	runlock_release(&lock);
	return rc;
}

int cmd_binlog(int argc, char **argv, struct logger *lg)
{
	struct binlog_stream_opts o;
	struct gpg_key *key = NULL;
	const char *config = NULL;
	char dir[4096];
	struct config cfg;
	struct errbuf err;
	int rc;

	errbuf_clear(&err);
	if (cmd_parse_config_only(argc, argv, "binlog", &config))
		return EXIT_USAGE;
	if (cmd_load_config(&cfg, config, lg))
		return EXIT_USAGE;
	if (!cfg.binlog.enabled) {
		fprintf(stderr,
			"dumpfs: binlog: [binlog] enabled is false in '%s': set it to "
			"true to archive the binlog\n",
			cfg.path);
		config_release(&cfg);
		return EXIT_USAGE;
	}
	rc = jobopts_load_key(&key, &cfg, &err);
	if (rc) {
		cmd_error(lg, "binlog", &err);
		config_release(&cfg);
		return EXIT_USAGE;
	}
	rc = segment_dir(dir, sizeof(dir), &cfg, &err);
	if (!rc) {
		stream_opts(&o, &cfg, dir, key, lg);
		rc = stream(&o, &err);
	}
	if (rc) {
		cmd_error(lg, "binlog", &err);
		logger_log(lg, LOGL_ERROR, "binlog_failed", "error=\"%s\"", err.msg);
	}
	gpg_key_free(key);
	config_release(&cfg);
	return rc ? EXIT_FAILED : EXIT_OK;
}
