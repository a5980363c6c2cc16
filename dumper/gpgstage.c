/* OpenPGP encryption stage; see gpgstage.h (key loading: gpgkey.c).
 *
 * A helper thread per stage runs gpgme_op_encrypt_start and then gpgme's
 * I/O handlers from its own poll() loop.  gpgme talks to gpg through data
 * callbacks: write() fills a bounded ring that the plaintext read
 * callback drains, and the ciphertext write callback pushes into `next`.
 */
#include "gpgstage.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpg_priv.h"
#include "thread.h"

#define RING_SIZE (256 * 1024)
/* gpgme's per-callback buffer; its 4 KiB default costs throughput. */
#define IO_BUFFER_SIZE "65536"

/* gpgme's own event loop ignores POLLERR on the pipe into gpg: when gpg
 * dies with that pipe full it spins forever, and cannot be cancelled.
 * So the helper runs gpgme's external-event-loop interface with its own
 * poll(), which also watches a pipe that free() uses to interrupt it. */
#define IO_SLOTS 8

struct io_slot {
	int fd;	 /* -1: free */
	int dir; /* 1: call when readable, 0: when writable */
	gpgme_io_cb_t fnc;
	void *fnc_data;
};

struct gpgstage {
	struct writer w;
	struct writer *next;
	gpgme_ctx_t ctx;
	gpgme_key_t recp[GPG_MAX_RECIPIENTS + 1]; /* NULL-terminated */
	struct gpgme_data_cbs plain_cbs, cipher_cbs;
	struct gpgme_io_cbs io_cbs;
	gpgme_data_t plain, cipher;
	int wake_fd[2]; /* free() -> helper: `cancel` was set */
	pthread_t thread;
	int thread_live; /* joinable */
	int failed;	 /* sticky: `fail_rc`/`fail_err` hold the error */
	int closed;
	int fail_rc;
	struct errbuf fail_err;

	/* Shared with the helper thread, under `mu`. */
	pthread_mutex_t mu;
	pthread_cond_t has_data;  /* ring not empty, eof or cancel */
	pthread_cond_t has_space; /* ring not full, or helper done */
	unsigned char *ring;
	size_t head, fill;
	int eof, cancel, done;
	int helper_rc;		  /* valid once done */
	struct errbuf helper_err; /* written by the helper before done */

	/* Helper thread only (and gpgstage_new/free around it). */
	struct io_slot io[IO_SLOTS];
	int op_done;
	gpgme_error_t op_err;
	int poll_errno;
	int next_failed;
	int finished; /* gpg said END_ENCRYPTION */
};

static void lock(struct gpgstage *s)
{
	mutex_lock(&s->mu);
}

static void unlock(struct gpgstage *s)
{
	mutex_unlock(&s->mu);
}

static void wait_on(struct gpgstage *s, pthread_cond_t *c)
{
	cond_wait(c, &s->mu);
}

static void wake(pthread_cond_t *c, int all)
{
	if (all)
		cond_broadcast(c);
	else
		cond_signal(c);
}

static int cancelled(struct gpgstage *s)
{
	int c;

	lock(s);
	c = s->cancel;
	unlock(s);
	return c;
}

static ssize_t plain_read(void *handle, void *buf, size_t size)
{
	struct gpgstage *s = handle;
	size_t n, first;

	lock(s);
	while (!s->fill && !s->eof && !s->cancel)
		wait_on(s, &s->has_data);
	if (s->cancel) {
		unlock(s);
		errno = ECANCELED; /* gpgme aborts the operation */
		return -1;
	}
	/* Hand over what is there: gpg should not wait for a full buffer. */
	n = s->fill < size ? s->fill : size;
	first = RING_SIZE - s->head < n ? RING_SIZE - s->head : n;
	memcpy(buf, s->ring + s->head, first);
	memcpy((unsigned char *)buf + first, s->ring, n - first);
	s->head = (s->head + n) % RING_SIZE;
	s->fill -= n;
	wake(&s->has_space, 0);
	unlock(s);
	return (ssize_t)n; /* 0 at eof */
}

static ssize_t cipher_write(void *handle, const void *buf, size_t size)
{
	struct gpgstage *s = handle;
	int rc;

	if (cancelled(s)) {
		errno = ECANCELED; /* the chain is being torn down */
		return -1;
	}
	rc = writer_write(s->next, buf, size, &s->helper_err);
	if (rc < 0) {
		s->next_failed = rc;
		errno = -rc;
		return -1;
	}
	return (ssize_t)size;
}

