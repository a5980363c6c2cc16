#include "usage.h"

#include <string.h>

static const char overview[] =
	"usage: dumpfs CONFIG MOUNTPOINT [-f] [-o OPT[,OPT...]]   mount (also: dumpfs mount ...)\n"
	"       dumpfs dump    [-c CONFIG] [-o FILE] [--plain]     one dump to stdout or FILE\n"
	"       dumpfs backup  [-c CONFIG]                         one archive backup now\n"
	"       dumpfs check   [-c CONFIG]                         freshness check for monitoring\n"
	"       dumpfs verify  [-c CONFIG] FILE...                 integrity check without the "
	"private key\n"
	"       dumpfs restore [-c CONFIG] FILE [--to-stdout] [--database NAME] [--jobs N]\n"
	"                      [--until \"YYYY-MM-DD HH:MM:SS\"|latest [--binlog-dir DIR]]\n"
	"                                                          decrypt + gunzip + load into "
	"MariaDB\n"
	"       dumpfs prune   [-c CONFIG] [--dry-run]             retention now\n"
	"       dumpfs rehearse [-c CONFIG] FILE [--json] [--jobs N]\n"
	"                                                          restore into a throwaway "
	"server, compare\n"
	"       dumpfs binlog  [-c CONFIG]                         archive the binlog "
	"(foreground)\n"
	"       dumpfs --version | --help | help COMMAND\n"
	"\n"
	"CONFIG defaults to $DUMPFS_CONFIG, else /etc/dumpfs/dumpfs.ini.\n"
	"\n"
	"Exit codes:\n"
	"  mount, dump, backup, verify, restore, prune: 0 success, 1 failure, 2 usage or\n"
	"    configuration error (nothing was done).\n"
	"  check: 0 OK, 1 CRITICAL (newest backup older than max_age_hours, or dated\n"
	"    in the future), 2 NONE (no backup found), 3 could not tell (bad config,\n"
	"    unreadable dir).\n"
	"\n"
	"Logs: [log] format = text (default) or json: one JSON object a line on\n"
	"  stderr, [log] file and syslog, for a SIEM (dumpfs(1), LOGGING).\n"
	"\n"
	"See dumpfs(1) and README.md.\n";

struct command_help {
	const char *name;
	const char *text;
};

