/* dumpfs binlog [-c CONFIG]: archive the binlog in the foreground until
 * SIGINT/SIGTERM (docs/pitr.md). */
#include <stdio.h>

#include "../../dumper/binlog.h"
#include "../config/alerts.h"
#include "../config/jobopts.h"
#include "cmd.h"
#include "cmdutil.h"
#include "sigcancel.h"

static void cancel_stream(void *s)
{
	binlog_stream_cancel(s);
}

static int stream(const struct binlog_stream_opts *o, struct errbuf *err)
{
	struct binlog_stream *s = NULL;
	struct sigcancel sc;
	int rc = binlog_stream_new(&s, o, err);

	if (!rc && !(rc = sigcancel_start(&sc, cancel_stream, s, err))) {
		rc = binlog_stream_run(s, err);
		sigcancel_stop(&sc);
	}
	binlog_stream_free(s);
	return rc;
}

int cmd_binlog(int argc, char **argv, struct logger *lg)
{
	struct binlog_stream_opts o;
	struct notifier *nt = NULL;
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
	rc = jobopts_binlog_dir(dir, sizeof(dir), &cfg, true, &err);
	/* alerts from a thread: the stream never waits for a webhook */
	if (!rc && !(rc = alerts_new(&nt, &cfg, lg, &err)))
		rc = notifier_start(nt, 0, &err);
	if (!rc) {
		jobopts_binlog(&o, &cfg, dir, key, lg);
		o.alert = notifier_binlog_hook;
		o.alert_arg = nt;
		rc = stream(&o, &err);
	}
	if (rc) {
		cmd_error(lg, "binlog", &err);
		logger_log(lg, LOGL_ERROR, "binlog_failed", "error=\"%s\"", err.msg);
	}
	notifier_free(nt); /* delivers what is queued, bounded */
	gpg_key_free(key);
	config_release(&cfg);
	return rc ? EXIT_FAILED : EXIT_OK;
}
