/* Loading the recipient's public key into a private GNUPGHOME, and the
 * helpers both gpg modules share; see gpgstage.h. */
#include "gpgstage.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpg_priv.h"
#include "tmphome.h"

const char *gpg_errstr(gpgme_error_t e, char *buf, size_t n)
{
	/* gpgme_strerror() is not thread-safe. */
	if (gpgme_strerror_r(e, buf, n) != 0 && buf[0] == '\0')
		snprintf(buf, n, "gpgme error %u", (unsigned)gpgme_err_code(e));
	return buf;
}

int gpg_errcode(gpgme_error_t e)
{
	int n = gpgme_err_code_to_errno(gpgme_err_code(e));

	return n > 0 ? -n : -EIO;
}

int gpg_engine_init(struct errbuf *err)
{
	char eb[256];
	gpgme_error_t ge;

	/* Also makes gpgme ignore SIGPIPE from a dying gpg. */
	gpgme_check_version(NULL);
	ge = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP);
	if (ge)
		return error_set(err, gpg_errcode(ge),
				 "gpg (OpenPGP engine) not usable: %s; install the gnupg package",
				 gpg_errstr(ge, eb, sizeof(eb)));
	return 0;
}

/* A context bound to the private homedir; never touches global engine
 * info or the environment. */
int gpg_ctx_new(gpgme_ctx_t *out, const char *homedir, struct errbuf *err)
{
	char eb[256];
	gpgme_ctx_t ctx;
	gpgme_error_t ge;

	ge = gpgme_new(&ctx);
	if (ge)
		return error_set(err, gpg_errcode(ge), "gpg: cannot create a context: %s",
				 gpg_errstr(ge, eb, sizeof(eb)));
	ge = gpgme_set_protocol(ctx, GPGME_PROTOCOL_OpenPGP);
	if (!ge)
		ge = gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP, NULL, homedir);
	if (!ge)
		ge = gpgme_set_keylist_mode(ctx, GPGME_KEYLIST_MODE_LOCAL);
	if (ge) {
		gpgme_release(ctx);
		return error_set(err, gpg_errcode(ge), "gpg: cannot set up a context for '%s': %s",
				 homedir, gpg_errstr(ge, eb, sizeof(eb)));
	}
	gpgme_set_armor(ctx, 0);
	gpgme_set_offline(ctx, 1); /* never ask dirmngr or the network */
	*out = ctx;
	return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path); /* best effort: keep removing the rest */
	return 0;
}

