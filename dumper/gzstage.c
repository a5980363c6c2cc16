/* The gzip stage: a ring of job slots compressed by a worker pool.
 *
 * Slots are numbered by a monotonically increasing sequence; slot `seq`
 * lives at slots[seq % nslots].  The caller's thread fills slot `fill`,
 * submits it, and forwards finished slots from `head` in order, so the
 * next stage only ever sees the caller's thread.  Workers take submitted
 * slots in order (`taken`) and compress each into gzip members with their
 * own compressors (see compress_slot).
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
#include "huffgz.h"
#include "thread.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>
#include <unistd.h>

#define GZ_DEFAULT_BLOCK ((size_t)1 << 20)
/* Keep memory sane. */
#define GZ_MAX_BLOCK   ((size_t)64 << 20)
#define GZ_MAX_THREADS 256
/* Text this short between two hex spans goes into the spans' member
 * (coded Huffman-only) rather than a member of its own: a member costs
 * 18 bytes of header and trailer, a Huffman table and its dictionary. */
#define GZ_HEX_JOIN 256
/* Per member beyond the first, what the sum of the members' bounds may
 * exceed one bound of the whole block: libdeflate's gzip bound is
 * n + 5 * ceil(n / 5000) + 27, huffgz's n + 5 * ceil(n / 65535) + 18,
 * each rounded per member. */
#define GZ_MEMBER_SLACK 64

struct gz_slot {
	unsigned char *in;  /* block_size bytes, allocated on first use */
	unsigned char *out; /* out_cap bytes, allocated with `in` */
	size_t in_len;
	size_t out_len;
	bool done;   /* guarded by lock */
	bool failed; /* compression failed: see msg */
	char msg[128];
};

struct gz_worker {
	struct gzstage *gz;
	struct libdeflate_compressor *ld; /* members of text */
	pthread_t tid;
	bool started;
};

