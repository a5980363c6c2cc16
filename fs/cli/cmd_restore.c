/* dumpfs restore [-c CONFIG] FILE [--to-stdout] [--database NAME] [--jobs N]
 *                [--until "YYYY-MM-DD HH:MM:SS"|latest [--binlog-dir DIR]]
 *
 * The target server is [restore], each unset key falling back to
 * [mariadb], with two exceptions that keep a partial [restore] from
 * mixing two servers or two accounts: once [restore] sets host or socket,
 * [mariadb]'s socket and ssl_ca are not used; once it sets user, the
 * password comes from [restore] only (none when unset). */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../dumper/dbconn.h"
#include "../../dumper/restore.h"
#include "../../dumper/timefmt.h"
#include "cmd.h"
#include "cmdutil.h"
#include "../config/jobopts.h"
#include "sigcancel.h"

struct restore_args {
	const char *config;
	const char *file;
	const char *database; /* NULL: every database in the dump */
	int to_stdout;
	unsigned jobs;	   /* 0: the number of CPUs */
	const char *until; /* NULL: no binlog replay */
	bool has_until;	   /* false with until "latest" */
	time_t until_time;
	const char *binlog_dir;
};

static void restore_usage(void)
{
	fprintf(stderr, "usage: dumpfs restore [-c CONFIG] FILE [--to-stdout] [--database NAME] "
			"[--jobs N]\n"
			"                      [--until \"YYYY-MM-DD HH:MM:SS\"|latest "
			"[--binlog-dir DIR]]\n");
}

static int parse_until(struct restore_args *a)
{
	int rc;

	if (a->binlog_dir && !a->until) {
		fprintf(stderr, "dumpfs: restore: --binlog-dir goes with --until\n");
		return -1;
	}
	if (!a->until || !strcmp(a->until, "latest"))
		return 0;
	rc = parse_local_datetime(a->until, &a->until_time);
	if (rc == -ERANGE) {
		fprintf(stderr,
			"dumpfs: restore: --until '%s' happens twice in local time (clocks "
			"go back then): give it in UTC with TZ=UTC\n",
			a->until);
		return -1;
	}
	if (rc) {
		fprintf(stderr,
			"dumpfs: restore: --until '%s' is not \"YYYY-MM-DD HH:MM:SS\" (an "
			"existing local time) or \"latest\"\n",
			a->until);
		return -1;
	}
	a->has_until = true;
	return 0;
}

static int parse_args(int argc, char **argv, struct restore_args *a)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"to-stdout", no_argument, NULL, 's'},
		{"database", required_argument, NULL, 'd'},
		{"jobs", required_argument, NULL, 'j'},
		{"until", required_argument, NULL, 'u'},
		{"binlog-dir", required_argument, NULL, 'b'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:d:j:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->config = optarg;
			break;
		case 's':
			a->to_stdout = 1;
			break;
		case 'd':
			a->database = optarg;
			break;
		case 'j':
			if (cmd_parse_jobs("restore", optarg, &a->jobs))
				return -1;
			break;
		case 'u':
			a->until = optarg;
			break;
		case 'b':
			a->binlog_dir = optarg;
			break;
		default:
			restore_usage();
			return -1;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "dumpfs: restore: missing FILE\n");
		restore_usage();
		return -1;
	}
	a->file = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "dumpfs: restore: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (a->database && !a->database[0]) {
		fprintf(stderr, "dumpfs: restore: --database needs a name\n");
		return -1;
	}
	return parse_until(a);
}

static void resolve_target(struct restore_target *t, const struct config *cfg)
{
	const struct db_target *r = &cfg->restore, *m = &cfg->mariadb.conn;
	int own_endpoint = r->host || r->socket;

	memset(t, 0, sizeof(*t));
	t->host = r->host ? r->host : m->host;
	t->port = r->port ? r->port : m->port;
	t->socket = r->socket ? r->socket : own_endpoint ? NULL : m->socket;
	t->ssl_ca = own_endpoint ? NULL : cfg->mariadb.ssl_ca;
	t->user = r->user ? r->user : m->user;
	t->password = r->user ? r->password : m->password;
}

