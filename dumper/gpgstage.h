/* OpenPGP encryption to the data protection officer's public key(s).
 *
 * gpg_key_load() imports the key files (a comma-separated list; each may
 * hold several keys) into one private GNUPGHOME (mode 0700, a short path
 * under $TMPDIR or /tmp, removed by gpg_key_free()) and selects, for each
 * entry of the comma-separated `recipient` list, the one key it matches.
 * Every message is encrypted to all of them.  It refuses, naming the
 * entry, key or file and what to do: no match, several matches, two
 * entries selecting the same key, an expired, revoked, disabled or
 * invalid key, a key without a usable encryption subkey.  A `fingerprint`
 * list pins the selected keys as a set (order independent): every
 * selected key must be pinned and every pin must be selected.
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

#include <stdint.h>

#define GPG_MAX_RECIPIENTS 8  /* keys in [gpg] recipient, and files */
#define GPG_MAX_KEYIDS	   16 /* key ids (primary + subkeys) kept per key */

struct gpg_key;

struct gpg_key_info {
	char fingerprint[64]; /* primary key, upper-case hex */
	char uid[256];	      /* first user id */
	char recipient[256];  /* the [gpg] recipient entry that selected it */
	time_t expires;	      /* when encryption stops working: the earlier of the
				 primary key's and the encryption subkey's expiry; 0 = never */
};

/* Flags for gpg_key_load_flags. */
#define GPG_KEY_ANY_STATE                                                                          \
	1u /* keep expired, revoked or unusable keys (dumpfs                                       \
	      verify of old files); such a key cannot encrypt */

/* On success *out is owned by the caller (gpg_key_free).  The three
 * strings are comma-separated lists (spaces around entries ignored);
 * `fingerprint` may be NULL or "" (no pin); spaces inside a fingerprint
 * are ignored. */
int gpg_key_load(struct gpg_key **out, const char *public_key_file, const char *recipient,
		 const char *fingerprint, struct errbuf *err);
int gpg_key_load_flags(struct gpg_key **out, const char *public_key_file, const char *recipient,
		       const char *fingerprint, unsigned flags, struct errbuf *err);
/* The key whose encryption stops working first (the next to need
 * renewing; the first listed when none expires). */
void gpg_key_get_info(const struct gpg_key *key, struct gpg_key_info *info);
/* How many keys every message goes to, and each one, i < count. */
unsigned gpg_key_count(const struct gpg_key *key);
void gpg_key_recipient_info(const struct gpg_key *key, unsigned i, struct gpg_key_info *info);
/* Key i's key ids (primary and subkeys) into ids; returns how many. */
unsigned gpg_key_keyids(const struct gpg_key *key, unsigned i, uint64_t ids[GPG_MAX_KEYIDS]);
/* Removes the private GNUPGHOME; safe on NULL. */
void gpg_key_free(struct gpg_key *key);

/* `key` and `next` are borrowed and must outlive the stage.  A key may
 * serve several stages at once (each gets its own gpgme context). */
int gpgstage_new(struct writer **out, struct writer *next, struct gpg_key *key, struct errbuf *err);

#endif
