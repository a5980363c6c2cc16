/* The gzip stage: a ring of job slots compressed by a worker pool.
 *
 * Slots are numbered by a monotonically increasing sequence; slot `seq`
 * lives at slots[seq % nslots].  The caller's thread fills slot `fill`,
 * submits it, and forwards finished slots from `head` in order, so the
 * next stage only ever sees the caller's thread.  Workers take submitted
 * slots in order (`taken`) and compress each into an independent gzip
 * member with their own z_stream, reset between blocks.
 *
 *   head <= taken <= fill,  fill - head < nslots
 *   [head, taken)  being compressed or done, waiting to be forwarded
 *   [taken, fill)  submitted, waiting for a worker
 *   fill           being filled by write()
 *
 * Everything shared between threads (the counters, slot->done, stop) is
 * guarded by `lock`.  A slot's buffers belong to the caller while it is
 * being filled or forwarded, and to exactly one worker in between.
 */
#include "gzstage.h"
#include "hexspan.h"
#include "thread.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define GZ_DEFAULT_BLOCK ((size_t)1 << 20)
/* z_stream counts in uInt; stay far below it and keep memory sane. */
#define GZ_MAX_BLOCK   ((size_t)64 << 20)
#define GZ_MAX_THREADS 256

struct gz_slot {
	unsigned char *in;  /* block_size bytes, allocated on first use */
	unsigned char *out; /* out_cap bytes, allocated with `in` */
	size_t in_len;
	size_t out_len;
	bool done;	/* guarded by lock */
	int zrc;	/* zlib result when compression failed, else Z_OK */
	char zmsg[128]; /* zlib's message when it failed */
};

struct gz_worker {
	struct gzstage *gz;
	z_stream zs;
	bool zs_ready;
	pthread_t tid;
	bool started;
};

struct gzstage {
	struct writer w;
	struct writer *next; /* borrowed */
	size_t block_size;
	size_t out_cap;
	int level;
	unsigned nthreads;
	unsigned nslots;
	struct gz_slot *slots;
	struct gz_worker *workers;

	pthread_mutex_t lock;
	pthread_cond_t work_cv; /* workers: a slot was submitted, or stop */
	pthread_cond_t done_cv; /* caller: a slot finished */
	bool lock_ready, work_cv_ready, done_cv_ready;
	uint64_t head, taken, fill; /* see the top of the file */
	bool stop;

	/* Caller's thread only. */
	bool any_input;
	bool closed;
	int fail_code; /* 0, or the error every later call returns */
	char fail_msg[ERRBUF_MAX];
};

/* The locking calls below cannot fail on a valid default mutex; if they
 * do, memory is corrupt and there is no safe way to go on. */
static void must(int rc, const char *what)
{
	if (rc) {
		fprintf(stderr, "dumpfs: gzip: %s: %s\n", what, strerror(rc));
		abort();
	}
}

static void gz_lock(struct gzstage *gz)
{
	must(pthread_mutex_lock(&gz->lock), "pthread_mutex_lock");
}

static void gz_unlock(struct gzstage *gz)
{
	must(pthread_mutex_unlock(&gz->lock), "pthread_mutex_unlock");
}

static struct gz_slot *slot_at(struct gzstage *gz, uint64_t seq)
{
	return &gz->slots[seq % gz->nslots];
}

/* Deflates p[0, n) with `strategy`, switching to it first when needed
 * (deflateParams ends the current deflate block). */
static int deflate_part(z_stream *zs, int level, int *cur, int strategy, const unsigned char *p,
			size_t n, int flush)
{
	int rc;

	if (strategy != *cur) {
		rc = deflateParams(zs, level, strategy);
		if (rc != Z_OK)
			return rc;
		*cur = strategy;
	}
	zs->next_in = (Bytef *)p;
	zs->avail_in = (uInt)n;
	rc = deflate(zs, flush);
	/* The output always has room (out_cap), so all input is taken. */
	if (rc == Z_OK && zs->avail_in)
		rc = Z_BUF_ERROR;
	return rc;
}

/* Compresses one block into one complete gzip member: hex spans of
 * incompressible bytes with Huffman coding only (hexspan.h), the rest
 * with the level's full deflate. */