struct gzstage {
	struct writer w;
	struct writer *next; /* borrowed */
	size_t block_size;
	size_t out_cap;
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

static void gz_lock(struct gzstage *gz)
{
	mutex_lock(&gz->lock);
}

static void gz_unlock(struct gzstage *gz)
{
	mutex_unlock(&gz->lock);
}

static struct gz_slot *slot_at(struct gzstage *gz, uint64_t seq)
{
	return &gz->slots[seq % gz->nslots];
}

/* Appends one gzip member of p[0, n) deflated by libdeflate. */
static int text_member(struct gz_worker *wk, const unsigned char *p, size_t n, struct gz_slot *s,
		       size_t out_cap)
{
	size_t room = out_cap - s->out_len, got;

	if (room < libdeflate_gzip_compress_bound(wk->ld, n)) {
		snprintf(s->msg, sizeof(s->msg), "no room for a member of %zu bytes", n);
		return -1;
	}
	got = libdeflate_gzip_compress(wk->ld, p, n, s->out + s->out_len, room);
	if (!got) {
		snprintf(s->msg, sizeof(s->msg), "libdeflate failed on %zu bytes", n);
		return -1;
	}
	s->out_len += got;
	return 0;
}

/* Appends one gzip member of p[0, n) coded with Huffman only. */
static int huffman_member(const unsigned char *p, size_t n, struct gz_slot *s, size_t out_cap)
{
	size_t got = huffgz_member(p, n, s->out + s->out_len, out_cap - s->out_len);

	if (!got) {
		snprintf(s->msg, sizeof(s->msg), "no room for a member of %zu bytes", n);
		return -1;
	}
	s->out_len += got;
	return 0;
}

/* Compresses one block into complete gzip members, one after the other:
 * text with libdeflate at the stage's level, hex spans of incompressible
 * bytes (hexspan.h) with Huffman only, in members of their own (spans
 * closer than GZ_HEX_JOIN share one).
 * libdeflate has no Huffman-only mode; huffgz is several times faster
 * than any libdeflate level on such hex, for 0.5% more output (see the
 * README).  An empty block is one empty member (20 bytes, as zlib's;
 * libdeflate writes 23). */
static void compress_slot(struct gz_worker *wk, struct gz_slot *s, size_t out_cap)
{
	const unsigned char *in = s->in;
	struct hexspan_iter spans;
	size_t pos = 0, a, b, next_a, next_b;
	bool more;
	int rc = 0;

	s->out_len = 0;
	s->failed = false;
	hexspan_iter_init(&spans, in, s->in_len);
	more = hexspan_iter_next(&spans, &next_a, &next_b);
	while (!rc && more) {
		a = next_a;
		b = next_b;
		while ((more = hexspan_iter_next(&spans, &next_a, &next_b)) &&
		       next_a - b < GZ_HEX_JOIN)
			b = next_b;
		if (a > pos)
			rc = text_member(wk, in + pos, a - pos, s, out_cap);
		if (!rc)
			rc = huffman_member(in + a, b - a, s, out_cap);
		pos = b;
	}
	if (!rc && pos < s->in_len)
		rc = text_member(wk, in + pos, s->in_len - pos, s, out_cap);
	else if (!rc && !s->in_len)
		rc = huffman_member(in, 0, s, out_cap);
	if (rc) {
		s->out_len = 0;
		s->failed = true;
	}
}

static void *worker_main(void *arg)
{
	struct gz_worker *wk = arg;
	struct gzstage *gz = wk->gz;
	struct gz_slot *s;

	gz_lock(gz);
	for (;;) {
		while (!gz->stop && gz->taken == gz->fill)
			cond_wait(&gz->work_cv, &gz->lock);
		if (gz->stop)
			break;
		s = slot_at(gz, gz->taken++);
		gz_unlock(gz);

		compress_slot(wk, s, gz->out_cap);

		gz_lock(gz);
		s->done = true;
		cond_signal(&gz->done_cv);
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

	if (s->failed) {
		error_set(&e, -EIO, "gzip: compression failed: %s", s->msg);
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
		cond_wait(&gz->done_cv, &gz->lock);
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
	cond_signal(&gz->work_cv);
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
			cond_broadcast(&gz->work_cv);
		gz_unlock(gz);
	}
	for (i = 0; gz->workers && i < gz->nthreads; i++) {
		struct gz_worker *wk = &gz->workers[i];

		if (wk->started)
			thread_join(wk->tid);
		libdeflate_free_compressor(wk->ld);
	}
	for (i = 0; gz->slots && i < gz->nslots; i++) {
		free(gz->slots[i].in);
		free(gz->slots[i].out);
	}
	if (gz->done_cv_ready)
		cond_destroy(&gz->done_cv);
	if (gz->work_cv_ready)
		cond_destroy(&gz->work_cv);
	if (gz->lock_ready)
		mutex_destroy(&gz->lock);
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

	rc = mutex_init(&gz->lock);
	if (rc)
		goto fail;
	gz->lock_ready = true;
	rc = cond_init(&gz->work_cv, false);
	if (rc)
		goto fail;
	gz->work_cv_ready = true;
	rc = cond_init(&gz->done_cv, false);
	if (rc)
		goto fail;
	gz->done_cv_ready = true;
	return 0;
fail:
	return error_set(err, rc, "gzip: cannot initialise locks: %s", strerror(-rc));
}

/* libdeflate's level for the stage's 1..9.  libdeflate keeps zlib's
 * scale for 1..9 and on dump SQL is faster and smaller than zlib at each
 * of them (tests/bench/gzbench.c, the bench SQL, one core, CPU s per
 * 292 MB and output: zlib 1 2.5 s 38.0%, 6 8.3 s 33.7%, 9 12.5 s 33.5%;
 * libdeflate 1 1.6 s 35.6%, 6 4.3 s 33.8%, 9 9.5 s 33.3%), so 1 stays
 * the fastest, 6 the default and 9 the smallest.  Its levels 10..12
 * (near-optimal parsing) are not used: about 9 MiB per compressor instead
 * of 0.65 and 3-5x the CPU of level 9 for 1-2% less output. */
static int libdeflate_level(int level)
{
	return level;
}

static int init_streams(struct gzstage *gz, int level, struct errbuf *err)
{
	size_t members;
	unsigned i;

	for (i = 0; i < gz->nthreads; i++) {
		struct gz_worker *wk = &gz->workers[i];

		wk->gz = gz;
		wk->ld = libdeflate_alloc_compressor(libdeflate_level(level));
		if (!wk->ld)
			return error_set(err, -ENOMEM, "gzip: out of memory for a compressor");
	}
	/* A block is at most one member per hex span (at least HEXSPAN_MIN
	 * long) and one per text between them; each member's bound is about
	 * its share of the whole block's bound plus GZ_MEMBER_SLACK.  Only
	 * the part that output reaches is ever touched. */
	members = 2 * (gz->block_size / HEXSPAN_MIN + 1) + 1;
	gz->out_cap = libdeflate_gzip_compress_bound(gz->workers[0].ld, gz->block_size);
	if (gz->out_cap < huffgz_bound(gz->block_size))
		gz->out_cap = huffgz_bound(gz->block_size);
	gz->out_cap += members * GZ_MEMBER_SLACK;
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
