/* gpgstage: encrypting through real gpg; throughput, backpressure, aborts, gpg dying. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../../dumper/gpgstage.h"
#include "gpgfixture.h"
#include "unit.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- a stage writing into a file, optionally stalled, fed by a thread ---- */

struct rig {
	const struct gpg_fixture *fx; /* set by rig_open; NULL without keys */
	struct gpg_key *key;
	struct writer *st;
	struct writer out;
	int fd;
	char path[256];
	size_t written;
	size_t fail_after;    /* the sink fails past this many bytes */
	pthread_mutex_t gate; /* held by the test to stall the sink */
	unsigned char *data;
	size_t n;
	pthread_t thread;
	int producing, close_too; /* producer thread */
	size_t progress;	  /* atomic: bytes the stage accepted */
	pid_t tid;		  /* atomic: the producer thread */
	int rc;
	struct errbuf err;
};

static int sink_write(struct writer *w, const void *buf, size_t len, struct errbuf *err)
{
	struct rig *r = (struct rig *)((char *)w - offsetof(struct rig, out));
	const char *p = buf;

	pthread_mutex_lock(&r->gate);
	pthread_mutex_unlock(&r->gate);
	if (r->written + len > r->fail_after)
		return error_set(err, -ENOSPC, "sink 'test': disk full");
	while (len > 0) {
		ssize_t n = write(r->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return error_set(err, -EIO, "sink 'test': %s", strerror(errno));
		p += n;
		len -= (size_t)n;
		r->written += (size_t)n;
	}
	return 0;
}

static int sink_close(struct writer *w, struct errbuf *err)
{
	(void)w;
	(void)err;
	return 0;
}

static void sink_free(struct writer *w)
{
	(void)w;
}

static const struct writer_ops sink_ops = {"test", sink_write, sink_close, sink_free};

static void fill_random(unsigned char *buf, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (unsigned char)(x >> 24);
	}
}

/* Loads `keyfile` and starts a stage writing `name` under the fixture;
 * `n` random bytes are ready in r->data. */
static int rig_open_to(struct rig *r, const char *keyfile, const char *recipients, const char *name,
		       size_t n)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->out.ops = &sink_ops;
	r->fail_after = SIZE_MAX;
	r->n = n;
	r->fx = gpgfx_get();
	if (!r->fx)
		return -1; /* gpgfx_get failed the test */
	if (pthread_mutex_init(&r->gate, NULL)) {
		CHECK(!"pthread_mutex_init");
		return -1;
	}
	gpgfx_path(r->path, sizeof(r->path), name);
	r->fd = open(r->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	r->data = malloc(n ? n : 1);
	CHECK(r->fd >= 0 && r->data);
	if (r->fd < 0 || !r->data)
		return -1;
	fill_random(r->data, n, n + (unsigned char)name[0]);
	CHECK(gpgfx_load(&r->key, keyfile, recipients, NULL, &r->err) == 0);
	CHECK_STREQ(r->err.msg, "");
	if (!r->key)
		return -1;
	CHECK(gpgstage_new(&r->st, &r->out, r->key, &r->err) == 0);
	return r->st ? 0 : -1;
}

static int rig_open(struct rig *r, const char *keyfile, const char *name, size_t n)
{
	return rig_open_to(r, keyfile, "dpo@test.local", name, n);
}

static void rig_release(struct rig *r)
{
	if (r->producing)
		CHECK(pthread_join(r->thread, NULL) == 0);
	writer_free(r->st);
	gpg_key_free(r->key);
	if (r->fd >= 0)
		close(r->fd);
	unlink(r->path);
	free(r->data);
	pthread_mutex_destroy(&r->gate);
}

/* Writes r->data in odd-sized chunks (then closes, with close_too). */
static void *produce(void *arg)
{
	static const size_t sizes[] = {1, 7, 4093, 65537, 300007, 13, 8192};
	struct rig *r = arg;

	__atomic_store_n(&r->tid, unit_tid(), __ATOMIC_RELEASE);
	for (size_t off = 0, i = 0; off < r->n && !r->rc; i++) {
		size_t c = sizes[i % 7] < r->n - off ? sizes[i % 7] : r->n - off;

		r->rc = writer_write(r->st, r->data + off, c, &r->err);
		off += c;
		__atomic_store_n(&r->progress, off, __ATOMIC_RELEASE);
	}
	if (!r->rc && r->close_too)
		r->rc = writer_close(r->st, &r->err);
	return NULL;
}