static void compress_slot(z_stream *zs, int level, struct gz_slot *s, size_t out_cap)
{
	const unsigned char *in = s->in;
	struct hexspan_iter spans;
	size_t pos = 0, a, b;
	int cur = Z_DEFAULT_STRATEGY;
	/* Reset keeps the last block's strategy; with no input since the
	 * reset, deflateParams only sets it. */
	int rc = deflateReset(zs);

	if (rc == Z_OK)
		rc = deflateParams(zs, level, Z_DEFAULT_STRATEGY);
	zs->next_out = s->out;
	zs->avail_out = (uInt)out_cap;
	hexspan_iter_init(&spans, in, s->in_len);
	while (rc == Z_OK && hexspan_iter_next(&spans, &a, &b)) {
		if (a > pos)
			rc = deflate_part(zs, level, &cur, Z_DEFAULT_STRATEGY, in + pos, a - pos,
					  Z_NO_FLUSH);
		if (rc == Z_OK)
			rc = deflate_part(zs, level, &cur, Z_HUFFMAN_ONLY, in + a, b - a,
					  Z_NO_FLUSH);
		pos = b;
	}
	if (rc == Z_OK)
		rc = deflate_part(zs, level, &cur, pos < s->in_len ? Z_DEFAULT_STRATEGY : cur,
				  in + pos, s->in_len - pos, Z_FINISH);
	if (rc == Z_STREAM_END) {
		s->out_len = out_cap - zs->avail_out;
		s->zrc = Z_OK;
		return;
	}
	s->out_len = 0;
	s->zrc = rc == Z_OK ? Z_BUF_ERROR : rc;
	snprintf(s->zmsg, sizeof(s->zmsg), "%s", zs->msg ? zs->msg : zError(s->zrc));
}

static void *worker_main(void *arg)
{
	struct gz_worker *wk = arg;
	struct gzstage *gz = wk->gz;
	struct gz_slot *s;

	gz_lock(gz);
	for (;;) {
		while (!gz->stop && gz->taken == gz->fill)
			must(pthread_cond_wait(&gz->work_cv, &gz->lock), "pthread_cond_wait");
		if (gz->stop)
			break;
		s = slot_at(gz, gz->taken++);
		gz_unlock(gz);

		compress_slot(&wk->zs, gz->level, s, gz->out_cap);

		gz_lock(gz);
		s->done = true;
		must(pthread_cond_signal(&gz->done_cv), "pthread_cond_signal");
	}
	gz_unlock(gz);
	return NULL;
}

/* Remembers the first failure so every later call reports it again. */
static int gz_fail(struct gzstage *gz, int code, const struct errbuf *e)
{
	gz->fail_code = code;
	snprintf(gz->fail_msg, sizeof(gz->fail_msg), "%s", e->msg);
	return code;
}

static int gz_failed(struct gzstage *gz, struct errbuf *err)
{
	return error_set(err, gz->fail_code, "%s", gz->fail_msg);
}

/* Hands the finished oldest slot to the next stage and frees the slot. */
static int forward_head(struct gzstage *gz, struct errbuf *err)
{
	struct gz_slot *s = slot_at(gz, gz->head);
	struct errbuf e;
	int rc;

	if (s->zrc != Z_OK) {
		error_set(&e, -EIO, "gzip: deflate failed: %s", s->zmsg);
		gz_fail(gz, -EIO, &e);
		return gz_failed(gz, err);
	}
	e.msg[0] = '\0';
	rc = writer_write(gz->next, s->out, s->out_len, &e);
	if (rc < 0) {
		/* Keep the next stage's own message. */
		gz_fail(gz, rc, &e);
		return gz_failed(gz, err);
	}
	s->in_len = 0;
	s->out_len = 0;
	gz->head++;
	return 0;
}

/* Forwards the oldest slot once it is finished, waiting for it only if
 * `wait`.  Returns 1 when forwarded, 0 when not finished yet. */
static int forward_oldest(struct gzstage *gz, bool wait, struct errbuf *err)
{
	struct gz_slot *s = slot_at(gz, gz->head);
	bool done;
	int rc;

	gz_lock(gz);
	while (wait && !s->done)
		must(pthread_cond_wait(&gz->done_cv, &gz->lock), "pthread_cond_wait");
	done = s->done;
	s->done = false; /* the slot is the caller's again */
	gz_unlock(gz);
	if (!done)
		return 0;
	rc = forward_head(gz, err);
	return rc < 0 ? rc : 1;
}

