/* What every command does first. */
#ifndef FS_CMDUTIL_H
#define FS_CMDUTIL_H

#include "../../dumper/log.h"
#include "../config/config.h"

/* Exit codes shared by the commands (check has its own, docs/commands.md). */
enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

/* Loads the configuration (-c `opt_path`, else $DUMPFS_CONFIG, else
 * /etc/dumpfs/dumpfs.ini), applies [log] to lg and removes secret
 * variables from the environment.  On failure prints "dumpfs: <why>" and
 * returns -1 with cfg released.  Until the file is read lines are text:
 * a config error is "dumpfs: <why>" whatever [log] format says. */
int cmd_load_config(struct config *cfg, const char *opt_path, struct logger *lg);
/* The same with config_load_alerts_only(): no key required. */
int cmd_load_alerts_config(struct config *cfg, const char *opt_path, struct logger *lg);

/* Parses the only option of backup, check and verify: -c/--config.
 * Returns the index of the first operand (argc when none), or -1 after
 * printing `usage` for an unknown option.  *config is borrowed from argv
 * (NULL when not given). */
int cmd_parse_config_opt(int argc, char **argv, const char *usage, const char **config);

/* The same for a command with no operand (backup, check, binlog):
 * 0, or -1 after printing the usage or "unexpected argument". */
int cmd_parse_config_only(int argc, char **argv, const char *command, const char **config);

/* --jobs N of restore and rehearse: 1 to 64.  Else prints why, naming
 * `command`, and returns -1. */
int cmd_parse_jobs(const char *command, const char *s, unsigned *out);

/* Prints "dumpfs: <command>: <message>" to stderr (a JSON line with
 * [log] format = json: logger_user_error). */
void cmd_error(struct logger *lg, const char *command, const struct errbuf *err);

#endif