static void rig_produce(struct rig *r, int close_too)
{
	r->close_too = close_too;
	r->producing = pthread_create(&r->thread, NULL, produce, r) == 0;
	CHECK(r->producing);
}

/* The producer thread has started and blocks (on the stage's full ring,
 * or in close()). */
static bool wait_producer_blocked(struct rig *r)
{
	return UNIT_WAIT_UNTIL(__atomic_load_n(&r->tid, __ATOMIC_ACQUIRE) != 0, 10) &&
	       unit_wait_blocked(__atomic_load_n(&r->tid, __ATOMIC_ACQUIRE), 10);
}

/* Joins the producer within `secs`; on a hang, leaks the rig. */
static int join_within(pthread_t t, int secs)
{
	struct timespec limit;

	clock_gettime(CLOCK_REALTIME, &limit);
	limit.tv_sec += secs;
	return pthread_timedjoin_np(t, NULL, &limit);
}

static int rig_join(struct rig *r, int secs)
{
	if (join_within(r->thread, secs) != 0) {
		CHECK(!"the stage hangs");
		return -1;
	}
	r->producing = 0;
	return 0;
}

/* Decrypts r->path with the fixture's secret keys and compares with
 * r->data; checks the message is binary and has no compressed packet. */
static void check_message(struct rig *r)
{
	char plain[300];
	unsigned char *got = malloc(r->n + 1), first = 0;
	int fd = open(r->path, O_RDONLY);
	ssize_t len = -1;

	CHECK(got && fd >= 0 && read(fd, &first, 1) == 1);
	CHECK(first & 0x80); /* a binary packet tag, not armor */
	if (fd >= 0)
		close(fd);
	CHECK(gpgfx_sh("gpg --homedir %s --list-packets %s 2>/dev/null"
		       " | grep -q 'pubkey enc packet'",
		       r->fx->home, r->path) == 0);
	CHECK(gpgfx_sh_quiet("gpg --homedir %s --list-packets %s 2>/dev/null"
			     " | grep -q 'compressed'",
			     r->fx->home, r->path) != 0);
	snprintf(plain, sizeof(plain), "%s.out", r->path);
	CHECK(gpgfx_sh(GPGFX_GPG " --yes --decrypt -o %s %s 2>/dev/null", r->fx->home, plain,
		       r->path) == 0);
	fd = open(plain, O_RDONLY);
	if (fd >= 0 && got) {
		len = read(fd, got, r->n + 1);
		close(fd);
	}
	CHECK(len == (ssize_t)r->n && memcmp(got, r->data, r->n) == 0);
	unlink(plain);
	free(got);
}

/* ---- encryption ---- */

static void roundtrip(const char *keyfile, size_t n)
{
	struct rig r;

	if (rig_open(&r, keyfile, "msg.gpg", n) == 0) {
		produce(&r);
		CHECK(r.rc == 0);
		CHECK(writer_close(r.st, &r.err) == 0);
		CHECK_STREQ(r.err.msg, "");
		CHECK(r.written > n);
		check_message(&r);
	}
	rig_release(&r);
}

TEST(gpgstage_roundtrip_sizes)
{
	const struct gpg_fixture *fx = gpgfx_get();

	if (!fx)
		return;
	roundtrip("good.asc", 0);
	roundtrip("good.asc", 1);
	roundtrip("good.gpg", 1000);
	roundtrip("good.asc", 5 * 1024 * 1024 + 17);
	CHECK(gpgfx_count_dir(fx->tmp) == 0);
}

/* One key, two stages at once (two helper threads, two gpg processes). */
TEST(gpgstage_concurrent_stages)
{
	struct rig r[2];

	if (rig_open(&r[0], "good.asc", "conc0.gpg", 3 << 20) == 0 &&
	    rig_open(&r[1], "good.asc", "conc1.gpg", 3 << 20) == 0) {
		rig_produce(&r[0], 1);
		rig_produce(&r[1], 1);
		for (int i = 0; i < 2; i++) {
			CHECK(rig_join(&r[i], 60) == 0 && r[i].rc == 0);
			check_message(&r[i]);
		}
	}
	rig_release(&r[0]);
	rig_release(&r[1]);
}