/* gpgme reports success when gpg dies without a word (it cannot see the
 * exit status of its double-forked child), so completion is taken from
 * gpg's END_ENCRYPTION, which it prints only after flushing its output. */
static gpgme_error_t on_status(void *handle, const char *keyword, const char *args)
{
	struct gpgstage *s = handle;

	(void)args;
	if (keyword && strcmp(keyword, "END_ENCRYPTION") == 0)
		s->finished = 1;
	return 0;
}

static gpgme_error_t io_add(void *data, int fd, int dir, gpgme_io_cb_t fnc, void *fnc_data,
			    void **tag)
{
	struct gpgstage *s = data;

	for (int i = 0; i < IO_SLOTS; i++)
		if (s->io[i].fd < 0) {
			s->io[i] = (struct io_slot){fd, dir, fnc, fnc_data};
			*tag = &s->io[i];
			return 0;
		}
	return gpgme_error(GPG_ERR_GENERAL);
}

static void io_remove(void *tag)
{
	((struct io_slot *)tag)->fd = -1;
}

static void io_event(void *data, gpgme_event_io_t type, void *type_data)
{
	struct gpgstage *s = data;
	gpgme_io_event_done_data_t done = type_data;

	if (type != GPGME_EVENT_DONE)
		return;
	s->op_done = 1;
	s->op_err = done ? (done->err ? done->err : done->op_err) : 0;
}

static void op_cancel(struct gpgstage *s)
{
	gpgme_error_t ge = gpgme_cancel(s->ctx); /* signals DONE */

	if (ge || !s->op_done) {
		s->op_done = 1;
		s->op_err = ge ? ge : gpgme_error(GPG_ERR_CANCELED);
	}
}

/* Runs gpgme's handlers until the operation is done.  POLLERR and
 * POLLHUP count as ready: the handler then meets EOF or EPIPE. */
static void event_loop(struct gpgstage *s)
{
	struct pollfd pfd[IO_SLOTS + 1];
	int slot[IO_SLOTS + 1];

	while (!s->op_done) {
		nfds_t n = 1;

		pfd[0] = (struct pollfd){.fd = s->wake_fd[0], .events = POLLIN};
		for (int i = 0; i < IO_SLOTS; i++)
			if (s->io[i].fd >= 0) {
				pfd[n] = (struct pollfd){.fd = s->io[i].fd,
							 .events = s->io[i].dir ? POLLIN : POLLOUT};
				slot[n++] = i;
			}
		if (n == 1) { /* gpgme would have said DONE: do not wait forever */
			s->op_err = gpgme_error(GPG_ERR_BUG);
			return;
		}
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			s->poll_errno = errno;
			op_cancel(s);
			return;
		}
		if (pfd[0].revents && cancelled(s)) {
			op_cancel(s);
			return;
		}
		for (nfds_t k = 1; k < n && !s->op_done; k++) {
			struct io_slot *io = &s->io[slot[k]];

			/* Handlers may remove slots: skip what is gone. */
			if (pfd[k].revents && io->fd == pfd[k].fd && io->fnc(io->fnc_data, io->fd))
				op_cancel(s);
		}
	}
}

/* Runs on the helper thread once the operation is done; fills
 * helper_err and returns 0 only when the message is complete. */
static int encrypt_outcome(struct gpgstage *s, gpgme_error_t ge)
{
	char eb[256];
	gpgme_encrypt_result_t r;

	if (s->next_failed)
		return s->next_failed; /* keep the next stage's message */
	if (cancelled(s))
		return error_set(&s->helper_err, -ECANCELED, "gpg: encryption aborted");
	if (s->poll_errno)
		return error_set(&s->helper_err, -s->poll_errno, "gpg: poll failed: %s",
				 strerror(s->poll_errno));
	if (ge)
		return error_set(&s->helper_err, gpg_errcode(ge), "gpg: encryption failed: %s",
				 gpg_errstr(ge, eb, sizeof(eb)));
	r = gpgme_op_encrypt_result(s->ctx);
	if (!r)
		return error_set(&s->helper_err, -EIO, "gpg: encryption failed: no result");
	if (r->invalid_recipients)
		return error_set(&s->helper_err, -EKEYREJECTED,
				 "gpg: key %s was refused for encryption: %s",
				 r->invalid_recipients->fpr ? r->invalid_recipients->fpr : "?",
				 gpg_errstr(r->invalid_recipients->reason, eb, sizeof(eb)));
	if (!s->finished)
		return error_set(&s->helper_err, -EIO,
				 "gpg: encryption failed: gpg ended before finishing the message");
	return 0;
}