static void homedir_remove(const char *dir)
{
	if (dir[0])
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int homedir_make(struct gpg_key *key, struct errbuf *err)
{
	/* No agent (encrypting to a public key needs none); and nothing is
	 * written after the import, so no locks and no random_seed, which
	 * lets stages share the home and a late gpg exit race nothing. */
	static const char conf[] = "no-autostart\n"
				   "no-greeting\n"
				   "trust-model always\n"
				   "lock-never\n"
				   "no-random-seed-file\n";
	const char *tmp = getenv("TMPDIR");
	char path[PATH_MAX + 16];
	ssize_t n;
	int fd, rc;

	if (!tmp || !tmp[0])
		tmp = "/tmp";
	/* Named after our pid and locked, so a sweep after a SIGKILL can
	 * tell it is stale (tmphome.h). */
	rc = tmphome_make(key->homedir, sizeof(key->homedir), tmp, "gpg", &key->home_lock, err);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/gpg.conf", key->homedir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return error_set(err, -errno, "cannot create '%s': %s", path, strerror(errno));
	n = write(fd, conf, sizeof(conf) - 1);
	if (n != (ssize_t)sizeof(conf) - 1) {
		int e = n < 0 ? errno : EIO;

		close(fd);
		return error_set(err, -e, "cannot write '%s': %s", path, strerror(e));
	}
	if (close(fd) < 0)
		return error_set(err, -errno, "cannot write '%s': %s", path, strerror(errno));
	return 0;
}

static int import_error(gpgme_import_result_t r, const char *file, struct errbuf *err)
{
	char eb[256];
	gpgme_import_status_t st;

	if (r->secret_read > 0)
		return error_set(err, -EINVAL,
				 "[gpg] public_key_file '%s' holds a secret key; refusing it: "
				 "the backup host needs only the public key "
				 "(gpg --export --armor FINGERPRINT > file)",
				 file);
	if (r->imported + r->unchanged > 0)
		return 0;
	for (st = r->imports; st; st = st->next)
		if (st->result)
			return error_set(
				err, -EINVAL,
				"key %s in [gpg] public_key_file '%s' was not imported: %s",
				st->fpr ? st->fpr : "?", file,
				gpg_errstr(st->result, eb, sizeof(eb)));
	if (r->no_user_id > 0)
		return error_set(err, -EINVAL,
				 "the key in [gpg] public_key_file '%s' has no user id; "
				 "export it again with its user id",
				 file);
	return error_set(err, -EINVAL,
			 "no key in [gpg] public_key_file '%s' could be imported (%d considered, "
			 "%d not imported)",
			 file, r->considered, r->not_imported);
}

static int import_file(gpgme_ctx_t ctx, const char *file, struct errbuf *err)
{
	char eb[256];
	gpgme_data_t dh;
	gpgme_error_t ge;
	gpgme_import_result_t r;
	struct stat st;
	int fd, rc, e;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_set(err, -errno, "cannot read [gpg] public_key_file '%s': %s", file,
				 strerror(errno));
	e = fstat(fd, &st) < 0	   ? errno
	    : S_ISDIR(st.st_mode)  ? EISDIR
	    : !S_ISREG(st.st_mode) ? EINVAL
				   : 0;
	if (e) {
		close(fd);
		return error_set(err, -e, "cannot read [gpg] public_key_file '%s': %s", file,
				 strerror(e));
	}
	ge = gpgme_data_new_from_fd(&dh, fd);
	if (ge) {
		close(fd);
		return error_set(err, gpg_errcode(ge), "cannot read [gpg] public_key_file '%s': %s",
				 file, gpg_errstr(ge, eb, sizeof(eb)));
	}
	ge = gpgme_op_import(ctx, dh);
	gpgme_data_release(dh);
	close(fd);
	r = gpgme_op_import_result(ctx);
	if (r && r->secret_read > 0)
		return import_error(r, file, err);
	if (!r || r->considered == 0 || gpgme_err_code(ge) == GPG_ERR_NO_DATA)
		return error_set(err, -EINVAL,
				 "no OpenPGP public key found in '%s' ([gpg] public_key_file): "
				 "expected an exported public key, armored or binary "
				 "(gpg --export [--armor] FINGERPRINT)",
				 file);
	rc = import_error(r, file, err);
	if (rc)
		return rc;
	if (ge)
		return error_set(err, gpg_errcode(ge), "gpg: cannot import '%s': %s", file,
				 gpg_errstr(ge, eb, sizeof(eb)));
	return 0;
}

/* Upper-cases `in` without spaces (and an optional 0x) into `out`;
 * returns the digit count, or -1 when `in` is not hex. */
static int hex_normalize(const char *in, char *out, size_t n)
{
	size_t len = 0;

	if (in[0] == '0' && (in[1] == 'x' || in[1] == 'X'))
		in += 2;
	for (; *in; in++) {
		if (*in == ' ')
			continue;
		if (!strchr("0123456789abcdefABCDEF", *in) || len + 1 >= n)
			return -1;
		out[len++] = (char)(*in >= 'a' ? *in - 'a' + 'A' : *in);
	}
	out[len] = '\0';
	return (int)len;
}

static const char *key_uid(gpgme_key_t k)
{
	return k->uids && k->uids->uid ? k->uids->uid : "(no user id)";
}

static int select_key(gpgme_ctx_t ctx, const char *recipient, const char *file, gpgme_key_t *out,
		      struct errbuf *err)
{
	char eb[256], pattern[FPR_MAX + 2], list[600] = "";
	const char *pat = recipient;
	gpgme_key_t k, first = NULL;
	gpgme_error_t ge;
	int count = 0, len;

	len = hex_normalize(recipient, pattern, sizeof(pattern));
	if (len == 40 || len == 64)
		pat = pattern; /* a fingerprint written with spaces */
	ge = gpgme_op_keylist_start(ctx, pat, 0);
	while (!ge && !(ge = gpgme_op_keylist_next(ctx, &k))) {
		size_t used = strlen(list);

		if (count < 3)
			snprintf(list + used, sizeof(list) - used, "%s%s '%s'", count ? ", " : "",
				 k->fpr, key_uid(k));
		if (!first)
			first = k;
		else
			gpgme_key_unref(k);
		count++;
	}
	if (gpgme_err_code(ge) != GPG_ERR_EOF) {
		gpgme_key_unref(first);
		gpgme_op_keylist_end(ctx);
		return error_set(err, gpg_errcode(ge), "gpg: cannot list the keys of '%s': %s",
				 file, gpg_errstr(ge, eb, sizeof(eb)));
	}
	ge = gpgme_op_keylist_end(ctx);
	if (ge) {
		gpgme_key_unref(first);
		return error_set(err, gpg_errcode(ge), "gpg: cannot list the keys of '%s': %s",
				 file, gpg_errstr(ge, eb, sizeof(eb)));
	}
	if (count == 0)
		return error_set(err, -ENOKEY,
				 "no key for recipient '%s' in '%s': check [gpg] recipient "
				 "(a user id, e-mail or fingerprint of the key in the file)",
				 recipient, file);
	if (count > 1) {
		gpgme_key_unref(first);
		return error_set(err, -EINVAL,
				 "recipient '%s' is ambiguous: %d keys in '%s' match (%s%s); "
				 "set [gpg] recipient to the fingerprint of the one to use",
				 recipient, count, file, list, count > 3 ? ", ..." : "");
	}
	*out = first;
	return 0;
}

static void format_day(time_t t, char *buf, size_t n)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%d", &tm))
		snprintf(buf, n, "@%lld", (long long)t);
}

