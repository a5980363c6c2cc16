/* Shared by gpgkey.c (loading the recipient key) and gpgstage.c (the
 * encryption stage).  Not part of the library's public surface. */
#ifndef DUMPER_GPG_PRIV_H
#define DUMPER_GPG_PRIV_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <gpgme.h>

#include "errbuf.h"
#include "gpgstage.h"

#define FPR_MAX 65 /* v5 fingerprints have 64 hex digits */

/* One configured recipient's key. */
struct gpg_recipient {
	char fpr[FPR_MAX];
	char uid[256];
	char name[256]; /* the [gpg] recipient entry that selected it */
	time_t expires;
	uint64_t keyids[GPG_MAX_KEYIDS]; /* primary and subkeys */
	unsigned nkeyids;
};

/* Immutable after gpg_key_load(), so stages may share it across threads. */
struct gpg_key {
	char homedir[PATH_MAX];
	int home_lock; /* tmphome.h: holds homedir; -1 when none */
	unsigned n;    /* 1..GPG_MAX_RECIPIENTS, distinct keys, config order */
	struct gpg_recipient r[GPG_MAX_RECIPIENTS];
};

/* gpgme's message for e, thread-safe, into buf. */
const char *gpg_errstr(gpgme_error_t e, char *buf, size_t n);
/* A negative errno for e (-EIO when there is none). */
int gpg_errcode(gpgme_error_t e);
/* gpgme_check_version and a usable OpenPGP engine. */
int gpg_engine_init(struct errbuf *err);
/* A context bound to `homedir`; never touches global engine info or the
 * environment.  *out is the caller's (gpgme_release). */
int gpg_ctx_new(gpgme_ctx_t *out, const char *homedir, struct errbuf *err);

#endif
