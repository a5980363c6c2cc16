/* `dumpfs restore`: checks, decryption with gpgme, and the chain
 * decrypt -> gunzip -> filter -> client or fd.  See restore.h. */
#include "restore.h"

#include <errno.h>
#include <fcntl.h>
#include <gpgme.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "pgpverify.h"
#include "restore_priv.h"
#include "sha256.h"
#include "sink.h"
#include "thread.h"

#define READ_CHUNK (256 * 1024)

struct restore {
	const struct restore_opts *o;
	atomic_bool cancel;
	pthread_mutex_t lock;
	struct writer *client; /* while a pass runs into the server */
	void (*kill)(struct writer *client);
	struct pitr *pitr; /* with opts.pitr, once prepared */
	bool ran;
};

struct progress {
	bool on;
	const char *label;
	uint64_t total; /* file size */
	const struct restore_stats *st;
	double last;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress_show(struct progress *p, bool final)
{
	double t = now_s();

	if (!p->on || (!final && t - p->last < 0.5))
		return;
	p->last = t;
	fprintf(stderr, "\r%s: %3.0f%% of %.1f MiB read, %.1f MiB SQL, %llu statements%s", p->label,
		p->total ? 100.0 * (double)p->st->file_bytes / (double)p->total : 100.0,
		(double)p->total / 1048576.0, (double)p->st->sql_bytes / 1048576.0,
		(unsigned long long)p->st->statements, final ? "\n" : "  ");
}

/* ---- checks before decrypting ---- */

/* One read: the SHA-256 (for the sidecar) and the OpenPGP framing. */
static int hash_and_parse(int fd, const char *file, char hex[SHA256_HEX_LEN + 1],
			  struct errbuf *err)
{
	unsigned char *buf = malloc(READ_CHUNK);
	struct pgp_parser pp;
	struct pgp_info info;
	struct sha256 h;
	int ret = 0;

	if (!buf)
		return error_set(err, -ENOMEM, "restore: out of memory");
	sha256_init(&h);
	pgp_parser_init(&pp);
	for (;;) {
		ssize_t n = read(fd, buf, READ_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = error_set(err, -errno, "cannot read '%s': %s", file, strerror(errno));
			break;
		}
		if (!n)
			break;
		sha256_update(&h, buf, (size_t)n);
		if (!ret)
			ret = pgp_parser_feed(&pp, buf, (size_t)n, err);
		if (ret)
			break;
	}
	free(buf);
	if (!ret)
		ret = pgp_parser_finish(&pp, &info, err);
	if (ret && ret != -ENOMEM && ret != -EIO)
		return error_prefix(err, ret,
				    "'%s' is not a complete OpenPGP encrypted message (damaged, "
				    "truncated or not a dumpfs backup)",
				    file);
	sha256_final_hex(&h, hex);
	return ret;
}

int restore_check_file(int fd, const char *file, bool *sidecar_checked, struct errbuf *err)
{
	char hex[SHA256_HEX_LEN + 1], want[65], name[ARCHIVE_NAME_MAX];
	struct stat sb;
	char *sidecar;
	int ret;

	if (asprintf(&sidecar, "%s%s", file, ARCHIVE_SIDECAR_SUFFIX) < 0)
		return error_set(err, -ENOMEM, "restore: out of memory");
	ret = hash_and_parse(fd, file, hex, err);
	if (!ret && stat(sidecar, &sb) == 0) {
		ret = archive_sidecar_read(sidecar, want, name, err);
		if (ret)
			error_prefix(err, ret, "bad sidecar '%s'", sidecar);
		else if (strcmp(want, hex))
			ret = error_set(err, -EBADMSG,
					"'%s' does not match its sidecar '%s' (sha256 %s, expected "
					"%s): the file is damaged; restore another backup",
					file, sidecar, hex, want);
		else
			*sidecar_checked = true;
	} else if (!ret && errno != ENOENT) {
		ret = error_set(err, -errno, "cannot read the sidecar '%s': %s", sidecar,
				strerror(errno));
	}
	free(sidecar);
	return ret;
}

/* ---- decryption ---- */

struct dctx {
	struct restore *r;
	int fd;
	struct writer *next;
	struct restore_stats *st;
	struct progress *prog;
	struct errbuf werr; /* the chain's own error */
	int wret;
};

static ssize_t d_read(void *h, void *buf, size_t size)
{
	struct dctx *d = h;
	ssize_t n;

	if (atomic_load(&d->r->cancel)) {
		errno = ECANCELED;
		return -1;
	}
	do
		n = read(d->fd, buf, size);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		d->st->file_bytes += (uint64_t)n;
		progress_show(d->prog, false);
	}
	return n;
}

