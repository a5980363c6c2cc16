/* The snapshot stream's bounded buffer and its ordered reads. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "../../fs/mount/snapbuf.h"
#include "unit.h"

static unsigned char pattern(uint64_t i)
{
	return (unsigned char)((i * 2654435761u) >> 11 ^ (i >> 17));
}

struct producer {
	struct snapbuf *sb;
	uint64_t total;	       /* bytes to write */
	int status;	       /* passed to snapbuf_finish */
	_Atomic uint64_t done; /* bytes written so far */
	_Atomic pid_t tid;     /* the producer thread, once started */
	int write_rc;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	unsigned char chunk[7919]; /* odd size: writes straddle the ring end */
	struct errbuf err;
	uint64_t off = 0;
	int rc = 0;

	atomic_store(&p->tid, unit_tid());
	while (off < p->total && !rc) {
		size_t n = sizeof(chunk);

		if (n > p->total - off)
			n = (size_t)(p->total - off);
		for (size_t i = 0; i < n; i++)
			chunk[i] = pattern(off + i);
		rc = writer_write(snapbuf_writer(p->sb), chunk, n, &err);
		if (!rc) {
			off += n;
			atomic_store(&p->done, off);
		}
	}
	p->write_rc = rc;
	snapbuf_finish(p->sb, rc ? rc : p->status);
	return NULL;
}

