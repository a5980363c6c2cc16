/* dumpfs backup [-c CONFIG]: one archive backup now. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../../dumper/backup.h"
#include "../../dumper/state.h"
#include "../../dumper/tmphome.h"
#include "../config/alerts.h"
#include "cmd.h"
#include "cmdutil.h"
#include "../config/jobopts.h"
#include "sigcancel.h"

static void cancel_backup(void *b)
{
	backup_cancel(b);
}

/* The run itself, with SIGINT/SIGTERM/SIGHUP turned into a clean cancel. */
static int run(const struct backup_opts *bo, struct backup_result *res, struct errbuf *err)
{
	struct backup *b = NULL;
	struct sigcancel sc;
	int rc;

	rc = backup_new(&b, bo, err);
	if (rc)
		return rc;
	rc = sigcancel_start(&sc, cancel_backup, b, err);
	if (!rc) {
		rc = backup_run(b, res, err);
		sigcancel_stop(&sc);
	}
	backup_free(b);
	return rc;
}

/* A failure before the run could start (the key): status must show it. */
static void record_early_failure(const struct config *cfg, const struct errbuf *err,
				 struct logger *lg)
{
	struct errbuf e2;

	logger_log(lg, LOGL_ERROR, "backup_failed", "dir=\"%s\" error=\"%s\"", cfg->archive.dir,
		   err->msg);
	if (state_record_failure(cfg->archive.dir, time(NULL), err->msg, &e2))
		logger_log(lg, LOGL_ERROR, "state_error", "error=\"%s\"", e2.msg);
}

int cmd_backup(int argc, char **argv, struct logger *lg)
{
	struct pipeline_opts po;
	struct backup_opts bo;
	struct backup_result res;
	struct gpg_key *key = NULL;
	struct notifier *nt = NULL;
	struct notify_run nrun;
	const char *config;
	struct config cfg;
	struct errbuf err;
	int rc;

	errbuf_clear(&err);
	if (cmd_parse_config_only(argc, argv, "backup", &config))
		return EXIT_USAGE;
	if (cmd_load_config(&cfg, config, lg))
		return EXIT_USAGE;
	if (alerts_new(&nt, &cfg, lg, &err)) {
		cmd_error(lg, "backup", &err);
		config_release(&cfg);
		return EXIT_USAGE;
	}
	notifier_run_begin(nt, &nrun); /* the state before this run */
	tmphome_sweep(lg);	       /* GnuPG homes of killed runs, before we make ours */
	rc = jobopts_load_key(&key, &cfg, &err);
	if (rc) {
		record_early_failure(&cfg, &err, lg);
	} else {
		struct gpg_key_info ki;

		gpg_key_get_info(key, &ki);
		notifier_set_key(nt, &ki);
		jobopts_from_config(&po, &cfg, key, lg);
		jobopts_backup(&bo, &cfg, &po, lg);
		rc = run(&bo, &res, &err);
	}
	if (rc)
		cmd_error(lg, "backup", &err);
	notifier_run_end(nt, &nrun, rc, rc ? NULL : &res, rc ? err.msg : NULL);
	notifier_free(nt);
	gpg_key_free(key);
	config_release(&cfg);
	return rc ? EXIT_FAILED : EXIT_OK;
}
