#include "snapbuf.h"
#include "../../dumper/thread.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct snapbuf {
	struct writer w; /* first: the writer is the buffer */
	pthread_mutex_t lock;
	pthread_cond_t can_write; /* space freed, or aborted */
	pthread_cond_t can_read;  /* data added, finished, or aborted */
	pthread_cond_t turn;	  /* pos or serving changed */
	unsigned char *data;	  /* ring of cap bytes */
	size_t cap, head, len;	  /* head: oldest byte; len: bytes held */
	uint64_t pos;		  /* bytes handed to the reader */
	bool serving;		  /* a read owns the stream now */
	bool done;		  /* snapbuf_finish() was called */
	bool aborted;
	bool broken; /* an interrupted read dropped bytes: every read fails */
	int status;  /* valid when done: 0 complete, < 0 failed */
	unsigned order_wait_ms;
	bool (*gave_up)(void); /* NULL, or polled while a read waits for data */
};

/* How often a read waiting for data asks whether its caller gave up. */
#define GAVE_UP_POLL_MS 100

static int sb_write(struct writer *w, const void *buf, size_t len, struct errbuf *err)
{
	struct snapbuf *sb = (struct snapbuf *)w;
	const unsigned char *p = buf;

	mutex_lock(&sb->lock);
	while (len > 0) {
		size_t tail, chunk;

		while (!sb->aborted && sb->len == sb->cap)
			cond_wait(&sb->can_write, &sb->lock);
		if (sb->aborted) {
			mutex_unlock(&sb->lock);
			return error_set(err, -ECANCELED, "snapshot reader went away");
		}
		tail = (sb->head + sb->len) % sb->cap;
		chunk = sb->cap - sb->len;
		if (chunk > sb->cap - tail)
			chunk = sb->cap - tail; /* up to the end of the ring */
		if (chunk > len)
			chunk = len;
		memcpy(sb->data + tail, p, chunk);
		sb->len += chunk;
		p += chunk;
		len -= chunk;
		cond_signal(&sb->can_read);
	}
	mutex_unlock(&sb->lock);
	return 0;
}

static int sb_close(struct writer *w, struct errbuf *err)
{
	(void)w;
	(void)err;
	return 0;
}

static void sb_free(struct writer *w)
{
	(void)w; /* owned by the snapbuf */
}

static const struct writer_ops snapbuf_ops = {
	.stage = "snapshot buffer",
	.write = sb_write,
	.close = sb_close,
	.free = sb_free,
};

int snapbuf_new(struct snapbuf **out, size_t capacity, unsigned order_wait_ms, struct errbuf *err)
{
	struct snapbuf *sb = calloc(1, sizeof(*sb));
	int e;

	*out = NULL;
	if (!sb || !capacity || !(sb->data = malloc(capacity))) {
		free(sb);
		return error_set(err, -ENOMEM, "out of memory for a snapshot buffer");
	}
	/* Timed waits measure intervals, so they must not jump with the
	 * wall clock: deadline_after() counts on CLOCK_MONOTONIC. */
	e = cond_init(&sb->turn, true);
	if (!e && (e = cond_init(&sb->can_read, true)) != 0)
		cond_destroy(&sb->turn);
	if (!e && (e = cond_init(&sb->can_write, false)) != 0) {
		cond_destroy(&sb->can_read);
		cond_destroy(&sb->turn);
	}
	if (!e && (e = mutex_init(&sb->lock)) != 0) {
		cond_destroy(&sb->can_write);
		cond_destroy(&sb->can_read);
		cond_destroy(&sb->turn);
	}
	if (e) {
		free(sb->data);
		free(sb);
		return error_set(err, e, "cannot set up a snapshot buffer: %s", strerror(-e));
	}
	sb->w.ops = &snapbuf_ops;
	sb->cap = capacity;
	sb->order_wait_ms = order_wait_ms;
	*out = sb;
	return 0;
}

struct writer *snapbuf_writer(struct snapbuf *sb)
{
	return &sb->w;
}

void snapbuf_set_gave_up(struct snapbuf *sb, bool (*gave_up)(void))
{
	mutex_lock(&sb->lock);
	sb->gave_up = gave_up;
	mutex_unlock(&sb->lock);
}

void snapbuf_finish(struct snapbuf *sb, int status)
{
	mutex_lock(&sb->lock);
	if (!sb->done) {
		sb->done = true;
		sb->status = status < 0 ? status : 0;
	}
	cond_broadcast(&sb->can_read);
	cond_broadcast(&sb->turn);
	mutex_unlock(&sb->lock);
}

