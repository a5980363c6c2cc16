/* dumpfs restore [-c CONFIG] FILE [--to-stdout] [--database NAME] */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "cmdutil.h"

struct restore_args {
	const char *config;
	const char *file;
	const char *database; /* NULL: every database in the dump */
	int to_stdout;
};

static void restore_usage(void)
{
	fprintf(stderr, "usage: dumpfs restore [-c CONFIG] FILE [--to-stdout] [--database NAME]\n");
}

static int parse_args(int argc, char **argv, struct restore_args *a)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"to-stdout", no_argument, NULL, 's'},
		{"database", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:d:h", longopts, NULL)) != -1) {
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
	return 0;
}

int cmd_restore(int argc, char **argv, struct logger *lg)
{
	struct restore_args a;
	struct config cfg;

	if (parse_args(argc, argv, &a))
		return EXIT_USAGE;
	if (cmd_load_config(&cfg, a.config, lg))
		return EXIT_USAGE;
	fprintf(stderr, "dumpfs: restore: not implemented yet\n");
	config_release(&cfg);
	return EXIT_FAILED;
}