/* A stalled next stage stops write(): memory stays bounded. */
TEST(gpgstage_backpressure)
{
	struct rig r;
	size_t stalled;

	if (rig_open(&r, "good.asc", "bp.gpg", 16 << 20) == 0) {
		pthread_mutex_lock(&r.gate);
		rig_produce(&r, 1);
		CHECK(wait_producer_blocked(&r));
		stalled = __atomic_load_n(&r.progress, __ATOMIC_ACQUIRE);
		/* ring (256 KiB) + gpgme buffers + two pipes + gpg's own */
		CHECK(stalled > 0 && stalled < (2u << 20));
		pthread_mutex_unlock(&r.gate);
		CHECK(rig_join(&r, 60) == 0 && r.rc == 0);
		check_message(&r);
	}
	rig_release(&r);
}

/* ---- failures ---- */

static int count_tasks(void)
{
	return gpgfx_count_dir("/proc/self/task");
}

TEST(gpgstage_abort_leaves_nothing)
{
	int tasks = count_tasks(), fds = gpgfx_count_dir("/proc/self/fd");
	struct rig r;
	double t0;

	if (rig_open(&r, "good.asc", "abort.gpg", 1 << 20) == 0) {
		CHECK(count_tasks() == tasks + 1);
		produce(&r);
		CHECK(r.rc == 0);
		CHECK(gpgfx_procs() == 1); /* the ring is smaller: gpg took the rest */
		t0 = now_s();
		writer_free(r.st);
		r.st = NULL;
		CHECK(now_s() - t0 < 1.0);
		CHECK(count_tasks() == tasks);
		CHECK(gpgfx_procs_settle() == 0);
		gpg_key_free(r.key);
		r.key = NULL;
		CHECK(gpgfx_count_dir(r.fx->tmp) == 0);
		/* What reached the sink is no complete message. */
		CHECK(gpgfx_sh_quiet(GPGFX_GPG " --decrypt -o /dev/null %s 2>/dev/null", r.fx->home,
				     r.path) != 0);
	}
	rig_release(&r);
	CHECK(gpgfx_count_dir("/proc/self/fd") == fds);
}

/* Abort while the helper waits in poll() on a stopped gpg. */
static void *free_stage(void *st)
{
	writer_free(st);
	return NULL;
}

TEST(gpgstage_abort_with_gpg_stopped)
{
	int fds = gpgfx_count_dir("/proc/self/fd");
	struct rig r;
	pthread_t t;
	double t0;
	int hung;

	if (rig_open(&r, "good.asc", "stop.gpg", 1 << 20) == 0) {
		CHECK(writer_write(r.st, r.data, 4096, &r.err) == 0);
		CHECK(UNIT_WAIT_UNTIL(gpgfx_procs() == 1, 10));
		CHECK(gpgfx_procs_kill(SIGSTOP) == 1);
		/* fills the pipe into gpg, and part of the ring; the helper
		 * then waits in poll() */
		CHECK(writer_write(r.st, r.data, 200000, &r.err) == 0);
		CHECK(unit_wait_any_in(SYS_poll, 10) != 0);
		t0 = now_s();
		CHECK(pthread_create(&t, NULL, free_stage, r.st) == 0);
		r.st = NULL;
		hung = join_within(t, 5) != 0;
		CHECK(!hung && now_s() - t0 < 1.0);
		gpgfx_procs_kill(SIGKILL); /* also lets a hung free() end */
		if (hung)
			pthread_join(t, NULL);
		CHECK(gpgfx_procs_settle() == 0);
	}
	rig_release(&r);
	CHECK(gpgfx_count_dir("/proc/self/fd") == fds);
}

TEST(gpgstage_next_stage_failure)
{
	int tasks = count_tasks();
	struct rig r;

	if (rig_open(&r, "good.asc", "fail.gpg", 4 << 20) == 0) {
		r.fail_after = 100000;
		/* The failure surfaces in write() once noticed, else in close(). */
		produce(&r);
		if (!r.rc)
			r.rc = writer_close(r.st, &r.err);
		CHECK(r.rc == -ENOSPC);
		CHECK_STREQ(r.err.msg, "sink 'test': disk full");
		errbuf_clear(&r.err);
		CHECK(writer_write(r.st, r.data, 10, &r.err) == -ENOSPC); /* stays failed */
		CHECK_STREQ(r.err.msg, "sink 'test': disk full");
		CHECK(writer_close(r.st, &r.err) == -ENOSPC);
	}
	rig_release(&r);
	CHECK(count_tasks() == tasks);
	CHECK(gpgfx_procs_settle() == 0);
}

