/* Checks, without any private key, that a file is a well-formed OpenPGP
 * encrypted message (RFC 4880) addressed to a known key:
 *
 *   one or more Public-Key Encrypted Session Key packets (tag 1, version 3)
 *   then exactly one encrypted data packet whose length(s) run exactly to
 *   the end of file: a Sym. Encrypted Integrity Protected Data packet (tag
 *   18, version 1 or 2), or the AEAD (OCB) Encrypted Data packet (tag 20,
 *   version 1) that GnuPG >= 2.3 writes for keys whose preferences
 *   advertise AEAD (LibrePGP 5.16): its algorithms, chunk size and the
 *   framing of its chunks (each ciphertext chunk and the end carry a
 *   16-byte tag) must add up.
 *
 * Old and new packet headers are accepted; partial body lengths only for
 * the data packet.  ASCII armor, other packets (literal data, compressed,
 * plain symmetrically encrypted, marker), a truncated file or trailing
 * bytes are rejected with the byte offset and the reason.
 *
 * The parser is push-style so a caller can hash and check a file in one
 * read (dumpfs verify).
 */
#ifndef DUMPER_PGPVERIFY_H
#define DUMPER_PGPVERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"

#define PGP_MAX_RECIPIENTS 16
#define PGP_MAX_KEYIDS	   16

struct pgp_info {
	uint64_t keyids[PGP_MAX_RECIPIENTS]; /* PKESK recipients, file order;
						0 = hidden (--throw-keyids) */
	unsigned nkeyids;
	uint64_t data_offset; /* where the data packet's header starts */
	uint64_t data_length; /* its body length (all partial chunks) */
	uint64_t file_size;
};

/* Parser state; fields are private (struct exposed so it can live on the
 * stack). */
struct pgp_parser {
	int state;
	uint64_t off;	  /* bytes consumed */
	uint64_t pkt_off; /* offset of the current packet's header */
	int tag;
	bool new_format;
	bool partial; /* the current chunk is a partial length */
	unsigned char hdr[6];
	unsigned hdr_have, hdr_need;
	uint64_t left;		  /* body bytes left in the current chunk */
	unsigned char body[2048]; /* the PKESK body being collected */
	size_t body_have, body_len;
	unsigned char data_hdr[4]; /* the data packet's first body bytes */
	unsigned data_hdr_have;
	struct pgp_info info;
	char why[256]; /* first error, "" while fine */
};

void pgp_parser_init(struct pgp_parser *p);
/* Feeds the next bytes.  Returns 0 or -EINVAL once the data is not a
 * valid message (later calls keep failing with the same message:
 * "offset N: <reason>"). */
int pgp_parser_feed(struct pgp_parser *p, const void *buf, size_t len, struct errbuf *err);
/* At end of file: checks the message is complete and fills *info. */
int pgp_parser_finish(struct pgp_parser *p, struct pgp_info *info, struct errbuf *err);

/* Reads the whole file at `path` through the parser. */
int pgpverify_file(const char *path, struct pgp_info *info, struct errbuf *err);

/* The configured keys, each with its key ids: the keys that [gpg]
 * recipient selects among the keys of the comma-separated
 * `public_key_file` list, pinned by the `fingerprint` list, exactly as
 * gpg_key_load() selects them for encryption (gpgstage.h), except that
 * expired or revoked keys still count (old backups must stay
 * verifiable).  Uses gpgme with a throwaway GNUPGHOME that is removed
 * before returning. */
#define PGP_MAX_KEYS 8 /* GPG_MAX_RECIPIENTS */
struct pgp_keyids {
	struct pgp_key {
		char fingerprint[64];
		char recipient[256]; /* the [gpg] recipient entry */
		uint64_t id[PGP_MAX_KEYIDS];
		unsigned n;
	} key[PGP_MAX_KEYS];
	unsigned nkeys;
};
int pgp_keyids_load(struct pgp_keyids *k, const char *public_key_file, const char *recipient,
		    const char *fingerprint, struct errbuf *err);
/* Whether `id` is one of configured key i's ids. */
bool pgp_keyids_has(const struct pgp_keyids *k, unsigned i, uint64_t id);
/* Checks that info names every configured key as a recipient (by the id
 * of its primary key or of one of its subkeys); otherwise -EKEYREJECTED
 * naming each missing key ("not to the configured key F (recipient
 * 'x')").  A hidden recipient (wildcard key id 0, gpg --throw-keyids)
 * proves nothing and is refused: dumpfs never writes one. */
int pgp_check_recipient(const struct pgp_info *info, const struct pgp_keyids *k,
			struct errbuf *err);

#endif
