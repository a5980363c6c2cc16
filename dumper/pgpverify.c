/* A structural check of OpenPGP encrypted messages (RFC 4880 4.2, 5.1,
 * 5.13): packet headers and lengths only, no decryption. */
#include "pgpverify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpgstage.h"

enum {
	ST_TAG,	 /* expecting a packet's first byte */
	ST_LEN,	 /* collecting length octets */
	ST_BODY, /* inside a body chunk */
	ST_DONE, /* the data packet ended: only EOF may follow */
	ST_ERROR,
};

#define TAG_PKESK 1
#define TAG_SEIPD 18
#define TAG_AEAD  20
#define SEIPD_MIN 33 /* version + 8-byte block IV + 2 + 22-byte MDC */
#define AEAD_TAG  16 /* authentication tag after each chunk and at the end */

static bool is_data(int tag)
{
	return tag == TAG_SEIPD || tag == TAG_AEAD;
}

static int fail(struct pgp_parser *p, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct pgp_parser *p, uint64_t off, const char *fmt, ...)
{
	char what[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(p->why, sizeof(p->why), "offset %llu: %s", (unsigned long long)off, what);
	p->state = ST_ERROR;
	return -EINVAL;
}

void pgp_parser_init(struct pgp_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->state = ST_TAG;
}

static const char *tag_problem(int tag)
{
	switch (tag) {
	case 2:
		return "a signature, not an encrypted message";
	case 3:
		return "encrypted with a passphrase (symmetric), not to a public key";
	case 5:
	case 6:
	case 7:
	case 14:
		return "a key, not an encrypted message";
	case 8:
	case 11:
		return "not encrypted (compressed or literal data)";
	case 9:
		return "encrypted without integrity protection (obsolete)";
	default:
		return "unexpected packet";
	}
}

/* Checks the packet's tag against what may come next. */
static int check_tag(struct pgp_parser *p)
{
	if (p->tag == TAG_PKESK)
		return 0;
	if (is_data(p->tag) && p->info.nkeyids)
		return 0;
	if (is_data(p->tag))
		return fail(p, p->pkt_off,
			    "encrypted data packet without a public-key encrypted session key");
	return fail(p, p->pkt_off, "packet tag %d: %s", p->tag, tag_problem(p->tag));
}

static int on_tag_byte(struct pgp_parser *p, unsigned char b)
{
	p->pkt_off = p->off;
	if (!(b & 0x80)) {
		if (p->off == 0 && b == '-')
			return fail(p, 0, "ASCII-armored, not a binary OpenPGP message");
		return fail(p, p->off, "not an OpenPGP packet header (byte 0x%02x)", b);
	}
	p->new_format = b & 0x40;
	p->tag = p->new_format ? b & 0x3f : (b >> 2) & 0x0f;
	p->hdr_have = 0;
	p->partial = false;
	p->state = ST_LEN;
	if (check_tag(p))
		return -EINVAL;
	if (p->new_format) {
		p->hdr_need = 1; /* decided by the first octet */
	} else {
		static const unsigned need[] = {1, 2, 4, 0};

		p->hdr_need = need[b & 3];
		if (!p->hdr_need)
			return fail(p, p->pkt_off, "packet of indeterminate length (tag %d)",
				    p->tag);
	}
	return 0;
}

static uint64_t be(const unsigned char *s, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | s[i];
	return v;
}

/* Called when all length octets are in; sets p->left and enters ST_BODY. */
static int length_done(struct pgp_parser *p)
{
	const unsigned char *h = p->hdr;

	p->partial = false;
	if (!p->new_format)
		p->left = be(h, p->hdr_need);
	else if (h[0] < 192)
		p->left = h[0];
	else if (h[0] < 224)
		p->left = ((uint64_t)(h[0] - 192) << 8) + h[1] + 192;
	else if (h[0] == 255)
		p->left = be(h + 1, 4);
	else {
		p->left = (uint64_t)1 << (h[0] & 0x1f);
		p->partial = true;
		if (!is_data(p->tag))
			return fail(p, p->off - p->hdr_have,
				    "partial body length in a packet of tag %d", p->tag);
	}
	if (p->tag == TAG_PKESK) {
		if (p->left < 10 || p->left > sizeof(p->body))
			return fail(p, p->pkt_off,
				    "public-key encrypted session key packet of %llu bytes",
				    (unsigned long long)p->left);
		p->body_len = (size_t)p->left;
		p->body_have = 0;
	} else {
		p->info.data_length += p->left;
	}
	p->state = ST_BODY;
	/* A zero-length last chunk after partial ones is fine. */
	if (!p->left && !p->partial && is_data(p->tag) && !p->info.data_length)
		return fail(p, p->pkt_off, "empty encrypted data packet");
	return 0;
}

static int on_len_byte(struct pgp_parser *p, unsigned char b)
{
	p->hdr[p->hdr_have++] = b;
	if (p->new_format && p->hdr_have == 1) {
		if (b >= 192 && b < 224)
			p->hdr_need = 2;
		else if (b == 255)
			p->hdr_need = 5;
	}
	if (p->hdr_have < p->hdr_need)
		return 0;
	return length_done(p);
}

/* Walks MPIs of the PKESK body from *pos; false when one overruns. */
static bool skip_mpis(const unsigned char *b, size_t len, size_t *pos, int count)
{
	for (int i = 0; i < count; i++) {
		size_t bits, bytes;

		if (*pos + 2 > len)
			return false;
		bits = (size_t)b[*pos] << 8 | b[*pos + 1];
		bytes = (bits + 7) / 8;
		*pos += 2;
		if (!bits || *pos + bytes > len)
			return false;
		*pos += bytes;
	}
	return true;
}

static int pkesk_done(struct pgp_parser *p)
{
	const unsigned char *b = p->body;
	size_t pos = 10, len = p->body_len;
	bool ok = true;

	if (b[0] != 3)
		return fail(p, p->pkt_off, "session key packet version %u (expected 3)", b[0]);
	if (p->info.nkeyids == PGP_MAX_RECIPIENTS)
		return fail(p, p->pkt_off, "more than %d recipients", PGP_MAX_RECIPIENTS);
	p->info.keyids[p->info.nkeyids++] = be(b + 1, 8);
	switch (b[9]) {
	case 1: /* RSA */
	case 2:
		ok = skip_mpis(b, len, &pos, 1);
		break;
	case 16: /* Elgamal */
		ok = skip_mpis(b, len, &pos, 2);
		break;
	case 18: /* ECDH: point MPI, then a length-prefixed wrapped key */
		ok = skip_mpis(b, len, &pos, 1) && pos < len && b[pos] && pos + 1 + b[pos] == len;
		pos = len;
		break;
	default: /* other algorithms: only the framing is checked */
		pos = len;
		break;
	}
	if (!ok || pos != len)
		return fail(p, p->pkt_off,
			    "session key packet's key material does not fill its %zu bytes "
			    "(algorithm %u)",
			    len, b[9]);
	p->state = ST_TAG;
	return 0;
}

/* The nonce length of an AEAD algorithm (LibrePGP 9.6), 0 if unknown. */
static unsigned aead_iv_len(unsigned algo)
{
	return algo == 1 ? 16 : algo == 2 ? 15 : 0; /* EAX, OCB */
}

/* The first 4 body bytes of a tag 20 packet: version 1, a symmetric
 * cipher with 16-byte blocks, EAX or OCB, chunk size octet <= 56. */
static int aead_header(struct pgp_parser *p, uint64_t off)
{
	const unsigned char *h = p->data_hdr;

	if (h[0] != 1)
		return fail(p, off, "AEAD encrypted data packet version %u (expected 1)", h[0]);
	if (h[1] < 7 || h[1] > 13) /* AES-128..256, Twofish, Camellia-128..256 */
		return fail(p, off + 1, "AEAD encrypted data packet with cipher algorithm %u",
			    h[1]);
	if (!aead_iv_len(h[2]))
		return fail(p, off + 2, "AEAD encrypted data packet with AEAD algorithm %u", h[2]);
	if (h[3] > 56)
		return fail(p, off + 3, "AEAD encrypted data packet with chunk size octet %u",
			    h[3]);
	return 0;
}

/* The whole tag 20 body: header, IV, then chunks of chunk size bytes
 * (the last one shorter, never empty) each followed by its tag, then the
 * final tag. */
static int aead_done(struct pgp_parser *p)
{
	uint64_t head = 4 + aead_iv_len(p->data_hdr[2]),
		 chunk = (uint64_t)1 << (p->data_hdr[3] + 6);
	uint64_t len = p->info.data_length, rest, last;

	if (p->data_hdr_have < 4 || len < head + 2 * AEAD_TAG + 1)
		return fail(p, p->pkt_off, "AEAD encrypted data packet too short (%llu bytes)",
			    (unsigned long long)len);
	rest = len - head - AEAD_TAG; /* the chunks with their tags */
	last = rest % (chunk + AEAD_TAG);
	if (last && last <= AEAD_TAG)
		return fail(p, p->pkt_off,
			    "AEAD encrypted data packet of %llu bytes does not split into "
			    "chunks of %llu bytes with their tags",
			    (unsigned long long)len, (unsigned long long)chunk);
	p->state = ST_DONE;
	return 0;
}

/* End of a body chunk. */
static int chunk_done(struct pgp_parser *p)
{
	if (p->tag == TAG_PKESK)
		return pkesk_done(p);
	if (p->partial) {
		p->hdr_have = 0;
		p->hdr_need = 1;
		p->state = ST_LEN;
		return 0;
	}
	if (p->tag == TAG_AEAD)
		return aead_done(p);
	if (p->info.data_length < SEIPD_MIN)
		return fail(p, p->pkt_off, "encrypted data packet too short (%llu bytes)",
			    (unsigned long long)p->info.data_length);
	p->state = ST_DONE;
	return 0;
}

static int on_body(struct pgp_parser *p, const unsigned char *s, size_t n)
{
	if (p->tag == TAG_PKESK) {
		memcpy(p->body + p->body_have, s, n);
		p->body_have += n;
		return 0;
	}
	if (!p->data_hdr_have && n) {
		if (p->tag == TAG_SEIPD && s[0] != 1 && s[0] != 2)
			return fail(p, p->off, "encrypted data packet version %u (expected 1)",
				    s[0]);
		p->info.data_offset = p->pkt_off;
	}
	for (size_t i = 0; i < n && p->data_hdr_have < sizeof(p->data_hdr); i++) {
		p->data_hdr[p->data_hdr_have++] = s[i];
		if (p->tag == TAG_AEAD && p->data_hdr_have == sizeof(p->data_hdr))
			return aead_header(p, p->off + i + 1 - sizeof(p->data_hdr));
	}
	return 0;
}

int pgp_parser_feed(struct pgp_parser *p, const void *buf, size_t len, struct errbuf *err)
{
	const unsigned char *s = buf;
	size_t n;
	int rc = 0;

	while (len && !rc) {
		switch (p->state) {
		case ST_TAG:
			rc = on_tag_byte(p, *s);
			n = 1;
			break;
		case ST_LEN:
			rc = on_len_byte(p, *s);
			n = 1;
			break;
		case ST_BODY:
			n = p->left < len ? (size_t)p->left : len;
			rc = on_body(p, s, n);
			p->left -= n;
			break;
		case ST_DONE:
			/* (how many bytes follow is unknown: only this read's) */
			rc = fail(p, p->off, "trailing data after the encrypted data packet");
			n = 0;
			break;
		default:
			return error_set(err, -EINVAL, "%s", p->why);
		}
		if (rc)
			break;
		p->off += n;
		s += n;
		len -= n;
		if (p->state == ST_BODY && !p->left)
			rc = chunk_done(p);
	}
	if (rc)
		return error_set(err, rc, "%s", p->why);
	return 0;
}

int pgp_parser_finish(struct pgp_parser *p, struct pgp_info *info, struct errbuf *err)
{
	switch (p->state) {
	case ST_DONE:
		p->info.file_size = p->off;
		if (info)
			*info = p->info;
		return 0;
	case ST_ERROR:
		break;
	case ST_TAG:
		if (!p->off)
			fail(p, 0, "empty file");
		else
			fail(p, p->off,
			     "truncated: no encrypted data packet after the session "
			     "key packet(s)");
		break;
	default:
		fail(p, p->off, "truncated inside the packet (tag %d) that starts at offset %llu",
		     p->tag, (unsigned long long)p->pkt_off);
		break;
	}
	return error_set(err, -EINVAL, "%s", p->why);
}

int pgpverify_file(const char *path, struct pgp_info *info, struct errbuf *err)
{
	struct pgp_parser *p = malloc(sizeof(*p));
	size_t size = 256 * 1024;
	unsigned char *buf = malloc(size);
	ssize_t n;
	int fd, rc = 0;

	if (!p || !buf) {
		free(p);
		free(buf);
		return error_set(err, -ENOMEM, "out of memory");
	}
	pgp_parser_init(p);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		rc = error_set(err, -errno, "cannot open '%s': %s", path, strerror(errno));
	while (!rc && (n = read(fd, buf, size)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = error_set(err, -errno, "cannot read '%s': %s", path, strerror(errno));
		else
			rc = pgp_parser_feed(p, buf, (size_t)n, err);
	}
	if (!rc)
		rc = pgp_parser_finish(p, info, err);
	if (fd >= 0)
		close(fd);
	free(buf);
	free(p);
	return rc;
}

/* ---- the configured keys' ids ---- */

_Static_assert(PGP_MAX_KEYS == GPG_MAX_RECIPIENTS, "one pgp_key per recipient");
_Static_assert(PGP_MAX_KEYIDS == GPG_MAX_KEYIDS, "the key ids gpg_key_keyids gives");

int pgp_keyids_load(struct pgp_keyids *k, const char *public_key_file, const char *recipient,
		    const char *fingerprint, struct errbuf *err)
{
	struct gpg_key *key;
	int rc;

	memset(k, 0, sizeof(*k));
	rc = gpg_key_load_flags(&key, public_key_file, recipient, fingerprint, GPG_KEY_ANY_STATE,
				err);
	if (rc)
		return rc;
	for (unsigned i = 0; i < gpg_key_count(key) && i < PGP_MAX_KEYS; i++) {
		struct pgp_key *pk = &k->key[k->nkeys++];
		struct gpg_key_info info;

		gpg_key_recipient_info(key, i, &info);
		snprintf(pk->fingerprint, sizeof(pk->fingerprint), "%s", info.fingerprint);
		snprintf(pk->recipient, sizeof(pk->recipient), "%s", info.recipient);
		pk->n = gpg_key_keyids(key, i, pk->id);
	}
	gpg_key_free(key);
	return 0;
}

bool pgp_keyids_has(const struct pgp_keyids *k, unsigned i, uint64_t id)
{
	if (i >= k->nkeys)
		return false;
	for (unsigned j = 0; j < k->key[i].n; j++)
		if (k->key[i].id[j] == id)
			return true;
	return false;
}

static bool addressed_to(const struct pgp_info *info, const struct pgp_keyids *k, unsigned i)
{
	for (unsigned j = 0; j < info->nkeyids; j++)
		if (pgp_keyids_has(k, i, info->keyids[j]))
			return true;
	return false;
}

int pgp_check_recipient(const struct pgp_info *info, const struct pgp_keyids *k, struct errbuf *err)
{
	char got[PGP_MAX_RECIPIENTS * 18 + 1] = "", missing[PGP_MAX_KEYS * 340] = "";
	size_t n = 0, m = 0;
	unsigned nmissing = 0;

	for (unsigned i = 0; i < info->nkeyids; i++) {
		if (!info->keyids[i])
			return error_set(err, -EKEYREJECTED,
					 "addressed to a hidden recipient (wildcard key id, gpg "
					 "--throw-keyids), which proves nothing about who can "
					 "decrypt it; dumpfs never writes such files: it was not "
					 "made by dumpfs, or was altered");
		n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%016llX", i ? ", " : "",
				      (unsigned long long)info->keyids[i]);
	}
	for (unsigned i = 0; i < k->nkeys; i++) {
		if (addressed_to(info, k, i))
			continue;
		if (m < sizeof(missing))
			m += (size_t)snprintf(missing + m, sizeof(missing) - m,
					      "%s%s %s (recipient '%s')",
					      nmissing ? ", nor" : "not",
					      nmissing ? "" : " to the configured key",
					      k->key[i].fingerprint, k->key[i].recipient);
		nmissing++;
	}
	if (!nmissing)
		return 0;
	if (!info->nkeyids)
		return error_set(err, -EKEYREJECTED, "no recipient key id in the file");
	if (nmissing < k->nkeys)
		return error_set(
			err, -EKEYREJECTED,
			"encrypted to key id %s, %s: the file predates that key's "
			"addition to [gpg] recipient (key rotation), or was made for other "
			"keys; verify it against the recipients of its time "
			"(DUMPFS_GPG_RECIPIENT=... DUMPFS_GPG_FINGERPRINT=...)",
			got, missing);
	return error_set(err, -EKEYREJECTED, "encrypted to key id %s, %s", got, missing);
}