static int check_pin(gpgme_key_t k, const char *recipient, const char *pin, const char *file,
		     struct errbuf *err)
{
	char want[FPR_MAX + 2];
	int len;

	if (!pin || !pin[0])
		return 0;
	len = hex_normalize(pin, want, sizeof(want));
	if (len != 40 && len != 64)
		return error_set(err, -EINVAL,
				 "[gpg] fingerprint '%s' is not a full fingerprint "
				 "(40 hex digits, spaces allowed)",
				 pin);
	if (!k->fpr || strcmp(k->fpr, want) != 0)
		return error_set(
			err, -EKEYREJECTED,
			"key for recipient '%s' in '%s' has fingerprint %s, but "
			"[gpg] fingerprint pins %s: check that the file holds the data "
			"protection officer's current key, then correct the file or the pin",
			recipient, file, k->fpr ? k->fpr : "?", want);
	return 0;
}

static int subkey_usable(gpgme_subkey_t s)
{
	return s->can_encrypt && !s->revoked && !s->expired && !s->disabled && !s->invalid;
}

/* gpg encrypts to the newest valid encryption subkey. */
static gpgme_subkey_t encryption_subkey(gpgme_key_t k)
{
	gpgme_subkey_t s, best = NULL;

	for (s = k->subkeys; s; s = s->next)
		if (subkey_usable(s) && (!best || s->timestamp > best->timestamp))
			best = s;
	return best;
}

/* When encryption stops working: the earlier of the primary key's and
 * the encryption subkey's expiry (gpg 2.2's quick-gen-key puts the
 * expiry on the primary key only); 0 = never. */
static time_t effective_expiry(gpgme_key_t k)
{
	long prim = k->subkeys->expires, sub = encryption_subkey(k)->expires;

	if (!prim || !sub)
		return (time_t)(prim ? prim : sub);
	return (time_t)(prim < sub ? prim : sub);
}

#define RENEW "ask the data protection officer for a renewed key"

