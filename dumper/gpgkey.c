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
#include <stdbool.h>
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

/* Which file each imported key came from, to name it in messages. */
struct key_origin {
	struct {
		char fpr[FPR_MAX];
		const char *file; /* borrowed from the split list */
	} e[64];
	unsigned n;
};

static void origin_note(struct key_origin *o, gpgme_import_result_t r, const char *file)
{
	for (gpgme_import_status_t st = r->imports; st && o->n < 64; st = st->next)
		if (st->fpr && !st->result) {
			snprintf(o->e[o->n].fpr, FPR_MAX, "%s", st->fpr);
			o->e[o->n++].file = file;
		}
}

static const char *origin_of(const struct key_origin *o, const char *fpr, const char *fallback)
{
	for (unsigned i = 0; i < o->n; i++)
		if (fpr && !strcmp(o->e[i].fpr, fpr))
			return o->e[i].file;
	return fallback;
}

static int import_file(gpgme_ctx_t ctx, const char *file, struct key_origin *origin,
		       struct errbuf *err)
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
	origin_note(origin, r, file);
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

/* The keys matching `pat`: the first into *first (the caller's), how
 * many into *count, up to three described in list. */
static int list_matches(gpgme_ctx_t ctx, const char *pat, const char *file, gpgme_key_t *first,
			int *count, char *list, size_t n, struct errbuf *err)
{
	char eb[256];
	gpgme_key_t k;
	gpgme_error_t ge;

	*first = NULL;
	*count = 0;
	list[0] = '\0';
	ge = gpgme_op_keylist_start(ctx, pat, 0);
	while (!ge && !(ge = gpgme_op_keylist_next(ctx, &k))) {
		size_t used = strlen(list);

		if (*count < 3)
			snprintf(list + used, n - used, "%s%s '%s'", *count ? ", " : "", k->fpr,
				 key_uid(k));
		if (!*first)
			*first = k;
		else
			gpgme_key_unref(k);
		(*count)++;
	}
	if (gpgme_err_code(ge) != GPG_ERR_EOF) {
		gpgme_key_unref(*first);
		*first = NULL;
		gpgme_op_keylist_end(ctx);
		return error_set(err, gpg_errcode(ge), "gpg: cannot list the keys of '%s': %s",
				 file, gpg_errstr(ge, eb, sizeof(eb)));
	}
	ge = gpgme_op_keylist_end(ctx);
	if (ge) {
		gpgme_key_unref(*first);
		*first = NULL;
		return error_set(err, gpg_errcode(ge), "gpg: cannot list the keys of '%s': %s",
				 file, gpg_errstr(ge, eb, sizeof(eb)));
	}
	return 0;
}

/* A bare e-mail address: matched exactly first, as gpg's "<addr>", so
 * "dpo@x" does not also select "newdpo@x" (a rotation's new key). */
static bool is_mail(const char *s)
{
	return strchr(s, '@') && !strpbrk(s, " \t<>");
}

static int select_key(gpgme_ctx_t ctx, const char *recipient, const char *file, gpgme_key_t *out,
		      struct errbuf *err)
{
	char pattern[FPR_MAX + 2], mail[300], list[600];
	const char *pat = recipient;
	gpgme_key_t first = NULL;
	int count = 0, len, rc;