static const struct command_help helps[] = {
	{"mount", "usage: dumpfs CONFIG MOUNTPOINT [-f] [-o OPT[,OPT...]]\n"
		  "       dumpfs mount CONFIG MOUNTPOINT [-f] [-o OPT[,OPT...]]\n"
		  "       mount -t fuse.dumpfs CONFIG MOUNTPOINT\n"
		  "Mounts the read-only tree snapshot/, archive/, status/ and runs the\n"
		  "[archive] schedule.  -f stays in the foreground; -o passes FUSE options\n"
		  "(allow_other, ...).  A stale mount on MOUNTPOINT is detached first.\n"
		  "The snapshot and the backups are readable by the daemon's user and\n"
		  "[fs] group only (0440); status/ by everyone.\n"
		  "snapshot/databases/NAME.sql.gz.gpg: the same dump, one database alone.\n"
		  "Exit: 0 after a clean unmount (fusermount3 -u, SIGTERM), 1 failure,\n"
		  "2 configuration error (nothing mounted).\n"},
	{"dump", "usage: dumpfs dump [-c CONFIG] [-o FILE] [--plain]\n"
		 "Writes one consistent dump of the configured databases: gzip inside\n"
		 "OpenPGP encrypted to every [gpg] recipient (any one private key\n"
		 "decrypts it).  With -o FILE the dump goes to a\n"
		 "hidden temporary next to FILE, renamed to FILE only when complete.\n"
		 "--plain writes the SQL text itself (no gzip, no encryption): only to\n"
		 "stdout, never with -o.  Refuses to write binary data to a terminal.\n"
		 "Exit: 0 success, 1 the dump failed (no FILE is left), 2 usage/config.\n"},
	{"backup", "usage: dumpfs backup [-c CONFIG]\n"
		   "Writes one archive backup <prefix>_YYYY-MM-DD_HHMMSS.sql.gz.gpg and its\n"
		   ".sha256 sidecar (both 0440, group [fs] group) into [archive] dir, then\n"
		   "applies retention (keep_days counted back from the newest backup's\n"
		   "date, keep_daily/weekly/monthly/yearly, min_keep; skipped, with a\n"
		   "warning and a notice, when the dates look like a clock jump).\n"
		   "Updates the state shown in status/ and notifies as configured.  A\n"
		   "server that stops answering fails the run after\n"
		   "[mariadb] read_timeout.\n"
		   "Exit: 0 success, 1 failure (also when another backup is running),\n"
		   "2 usage/config.\n"},
	{"check", "usage: dumpfs check [-c CONFIG]\n"
		  "Prints the status/health line and exits 0 OK, 1 CRITICAL, 2 NONE,\n"
		  "3 could not tell.  Reads the archive dir directly; no mount needed.\n"},
	{"verify", "usage: dumpfs verify [-c CONFIG] FILE...\n"
		   "Checks each FILE against its .sha256 sidecar and that it is a\n"
		   "well-formed OpenPGP message addressed to every configured [gpg]\n"
		   "recipient (a missing one is named: a file made before a key was added\n"
		   "lacks it).  No private key needed.\n"
		   "Exit: 0 all good, 1 any file bad, 2 usage/config.\n"},
	{"restore", "usage: dumpfs restore [-c CONFIG] FILE [--to-stdout] [--database NAME] "
		    "[--jobs N]\n"
		    "       [--until \"YYYY-MM-DD HH:MM:SS\"|latest [--binlog-dir DIR]]\n"
		    "Checks the sidecar when present, decrypts with the private key from\n"
		    "GnuPG's keyring (GNUPGHOME), gunzips and streams the SQL into the\n"
		    "server of [restore] (defaults to [mariadb]), or to stdout.  Never\n"
		    "writes plaintext to disk.  A client command in the file (\\!, system,\n"
		    "source, ...) fails the restore, naming its line.\n"
		    "--jobs N (1-64, default: the number of CPUs): the tables' rows load on\n"
		    "N connections, everything else on one more, in the dump's order.\n"
		    "--until TIME (local time) or latest: then replays the archived binlog\n"
		    "(DIR, default <directory of FILE>/binlog) from the dump's position up\n"
		    "to TIME, through mariadb-binlog; every segment is checked (sidecar,\n"
		    "decryption, events, no gap) before anything is loaded.\n"
		    "Exit: 0 success, 1 failure, 2 usage/config.\n"},
	{"prune", "usage: dumpfs prune [-c CONFIG] [--dry-run]\n"
		  "Applies the [archive] retention rules now, under the run lock, and\n"
		  "prints one line per backup, newest first: \"keep NAME RULES\" (RULES\n"
		  "from days,daily,weekly,monthly,yearly,min_keep) or \"delete NAME\".\n"
		  "A deleted backup's .sha256 sidecar goes with it.  --dry-run deletes\n"
		  "nothing.  Nothing is deleted while a backup runs, or when the newest\n"
		  "backup is dated in the future.\n"
		  "Exit: 0 success, 1 failure, 2 usage/config.\n"},
	{"rehearse", "usage: dumpfs rehearse [-c CONFIG] FILE [--json] [--jobs N]\n"
		     "Restores FILE (private key from GnuPG's keyring, as restore) into a\n"
		     "throwaway MariaDB server of its own (mariadb-install-db and mariadbd\n"
		     "from PATH; unix socket only, a private directory under TMPDIR, its\n"
		     "data encrypted with keys held in memory; all removed at the end, also\n"
		     "on SIGINT/SIGTERM), re-reads every table and compares row counts,\n"
		     "row digests and object counts with the file's trailer lines.\n"
		     "Prints one line per mismatch and a summary, or with --json one\n"
		     "object (ok, tables, rows, mismatches, restore_seconds).  CONFIG only\n"
		     "for [notify] (a failed rehearsal is alerted) and [log].\n"
		     "Exit: 0 all equal, 1 mismatch or failure, 2 usage/config.\n"},
	{"binlog", "usage: dumpfs binlog [-c CONFIG]\n"
		   "Archives the server's binary log, read over the replication protocol,\n"
		   "as encrypted segments with .sha256 sidecars in <[archive] dir>/binlog/,\n"
		   "in the foreground until SIGINT/SIGTERM (for systemd).  Resumes where\n"
		   "the last segment ended (the position file), else at the server's\n"
		   "current position; reconnects after failures.  Needs [binlog] enabled\n"
		   "and REPLICATION SLAVE for the [mariadb] user.  One per directory.\n"
		   "Exit: 0 stopped by a signal, 1 failure, 2 usage/config.\n"},
};

int usage_print(FILE *f, const char *command)
{
	if (!command) {
		fputs(overview, f);
		return 0;
	}
	for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++) {
		if (!strcmp(helps[i].name, command)) {
			fputs(helps[i].text, f);
			return 0;
		}
	}
	fprintf(stderr, "dumpfs: no help for unknown command '%s'\n", command);
	return 2;
}
