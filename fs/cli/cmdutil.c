#include "cmdutil.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../config/jobopts.h"

extern char **environ;

static int load_config(struct config *cfg, const char *opt_path, bool alerts_only,
		       struct logger *lg)
{
	const char *path = jobopts_config_path(opt_path);
	const char *const *envp = (const char *const *)environ;
	struct errbuf err;

	errbuf_clear(&err);
	if (alerts_only ? config_load_alerts_only(cfg, path, envp, &err)
			: config_load(cfg, path, envp, &err)) {
		fprintf(stderr, "dumpfs: %s\n", err.msg);
		return -1;
	}
	config_scrub_env();
	logger_set_level(lg, cfg->log.level);
	logger_set_format(lg, cfg->log.format);
	if (cfg->log.syslog)
		logger_set_syslog(lg, "dumpfs");
	if (cfg->log.file && logger_set_file(lg, cfg->log.file, &err)) {
		logger_user_error(lg, NULL, err.msg);
		config_release(cfg);
		return -1;
	}
	return 0;
}

int cmd_load_config(struct config *cfg, const char *opt_path, struct logger *lg)
{
	return load_config(cfg, opt_path, false, lg);
}

int cmd_load_alerts_config(struct config *cfg, const char *opt_path, struct logger *lg)
{
	return load_config(cfg, opt_path, true, lg);
}

int cmd_parse_jobs(const char *command, const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < 1 || v > 64) {
		fprintf(stderr, "dumpfs: %s: --jobs takes a number from 1 to 64, not '%s'\n",
			command, s);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

void cmd_error(struct logger *lg, const char *command, const struct errbuf *err)
{
	logger_user_error(lg, command, err->msg[0] ? err->msg : "failed");
}

int cmd_parse_config_opt(int argc, char **argv, const char *usage, const char **config)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{NULL, 0, NULL, 0},
	};
	int c;

	*config = NULL;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		if (c != 'c') {
			fprintf(stderr, "usage: %s\n", usage);
			return -1;
		}
		*config = optarg;
	}
	return optind;
}

int cmd_parse_config_only(int argc, char **argv, const char *command, const char **config)
{
	char usage[64];
	int first;

	snprintf(usage, sizeof(usage), "dumpfs %s [-c CONFIG]", command);
	first = cmd_parse_config_opt(argc, argv, usage, config);
	if (first >= 0 && first < argc) {
		fprintf(stderr, "dumpfs: %s: unexpected argument '%s'\n", command, argv[first]);
		return -1;
	}
	return first < 0 ? -1 : 0;
}
