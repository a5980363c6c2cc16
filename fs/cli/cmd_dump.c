/* dumpfs dump [-c CONFIG] [-o FILE] [--plain] */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../dumper/pipeline.h"
#include "../../dumper/sink.h"
#include "cmd.h"
#include "cmdutil.h"
#include "../config/jobopts.h"
#include "sigcancel.h"

struct dump_args {
	const char *config;
	const char *output; /* NULL: stdout */
	int plain;
};

static int parse_args(int argc, char **argv, struct dump_args *a)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"output", required_argument, NULL, 'o'},
		{"plain", no_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->config = optarg;
			break;
		case 'o':
			a->output = optarg;
			break;
		case 'p':
			a->plain = 1;
			break;
		default:
			fprintf(stderr, "usage: dumpfs dump [-c CONFIG] [-o FILE] [--plain]\n");
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dumpfs: dump: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	/* Plaintext only ever goes where the user pipes it, never to disk. */
	if (a->plain && a->output) {
		fprintf(stderr,
			"dumpfs: dump: --plain writes to stdout only: with -o it would put the "
			"unencrypted SQL in '%s' (drop -o and pipe stdout, or drop --plain "
			"for an encrypted file)\n",
			a->output);
		return -1;
	}
	return 0;
}

static void cancel_job(void *job)
{
	dump_job_cancel(job);
}

/* Runs the job into `sink` with SIGINT/SIGTERM turned into a clean cancel. */
static int run_job(const struct pipeline_opts *po, struct writer *sink, struct dump_result *res,
		   struct errbuf *err)
{
	struct dump_job *job;
	struct sigcancel sc;
	int ret;

	ret = dump_job_new(&job, po, err);
	if (ret)
		return ret;
	ret = sigcancel_start(&sc, cancel_job, job, err);
	if (!ret) {
		ret = dump_job_run(job, sink, res, err);
		sigcancel_stop(&sc);
	}
	dump_job_free(job);
	return ret;
}

static int dump_to(const struct dump_args *a, const struct pipeline_opts *po,
		   struct dump_result *res, struct errbuf *err)
{
	struct outfile of = {NULL, NULL, -1};
	struct writer *sink = NULL;
	int ret;

	if (!a->output && !a->plain && isatty(STDOUT_FILENO))
		return error_set(err, -EINVAL,
				 "refusing to write encrypted binary data to a terminal: use -o "
				 "FILE or redirect stdout");
	if (a->output)
		ret = outfile_open(&of, a->output, 0600, err);
	else
		ret = 0;
	if (!ret)
		ret = fdsink_new(&sink, a->output ? of.fd : STDOUT_FILENO,
				 a->output ? a->output : "stdout", err);
	if (!ret)
		ret = run_job(po, sink, res, err);
	if (!ret)
		ret = writer_close(sink, err);
	if (!ret && a->output)
		ret = outfile_commit(&of, 0, err);
	writer_free(sink);
	outfile_release(&of); /* removes the temporary unless committed */
	return ret;
}

int cmd_dump(int argc, char **argv, struct logger *lg)
{
	struct pipeline_opts po;
	struct dump_result res;
	struct gpg_key *key = NULL;
	struct dump_args a;
	struct config cfg;
	struct errbuf err;
	int ret;

	errbuf_clear(&err);
	if (parse_args(argc, argv, &a))
		return EXIT_USAGE;
	if (cmd_load_config(&cfg, a.config, lg))
		return EXIT_USAGE;
	if (!a.plain && jobopts_load_key(&key, &cfg, &err)) {
		cmd_error(lg, "dump", &err);
		config_release(&cfg);
		return EXIT_USAGE;
	}
	ret = jobopts_from_config(&po, &cfg, key, lg);
	if (!ret)
		ret = dump_to(&a, &po, &res, &err);
	if (ret) {
		cmd_error(lg, "dump", &err);
		logger_log(lg, LOGL_ERROR, "dump_failed", "error=\"%s\"", err.msg);
	} else {
		logger_log(lg, LOGL_INFO, "dump_written",
			   "file=\"%s\" bytes=%llu sql_bytes=%llu seconds=%.1f",
			   a.output ? a.output : "stdout", (unsigned long long)res.out_bytes,
			   (unsigned long long)res.sql.sql_bytes, res.seconds);
	}
	gpg_key_free(key);
	config_release(&cfg);
	return ret ? EXIT_FAILED : EXIT_OK;
}