static bool check_pattern(const unsigned char *buf, size_t n, uint64_t off)
{
	for (size_t i = 0; i < n; i++)
		if (buf[i] != pattern(off + i))
			return false;
	return true;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

TEST(snapbuf_sequential_reads_get_every_byte_then_eof)
{
	struct producer p = {.total = 3u << 20};
	unsigned char buf[4096];
	struct errbuf err;
	pthread_t t;
	uint64_t off = 0;
	bool ok = true;
	ssize_t n;

	CHECK(snapbuf_new(&p.sb, 65536, 1000, &err) == 0);
	CHECK(pthread_create(&t, NULL, produce, &p) == 0);
	while ((n = snapbuf_read_at(p.sb, buf, sizeof(buf), (off_t)off)) > 0) {
		ok = ok && check_pattern(buf, (size_t)n, off);
		off += (uint64_t)n;
	}
	CHECK(n == 0);
	CHECK(ok);
	CHECK(off == p.total);
	/* Past the end stays EOF, at the end and beyond. */
	CHECK(snapbuf_read_at(p.sb, buf, sizeof(buf), (off_t)off) == 0);
	CHECK(snapbuf_read_at(p.sb, buf, sizeof(buf), (off_t)off + 8192) == 0);
	pthread_join(t, NULL);
	CHECK(p.write_rc == 0);
	snapbuf_free(p.sb);
}

TEST(snapbuf_reads_are_filled_completely_before_the_end)
{
	struct producer p = {.total = 1000000};
	unsigned char *buf = malloc(300000);
	struct errbuf err;
	pthread_t t;
	uint64_t off = 0;
	ssize_t n;

	CHECK(snapbuf_new(&p.sb, 4096, 1000, &err) == 0);
	CHECK(pthread_create(&t, NULL, produce, &p) == 0);
	/* 300000-byte reads through a 4 KiB buffer: 3 full, then the rest. */
	while ((n = snapbuf_read_at(p.sb, buf, 300000, (off_t)off)) > 0) {
		CHECK(n == 300000 || off + (uint64_t)n == p.total);
		CHECK(check_pattern(buf, (size_t)n, off));
		off += (uint64_t)n;
	}
	CHECK(off == p.total);
	pthread_join(t, NULL);
	snapbuf_free(p.sb);
	free(buf);
}

TEST(snapbuf_full_buffer_blocks_the_producer)
{
	struct producer p = {.total = 1u << 20};
	unsigned char buf[65536];
	struct errbuf err;
	pthread_t t;
	uint64_t off = 0;
	ssize_t n;

	CHECK(snapbuf_new(&p.sb, 65536, 1000, &err) == 0);
	CHECK(pthread_create(&t, NULL, produce, &p) == 0);
	/* The producer blocks, having written at most the capacity (plus
	 * one partial chunk it could not finish). */
	CHECK(UNIT_WAIT_UNTIL(atomic_load(&p.tid) != 0, 10));
	CHECK(unit_wait_blocked(atomic_load(&p.tid), 10));
	CHECK(atomic_load(&p.done) <= 65536);
	while ((n = snapbuf_read_at(p.sb, buf, sizeof(buf), (off_t)off)) > 0)
		off += (uint64_t)n;
	CHECK(off == p.total);
	pthread_join(t, NULL);
	snapbuf_free(p.sb);
}

struct req {
	struct snapbuf *sb;
	off_t off;
	size_t size;
	unsigned char *buf;
	ssize_t ret;
	unsigned delay_ms; /* to arrive out of order, not to synchronise */
	_Atomic pid_t tid; /* the reading thread, once started */
};

static void *do_req(void *arg)
{
	struct req *r = arg;

	atomic_store(&r->tid, unit_tid());
	sleep_ms(r->delay_ms);
	r->ret = snapbuf_read_at(r->sb, r->buf, r->size, r->off);
	return NULL;
}

/* Like async direct I/O: a batch of requests at consecutive offsets
 * reaches the reader in reverse order from several threads. */
TEST(snapbuf_reordered_concurrent_reads_are_served_in_order)
{
	enum { NREQ = 8, RSIZE = 32768, ROUNDS = 12 };
	struct producer p = {.total = (uint64_t)NREQ * RSIZE * ROUNDS - 5000};
	struct req r[NREQ];
	pthread_t t, rt[NREQ];
	struct errbuf err;
	uint64_t off = 0;
	bool ok = true, short_seen = false;

	CHECK(snapbuf_new(&p.sb, 50000, 2000, &err) == 0);
	CHECK(pthread_create(&t, NULL, produce, &p) == 0);
	for (int round = 0; round < ROUNDS; round++) {
		for (int i = 0; i < NREQ; i++) {
			r[i] = (struct req){
				p.sb, (off_t)(off + (uint64_t)i * RSIZE), RSIZE, malloc(RSIZE),
				0,    (unsigned)(NREQ - i) * 3,		  0};
			pthread_create(&rt[i], NULL, do_req, &r[i]);
		}
		for (int i = 0; i < NREQ; i++) {
			pthread_join(rt[i], NULL);
			if (r[i].ret > 0)
				ok = ok && !short_seen &&
				     check_pattern(r[i].buf, (size_t)r[i].ret, (uint64_t)r[i].off);
			else
				ok = ok && r[i].ret == 0;
			if (r[i].ret < RSIZE)
				short_seen = true;
			else
				ok = ok && r[i].ret == RSIZE;
			free(r[i].buf);
		}
		off += (uint64_t)NREQ * RSIZE;
	}
	CHECK(ok);
	CHECK(short_seen);
	CHECK(snapbuf_position(p.sb) == p.total);
	pthread_join(t, NULL);
	snapbuf_free(p.sb);
}

TEST(snapbuf_failed_dump_gives_eio_never_eof)
{
	struct producer p = {.total = 100000, .status = -EIO};
	unsigned char buf[4096];
	struct errbuf err;
	pthread_t t;
	uint64_t off = 0;
	ssize_t n;

	CHECK(snapbuf_new(&p.sb, 8192, 1000, &err) == 0);
	CHECK(pthread_create(&t, NULL, produce, &p) == 0);
	while ((n = snapbuf_read_at(p.sb, buf, sizeof(buf), (off_t)off)) > 0)
		off += (uint64_t)n;
	CHECK(n == -EIO);
	/* Only whole reads before the failure were delivered. */
	CHECK(off == 98304);
	CHECK(snapbuf_read_at(p.sb, buf, sizeof(buf), (off_t)off) == -EIO);
	CHECK(snapbuf_read_at(p.sb, buf, sizeof(buf), (off_t)off + 4096) == -EIO);
	pthread_join(t, NULL);
	snapbuf_free(p.sb);
}

TEST(snapbuf_out_of_order_reads_fail_with_eio)
{
	struct producer p = {.total = 1u << 20};
	unsigned char buf[4096];
	struct errbuf err;
	struct timespec a, b;
	pthread_t t;

	CHECK(snapbuf_new(&p.sb, 65536, 300, &err) == 0);
	CHECK(pthread_create(&t, NULL, produce, &p) == 0);
	CHECK(snapbuf_read_at(p.sb, buf, sizeof(buf), 0) == 4096);
	/* Bytes already handed out cannot be read again. */
	CHECK(snapbuf_read_at(p.sb, buf, sizeof(buf), 0) == -EIO);
	/* A read ahead whose predecessor never comes gives up in time. */
	clock_gettime(CLOCK_MONOTONIC, &a);
	CHECK(snapbuf_read_at(p.sb, buf, sizeof(buf), 8192) == -EIO);
	clock_gettime(CLOCK_MONOTONIC, &b);
	CHECK(b.tv_sec - a.tv_sec < 3);
	/* The stream itself is still fine. */
	CHECK(snapbuf_read_at(p.sb, buf, sizeof(buf), 4096) == 4096);
	CHECK(check_pattern(buf, sizeof(buf), 4096));
	snapbuf_abort(p.sb);
	pthread_join(t, NULL);
	CHECK(p.write_rc == -ECANCELED);
	snapbuf_free(p.sb);
}

TEST(snapbuf_abort_wakes_a_blocked_producer_and_reader)
{
	struct producer p = {.total = 1u << 20};
	struct snapbuf *idle;
	unsigned char buf[4096];
	struct req r = {0};
	struct errbuf err;
	pthread_t t, rt;

	/* The producer blocks on a full buffer. */
	CHECK(snapbuf_new(&p.sb, 4096, 1000, &err) == 0);
	CHECK(pthread_create(&t, NULL, produce, &p) == 0);
	CHECK(UNIT_WAIT_UNTIL(atomic_load(&p.tid) != 0, 10));
	CHECK(unit_wait_blocked(atomic_load(&p.tid), 10));
	CHECK(atomic_load(&p.done) <= 4096);
	snapbuf_abort(p.sb);
	pthread_join(t, NULL);
	CHECK(p.write_rc == -ECANCELED);
	CHECK(snapbuf_read_at(p.sb, buf, sizeof(buf), 0) == -ECANCELED);
	snapbuf_free(p.sb);

	/* A reader blocks on an empty buffer. */
	CHECK(snapbuf_new(&idle, 4096, 1000, &err) == 0);
	r = (struct req){idle, 0, sizeof(buf), buf, 1, 0, 0};
	CHECK(pthread_create(&rt, NULL, do_req, &r) == 0);
	CHECK(UNIT_WAIT_UNTIL(atomic_load(&r.tid) != 0, 10));
	CHECK(unit_wait_blocked(atomic_load(&r.tid), 10));
	snapbuf_abort(idle);
	pthread_join(rt, NULL);
	CHECK(r.ret == -ECANCELED);
	snapbuf_free(idle);
}

static atomic_bool reader_gone;

static bool gone(void)
{
	return atomic_load(&reader_gone);
}

TEST(snapbuf_reader_that_gave_up_stops_waiting)
{
	unsigned char data[1000], buf[4096];
	struct snapbuf *sb;
	struct errbuf err;
	struct timespec a, b;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = pattern(i);
	/* Nothing comes (a silent server): the read waits while the reader
	 * is there, and stops within a poll once it gave up. */
	CHECK(snapbuf_new(&sb, 65536, 1000, &err) == 0);
	snapbuf_set_gave_up(sb, gone);
	atomic_store(&reader_gone, true);
	clock_gettime(CLOCK_MONOTONIC, &a);
	CHECK(snapbuf_read_at(sb, buf, sizeof(buf), 0) == -EINTR);
	clock_gettime(CLOCK_MONOTONIC, &b);
	CHECK(b.tv_sec - a.tv_sec < 2);
	/* Nothing was taken: the stream is intact. */
	atomic_store(&reader_gone, false);
	CHECK(writer_write(snapbuf_writer(sb), data, sizeof(data), &err) == 0);
	snapbuf_finish(sb, 0);
	CHECK(snapbuf_read_at(sb, buf, 500, 0) == 500);
	CHECK(check_pattern(buf, 500, 0));
	snapbuf_free(sb);

	/* Part of a read was taken when the reader gave up: those bytes are
	 * lost to the stream, which now fails instead of reading on. */
	CHECK(snapbuf_new(&sb, 65536, 1000, &err) == 0);
	snapbuf_set_gave_up(sb, gone);
	CHECK(writer_write(snapbuf_writer(sb), data, sizeof(data), &err) == 0);
	atomic_store(&reader_gone, true);
	CHECK(snapbuf_read_at(sb, buf, sizeof(buf), 0) == -EINTR);
	atomic_store(&reader_gone, false);
	CHECK(writer_write(snapbuf_writer(sb), data, sizeof(data), &err) == 0);
	snapbuf_finish(sb, 0);
	CHECK(snapbuf_read_at(sb, buf, 100, 0) == -EIO);
	CHECK(snapbuf_read_at(sb, buf, 100, 1000) == -EIO);
	snapbuf_free(sb);
}
