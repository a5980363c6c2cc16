/* dumpfs prune [-c CONFIG] [--dry-run]: retention now (docs/retention.md),
 * one line per backup, newest first: "keep <name> <rules>" or
 * "delete <name>". */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../../dumper/archive.h"
#include "../../dumper/lock.h"
#include "cmd.h"
#include "cmdutil.h"
#include "../config/jobopts.h"

#define PRUNE_USAGE "usage: dumpfs prune [-c CONFIG] [--dry-run]\n"

struct prune_args {
	const char *config;
	int dry_run;
};

static int parse_args(int argc, char **argv, struct prune_args *a)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"dry-run", no_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->config = optarg;
			break;
		case 'n':
			a->dry_run = 1;
			break;
		default:
			fputs(PRUNE_USAGE, stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dumpfs: prune: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

static void print_line(void *arg, const char *name, unsigned keep)
{
	char rules[128];

	(void)arg;
	if (!keep) {
		printf("delete %s\n", name);
		return;
	}
	retention_format(keep, rules, sizeof(rules));
	printf("keep %s %s\n", name, rules);
}

/* Under the run lock unless a dry run (which changes nothing, and must
 * not make a scheduled backup skip its turn). */
static int prune(const struct config *cfg, bool dry_run, struct logger *lg, struct errbuf *err)
{
	struct runlock lk = RUNLOCK_INIT;
	struct archive_prune_opts po = {
		.dir = cfg->archive.dir,
		.prefix = cfg->archive.prefix,
		.now = time(NULL),
		.dry_run = dry_run,
		.report = print_line,
		.log = lg,
	};
	struct archive_prune_result res;
	int rc;

	jobopts_retention(&po.rules, cfg);
	if (!dry_run) {
		rc = runlock_acquire(&lk, cfg->archive.dir, NULL, err);
		if (rc == -EBUSY)
			return error_prefix(err, rc, "nothing deleted, try again when it ends");
		if (rc)
			return error_prefix(
				err, rc, "cannot use archive directory '%s' (check [archive] dir)",
				cfg->archive.dir);
	}
	rc = archive_prune(&po, &res, err);
	runlock_release(&lk);
	if (!rc && res.skipped)
		rc = error_set(err, -EAGAIN, "retention skipped, nothing deleted: %s", res.reason);
	if (!rc)
		logger_log(lg, LOGL_INFO, "prune_done", "dir=\"%s\" kept=%u deleted=%u dry_run=%s",
			   cfg->archive.dir, res.kept, res.deleted, dry_run ? "true" : "false");
	return rc;
}

int cmd_prune(int argc, char **argv, struct logger *lg)
{
	struct prune_args a;
	struct config cfg;
	struct errbuf err;
	int rc;

	errbuf_clear(&err);
	if (parse_args(argc, argv, &a))
		return EXIT_USAGE;
	if (cmd_load_config(&cfg, a.config, lg))
		return EXIT_USAGE;
	rc = prune(&cfg, a.dry_run, lg, &err);
	if (rc)
		cmd_error(lg, "prune", &err);
	config_release(&cfg);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "dumpfs: prune: cannot write the report to stdout\n");
		return EXIT_FAILED;
	}
	return rc ? EXIT_FAILED : EXIT_OK;
}