	len = hex_normalize(recipient, pattern, sizeof(pattern));
	if (len == 40 || len == 64)
		pat = pattern; /* a fingerprint written with spaces */
	if (pat == recipient && is_mail(recipient) &&
	    (size_t)snprintf(mail, sizeof(mail), "<%s>", recipient) < sizeof(mail)) {
		rc = list_matches(ctx, mail, file, &first, &count, list, sizeof(list), err);
		if (rc)
			return rc;
	}
	if (count == 0) {
		rc = list_matches(ctx, pat, file, &first, &count, list, sizeof(list), err);
		if (rc)
			return rc;
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

/* A comma-separated [gpg] list, split in place: entries trimmed of
 * blanks, none empty, at most GPG_MAX_RECIPIENTS. */
struct cfg_list {
	char *buf; /* owns the entries */
	char *item[GPG_MAX_RECIPIENTS];
	unsigned n;
};

static void list_release(struct cfg_list *l)
{
	free(l->buf);
	l->buf = NULL;
	l->n = 0;
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

static int list_split(struct cfg_list *l, const char *value, const char *key, struct errbuf *err)
{
	char *p, *comma;

	memset(l, 0, sizeof(*l));
	if (!value || !value[0])
		return 0;
	l->buf = strdup(value);
	if (!l->buf)
		return error_set(err, -ENOMEM, "out of memory");
	for (p = l->buf;; p = comma + 1) {
		char *item;

		comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		item = trim(p);
		if (!item[0]) {
			list_release(l);
			return error_set(err, -EINVAL,
					 "[gpg] %s '%s' has an empty entry (two commas, or one "
					 "at an end): list the entries separated by single commas",
					 key, value);
		}
		if (l->n == GPG_MAX_RECIPIENTS) {
			list_release(l);
			return error_set(err, -EINVAL, "[gpg] %s '%s' lists more than %d entries",
					 key, value, GPG_MAX_RECIPIENTS);
		}
		l->item[l->n++] = item;
		if (!comma)
			return 0;
	}
}

/* The pins, normalized; a pin that is not a fingerprint is refused. */
static int pins_parse(struct cfg_list *pins, char want[][FPR_MAX + 2], struct errbuf *err)
{
	for (unsigned i = 0; i < pins->n; i++) {
		int len = hex_normalize(pins->item[i], want[i], FPR_MAX + 2);

		if (len != 40 && len != 64)
			return error_set(err, -EINVAL,
					 "[gpg] fingerprint '%s' is not a full fingerprint "
					 "(40 hex digits, spaces allowed; several separated by "
					 "commas)",
					 pins->item[i]);
	}
	return 0;
}

static void join_pins(char want[][FPR_MAX + 2], unsigned n, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", want[i]);
}

static int check_pin(gpgme_key_t k, const char *recipient, char want[][FPR_MAX + 2], unsigned npins,
		     const char *file, struct errbuf *err)
{
	char list[GPG_MAX_RECIPIENTS * (FPR_MAX + 2)];

	if (!npins)
		return 0;
	for (unsigned i = 0; i < npins; i++)
		if (k->fpr && !strcmp(k->fpr, want[i]))
			return 0;
	join_pins(want, npins, list, sizeof(list));
	return error_set(err, -EKEYREJECTED,
			 "key for recipient '%s' in '%s' has fingerprint %s, but "
			 "[gpg] fingerprint pins %s: check that the file holds the data "
			 "protection officer's current key, then correct the file or the pin",
			 recipient, file, k->fpr ? k->fpr : "?", list);
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
	gpgme_subkey_t enc = encryption_subkey(k);
	long prim = k->subkeys->expires, sub = enc ? enc->expires : 0;

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

struct key_lists {
	struct cfg_list files, recipients, pins;
	const char *files_value; /* as configured, for messages */
	char want[GPG_MAX_RECIPIENTS][FPR_MAX + 2];
};

static void note_keyids(struct gpg_recipient *r, gpgme_key_t k)
{
	for (gpgme_subkey_t s = k->subkeys; s && r->nkeyids < GPG_MAX_KEYIDS; s = s->next)
		if (s->keyid)
			r->keyids[r->nkeyids++] = strtoull(s->keyid, NULL, 16);
}

/* Selects and checks the key for recipient entry i. */
static int add_recipient(struct gpg_key *key, gpgme_ctx_t ctx, struct key_lists *l, unsigned i,
			 const struct key_origin *origin, unsigned flags, struct errbuf *err)
{
	const char *name = l->recipients.item[i];
	struct gpg_recipient *r;
	gpgme_key_t k = NULL;
	int rc;

	rc = select_key(ctx, name, l->files_value, &k, err);
	if (rc)
		return rc;
	for (unsigned j = 0; j < key->n && !rc; j++)
		if (!strcmp(key->r[j].fpr, k->fpr))
			rc = error_set(
				err, -EINVAL,
				"[gpg] recipient '%s' and '%s' are the same key %s: list each "
				"key once (a second recipient, e.g. an escrow key, must be "
				"another key pair)",
				key->r[j].name, name, k->fpr);
	if (!rc)
		rc = check_pin(k, name, l->want, l->pins.n,
			       origin_of(origin, k->fpr, l->files_value), err);
	if (!rc && !(flags & GPG_KEY_ANY_STATE) && check_usable(k, err))
		rc = error_prefix(err, -EKEYREJECTED, "[gpg] recipient '%s' (in '%s')", name,
				  origin_of(origin, k->fpr, l->files_value));
	if (!rc) {
		r = &key->r[key->n++];
		snprintf(r->fpr, sizeof(r->fpr), "%s", k->fpr);
		snprintf(r->uid, sizeof(r->uid), "%s", key_uid(k));
		snprintf(r->name, sizeof(r->name), "%s", name);
		r->expires = effective_expiry(k);
		note_keyids(r, k);
	}
	gpgme_key_unref(k);
	return rc;
}

/* Every pin must be one of the selected keys. */
static int check_pins_used(const struct gpg_key *key, const struct key_lists *l, struct errbuf *err)
{
	for (unsigned i = 0; i < l->pins.n; i++) {
		unsigned j = 0;

		while (j < key->n && strcmp(key->r[j].fpr, l->want[i]))
			j++;
		if (j == key->n)
			return error_set(
				err, -EKEYREJECTED,
				"[gpg] fingerprint pins %s, but no [gpg] recipient selects "
				"that key: add its user id or fingerprint to [gpg] "
				"recipient (and its public key to public_key_file), or "
				"remove the pin",
				l->want[i]);
	}
	return 0;
}

/* A listed file none of whose keys is selected is a forgotten recipient
 * (an escrow key that would silently get nothing), not a keyring. */
static int check_files_used(const struct gpg_key *key, const struct key_lists *l,
			    const struct key_origin *o, struct errbuf *err)
{
	if (o->n == sizeof(o->e) / sizeof(o->e[0]))
		return 0; /* too many keys to tell */
	for (unsigned f = 0; f < l->files.n; f++) {
		const char *first = NULL;
		bool used = false;

		for (unsigned i = 0; i < o->n && !used; i++) {
			if (o->e[i].file != l->files.item[f])
				continue;
			if (!first)
				first = o->e[i].fpr;
			for (unsigned j = 0; j < key->n && !used; j++)
				used = !strcmp(key->r[j].fpr, o->e[i].fpr);
		}
		if (!used)
			return error_set(err, -EINVAL,
					 "[gpg] public_key_file '%s' holds no key that [gpg] "
					 "recipient selects (it holds %s): add that key's user id "
					 "or fingerprint to [gpg] recipient, or remove the file",
					 l->files.item[f], first ? first : "no key");
	}
	return 0;
}

static int key_setup(struct gpg_key *key, struct key_lists *l, unsigned flags, struct errbuf *err)
{
	struct key_origin *origin;
	gpgme_ctx_t ctx;
	int rc;

	origin = calloc(1, sizeof(*origin));
	if (!origin)
		return error_set(err, -ENOMEM, "out of memory");
	rc = homedir_make(key, err);
	if (!rc)
		rc = gpg_ctx_new(&ctx, key->homedir, err);
	if (rc) {
		free(origin);
		return rc;
	}
	for (unsigned i = 0; i < l->files.n && !rc; i++)
		rc = import_file(ctx, l->files.item[i], origin, err);
	for (unsigned i = 0; i < l->recipients.n && !rc; i++)
		rc = add_recipient(key, ctx, l, i, origin, flags, err);
	if (!rc)
		rc = check_pins_used(key, l, err);
	if (!rc)
		rc = check_files_used(key, l, origin, err);
	gpgme_release(ctx);
	free(origin);
	return rc;
}

static int lists_parse(struct key_lists *l, const char *files, const char *recipients,
		       const char *pins, struct errbuf *err)
{
	int rc;

	memset(l, 0, sizeof(*l));
	l->files_value = files;
	rc = list_split(&l->files, files, "public_key_file", err);
	if (!rc)
		rc = list_split(&l->recipients, recipients, "recipient", err);
	if (!rc)
		rc = list_split(&l->pins, pins, "fingerprint", err);
	if (!rc)
		rc = pins_parse(&l->pins, l->want, err);
	return rc;
}

static void lists_release(struct key_lists *l)
{
	list_release(&l->files);
	list_release(&l->recipients);
	list_release(&l->pins);
}

int gpg_key_load_flags(struct gpg_key **out, const char *public_key_file, const char *recipient,
		       const char *fingerprint, unsigned flags, struct errbuf *err)
{
	struct key_lists *l;
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
	l = calloc(1, sizeof(*l));
	key = calloc(1, sizeof(*key));
	if (!l || !key) {
		free(l);
		free(key);
		return error_set(err, -ENOMEM, "out of memory");
	}
	key->home_lock = -1;
	rc = lists_parse(l, public_key_file, recipient, fingerprint, err);
	if (!rc)
		rc = key_setup(key, l, flags, err);
	lists_release(l);
	free(l);
	if (rc) {
		gpg_key_free(key);
		return rc;
	}
	*out = key;
	return 0;
}

int gpg_key_load(struct gpg_key **out, const char *public_key_file, const char *recipient,
		 const char *fingerprint, struct errbuf *err)
{
	return gpg_key_load_flags(out, public_key_file, recipient, fingerprint, 0, err);
}

static void fill_info(const struct gpg_recipient *r, struct gpg_key_info *info)
{
	memset(info, 0, sizeof(*info));
	/* 63 hex digits fit: every v4 fingerprint (gpg 2.2 makes no v5 keys). */
	memcpy(info->fingerprint, r->fpr, sizeof(info->fingerprint) - 1);
	snprintf(info->uid, sizeof(info->uid), "%s", r->uid);
	snprintf(info->recipient, sizeof(info->recipient), "%s", r->name);
	info->expires = r->expires;
}

void gpg_key_get_info(const struct gpg_key *key, struct gpg_key_info *info)
{
	unsigned best = 0;

	for (unsigned i = 1; i < key->n; i++) {
		time_t e = key->r[i].expires, b = key->r[best].expires;

		if (e && (!b || e < b))
			best = i;
	}
	fill_info(&key->r[best], info);
}

unsigned gpg_key_count(const struct gpg_key *key)
{
	return key->n;
}

void gpg_key_recipient_info(const struct gpg_key *key, unsigned i, struct gpg_key_info *info)
{
	fill_info(&key->r[i < key->n ? i : 0], info);
}

unsigned gpg_key_keyids(const struct gpg_key *key, unsigned i, uint64_t ids[GPG_MAX_KEYIDS])
{
	const struct gpg_recipient *r = &key->r[i < key->n ? i : 0];

	memcpy(ids, r->keyids, r->nkeyids * sizeof(ids[0]));
	return r->nkeyids;
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