static void *helper_main(void *arg)
{
	struct gpgstage *s = arg;
	gpgme_error_t ge;
	int rc;

	ge = gpgme_op_encrypt_start(s->ctx, s->recp,
				    GPGME_ENCRYPT_ALWAYS_TRUST | GPGME_ENCRYPT_NO_COMPRESS,
				    s->plain, s->cipher);
	if (!ge) {
		event_loop(s);
		ge = s->op_err;
	}
	rc = encrypt_outcome(s, ge);
	lock(s);
	s->helper_rc = rc;
	s->done = 1;
	wake(&s->has_space, 1);
	unlock(s);
	return NULL;
}

static int stage_fail(struct gpgstage *s, int rc, const struct errbuf *msg, struct errbuf *err)
{
	if (!s->failed) {
		s->failed = 1;
		s->fail_rc = rc;
		s->fail_err = *msg;
	}
	if (err)
		*err = s->fail_err;
	return s->fail_rc;
}

/* Called with mu held once the helper is done before eof. */
static int helper_stopped(struct gpgstage *s, struct errbuf *err)
{
	struct errbuf e;
	int rc = s->helper_rc;

	if (rc == 0)
		rc = error_set(&e, -EIO, "gpg: stopped reading its input early");
	else
		e = s->helper_err;
	return stage_fail(s, rc, &e, err);
}

static int gpgstage_write(struct writer *w, const void *buf, size_t len, struct errbuf *err)
{
	struct gpgstage *s = (struct gpgstage *)w;
	const unsigned char *p = buf;
	int rc = 0;

	if (s->failed)
		return stage_fail(s, 0, NULL, err);
	if (s->closed)
		return error_set(err, -EINVAL, "gpg: write after close");
	lock(s);
	while (len > 0) {
		size_t tail, n, first;

		while (s->fill == RING_SIZE && !s->done)
			wait_on(s, &s->has_space);
		if (s->done) {
			rc = helper_stopped(s, err);
			break;
		}
		tail = (s->head + s->fill) % RING_SIZE;
		n = RING_SIZE - s->fill < len ? RING_SIZE - s->fill : len;
		first = RING_SIZE - tail < n ? RING_SIZE - tail : n;
		memcpy(s->ring + tail, p, first);
		memcpy(s->ring, p + first, n - first);
		s->fill += n;
		p += n;
		len -= n;
		wake(&s->has_data, 0);
	}
	unlock(s);
	return rc;
}

static void helper_join(struct gpgstage *s)
{
	if (!s->thread_live)
		return;
	thread_join(s->thread);
	s->thread_live = 0;
}

static int gpgstage_close(struct writer *w, struct errbuf *err)
{
	struct gpgstage *s = (struct gpgstage *)w;
	struct errbuf e;

	if (s->failed)
		return stage_fail(s, 0, NULL, err);
	if (s->closed)
		return 0;
	lock(s);
	s->eof = 1;
	wake(&s->has_data, 0);
	unlock(s);
	helper_join(s);
	if (s->helper_rc) {
		e = s->helper_err;
		return stage_fail(s, s->helper_rc, &e, err);
	}
	s->closed = 1;
	return 0;
}

static void gpgstage_free(struct writer *w)
{
	struct gpgstage *s = (struct gpgstage *)w;

	if (s->thread_live) {
		lock(s);
		s->cancel = 1;
		wake(&s->has_data, 1);
		wake(&s->has_space, 1);
		unlock(s);
		/* Interrupts the helper's poll(); a full pipe is already set. */
		if (write(s->wake_fd[1], "", 1) < 0 && errno != EAGAIN)
			abort();
		helper_join(s);
	}
	gpgme_data_release(s->plain);
	gpgme_data_release(s->cipher);
	for (int i = 0; s->recp[i]; i++)
		gpgme_key_unref(s->recp[i]);
	gpgme_release(s->ctx);
	for (int i = 0; i < 2; i++)
		if (s->wake_fd[i] >= 0)
			close(s->wake_fd[i]);
	cond_destroy(&s->has_space);
	cond_destroy(&s->has_data);
	mutex_destroy(&s->mu);
	free(s->ring);
	free(s);
}

static const struct writer_ops gpgstage_ops = {
	.stage = "gpg",
	.write = gpgstage_write,
	.close = gpgstage_close,
	.free = gpgstage_free,
};

