/* One dump, end to end: SQL -> gzip -> OpenPGP -> caller's sink.
 *
 * A job is made once, run once, then freed.  dump_job_cancel() may be
 * called from any thread while dump_job_run() runs (a FUSE reader that
 * closed early, SIGTERM): the run then fails with -ECANCELED, the server
 * query is killed and no helper thread is left behind.
 */
#ifndef DUMPER_PIPELINE_H
#define DUMPER_PIPELINE_H

#include <stdint.h>

#include "gpgstage.h"
#include "gzstage.h"
#include "sqldump.h"

struct pipeline_opts {
	struct sqldump_opts sql;
	struct gz_opts gz;
	struct gpg_key *key; /* borrowed; NULL = plain SQL (no gzip, no OpenPGP) */
};

struct dump_result {
	struct sqldump_stats sql;
	uint64_t out_bytes; /* bytes written into the sink */
	double seconds;
};

struct dump_job;

/* opts (and what it points to) is borrowed and must outlive the job. */
int dump_job_new(struct dump_job **out, const struct pipeline_opts *opts, struct errbuf *err);
/* Writes the whole dump into `sink` (borrowed; not closed).  On failure
 * the message names the stage and the object being dumped; whatever
 * reached the sink is incomplete and must be discarded by the caller. */
int dump_job_run(struct dump_job *job, struct writer *sink, struct dump_result *res,
		 struct errbuf *err);
void dump_job_cancel(struct dump_job *job);
void dump_job_free(struct dump_job *job);

#endif
