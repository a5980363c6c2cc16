/* dumpfs rehearse [-c CONFIG] FILE [--json] [--jobs N] (docs/rehearse.md):
 * restore FILE into a throwaway server, re-read it, compare with the
 * file's trailer.  Stdout: one line per mismatch and a summary, or one
 * JSON object.  Exit 0 all equal, 1 anything else, 2 usage or config.
 *
 * CONFIG serves [notify] (a failed rehearsal is alerted) and [log] only,
 * so none of its keys is required; without -c or $DUMPFS_CONFIG a missing
 * default file means no alerts. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../dumper/json.h"
#include "../../dumper/rehearse.h"
#include "../../dumper/strbuf.h"
#include "../../dumper/tmphome.h"
#include "../config/alerts.h"
#include "../config/jobopts.h"
#include "cmd.h"
#include "cmdutil.h"
#include "sigcancel.h"

#define REHEARSE_USAGE "usage: dumpfs rehearse [-c CONFIG] FILE [--json] [--jobs N]\n"

struct rehearse_args {
	const char *config;
	const char *file;
	int json;
	unsigned jobs; /* 0: the number of CPUs */
};

static int parse_args(int argc, char **argv, struct rehearse_args *a)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'J'},
		{"jobs", required_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:j:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->config = optarg;
			break;
		case 'J':
			a->json = 1;
			break;
		case 'j':
			if (cmd_parse_jobs("rehearse", optarg, &a->jobs))
				return -1;
			break;
		default:
			fputs(REHEARSE_USAGE, stderr);
			return -1;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "dumpfs: rehearse: %s\n%s",
			argc == optind ? "which file? (FILE missing)" : "one FILE at a time",
			REHEARSE_USAGE);
		return -1;
	}
	a->file = argv[optind];
	return 0;
}

/* Whether a config is to be read: asked for (-c, $DUMPFS_CONFIG), or the
 * default exists. */
static bool wants_config(const struct rehearse_args *a)
{
	const char *env = getenv("DUMPFS_CONFIG");

	if (a->config || (env && *env))
		return true;
	return !access(jobopts_config_path(NULL), F_OK) || errno != ENOENT;
}

static void cancel_rehearse(void *r)
{
	rehearse_cancel(r);
}

static int run(const struct rehearse_opts *o, struct rehearse_result *res, struct errbuf *err)
{
	struct rehearse *r;
	struct sigcancel sc;
	int ret;

	ret = rehearse_new(&r, o, err);
	if (ret)
		return ret;
	ret = sigcancel_start(&sc, cancel_rehearse, r, err);
	if (!ret) {
		ret = rehearse_run(r, res, err);
		sigcancel_stop(&sc);
	}
	rehearse_free(r);
	return ret;
}

static double rows_per_second(const struct rehearse_result *res)
{
	return res->restore_seconds > 0 ? (double)res->rows / res->restore_seconds : 0;
}

static void print_text(const char *file, int ret, const struct rehearse_result *res,
		       const struct errbuf *err)
{
	for (size_t i = 0; i < res->nmismatches; i++)
		printf("MISMATCH %s\n", res->mismatches[i]);
	if (ret) {
		printf("rehearse: FAILED: %s: %s\n", file, err->msg);
		return;
	}
	printf("rehearse: %s: %s: %zu tables, %llu rows; restore %.1f s (%.0f rows/s), "
	       "re-read %.1f s\n",
	       res->ok ? "OK" : "FAILED", file, res->ntables, (unsigned long long)res->rows,
	       res->restore_seconds, rows_per_second(res), res->reread_seconds);
}

static void add_key(struct strbuf *sb, const char *key)
{
	json_add_string(sb, key);
	strbuf_addch(sb, ':');
}

static void json_tables(struct strbuf *sb, const struct rehearse_result *res)
{
	add_key(sb, "tables");
	strbuf_addch(sb, '[');
	for (size_t i = 0; i < res->ntables; i++) {
		const struct rehearse_table *t = &res->tables[i];
		struct strbuf name = STRBUF_INIT;

		strbuf_addf(&name, "%s.%s", t->db, t->table);
		strbuf_addstr(sb, i ? ",{" : "{");
		add_key(sb, "table");
		json_add_string(sb, strbuf_str(&name));
		strbuf_addf(sb, ",\"rows\":%llu,\"dump_rows\":%llu,\"ok\":%s}",
			    (unsigned long long)t->rows, (unsigned long long)t->dump_rows,
			    t->ok ? "true" : "false");
		strbuf_release(&name);
	}
	strbuf_addch(sb, ']');
}