static ssize_t d_write(void *h, const void *buf, size_t size)
{
	struct dctx *d = h;

	if (d->wret)
		return -1;
	if (atomic_load(&d->r->cancel)) {
		d->wret = error_set(&d->werr, -ECANCELED, "restore cancelled");
		errno = ECANCELED;
		return -1;
	}
	d->wret = writer_write(d->next, buf, size, &d->werr);
	if (d->wret) {
		errno = EIO;
		return -1;
	}
	return (ssize_t)size;
}

static int gpg_failure(gpgme_error_t ge, const char *file, struct errbuf *err)
{
	const char *home = getenv("GNUPGHOME");

	switch (gpgme_err_code(ge)) {
	case GPG_ERR_NO_SECKEY:
		return error_set(err, -ENOKEY,
				 "cannot decrypt '%s': the private key is not in the keyring %s: "
				 "import the DPO's private key (gpg --import) or set GNUPGHOME",
				 file, home ? home : "~/.gnupg");
	case GPG_ERR_BAD_PASSPHRASE:
	case GPG_ERR_NO_PASSPHRASE:
	case GPG_ERR_CANCELED:
		return error_set(
			err, -EACCES,
			"cannot decrypt '%s': no valid passphrase for the private key (%s; "
			"on a terminal set GPG_TTY=$(tty))",
			file, gpgme_strerror(ge));
	case GPG_ERR_DECRYPT_FAILED:
	case GPG_ERR_BAD_DATA:
	case GPG_ERR_CHECKSUM:
	case GPG_ERR_BAD_SIGNATURE:
	case GPG_ERR_INV_PACKET:
		return error_set(err, -EBADMSG,
				 "cannot decrypt '%s': %s: the file is damaged or was tampered "
				 "with; nothing from it can be trusted",
				 file, gpgme_strerror(ge));
	default:
		return error_set(err, -EIO, "cannot decrypt '%s': %s", file, gpgme_strerror(ge));
	}
}

static gpgme_error_t new_ctx(gpgme_ctx_t *ctx)
{
	gpgme_error_t ge = gpgme_new(ctx);

	if (!ge)
		ge = gpgme_set_protocol(*ctx, GPGME_PROTOCOL_OpenPGP);
	if (!ge)
		gpgme_set_armor(*ctx, 0);
	return ge;
}

/* Decrypts the file at d->fd into d->next. */
static int decrypt(struct dctx *d, const char *file, struct errbuf *err)
{
	struct gpgme_data_cbs in_cbs = {d_read, NULL, NULL, NULL};
	struct gpgme_data_cbs out_cbs = {NULL, d_write, NULL, NULL};
	gpgme_data_t in = NULL, out = NULL;
	gpgme_decrypt_result_t res;
	gpgme_ctx_t ctx = NULL;
	gpgme_error_t ge;
	int ret = 0;

	gpgme_check_version(NULL);
	ge = new_ctx(&ctx);
	if (!ge)
		ge = gpgme_data_new_from_cbs(&in, &in_cbs, d);
	if (!ge)
		ge = gpgme_data_new_from_cbs(&out, &out_cbs, d);
	if (!ge)
		ge = gpgme_data_set_encoding(in, GPGME_DATA_ENCODING_BINARY);
	if (ge) {
		ret = error_set(err, -EIO, "gpgme: %s", gpgme_strerror(ge));
		goto out;
	}
	ge = gpgme_op_decrypt(ctx, in, out);
	if (d->wret) { /* our chain failed: its message, not gpgme's */
		ret = d->wret;
		memcpy(err, &d->werr, sizeof(*err));
	} else if (atomic_load(&d->r->cancel)) {
		ret = error_set(err, -ECANCELED, "restore cancelled");
	} else if (ge) {
		ret = gpg_failure(ge, file, err);
	} else if ((res = gpgme_op_decrypt_result(ctx)) && res->legacy_cipher_nomdc) {
		ret = error_set(err, -EBADMSG,
				"'%s' has no integrity protection (legacy cipher without MDC): "
				"refusing it; it was not made by dumpfs",
				file);
	}
out:
	gpgme_data_release(in);
	gpgme_data_release(out);
	gpgme_release(ctx);
	return ret;
}

