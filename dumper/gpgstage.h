/* OpenPGP encryption to the data protection officer's public key.
 *
 * gpg_key_load() imports the key file into a private GNUPGHOME (mode 0700,
 * a short path under $TMPDIR or /tmp, removed by gpg_key_free()) and
 * selects the one key matching `recipient`.  It refuses, naming the key
 * and what to do: no match, several matches, a fingerprint pin that does
 * not match, an expired, revoked, disabled or invalid key, a key without
 * a usable encryption subkey.
 *
 * The stage encrypts the bytes written to it as one binary (not armored)
 * OpenPGP message, GPGME_ENCRYPT_NO_COMPRESS (input is already gzip),
 * always-trust (the key was configured explicitly), streaming through
 * gpgme data callbacks: a helper thread runs gpgme_op_encrypt, reading
 * from a bounded buffer filled by write() and pushing ciphertext into the
 * next stage.  The next stage is therefore called from that helper thread,
 * never concurrently.
 */
#ifndef DUMPER_GPGSTAGE_H
#define DUMPER_GPGSTAGE_H

#include <time.h>

#include "writer.h"

struct gpg_key;

struct gpg_key_info {
	char fingerprint[64]; /* primary key, upper-case hex */
	char uid[256];	      /* first user id */
	time_t expires;	      /* when encryption stops working: the earlier of the
				 primary key's and the encryption subkey's expiry; 0 = never */
};

/* On success *out is owned by the caller (gpg_key_free).  `fingerprint`
 * may be NULL or "" (no pin); spaces in it are ignored. */
int gpg_key_load(struct gpg_key **out, const char *public_key_file, const char *recipient,
		 const char *fingerprint, struct errbuf *err);
void gpg_key_get_info(const struct gpg_key *key, struct gpg_key_info *info);
/* Removes the private GNUPGHOME; safe on NULL. */
void gpg_key_free(struct gpg_key *key);

/* `key` and `next` are borrowed and must outlive the stage.  A key may
 * serve several stages at once (each gets its own gpgme context). */
int gpgstage_new(struct writer **out, struct writer *next, struct gpg_key *key, struct errbuf *err);

#endif