static int check_usable(gpgme_key_t k, struct errbuf *err)
{
	char day[32];
	gpgme_subkey_t s;

	if (k->revoked)
		return error_set(err, -EKEYREVOKED,
				 "key %s '%s' is revoked: ask the data protection officer for "
				 "their new public key",
				 k->fpr, key_uid(k));
	if (k->expired) {
		format_day(k->subkeys ? k->subkeys->expires : 0, day, sizeof(day));
		return error_set(err, -EKEYEXPIRED, "key %s '%s' expired on %s: " RENEW, k->fpr,
				 key_uid(k), day);
	}
	if (k->disabled)
		return error_set(err, -EKEYREJECTED, "key %s '%s' is disabled: " RENEW, k->fpr,
				 key_uid(k));
	if (k->invalid)
		return error_set(err, -EKEYREJECTED, "key %s '%s' is invalid: " RENEW, k->fpr,
				 key_uid(k));
	if (encryption_subkey(k))
		return 0;
	for (s = k->subkeys; s; s = s->next)
		if (s->can_encrypt && s->expired) {
			format_day(s->expires, day, sizeof(day));
			return error_set(err, -EKEYEXPIRED,
					 "key %s '%s' cannot encrypt: its encryption subkey "
					 "expired on %s: " RENEW,
					 k->fpr, key_uid(k), day);
		}
	for (s = k->subkeys; s; s = s->next)
		if (s->can_encrypt)
			return error_set(err, -EKEYREJECTED,
					 "key %s '%s' cannot encrypt: its encryption subkey is "
					 "revoked or invalid: " RENEW,
					 k->fpr, key_uid(k));
	return error_set(err, -EKEYREJECTED,
			 "key %s '%s' cannot encrypt (it has no encryption subkey; a signing "
			 "key?): ask the data protection officer for their encryption key",
			 k->fpr, key_uid(k));
}

static int key_setup(struct gpg_key *key, const char *file, const char *recipient, const char *pin,
		     struct errbuf *err)
{
	gpgme_ctx_t ctx;
	gpgme_key_t k = NULL;
	int rc;

	rc = homedir_make(key, err);
	if (rc)
		return rc;
	rc = gpg_ctx_new(&ctx, key->homedir, err);
	if (rc)
		return rc;
	rc = import_file(ctx, file, err);
	if (!rc)
		rc = select_key(ctx, recipient, file, &k, err);
	if (!rc)
		rc = check_pin(k, recipient, pin, file, err);
	if (!rc)
		rc = check_usable(k, err);
	if (!rc) {
		snprintf(key->fpr, sizeof(key->fpr), "%s", k->fpr);
		snprintf(key->uid, sizeof(key->uid), "%s", key_uid(k));
		key->expires = effective_expiry(k);
	}
	gpgme_key_unref(k);
	gpgme_release(ctx);
	return rc;
}

int gpg_key_load(struct gpg_key **out, const char *public_key_file, const char *recipient,
		 const char *fingerprint, struct errbuf *err)
{
	struct gpg_key *key;
	int rc;

	*out = NULL;
	if (!public_key_file || !public_key_file[0])
		return error_set(err, -EINVAL, "[gpg] public_key_file is not set");
	if (!recipient || !recipient[0])
		return error_set(err, -EINVAL, "[gpg] recipient is not set");
	rc = gpg_engine_init(err);
	if (rc)
		return rc;
	key = calloc(1, sizeof(*key));
	if (!key)
		return error_set(err, -ENOMEM, "out of memory");
	key->home_lock = -1;
	rc = key_setup(key, public_key_file, recipient, fingerprint, err);
	if (rc) {
		gpg_key_free(key);
		return rc;
	}
	*out = key;
	return 0;
}

void gpg_key_get_info(const struct gpg_key *key, struct gpg_key_info *info)
{
	memset(info, 0, sizeof(*info));
	/* 63 hex digits fit: every v4 fingerprint (gpg 2.2 makes no v5 keys). */
	memcpy(info->fingerprint, key->fpr, sizeof(info->fingerprint) - 1);
	snprintf(info->uid, sizeof(info->uid), "%s", key->uid);
	info->expires = key->expires;
}

void gpg_key_free(struct gpg_key *key)
{
	if (!key)
		return;
	homedir_remove(key->homedir);
	if (key->home_lock >= 0)
		close(key->home_lock); /* after the removal: see tmphome.h */
	free(key);
}