int restore_decrypt(struct restore *r, int fd, const char *file, struct writer *next,
		    struct errbuf *err)
{
	struct restore_stats st;
	struct progress prog = {false, "", 0, &st, 0};
	struct dctx d = {r, fd, next, &st, &prog, {""}, 0};

	memset(&st, 0, sizeof(st));
	if (lseek(fd, 0, SEEK_SET))
		return error_set(err, -errno, "cannot rewind '%s': %s", file, strerror(errno));
	return decrypt(&d, file, err);
}

const struct restore_opts *restore_options(const struct restore *r)
{
	return r->o;
}

bool restore_cancelled(struct restore *r)
{
	return atomic_load(&r->cancel);
}

/* ---- the chain ---- */

enum pass_kind { PASS_CHECK, PASS_FD, PASS_SERVER };

static int make_sink(struct restore *r, enum pass_kind kind, unsigned jobs, struct writer *nullw,
		     struct writer **sink, struct errbuf *err)
{
	int ret;

	if (kind == PASS_CHECK) {
		*sink = nullw;
		return 0;
	}
	if (kind == PASS_FD)
		return fdsink_new(sink, r->o->out_fd, "stdout", err);
	if (jobs > 1)
		ret = sqljobs_start(sink, r->o->client, &r->o->target, jobs, err);
	else
		ret = sqlclient_start(sink, r->o->client, &r->o->target, err);
	if (!ret) {
		mutex_lock(&r->lock);
		r->client = *sink;
		r->kill = jobs > 1 ? sqljobs_kill : sqlclient_kill;
		mutex_unlock(&r->lock);
		if (atomic_load(&r->cancel))
			r->kill(*sink);
	}
	return ret;
}

int restore_sink_open(struct restore *r, struct writer **sink, struct errbuf *err)
{
	return make_sink(r, r->o->out_fd >= 0 ? PASS_FD : PASS_SERVER, 1, NULL, sink, err);
}

void restore_sink_free(struct restore *r, struct writer *sink)
{
	mutex_lock(&r->lock);
	r->client = NULL;
	mutex_unlock(&r->lock);
	writer_free(sink);
}

/* Closes the stages front to back; the sink last (the client runs its
 * last statements and exits). */
static int close_chain(struct writer *gz, struct writer *filter, struct writer *sink,
		       struct errbuf *err)
{
	int ret = writer_close(gz, err);

	if (!ret)
		ret = writer_close(filter, err);
	if (!ret)
		ret = writer_close(sink, err);
	return ret;
}

static int run_pass(struct restore *r, int fd, enum pass_kind kind, struct restore_stats *st,
		    struct errbuf *err)
{
	struct writer nullw, *sink = NULL, *filter = NULL, *gz = NULL;
	struct progress prog = {r->o->progress, kind == PASS_CHECK ? "checking" : "restoring", 0,
				st, 0};
	struct dctx d = {r, fd, NULL, st, &prog, {""}, 0};
	struct stat sb;
	int ret;

