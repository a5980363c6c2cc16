/* dumpfs check [-c CONFIG]: the status/health line, as an exit code too:
 * 0 OK, 1 CRITICAL, 2 NONE, 3 could not tell (Nagios' UNKNOWN). */
#include <stdio.h>
#include <time.h>

#include "../../dumper/archive.h"
#include "../../dumper/binlog.h"
#include "../../dumper/state.h"
#include "../../dumper/status.h"
#include "cmd.h"
#include "cmdutil.h"
#include "../config/config.h"
#include "../config/jobopts.h"

#define EXIT_UNKNOWN 3

extern char **environ;

static int unknown(const char *msg)
{
	printf("UNKNOWN %s\n", msg);
	fprintf(stderr, "dumpfs: check: %s\n", msg);
	return EXIT_UNKNOWN;
}

static int check(const struct config *cfg)
{
	struct archive_list l = ARCHIVE_LIST_INIT;
	struct strbuf sb = STRBUF_INIT;
	struct status_input in = {0};
	struct binlog_report br;
	char dir[4096];
	struct status_eval ev;
	struct run_state st;
	struct errbuf err;

	errbuf_clear(&err);
	if (archive_scan(&l, cfg->archive.dir, cfg->archive.prefix, &err))
		return unknown(err.msg);
	/* Health does not depend on the state; a bad state file is only
	 * worth a warning here. */
	if (state_read(&st, cfg->archive.dir, &err))
		fprintf(stderr, "dumpfs: check: warning: %s\n", err.msg);
	in.archives = &l;
	in.state = &st;
	in.now = time(NULL);
	in.max_age_hours = cfg->archive.max_age_hours;
	in.next_run = (time_t)-1;
	in.key_expires = (time_t)-1;
	if (cfg->binlog.enabled) {
		if ((size_t)snprintf(dir, sizeof(dir), "%s/" BINLOG_DIR_NAME, cfg->archive.dir) >=
		    sizeof(dir)) {
			archive_list_release(&l);
			return unknown("[archive] dir is too long");
		}
		binlog_report_read(&br, dir, cfg->archive.prefix, cfg->binlog.max_lag_seconds);
		in.binlog = &br;
	}
	status_evaluate(&in, &ev);
	if (status_render(STATUS_HEALTH, &in, &sb)) {
		archive_list_release(&l);
		return unknown("out of memory");
	}
	fputs(strbuf_str(&sb), stdout);
	strbuf_release(&sb);
	archive_list_release(&l);
	return status_exit_code(ev.health);
}

int cmd_check(int argc, char **argv, struct logger *lg)
{
	const char *config;
	struct config cfg;
	struct errbuf err;
	int rc;

	(void)lg;
	errbuf_clear(&err);
	if (cmd_parse_config_only(argc, argv, "check", &config))
		return EXIT_UNKNOWN;
	if (config_load(&cfg, jobopts_config_path(config), (const char *const *)environ, &err))
		return unknown(err.msg);
	config_scrub_env();
	rc = check(&cfg);
	config_release(&cfg);
	if (fflush(stdout) != 0)
		return EXIT_UNKNOWN;
	return rc;
}