/* Forwards finished slots in order; with `wait`, all submitted slots. */
static int forward_done(struct gzstage *gz, bool wait, struct errbuf *err)
{
	int rc;

	while (gz->head < gz->fill) {
		rc = forward_oldest(gz, wait, err);
		if (rc <= 0)
			return rc;
	}
	return 0;
}

/* Makes slot `fill` ready for input: frees the oldest slot when the ring
 * is full, allocates the buffers the first time a slot is used. */
static int prepare_fill(struct gzstage *gz, struct errbuf *err)
{
	struct gz_slot *s;
	struct errbuf e;
	int rc;

	while (gz->fill - gz->head >= gz->nslots) {
		rc = forward_oldest(gz, true, err);
		if (rc < 0)
			return rc;
	}
	s = slot_at(gz, gz->fill);
	if (s->in)
		return 0;
	s->in = malloc(gz->block_size);
	s->out = malloc(gz->out_cap);
	if (!s->in || !s->out) {
		free(s->in);
		free(s->out);
		s->in = s->out = NULL;
		error_set(&e, -ENOMEM, "gzip: out of memory for a %zu byte block", gz->block_size);
		gz_fail(gz, -ENOMEM, &e);
		return gz_failed(gz, err);
	}
	return 0;
}

static void submit_fill(struct gzstage *gz)
{
	gz_lock(gz);
	gz->fill++;
	must(pthread_cond_signal(&gz->work_cv), "pthread_cond_signal");
	gz_unlock(gz);
}

