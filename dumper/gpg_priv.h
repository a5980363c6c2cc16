/* Shared by gpgkey.c (loading the recipient key) and gpgstage.c (the
 * encryption stage).  Not part of the library's public surface. */
#ifndef DUMPER_GPG_PRIV_H
#define DUMPER_GPG_PRIV_H

#include <limits.h>
#include <stddef.h>
#include <time.h>

#include <gpgme.h>

#include "errbuf.h"

#define FPR_MAX 65 /* v5 fingerprints have 64 hex digits */

/* Immutable after gpg_key_load(), so stages may share it across threads. */
struct gpg_key {
	char homedir[PATH_MAX];
	int home_lock; /* tmphome.h: holds homedir; -1 when none */
	char fpr[FPR_MAX];
	char uid[256];
	time_t expires;
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
