#include "pipeline.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

struct dump_job {
	const struct pipeline_opts *opts;
	struct sqldump *sql;
};

/* Counts what reaches the caller's sink. */
struct counter {
	struct writer w;
	struct writer *next;
	uint64_t bytes;
};

static int counter_write(struct writer *w, const void *buf, size_t len, struct errbuf *err)
{
	struct counter *c = (struct counter *)w;
	int ret = writer_write(c->next, buf, len, err);

	if (!ret)
		c->bytes += len;
	return ret;
}

static int counter_close(struct writer *w, struct errbuf *err)
{
	(void)w;
	(void)err;
	return 0;
}

static void counter_free(struct writer *w)
{
	(void)w; /* lives on the stack of dump_job_run() */
}

static const struct writer_ops counter_ops = {
	.stage = "output",
	.write = counter_write,
	.close = counter_close,
	.free = counter_free,
};

int dump_job_new(struct dump_job **out, const struct pipeline_opts *opts, struct errbuf *err)
{
	struct dump_job *job = calloc(1, sizeof(*job));
	int ret;

	if (!job)
		return error_set(err, -ENOMEM, "out of memory");
	job->opts = opts;
	ret = sqldump_new(&job->sql, &opts->sql, err);
	if (ret) {
		free(job);
		return ret;
	}
	*out = job;
	return 0;
}

static double elapsed_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

int dump_job_run(struct dump_job *job, struct writer *sink, struct dump_result *res,
		 struct errbuf *err)
{
	struct counter count = {{&counter_ops}, sink, 0};
	struct writer *gpg = NULL, *gz = NULL, *first = &count.w;
	struct dump_result local;
	struct timespec t0;
	int ret = 0;

	if (!res)
		res = &local;
	*res = (struct dump_result){0};
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (job->opts->key) {
		ret = gpgstage_new(&gpg, &count.w, job->opts->key, err);
		if (!ret)
			ret = gzstage_new(&gz, gpg, &job->opts->gz, err);
		first = gz;
	}
	if (!ret)
		ret = sqldump_run(job->sql, first, &res->sql, err);
	if (!ret && gz)
		ret = writer_close(gz, err);
	if (!ret && gpg)
		ret = writer_close(gpg, err);
	/* Free front to back: the gzip stage may still push into gpg. */
	writer_free(gz);
	writer_free(gpg);
	res->out_bytes = count.bytes;
	res->seconds = elapsed_since(&t0);
	return ret;
}

void dump_job_cancel(struct dump_job *job)
{
	sqldump_cancel(job->sql);
}

void dump_job_free(struct dump_job *job)
{
	if (!job)
		return;
	sqldump_free(job->sql);
	free(job);
}