/* The SPEC's object: ok, tables, rows, mismatches, restore_seconds; and
 * file, reread_seconds, rows_per_second, error (when a step failed). */
static int print_json(const char *file, int ret, const struct rehearse_result *res,
		      const struct errbuf *err)
{
	struct strbuf sb = STRBUF_INIT;
	int rc = 0;

	strbuf_addf(&sb, "{\"ok\":%s,", !ret && res->ok ? "true" : "false");
	add_key(&sb, "file");
	json_add_string(&sb, file);
	strbuf_addch(&sb, ',');
	json_tables(&sb, res);
	strbuf_addf(&sb, ",\"rows\":%llu,", (unsigned long long)res->rows);
	add_key(&sb, "mismatches");
	strbuf_addch(&sb, '[');
	for (size_t i = 0; i < res->nmismatches; i++) {
		if (i)
			strbuf_addch(&sb, ',');
		json_add_string(&sb, res->mismatches[i]);
	}
	strbuf_addf(&sb,
		    "],\"restore_seconds\":%.3f,\"reread_seconds\":%.3f,"
		    "\"rows_per_second\":%.0f",
		    res->restore_seconds, res->reread_seconds, rows_per_second(res));
	if (ret) {
		strbuf_addch(&sb, ',');
		add_key(&sb, "error");
		json_add_string(&sb, err->msg);
	}
	strbuf_addstr(&sb, "}\n");
	if (strbuf_error(&sb) || fputs(sb.buf, stdout) == EOF)
		rc = -1;
	strbuf_release(&sb);
	return rc;
}

/* The alert's one line: the error, or the first mismatch and how many. */
static void alert(struct notifier *nt, const char *file, int ret, const struct rehearse_result *res,
		  const struct errbuf *err)
{
	char msg[NOTIFY_MSG_MAX];

	if (ret)
		snprintf(msg, sizeof(msg), "%.500s", err->msg);
	else if (res->nmismatches > 1)
		snprintf(msg, sizeof(msg), "%.400s (and %zu more mismatches)", res->mismatches[0],
			 res->nmismatches - 1);
	else
		snprintf(msg, sizeof(msg), "%s",
			 res->nmismatches ? res->mismatches[0] : "mismatch");
	notifier_rehearsal_failed(nt, file, msg);
}

int cmd_rehearse(int argc, char **argv, struct logger *lg)
{
	struct rehearse_args a;
	struct rehearse_opts o;
	struct rehearse_result res;
	struct notifier *nt = NULL;
	struct config cfg;
	struct errbuf err;
	bool have_cfg = false;
	int ret, out, code;

	errbuf_clear(&err);
	if (parse_args(argc, argv, &a))
		return EXIT_USAGE;
	if (wants_config(&a)) {
		if (cmd_load_alerts_config(&cfg, a.config, lg))
			return EXIT_USAGE;
		have_cfg = true;
		if (alerts_new(&nt, &cfg, lg, &err)) {
			cmd_error(lg, "rehearse", &err);
			config_release(&cfg);
			return EXIT_USAGE;
		}
	} else {
		config_scrub_env();
	}
	tmphome_sweep(lg); /* directories of killed runs, before we make ours */
	memset(&o, 0, sizeof(o));
	o.file = a.file;
	o.jobs = a.jobs;
	o.progress = !a.json && isatty(STDERR_FILENO);
	o.log = lg;
	ret = run(&o, &res, &err);
	if (ret)
		cmd_error(lg, "rehearse", &err);
	out = a.json ? print_json(a.file, ret, &res, &err)
		     : (print_text(a.file, ret, &res, &err), 0);
	if (fflush(stdout) == EOF)
		out = -1;
	if (nt && (ret || !res.ok) && ret != -ECANCELED)
		alert(nt, a.file, ret, &res, &err);
	code = ret || !res.ok || out ? EXIT_FAILED : EXIT_OK;
	notifier_free(nt); /* delivers what is queued */
	rehearse_result_release(&res);
	if (have_cfg)
		config_release(&cfg);
	return code;
}
