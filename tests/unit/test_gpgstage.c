/* gpgstage: real gpg, real keys (made once per run in a temp GNUPGHOME). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../dumper/gpgstage.h"
#include "unit.h"

/* Test-runner state: keys are generated once and shared by the tests. */
struct gpg_fixture {
	int ready;
	char dir[64];	   /* everything lives here; removed at exit */
	char home[128];	   /* GNUPGHOME holding the secret keys */
	char tmp[128];	   /* TMPDIR for gpg_key_load's private homes */
	char good_fpr[64]; /* 'Test DPO <dpo@test.local>', expires in 1d */
	char other_fpr[64];
	char multi_fpr[64];
};

static struct gpg_fixture fx;

static int vsh(int quiet, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static int vsh(int quiet, const char *fmt, va_list ap)
{
	char cmd[4096];
	int rc;

	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	rc = system(cmd);
	if (rc != 0 && !quiet)
		printf("#   command failed (%d): %s\n", rc, cmd);
	return rc;
}

/* Runs a shell command; says so when it fails. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vsh(0, fmt, ap);
	va_end(ap);
	return rc;
}

/* The same for a command expected to fail (grep -q finding nothing). */
static int sh_quiet(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh_quiet(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vsh(1, fmt, ap);
	va_end(ap);
	return rc;
}

static void path_of(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", fx.dir, name);
}

#define GPG "gpg --homedir %s --batch --quiet --no-tty --pinentry-mode loopback --passphrase ''"

static int gen_key(const char *faked, const char *uid, const char *algo, const char *usage,
		   const char *expire)
{
	return sh(GPG " %s%s --quick-gen-key '%s' %s %s %s 2>/dev/null", fx.home,
		  faked ? "--faked-system-time " : "", faked ? faked : "", uid, algo, usage,
		  expire);
}

static int fpr_of(const char *who, char *out, size_t n)
{
	char cmd[512];
	FILE *p;
	int ok;

	snprintf(cmd, sizeof(cmd),
		 "gpg --homedir %s --with-colons --list-keys '%s' 2>/dev/null"
		 " | awk -F: '/^fpr/{print $10; exit}'",
		 fx.home, who);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	ok = fgets(out, (int)n, p) != NULL;
	pclose(p);
	if (!ok)
		return -1;
	out[strcspn(out, "\n")] = '\0';
	return strlen(out) == 40 ? 0 : -1;
}

static int export_key(const char *file, const char *opts, const char *fprs)
{
	return sh(GPG " %s %s > %s/%s", fx.home, opts, fprs, fx.dir, file);
}

static void fixture_cleanup(void)
{
	if (!fx.dir[0])
		return;
	sh("gpgconf --homedir %s --kill all >/dev/null 2>&1; rm -rf %s", fx.home, fx.dir);
}

/* Expired, revoked, sign-only and stale-subkey keys, each exported. */
static int make_bad_keys(void)
{
	char fpr[64], file[256];
	FILE *f;

	if (gen_key("20200101T000000", "Expired DPO <expired@test.local>", "future-default",
		    "default", "1d") ||
	    fpr_of("expired@test.local", fpr, sizeof(fpr)) ||
	    export_key("expired.gpg", "--export", fpr))
		return -1;
	/* gpg 2.2 writes a revocation certificate at key generation. */
	if (gen_key(NULL, "Revoked DPO <revoked@test.local>", "future-default", "default",
		    "never") ||
	    fpr_of("revoked@test.local", fpr, sizeof(fpr)) ||
	    sh("sed 's/^:-----BEGIN/-----BEGIN/' %s/openpgp-revocs.d/%s.rev > %s/rev.asc &&" GPG
	       " --import %s/rev.asc 2>/dev/null",
	       fx.home, fpr, fx.dir, fx.home, fx.dir) ||
	    export_key("revoked.gpg", "--export", fpr))
		return -1;
	if (gen_key(NULL, "Signer <signer@test.local>", "ed25519", "sign", "1y") ||
	    fpr_of("signer@test.local", fpr, sizeof(fpr)) ||
	    export_key("signonly.gpg", "--export", fpr))
		return -1;
	if (gen_key("20200101T000000", "Stale Sub <stalesub@test.local>", "ed25519", "sign",
		    "never") ||
	    fpr_of("stalesub@test.local", fpr, sizeof(fpr)) ||
	    sh(GPG " --faked-system-time 20200101T000000 --quick-add-key %s cv25519 encr 1d "
		   "2>/dev/null",
	       fx.home, fpr) ||
	    export_key("stalesub.gpg", "--export", fpr))
		return -1;
	if (export_key("secret.asc", "--export-secret-keys --armor", fx.good_fpr))
		return -1;
	path_of(file, sizeof(file), "garbage.asc");
	f = fopen(file, "w");
	if (!f)
		return -1;
	fputs("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key at all\n", f);
	return fclose(f) ? -1 : sh(": > %s/empty.asc", fx.dir);
}

/* A key with an old never-expiring encryption subkey and a newer one
 * expiring 2099-01-01: gpg uses (and get_info reports) the newer one. */
static int make_multi_key(void)
{
	if (gen_key("20200101T000000", "Multi Sub <multi@test.local>", "ed25519", "sign",
		    "never") ||
	    fpr_of("multi@test.local", fx.multi_fpr, sizeof(fx.multi_fpr)))
		return -1;
	if (sh(GPG " --faked-system-time 20200601T000000 --quick-add-key %s cv25519 encr never "
		   "2>/dev/null",
	       fx.home, fx.multi_fpr) ||
	    sh(GPG " --quick-add-key %s cv25519 encr 2099-01-01 2>/dev/null", fx.home,
	       fx.multi_fpr))
		return -1;
	return export_key("multi.gpg", "--export", fx.multi_fpr);
}

static int fixture_make(void)
{
	char both[160];

	snprintf(fx.dir, sizeof(fx.dir), "/tmp/dumpfs-gpgtest-XXXXXX");
	if (!mkdtemp(fx.dir)) {
		fx.dir[0] = '\0';
		return -1;
	}
	atexit(fixture_cleanup);
	path_of(fx.home, sizeof(fx.home), "gnupg");
	path_of(fx.tmp, sizeof(fx.tmp), "tmp");
	if (mkdir(fx.home, 0700) || mkdir(fx.tmp, 0700))
		return -1;
	if (gen_key(NULL, "Test DPO <dpo@test.local>", "future-default", "default", "1d") ||
	    fpr_of("dpo@test.local", fx.good_fpr, sizeof(fx.good_fpr)) ||
	    gen_key(NULL, "Other DPO <other@test.local>", "future-default", "default", "never") ||
	    fpr_of("other@test.local", fx.other_fpr, sizeof(fx.other_fpr)))
		return -1;
	snprintf(both, sizeof(both), "%s %s", fx.good_fpr, fx.other_fpr);
	if (export_key("good.asc", "--export --armor", fx.good_fpr) ||
	    export_key("good.gpg", "--export", fx.good_fpr) ||
	    export_key("two.gpg", "--export", both))
		return -1;
	return make_bad_keys() || make_multi_key() ? -1 : 0;
}

static const struct gpg_fixture *fixture(void)
{
	static int failed;

	if (!fx.ready && !failed) {
		if (fixture_make() == 0)
			fx.ready = 1;
		else
			failed = 1;
	}
	CHECK(fx.ready);
	return fx.ready ? &fx : NULL;
}

/* gpg_key_load with TMPDIR pointed at the fixture, so the tests can see
 * exactly what it leaves behind. */
static int load(struct gpg_key **key, const char *file, const char *recipient, const char *pin,
		struct errbuf *err)
{
	char path[256], *old = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
	int rc;

	path_of(path, sizeof(path), file);
	setenv("TMPDIR", fx.tmp, 1);
	errbuf_clear(err);
	rc = gpg_key_load(key, path, recipient, pin, err);
	if (old)
		setenv("TMPDIR", old, 1);
	else
		unsetenv("TMPDIR");
	free(old);
	return rc;
}

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Processes (gpg is double-forked by gpgme, so not our child) whose
 * command line mentions the fixture's TMPDIR; kills them with `sig`. */
static int gpg_procs_kill(int sig)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char path[300], buf[4096];
		ssize_t len;
		int fd;

		if (e->d_name[0] < '1' || e->d_name[0] > '9' || atoi(e->d_name) == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		for (ssize_t i = 0; i < len; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		buf[len > 0 ? len : 0] = '\0';
		if (strstr(buf, fx.tmp)) {
			n++;
			if (sig)
				kill(atoi(e->d_name), sig);
		}
	}
	closedir(d);
	return n;
}

static int gpg_procs(void)
{
	return gpg_procs_kill(0);
}

/* Polls for up to 3 s: gpg, orphaned by gpgme's double fork, exits on its
 * own once its pipes are closed. */
static int gpg_procs_settle(void)
{
	int n = gpg_procs();

	for (int i = 0; i < 300 && n > 0; i++) {
		usleep(10000);
		n = gpg_procs();
	}
	return n;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- a stage writing into a file, optionally stalled, fed by a thread ---- */

struct rig {
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
static int rig_open(struct rig *r, const char *keyfile, const char *name, size_t n)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->out.ops = &sink_ops;
	r->fail_after = SIZE_MAX;
	r->n = n;
	if (!fixture() || pthread_mutex_init(&r->gate, NULL))
		return -1;
	path_of(r->path, sizeof(r->path), name);
	r->fd = open(r->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	r->data = malloc(n ? n : 1);
	CHECK(r->fd >= 0 && r->data);
	if (r->fd < 0 || !r->data)
		return -1;
	fill_random(r->data, n, n + (unsigned char)name[0]);
	CHECK(load(&r->key, keyfile, "dpo@test.local", NULL, &r->err) == 0);
	CHECK_STREQ(r->err.msg, "");
	if (!r->key)
		return -1;
	CHECK(gpgstage_new(&r->st, &r->out, r->key, &r->err) == 0);
	return r->st ? 0 : -1;
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
	CHECK(sh("gpg --homedir %s --list-packets %s 2>/dev/null | grep -q 'pubkey enc packet'",
		 fx.home, r->path) == 0);
	CHECK(sh_quiet("gpg --homedir %s --list-packets %s 2>/dev/null | grep -q 'compressed'",
		       fx.home, r->path) != 0);
	snprintf(plain, sizeof(plain), "%s.out", r->path);
	CHECK(sh(GPG " --yes --decrypt -o %s %s 2>/dev/null", fx.home, plain, r->path) == 0);
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
	roundtrip("good.asc", 0);
	roundtrip("good.asc", 1);
	roundtrip("good.gpg", 1000);
	roundtrip("good.asc", 5 * 1024 * 1024 + 17);
	CHECK(count_dir(fx.tmp) == 0);
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
		usleep(500000);
		stalled = __atomic_load_n(&r.progress, __ATOMIC_ACQUIRE);
		/* ring (256 KiB) + gpgme buffers + two pipes + gpg's own */
		CHECK(stalled > 0 && stalled < (2u << 20));
		pthread_mutex_unlock(&r.gate);
		CHECK(rig_join(&r, 60) == 0 && r.rc == 0);
		check_message(&r);
	}
	rig_release(&r);
}

/* ---- keys ---- */

TEST(gpgstage_key_info_and_fingerprint_recipient)
{
	struct gpg_key *key = NULL;
	struct gpg_key_info info;
	struct errbuf err;
	char spaced[80] = "", lower[64];
	time_t now = time(NULL);

	if (!fixture())
		return;
	/* Fingerprint as recipient and pin, spaced and lower-case. */
	for (int i = 0; i < 40; i += 4)
		snprintf(spaced + strlen(spaced), sizeof(spaced) - strlen(spaced), "%.4s ",
			 fx.good_fpr + i);
	for (int i = 0; i <= 40; i++)
		lower[i] =
			(char)(fx.good_fpr[i] >= 'A' ? fx.good_fpr[i] - 'A' + 'a' : fx.good_fpr[i]);
	CHECK(load(&key, "good.gpg", spaced, lower, &err) == 0);
	CHECK_STREQ(err.msg, "");
	if (!key)
		return;
	gpg_key_get_info(key, &info);
	CHECK_STREQ(info.fingerprint, fx.good_fpr);
	CHECK_STREQ(info.uid, "Test DPO <dpo@test.local>");
	CHECK(info.expires > now + 86400 - 600 && info.expires < now + 86400 + 600);
	gpg_key_free(key);
	gpg_key_free(NULL);
	CHECK(count_dir(fx.tmp) == 0);
}

TEST(gpgstage_latest_encryption_subkey_expiry)
{
	struct gpg_key *key = NULL;
	struct gpg_key_info info;
	struct errbuf err;
	struct tm tm = {.tm_year = 2099 - 1900, .tm_mon = 0, .tm_mday = 1};
	time_t want = timegm(&tm);

	if (!fixture())
		return;
	CHECK(load(&key, "multi.gpg", "multi@test.local", fx.multi_fpr, &err) == 0);
	CHECK_STREQ(err.msg, "");
	if (!key)
		return;
	gpg_key_get_info(key, &info);
	/* gpg turns the date into whole days after the subkey's creation. */
	CHECK(info.expires > want - 2 * 86400 && info.expires < want + 2 * 86400);
	gpg_key_free(key);
}

static void expect_refusal(const char *file, const char *recipient, const char *pin,
			   const char *want1, const char *want2)
{
	struct gpg_key *key = (struct gpg_key *)&key;
	struct errbuf err;
	int rc = load(&key, file, recipient, pin, &err);

	CHECK(rc < 0);
	CHECK(key == NULL);
	if (!strstr(err.msg, want1) || (want2 && !strstr(err.msg, want2)))
		unit_fail_str(__FILE__, __LINE__, file, err.msg, want1);
	CHECK(count_dir(fx.tmp) == 0); /* private home removed */
	if (rc == 0)
		gpg_key_free(key);
}

TEST(gpgstage_refuses_bad_files)
{
	char path[256];

	if (!fixture())
		return;
	path_of(path, sizeof(path), "missing.asc");
	expect_refusal("missing.asc", "dpo@test.local", NULL, path, "[gpg] public_key_file");
	expect_refusal("missing.asc", "dpo@test.local", NULL, "No such file", NULL);
	path_of(path, sizeof(path), "garbage.asc");
	expect_refusal("garbage.asc", "dpo@test.local", NULL, "no OpenPGP public key found in",
		       path);
	expect_refusal("garbage.asc", "x", NULL, "armored or binary", NULL);
	expect_refusal("empty.asc", "x", NULL, "no OpenPGP public key found", NULL);
	expect_refusal("", "x", NULL, "cannot read [gpg] public_key_file", NULL); /* a dir */
	expect_refusal("secret.asc", "dpo@test.local", NULL, "holds a secret key", NULL);
}

TEST(gpgstage_refuses_wrong_recipient_or_pin)
{
	char spaced[80];

	if (!fixture())
		return;
	expect_refusal("good.asc", "nobody@test.local", NULL,
		       "no key for recipient 'nobody@test.local' in", "good.asc");
	expect_refusal("two.gpg", "test.local", NULL, "ambiguous", "fingerprint");
	expect_refusal("two.gpg", "test.local", NULL, fx.good_fpr, fx.other_fpr);
	expect_refusal("good.asc", "dpo@test.local", fx.other_fpr, fx.good_fpr, fx.other_fpr);
	expect_refusal("good.asc", "dpo@test.local", "ABCD 1234", "not a full fingerprint", NULL);
	snprintf(spaced, sizeof(spaced), "%.20s %.40s", fx.other_fpr, fx.other_fpr + 20);
	expect_refusal("good.asc", "dpo@test.local", spaced, "pins", fx.other_fpr);
	/* With two keys, the pin works once the recipient is unambiguous. */
	struct gpg_key *key = NULL;
	struct errbuf err;

	CHECK(load(&key, "two.gpg", "other@test.local", fx.other_fpr, &err) == 0);
	gpg_key_free(key);
}

TEST(gpgstage_refuses_unusable_keys)
{
	if (!fixture())
		return;
	expect_refusal("expired.gpg", "expired@test.local", NULL, "expired on 2020-01-02",
		       "renewed key");
	expect_refusal("expired.gpg", "expired@test.local", NULL, "Expired DPO", NULL);
	expect_refusal("revoked.gpg", "revoked@test.local", NULL, "is revoked", "Revoked DPO");
	expect_refusal("signonly.gpg", "signer@test.local", NULL, "cannot encrypt", "Signer");
	expect_refusal("stalesub.gpg", "stalesub@test.local", NULL,
		       "encryption subkey expired on 2020-01-02", "renewed key");
}

/* ---- failures ---- */

static int count_tasks(void)
{
	return count_dir("/proc/self/task");
}

TEST(gpgstage_abort_leaves_nothing)
{
	int tasks = count_tasks(), fds = count_dir("/proc/self/fd");
	struct rig r;
	double t0;

	if (rig_open(&r, "good.asc", "abort.gpg", 1 << 20) == 0) {
		CHECK(count_tasks() == tasks + 1);
		produce(&r);
		CHECK(r.rc == 0);
		CHECK(gpg_procs() == 1); /* the ring is smaller: gpg took the rest */
		t0 = now_s();
		writer_free(r.st);
		r.st = NULL;
		CHECK(now_s() - t0 < 1.0);
		CHECK(count_tasks() == tasks);
		CHECK(gpg_procs_settle() == 0);
		gpg_key_free(r.key);
		r.key = NULL;
		CHECK(count_dir(fx.tmp) == 0);
		/* What reached the sink is no complete message. */
		CHECK(sh_quiet(GPG " --decrypt -o /dev/null %s 2>/dev/null", fx.home, r.path) != 0);
	}
	rig_release(&r);
	CHECK(count_dir("/proc/self/fd") == fds);
}

/* Abort while the helper waits in poll() on a stopped gpg. */
static void *free_stage(void *st)
{
	writer_free(st);
	return NULL;
}

TEST(gpgstage_abort_with_gpg_stopped)
{
	int fds = count_dir("/proc/self/fd");
	struct rig r;
	pthread_t t;
	double t0;
	int hung;

	if (rig_open(&r, "good.asc", "stop.gpg", 1 << 20) == 0) {
		CHECK(writer_write(r.st, r.data, 4096, &r.err) == 0);
		usleep(200000);
		CHECK(gpg_procs_kill(SIGSTOP) == 1);
		/* fills the pipe into gpg, and part of the ring */
		CHECK(writer_write(r.st, r.data, 200000, &r.err) == 0);
		usleep(200000);
		t0 = now_s();
		CHECK(pthread_create(&t, NULL, free_stage, r.st) == 0);
		r.st = NULL;
		hung = join_within(t, 5) != 0;
		CHECK(!hung && now_s() - t0 < 1.0);
		gpg_procs_kill(SIGKILL); /* also lets a hung free() end */
		if (hung)
			pthread_join(t, NULL);
		CHECK(gpg_procs_settle() == 0);
	}
	rig_release(&r);
	CHECK(count_dir("/proc/self/fd") == fds);
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
	CHECK(gpg_procs_settle() == 0);
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
	usleep(300000); /* everything stalls behind the gate */
	CHECK(gpg_procs_kill(SIGKILL) == 1);
	usleep(100000);
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
	for (int i = 0; i < 300 && gpg_procs() == 0; i++)
		usleep(10000);
	CHECK(gpg_procs_kill(SIGSTOP) == 1);
	rig_produce(&r, 1);
	usleep(300000); /* the input and its end are in the pipe */
	CHECK(gpg_procs_kill(SIGKILL) == 1);
	check_killed(&r);
}
