/* dumpfs: FUSE filesystem exposing encrypted MariaDB backups.
 * main() picks the command; every command returns its exit code. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <curl/curl.h>

#include "../dumper/log.h"
#include "cli/cmd.h"
#include "cli/usage.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv, struct logger *lg);
};

static const struct command commands[] = {
	{"dump", cmd_dump},	{"backup", cmd_backup},	    {"check", cmd_check},
	{"verify", cmd_verify}, {"restore", cmd_restore},   {"mount", cmd_mount},
	{"prune", cmd_prune},	{"rehearse", cmd_rehearse}, {"binlog", cmd_binlog},
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* `dumpfs CMD ... --help` (or -h) anywhere before "--": the command's help
 * on stdout, exit 0, before anything is read or started.  The mount has its
 * own, which adds FUSE's options. */
static bool wants_help(const struct command *cmd, int argc, char **argv)
{
	if (cmd->run == cmd_mount)
		return false;
	for (int i = 2; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

/* `dumpfs CONFIG MOUNTPOINT ...` (also what mount.fuse3 runs) is the
 * mount command without its name. */
static int run_mount_form(int argc, char **argv, struct logger *lg)
{
	char **args = calloc((size_t)argc + 1, sizeof(*args));
	int ret;

	if (!args) {
		fprintf(stderr, "dumpfs: out of memory\n");
		return 2;
	}
	args[0] = (char *)"mount";
	for (int i = 1; i < argc; i++)
		args[i] = argv[i];
	ret = cmd_mount(argc, args, lg);
	free(args);
	return ret;
}

/* Secrets (passwords, tokens in URLs) live in this process's memory:
 * no core file may hold them, and no other user may read /proc/PID/mem,
 * environ and the like or ptrace it (non-dumpable: /proc/PID belongs to
 * root).  Before anything reads the config. */
static int protect_memory(void)
{
	const struct rlimit none = {0, 0};

	if (setrlimit(RLIMIT_CORE, &none) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		perror("dumpfs: cannot protect the process memory (core files, ptrace)");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct command *cmd;
	struct logger *lg;
	int ret;

	/* A closed pipe must be an error we report (EPIPE), not a silent
	 * death halfway through a dump. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage_print(stderr, NULL);
		return 2;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("dumpfs %s\n", DUMPFS_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return usage_print(stdout, NULL);
	if (!strcmp(argv[1], "help"))
		return usage_print(stdout, argc > 2 ? argv[2] : NULL);

	cmd = find_command(argv[1]);
	if (cmd && wants_help(cmd, argc, argv))
		return usage_print(stdout, cmd->name);

	if (protect_memory())
		return 2;
	/* Once, before any thread: libcurl's global state (alerts). */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "dumpfs: cannot initialise libcurl\n");
		return 2;
	}
	lg = logger_new(LOGL_INFO);
	if (!lg) {
		fprintf(stderr, "dumpfs: out of memory\n");
		return 2;
	}
	if (cmd)
		ret = cmd->run(argc - 1, argv + 1, lg);
	else if (argv[1][0] != '-' && argc >= 3)
		ret = run_mount_form(argc, argv, lg);
	else {
		fprintf(stderr, "dumpfs: unknown command '%s' (see dumpfs --help)\n", argv[1]);
		ret = 2;
	}
	logger_free(lg);
	curl_global_cleanup();
	return ret;
}