static int gz_write(struct writer *w, const void *buf, size_t len, struct errbuf *err)
{
	struct gzstage *gz = (struct gzstage *)w;
	const unsigned char *p = buf;
	struct gz_slot *s;
	size_t n;
	int rc;

	if (gz->fail_code)
		return gz_failed(gz, err);
	if (gz->closed)
		return error_set(err, -EINVAL, "gzip: write after close");
	while (len) {
		rc = prepare_fill(gz, err);
		if (rc < 0)
			return rc;
		s = slot_at(gz, gz->fill);
		n = gz->block_size - s->in_len;
		if (n > len)
			n = len;
		memcpy(s->in + s->in_len, p, n);
		s->in_len += n;
		p += n;
		len -= n;
		gz->any_input = true;
		if (s->in_len < gz->block_size)
			break;
		submit_fill(gz);
		/* Stream out what is ready without waiting. */
		rc = forward_done(gz, false, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int gz_close(struct writer *w, struct errbuf *err)
{
	struct gzstage *gz = (struct gzstage *)w;
	int rc;

	if (gz->fail_code)
		return gz_failed(gz, err);
	if (gz->closed)
		return 0;
	rc = prepare_fill(gz, err);
	if (rc < 0)
		return rc;
	/* No input at all still yields one (empty) member: valid gzip. */
	if (slot_at(gz, gz->fill)->in_len || !gz->any_input)
		submit_fill(gz);
	rc = forward_done(gz, true, err);
	if (rc < 0)
		return rc;
	gz->closed = true;
	return 0;
}

static void gz_free(struct writer *w)
{
	struct gzstage *gz = (struct gzstage *)w;
	unsigned i;

	if (gz->lock_ready) {
		gz_lock(gz);
		gz->stop = true;
		if (gz->work_cv_ready)
			must(pthread_cond_broadcast(&gz->work_cv), "pthread_cond_broadcast");
		gz_unlock(gz);
	}
	for (i = 0; gz->workers && i < gz->nthreads; i++) {
		struct gz_worker *wk = &gz->workers[i];

		if (wk->started)
			must(pthread_join(wk->tid, NULL), "pthread_join");
		if (wk->zs_ready)
			(void)deflateEnd(&wk->zs); /* frees even on error */
	}
	for (i = 0; gz->slots && i < gz->nslots; i++) {
		free(gz->slots[i].in);
		free(gz->slots[i].out);
	}
	if (gz->done_cv_ready)
		pthread_cond_destroy(&gz->done_cv);
	if (gz->work_cv_ready)
		pthread_cond_destroy(&gz->work_cv);
	if (gz->lock_ready)
		pthread_mutex_destroy(&gz->lock);
	free(gz->workers);
	free(gz->slots);
	free(gz);
}

static const struct writer_ops gz_ops = {
	.stage = "gzip",
	.write = gz_write,
	.close = gz_close,
	.free = gz_free,
};

static int check_opts(const struct gz_opts *opts, unsigned *threads, size_t *block,
		      struct errbuf *err)
{
	long ncpu;

	if (opts->level < 1 || opts->level > 9)
		return error_set(err, -EINVAL, "gzip: invalid compression level %d (use 1..9)",
				 opts->level);
	*block = opts->block_size ? opts->block_size : GZ_DEFAULT_BLOCK;
	if (*block > GZ_MAX_BLOCK)
		return error_set(err, -EINVAL, "gzip: block size %zu too large (at most %zu)",
				 *block, GZ_MAX_BLOCK);
	*threads = opts->threads;
	if (!*threads) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		*threads = ncpu > 0 ? (unsigned)ncpu : 1;
	}
	if (*threads > GZ_MAX_THREADS)
		*threads = GZ_MAX_THREADS;
	return 0;
}

static int init_sync(struct gzstage *gz, struct errbuf *err)
{
	int rc;

	rc = pthread_mutex_init(&gz->lock, NULL);
	if (rc)
		goto fail;
	gz->lock_ready = true;
	rc = pthread_cond_init(&gz->work_cv, NULL);
	if (rc)
		goto fail;
	gz->work_cv_ready = true;
	rc = pthread_cond_init(&gz->done_cv, NULL);
	if (rc)
		goto fail;
	gz->done_cv_ready = true;
	return 0;
fail:
	return error_set(err, -rc, "gzip: cannot initialise locks: %s", strerror(rc));
}

static int init_streams(struct gzstage *gz, int level, struct errbuf *err)
{
	unsigned i;
	int rc;

	for (i = 0; i < gz->nthreads; i++) {
		struct gz_worker *wk = &gz->workers[i];

		wk->gz = gz;
		rc = deflateInit2(&wk->zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
		if (rc != Z_OK)
			return error_set(err, rc == Z_MEM_ERROR ? -ENOMEM : -EIO,
					 "gzip: deflate failed: %s",
					 wk->zs.msg ? wk->zs.msg : zError(rc));
		wk->zs_ready = true;
	}
	/* The bound of an initialised gzip stream covers header and trailer;
	 * each strategy switch may add a block end and a stored block's
	 * header (at most 8 bytes), and spans and the gaps between them are
	 * at least HEXSPAN_MIN and HEXSPAN_GAP long. */
	gz->level = level;
	gz->out_cap = deflateBound(&gz->workers[0].zs, (uLong)gz->block_size) +
		      8 * (2 * gz->block_size / (HEXSPAN_MIN + HEXSPAN_GAP) + 4);
	return 0;
}

/* Workers block all signals: they belong to the caller's threads. */
static int start_workers(struct gzstage *gz, struct errbuf *err)
{
	int rc = 0;

	for (unsigned i = 0; i < gz->nthreads && !rc; i++) {
		rc = thread_start_nosig(&gz->workers[i].tid, worker_main, &gz->workers[i]);
		gz->workers[i].started = !rc;
	}
	if (rc)
		return error_set(err, rc, "gzip: cannot start worker thread: %s", strerror(-rc));
	return 0;
}

int gzstage_new(struct writer **out, struct writer *next, const struct gz_opts *opts,
		struct errbuf *err)
{
	struct gzstage *gz;
	unsigned threads = 0;
	size_t block = 0;
	int rc;

	rc = check_opts(opts, &threads, &block, err);
	if (rc < 0)
		return rc;
	gz = calloc(1, sizeof(*gz));
	if (!gz)
		return error_set(err, -ENOMEM, "gzip: out of memory");
	gz->w.ops = &gz_ops;
	gz->next = next;
	gz->block_size = block;
	gz->nthreads = threads;
	/* Twice the workers plus two: the producer keeps filling while every
	 * worker compresses and finished blocks wait for the next stage. */
	gz->nslots = 2 * threads + 2;
	gz->slots = calloc(gz->nslots, sizeof(*gz->slots));
	gz->workers = calloc(gz->nthreads, sizeof(*gz->workers));
	if (!gz->slots || !gz->workers) {
		rc = error_set(err, -ENOMEM, "gzip: out of memory");
		goto fail;
	}
	rc = init_sync(gz, err);
	if (!rc)
		rc = init_streams(gz, opts->level, err);
	if (!rc)
		rc = start_workers(gz, err);
	if (rc < 0)
		goto fail;
	*out = &gz->w;
	return 0;
fail:
	gz_free(&gz->w);
	return rc;
}
