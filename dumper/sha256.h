/* SHA-256 (FIPS 180-4), streaming, and a pass-through writer stage that
 * hashes everything going to the next stage (the archive's ciphertext,
 * for its .sha256 sidecar).  Our own implementation: no dependency. */
#ifndef DUMPER_SHA256_H
#define DUMPER_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "writer.h"

#define SHA256_DIGEST_LEN 32
#define SHA256_HEX_LEN	  64 /* lowercase hex digits, without the NUL */

struct sha256 {
	uint32_t h[8];
	uint64_t nbytes; /* total bytes hashed so far */
	unsigned char block[64];
	size_t nblock; /* bytes waiting in block[] */
};

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t len);
/* Finishes the hash into `out`; c must be re-initialised before reuse. */
void sha256_final(struct sha256 *c, unsigned char out[SHA256_DIGEST_LEN]);
/* Lowercase hex of a digest, NUL-terminated (SHA256_HEX_LEN + 1 bytes). */
void sha256_hex(const unsigned char digest[SHA256_DIGEST_LEN], char hex[SHA256_HEX_LEN + 1]);
/* sha256_final() + sha256_hex(). */
void sha256_final_hex(struct sha256 *c, char hex[SHA256_HEX_LEN + 1]);

/* A stage that feeds every byte written to it into `ctx`, then passes it
 * on to `next`.  sha256stage_new() initialises *ctx; after a successful
 * writer_close() of the stage the caller reads the digest with
 * sha256_final(ctx) / sha256_final_hex(ctx).  `next` and `ctx` are
 * borrowed and must outlive the stage; close() adds nothing and does not
 * close `next`.  Like any stage it is used by one thread at a time (the
 * gpg stage calls it from its helper thread).  On success *out is owned
 * by the caller (writer_free). */
int sha256stage_new(struct writer **out, struct writer *next, struct sha256 *ctx,
		    struct errbuf *err);

#endif