void snapbuf_abort(struct snapbuf *sb)
{
	mutex_lock(&sb->lock);
	sb->aborted = true;
	cond_broadcast(&sb->can_write);
	cond_broadcast(&sb->can_read);
	cond_broadcast(&sb->turn);
	mutex_unlock(&sb->lock);
}

static void deadline_after(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Nothing more will ever be in the buffer. */
static bool drained(const struct snapbuf *sb)
{
	return sb->done && sb->len == 0;
}

/* Waits, with the lock held, until the read at `off` may be served.
 * Returns 1 to serve it, or what the read returns: 0 (past the end),
 * -EIO, -ECANCELED. */
static int wait_turn(struct snapbuf *sb, uint64_t off)
{
	struct timespec deadline;
	bool idle_wait = false; /* deadline set for the current idle spell */

	for (;;) {
		if (sb->aborted)
			return -ECANCELED;
		if (sb->broken)
			return -EIO;
		if (sb->serving) {
			/* Progress: the earlier read is being served. */
			idle_wait = false;
			cond_wait(&sb->turn, &sb->lock);
			continue;
		}
		if (off == sb->pos)
			return 1;
		if (off < sb->pos)
			return -EIO; /* those bytes are gone */
		if (drained(sb))
			return sb->status < 0 ? -EIO : 0;
		if (!idle_wait) {
			deadline_after(&deadline, sb->order_wait_ms);
			idle_wait = true;
		}
		if (!cond_timedwait(&sb->turn, &sb->lock, &deadline))
			return -EIO; /* the earlier read never came */
	}
}

/* Moves up to `size` bytes from the ring into dst, with the lock held. */
static size_t take(struct snapbuf *sb, unsigned char *dst, size_t size)
{
	size_t n = sb->len < size ? sb->len : size;
	size_t first = sb->cap - sb->head;

	if (first > n)
		first = n;
	memcpy(dst, sb->data + sb->head, first);
	memcpy(dst + first, sb->data, n - first);
	sb->head = (sb->head + n) % sb->cap;
	sb->len -= n;
	if (n)
		cond_signal(&sb->can_write);
	return n;
}

/* Fills dst completely unless the stream ends first. */
static ssize_t fill(struct snapbuf *sb, unsigned char *dst, size_t size)
{
	struct timespec deadline;
	size_t got = 0;

	while (got < size) {
		if (sb->aborted)
			return -ECANCELED;
		if (sb->len) {
			got += take(sb, dst + got, size - got);
			continue;
		}
		if (sb->done)
			return sb->status < 0 ? -EIO : (ssize_t)got;
		if (!sb->gave_up) {
			cond_wait(&sb->can_read, &sb->lock);
			continue;
		}
		/* A reader killed while it waits (a server gone silent) must
		 * not stay stuck in read() until the dump fails. */
		deadline_after(&deadline, GAVE_UP_POLL_MS);
		if (!cond_timedwait(&sb->can_read, &sb->lock, &deadline) && sb->gave_up()) {
			/* Bytes already taken cannot be given back: a short read
			 * would lose them silently, so the stream fails instead. */
			if (got)
				sb->broken = true;
			return -EINTR;
		}
	}
	return (ssize_t)got;
}

ssize_t snapbuf_read_at(struct snapbuf *sb, void *dst, size_t size, off_t off)
{
	ssize_t ret;

	if (off < 0)
		return -EIO;
	mutex_lock(&sb->lock);
	ret = wait_turn(sb, (uint64_t)off);
	if (ret == 1) {
		sb->serving = true;
		ret = fill(sb, dst, size);
		if (ret > 0)
			sb->pos += (uint64_t)ret;
		sb->serving = false;
		cond_broadcast(&sb->turn);
	}
	mutex_unlock(&sb->lock);
	return ret;
}

uint64_t snapbuf_position(struct snapbuf *sb)
{
	uint64_t pos;

	mutex_lock(&sb->lock);
	pos = sb->pos;
	mutex_unlock(&sb->lock);
	return pos;
}

void snapbuf_free(struct snapbuf *sb)
{
	if (!sb)
		return;
	cond_destroy(&sb->turn);
	cond_destroy(&sb->can_read);
	cond_destroy(&sb->can_write);
	mutex_destroy(&sb->lock);
	free(sb->data);
	free(sb);
}