/* A stage killed mid-stream must fail, never end a short message. */
static void check_killed(struct rig *r)
{
	if (rig_join(r, 20) != 0)
		return; /* leaks the rig: it cannot be freed */
	CHECK(r->rc < 0);
	if (strncmp(r->err.msg, "gpg: ", 5))
		unit_fail_str(__FILE__, __LINE__, "r->err.msg", r->err.msg, "gpg: ...");
	rig_release(r);
}

/* gpg dies with every pipe around it full: gpgme's own loop spins
 * forever then. */
TEST(gpgstage_gpg_killed_when_stalled)
{
	struct rig r;

	if (rig_open(&r, "good.asc", "killed.gpg", 16 << 20) != 0) {
		rig_release(&r);
		return;
	}
	pthread_mutex_lock(&r.gate);
	rig_produce(&r, 1);
	CHECK(wait_producer_blocked(&r)); /* everything stalls behind the gate */
	CHECK(gpgfx_procs_kill(SIGKILL) == 1);
	CHECK(UNIT_WAIT_UNTIL(gpgfx_procs() == 0, 10)); /* gpg is gone */
	pthread_mutex_unlock(&r.gate);
	check_killed(&r);
}

/* gpg dies after taking all its input: every pipe then ends cleanly and
 * gpgme reports success. */
TEST(gpgstage_gpg_killed_after_input)
{
	struct rig r;

	if (rig_open(&r, "good.asc", "killed.gpg", 1000) != 0) {
		rig_release(&r);
		return;
	}
	CHECK(UNIT_WAIT_UNTIL(gpgfx_procs() == 1, 10));
	CHECK(gpgfx_procs_kill(SIGSTOP) == 1);
	rig_produce(&r, 1);
	/* The input and its end are in the pipe: the producer waits in
	 * close() and the helper in poll() for gpg's output. */
	CHECK(wait_producer_blocked(&r));
	CHECK(unit_wait_any_in(SYS_poll, 10) != 0);
	CHECK(gpgfx_procs_kill(SIGKILL) == 1);
	check_killed(&r);
}

/* docs/recipients.md: one message to two keys; each private key alone decrypts it
 * (separate GnuPG homes, each holding one secret key). */
TEST(gpgstage_several_recipients)
{
	struct rig r;
	const char *fprs[2];
	char expect[300] = "";

	if (rig_open_to(&r, "good.gpg,other.asc", "dpo@test.local,other@test.local", "two.msg",
			100000) == 0) {
		FILE *f;

		snprintf(expect, sizeof(expect), "%s.expect", r.path);
		f = fopen(expect, "w");
		CHECK(f && fwrite(r.data, 1, r.n, f) == r.n);
		CHECK(f && fclose(f) == 0);
		fprs[0] = r.fx->good_fpr;
		fprs[1] = r.fx->other_fpr;
		produce(&r);
		CHECK(r.rc == 0);
		CHECK(writer_close(r.st, &r.err) == 0);
		CHECK_STREQ(r.err.msg, "");
		CHECK(gpgfx_sh("test $(gpg --homedir %s --list-packets %s 2>/dev/null"
			       " | grep -c '^:pubkey enc packet') = 2",
			       r.fx->home, r.path) == 0);
		for (int i = 0; i < 2; i++) {
			char home[200], plain[300];

			snprintf(home, sizeof(home), "%s/one-%d", r.fx->dir, i);
			snprintf(plain, sizeof(plain), "%s.%d", r.path, i);
			CHECK(gpgfx_sh("mkdir -m 700 %s && " GPGFX_GPG
				       " --export-secret-keys %s | " GPGFX_GPG
				       " --import 2>/dev/null",
				       home, r.fx->home, fprs[i], home) == 0);
			CHECK(gpgfx_sh_quiet("test $(gpg --homedir %s --list-secret-keys "
					     "--with-colons 2>/dev/null | grep -c '^sec') = 1",
					     home) == 0);
			CHECK(gpgfx_sh(GPGFX_GPG " --decrypt -o %s %s 2>/dev/null && cmp %s %s",
				       home, plain, r.path, plain, expect) == 0);
			unlink(plain);
			gpgfx_sh("gpgconf --homedir %s --kill all >/dev/null 2>&1; rm -rf %s", home,
				 home);
		}
		unlink(expect);
	}
	rig_release(&r);
}