/* --to-stdout needs no config: the DPO's machine may have none.  Only
 * when none was asked for (-c, $DUMPFS_CONFIG) and the default is absent. */
static int config_optional(const struct restore_args *a)
{
	const char *env = getenv("DUMPFS_CONFIG");

	if (!a->to_stdout || a->config || (env && *env))
		return 0;
	return access(jobopts_config_path(NULL), F_OK) && errno == ENOENT;
}

static void cancel_restore(void *r)
{
	restore_cancel(r);
}

static int run(const struct restore_opts *o, struct restore_stats *st, struct errbuf *err)
{
	struct restore *r;
	struct sigcancel sc;
	int ret;

	ret = restore_new(&r, o, err);
	if (ret)
		return ret;
	ret = sigcancel_start(&sc, cancel_restore, r, err);
	if (!ret) {
		ret = restore_run(r, st, err);
		sigcancel_stop(&sc);
	}
	restore_free(r);
	return ret;
}

static void describe(const struct restore_opts *o, char *buf, size_t len)
{
	struct dbconn_opts d;

	if (o->out_fd >= 0) {
		snprintf(buf, len, "stdout");
		return;
	}
	memset(&d, 0, sizeof(d));
	d.host = o->target.host;
	d.port = o->target.port;
	d.socket = o->target.socket;
	dbconn_describe(&d, buf, len);
}

static void report(const struct restore_opts *o, int ret, const struct restore_stats *st,
		   const struct errbuf *err, struct logger *lg)
{
	char where[512];

	describe(o, where, sizeof(where));
	if (ret) {
		cmd_error(lg, "restore", err);
		logger_log(lg, LOGL_ERROR, "restore_failed",
			   "file=\"%s\" target=\"%s\" error=\"%s\"", o->file, where, err->msg);
		return;
	}
	if (o->pitr)
		logger_log(lg, LOGL_INFO, "pitr_done",
			   "file=\"%s\" segments=%u events=%llu skipped=%llu last_event=%lld",
			   o->file, st->segments, (unsigned long long)st->binlog_events,
			   (unsigned long long)st->binlog_skipped,
			   (long long)st->binlog_last_event);
	logger_log(lg, LOGL_INFO, "restore_done",
		   "file=\"%s\" target=\"%s\" database=\"%s\" sidecar=%s sql_bytes=%llu "
		   "statements=%llu seconds=%.1f jobs=%u",
		   o->file, where, o->database ? o->database : "(all)",
		   st->sidecar_checked ? "match" : "none", (unsigned long long)st->sql_bytes,
		   (unsigned long long)st->statements, st->seconds, st->jobs);
}

int cmd_restore(int argc, char **argv, struct logger *lg)
{
	struct restore_args a;
	struct restore_opts o;
	struct restore_stats st;
	struct config cfg;
	struct errbuf err;
	int have_cfg = 0, ret;

	errbuf_clear(&err);
	if (parse_args(argc, argv, &a))
		return EXIT_USAGE;
	if (config_optional(&a)) {
		config_scrub_env();
	} else {
		if (cmd_load_config(&cfg, a.config, lg))
			return EXIT_USAGE;
		have_cfg = 1;
	}
	memset(&o, 0, sizeof(o));
	o.file = a.file;
	o.database = a.database;
	o.out_fd = a.to_stdout ? STDOUT_FILENO : -1;
	o.jobs = a.jobs;
	o.pitr = a.until != NULL;
	o.has_until = a.has_until;
	o.until = a.until_time;
	o.binlog_dir = a.binlog_dir;
	o.progress = isatty(STDERR_FILENO);
	o.log = lg;
	if (have_cfg)
		resolve_target(&o.target, &cfg);
	ret = run(&o, &st, &err);
	report(&o, ret, &st, &err, lg);
	if (have_cfg)
		config_release(&cfg);
	return ret ? EXIT_FAILED : EXIT_OK;
}