static int sync_init(struct gpgstage *s, struct errbuf *err)
{
	int e;

	e = mutex_init(&s->mu);
	if (e)
		return error_set(err, e, "gpg: cannot create a mutex: %s", strerror(-e));
	e = cond_init(&s->has_data, false);
	if (e) {
		mutex_destroy(&s->mu);
		return error_set(err, e, "gpg: cannot create a condition: %s", strerror(-e));
	}
	e = cond_init(&s->has_space, false);
	if (e) {
		cond_destroy(&s->has_data);
		mutex_destroy(&s->mu);
		return error_set(err, e, "gpg: cannot create a condition: %s", strerror(-e));
	}
	return 0;
}

static int data_new(gpgme_data_t *dh, struct gpgme_data_cbs *cbs, struct gpgstage *s,
		    struct errbuf *err)
{
	char eb[256];
	gpgme_error_t ge;

	ge = gpgme_data_new_from_cbs(dh, cbs, s);
	if (!ge)
		ge = gpgme_data_set_flag(*dh, "io-buffer-size", IO_BUFFER_SIZE);
	if (ge)
		return error_set(err, gpg_errcode(ge), "gpg: cannot create a data stream: %s",
				 gpg_errstr(ge, eb, sizeof(eb)));
	return 0;
}

static int stage_setup(struct gpgstage *s, const struct gpg_key *key, struct errbuf *err)
{
	char eb[256];
	gpgme_error_t ge;
	int rc;

	if (pipe2(s->wake_fd, O_CLOEXEC | O_NONBLOCK) < 0)
		return error_set(err, -errno, "gpg: cannot create a pipe: %s", strerror(errno));
	rc = gpg_ctx_new(&s->ctx, key->homedir, err);
	if (rc)
		return rc;
	/* Every configured recipient: any one private key decrypts. */
	for (unsigned i = 0; i < key->n; i++) {
		ge = gpgme_get_key(s->ctx, key->r[i].fpr, &s->recp[i], 0);
		if (ge || !s->recp[i]) {
			s->recp[i] = NULL; /* keeps the array terminated for the free */
			return error_set(err, ge ? gpg_errcode(ge) : -ENOKEY,
					 "gpg: key %s vanished from '%s': %s", key->r[i].fpr,
					 key->homedir,
					 ge ? gpg_errstr(ge, eb, sizeof(eb)) : "not found");
		}
	}
	ge = gpgme_set_ctx_flag(s->ctx, "full-status", "1"); /* for END_ENCRYPTION */
	if (ge)
		return error_set(err, gpg_errcode(ge), "gpg: cannot ask for status lines: %s",
				 gpg_errstr(ge, eb, sizeof(eb)));
	gpgme_set_status_cb(s->ctx, on_status, s);
	for (int i = 0; i < IO_SLOTS; i++)
		s->io[i].fd = -1;
	s->io_cbs = (struct gpgme_io_cbs){io_add, s, io_remove, io_event, s};
	gpgme_set_io_cbs(s->ctx, &s->io_cbs);
	s->plain_cbs.read = plain_read;
	s->cipher_cbs.write = cipher_write;
	rc = data_new(&s->plain, &s->plain_cbs, s, err);
	if (!rc)
		rc = data_new(&s->cipher, &s->cipher_cbs, s, err);
	return rc;
}

static int helper_start(struct gpgstage *s, struct errbuf *err)
{
	int e = thread_start_nosig(&s->thread, helper_main, s);

	if (e)
		return error_set(err, e, "gpg: cannot start a thread: %s", strerror(-e));
	s->thread_live = 1;
	return 0;
}

int gpgstage_new(struct writer **out, struct writer *next, struct gpg_key *key, struct errbuf *err)
{
	struct gpgstage *s;
	int rc;

	*out = NULL;
	rc = gpg_engine_init(err);
	if (rc)
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s)
		return error_set(err, -ENOMEM, "out of memory");
	s->wake_fd[0] = s->wake_fd[1] = -1;
	s->ring = malloc(RING_SIZE);
	if (!s->ring) {
		free(s);
		return error_set(err, -ENOMEM, "out of memory");
	}
	rc = sync_init(s, err);
	if (rc) {
		free(s->ring);
		free(s);
		return rc;
	}
	s->w.ops = &gpgstage_ops;
	s->next = next;
	rc = stage_setup(s, key, err);
	if (!rc)
		rc = helper_start(s, err);
	if (rc) {
		gpgstage_free(&s->w);
		return rc;
	}
	*out = &s->w;
	return 0;
}