	if (lseek(fd, 0, SEEK_SET) || fstat(fd, &sb))
		return error_set(err, -errno, "cannot rewind '%s': %s", r->o->file,
				 strerror(errno));
	prog.total = (uint64_t)sb.st_size;
	nullsink_init(&nullw);
	ret = make_sink(r, kind, st->jobs, &nullw, &sink, err);
	if (!ret)
		ret = sqlfilter_new(&filter, sink, r->o->database, kind == PASS_SERVER, st, err);
	if (!ret && kind != PASS_CHECK && r->o->trailer_line)
		sqlfilter_on_trailer(filter, r->o->trailer_line, r->o->trailer_arg);
	if (!ret && kind != PASS_CHECK && r->pitr)
		sqlfilter_on_database(filter, pitr_add_database, r->pitr);
	if (!ret)
		ret = gunzipstage_new(&gz, filter, &st->sql_bytes, err);
	if (!ret) {
		d.next = gz;
		ret = decrypt(&d, r->o->file, err);
	}
	if (!ret)
		ret = close_chain(gz, filter, sink, err);
	progress_show(&prog, true);
	writer_free(gz);
	writer_free(filter);
	mutex_lock(&r->lock);
	r->client = NULL;
	mutex_unlock(&r->lock);
	if (sink != &nullw)
		writer_free(sink); /* kills the client unless it finished */
	return ret;
}

/* ---- the object ---- */

int restore_new(struct restore **out, const struct restore_opts *opts, struct errbuf *err)
{
	struct restore *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return error_set(err, -ENOMEM, "restore: out of memory");
	r->o = opts;
	atomic_init(&r->cancel, false);
	if (mutex_init(&r->lock)) {
		free(r);
		return error_set(err, -ENOMEM, "restore: cannot create a mutex");
	}
	*out = r;
	return 0;
}

void restore_cancel(struct restore *r)
{
	atomic_store(&r->cancel, true);
	mutex_lock(&r->lock);
	if (r->client)
		r->kill(r->client);
	mutex_unlock(&r->lock);
}

void restore_free(struct restore *r)
{
	if (!r)
		return;
	mutex_destroy(&r->lock);
	free(r);
}

static int open_file(const char *file, struct errbuf *err)
{
	struct stat sb;
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return error_set(err, -errno, "cannot open '%s': %s", file, strerror(errno));
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
		close(fd);
		return error_set(err, -EINVAL, "'%s' is not a regular file", file);
	}
	return fd;
}

#define JOBS_MAX 64

static unsigned effective_jobs(unsigned jobs)
{
	long cpus = jobs ? (long)jobs : sysconf(_SC_NPROCESSORS_ONLN);

	return cpus < 1 ? 1 : cpus > JOBS_MAX ? JOBS_MAX : (unsigned)cpus;
}

int restore_run(struct restore *r, struct restore_stats *st, struct errbuf *err)
{
	struct restore_stats local, dry;
	double t0 = now_s();
	int fd, ret;

	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	if (r->ran)
		return error_set(err, -EINVAL, "restore: already ran");
	r->ran = true;
	fd = open_file(r->o->file, err);
	if (fd < 0)
		return fd;
	ret = restore_check_file(fd, r->o->file, &st->sidecar_checked, err);
	logger_log(r->o->log, LOGL_INFO, "restore_check", "file=\"%s\" sidecar=%s ok=%s",
		   r->o->file, st->sidecar_checked ? "match" : "none", LOG_BOOL(!ret));
	if (!ret && r->o->pitr) /* the binlog archive is checked before anything is loaded */
		ret = pitr_prepare(r, fd, &r->pitr, err);
	if (!ret && !st->sidecar_checked && r->o->out_fd < 0 && !r->o->no_precheck) {
		/* No sidecar: prove the whole file good before touching the
		 * server. */
		memset(&dry, 0, sizeof(dry));
		ret = run_pass(r, fd, PASS_CHECK, &dry, err);
		if (ret)
			error_prefix(err, ret,
				     "the check before restoring failed, the server was "
				     "not touched");
	}
	st->jobs = r->o->out_fd >= 0 ? 1 : effective_jobs(r->o->jobs);
	if (!ret)
		ret = run_pass(r, fd, r->o->out_fd >= 0 ? PASS_FD : PASS_SERVER, st, err);
	if (!ret && r->pitr)
		ret = pitr_replay(r, r->pitr, st, err);
	pitr_free(r->pitr);
	r->pitr = NULL;
	close(fd);
	st->seconds = now_s() - t0;
	return ret;
}
