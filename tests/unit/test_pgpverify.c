#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../dumper/pgpverify.h"
#include "unit.h"

/* A throwaway GnuPG home with two key pairs, made once. */
static char pgp_dir[64];
static int pgp_ready;	/* 0 not tried, 1 ok, -1 failed */
static pid_t pgp_owner; /* the process that made it: only it removes it */

static void pgp_cleanup(void)
{
	char cmd[256];

	if (getpid() != pgp_owner)
		return;
	snprintf(cmd, sizeof(cmd),
		 "gpgconf --homedir %s/home --kill all >/dev/null 2>&1; rm -rf %s", pgp_dir,
		 pgp_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot clean %s\n", pgp_dir);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
	char cmd[2048], full[2200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "cd %s && { %s ; } >>log 2>&1", pgp_dir, cmd);
	return system(full);
}

#define GPG                                                                                        \
	"gpg --batch --quiet --homedir home --passphrase '' --pinentry-mode loopback "             \
	"--trust-model always "

static bool pgp_setup(void)
{
	if (pgp_ready)
		return pgp_ready > 0;
	pgp_ready = -1;
	strcpy(pgp_dir, "/tmp/dumpfs-ut-pgp-XXXXXX");
	if (!mkdtemp(pgp_dir))
		return false;
	pgp_owner = getpid();
	atexit(pgp_cleanup);
	if (sh("mkdir -m 700 home") ||
	    sh(GPG "--quick-gen-key 'Alice <alice@test>' future-default default never") ||
	    sh(GPG "--quick-gen-key 'Bob <bob@test>' rsa2048 sign,encr never") ||
	    sh(GPG "--quick-gen-key 'Mallory <mallory@test>' future-default default never") ||
	    sh(GPG "--armor --export alice@test > alice.asc") ||
	    sh(GPG "--export bob@test > bob.gpg") ||
	    sh(GPG "--export mallory@test > mallory.gpg") ||
	    sh("printf 'hello backup\\n' > plain") ||
	    sh(GPG "--compress-algo none -r alice@test -o alice.gpg -e plain") ||
	    sh(GPG "-r alice@test -r bob@test -o both.gpg -e plain") ||
	    sh(GPG "-r bob@test -o bob_msg.gpg -e plain") ||
	    sh("head -c 3000000 /dev/urandom | " GPG "-r alice@test -e > big.gpg") ||
	    sh(GPG "--armor -r alice@test -o armored.asc -e plain") ||
	    sh(GPG "--passphrase x -o sym.gpg -c plain") ||
	    sh(GPG "-u alice@test -o signed.gpg -s plain") ||
	    sh(GPG "--throw-keyids -r alice@test -o hidden.gpg -e plain") ||
	    sh(GPG "-r alice@test -r bob@test -r mallory@test -o three.gpg -e plain") ||
	    sh(GPG "-r alice@test -r bob@test -R mallory@test -o hidextra.gpg -e plain"))
		return false;
	pgp_ready = 1;
	return true;
}

/* Made once in the runner's process for the tests that use it (unit.h). */
static void pgp_warm(void)
{
	(void)pgp_setup();
}
UNIT_FIXTURE("pgpverify_", pgp_warm)

static char *pgp_path(const char *name)
{
	static char buf[4][128];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", pgp_dir, name);
	return buf[i];
}

static int verify(const char *name, struct pgp_info *info, struct errbuf *err)
{
	return pgpverify_file(pgp_path(name), info, err);
}

TEST(pgpverify_accepts_real_messages)
{
	struct pgp_keyids alice, bob;
	struct pgp_info info;
	struct errbuf err;

	CHECK(pgp_setup());
	CHECK(pgp_keyids_load(&alice, pgp_path("alice.asc"), "alice@test", NULL, &err) == 0);
	CHECK(alice.nkeys == 1 && alice.key[0].n == 2 && strlen(alice.key[0].fingerprint) == 40);
	CHECK_STREQ(alice.key[0].recipient, "alice@test");
	CHECK(pgp_keyids_load(&bob, pgp_path("bob.gpg"), "Bob", NULL, &err) == 0);
	CHECK(bob.nkeys == 1 && bob.key[0].n == 1);

	CHECK(verify("alice.gpg", &info, &err) == 0);
	CHECK(info.nkeyids == 1 && info.data_offset > 0);
	CHECK(pgp_check_recipient(&info, &alice, &err) == 0);
	CHECK(pgp_check_recipient(&info, &bob, &err) == -EKEYREJECTED);
	CHECK(strstr(err.msg, "not to the configured key") != NULL);

	CHECK(verify("both.gpg", &info, &err) == 0);
	CHECK(info.nkeyids == 2);
	CHECK(pgp_check_recipient(&info, &alice, &err) == 0);
	CHECK(pgp_check_recipient(&info, &bob, &err) == 0);

	/* Streamed through stdin: partial body lengths. */
	CHECK(verify("big.gpg", &info, &err) == 0);
	CHECK(info.data_length > 3000000 && info.file_size > info.data_length);
	CHECK(pgp_check_recipient(&info, &alice, &err) == 0);

	CHECK(verify("bob_msg.gpg", &info, &err) == 0);
	CHECK(pgp_check_recipient(&info, &bob, &err) == 0);
	CHECK(pgp_check_recipient(&info, &alice, &err) == -EKEYREJECTED);
}

TEST(pgpverify_keyids_selection)
{
	struct pgp_keyids k;
	struct errbuf err;
	char pin[80];

	CHECK(pgp_setup());
	CHECK(pgp_keyids_load(&k, pgp_path("alice.asc"), "alice@test", NULL, &err) == 0);
	/* The pin must match the recipient's key, spaces and case ignored;
	 * selection is gpg_key_load's (test_gpgkey.c). */
	snprintf(pin, sizeof(pin), "%.4s %.36s", k.key[0].fingerprint, k.key[0].fingerprint + 4);
	for (char *p = pin; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'F' ? *p + 32 : *p);
	CHECK(pgp_keyids_load(&k, pgp_path("alice.asc"), "alice@test", pin, &err) == 0 &&
	      k.key[0].n == 2);
	CHECK(pgp_keyids_load(&k, pgp_path("alice.asc"), "nobody", pin, &err) == -ENOKEY);
	CHECK(pgp_keyids_load(&k, pgp_path("alice.asc"), "bob@test", NULL, &err) == -ENOKEY);
	CHECK(strstr(err.msg, "no key for recipient 'bob@test'") != NULL);
	CHECK(pgp_keyids_load(&k, pgp_path("plain"), "alice@test", NULL, &err) == -EINVAL);
	CHECK(strstr(err.msg, "no OpenPGP public key") != NULL);
	CHECK(pgp_keyids_load(&k, pgp_path("missing"), "alice@test", NULL, &err) < 0);
	CHECK(strstr(err.msg, "missing") != NULL);
}

/* Copies `from` to `to` with a change: keep `len` bytes (0 = all),
 * xor byte `at` with `x`, append `extra`. */
static void mutate(const char *from, const char *to, long len, long at, int x, const char *extra)
{
	FILE *in = fopen(pgp_path(from), "rb"), *out = fopen(pgp_path(to), "wb");
	long i = 0;
	int c;

	while (in && out && (c = fgetc(in)) != EOF && (!len || i < len)) {
		fputc(i == at ? c ^ x : c, out);
		i++;
	}
	if (out && extra)
		fputs(extra, out);
	if (in)
		fclose(in);
	if (out)
		fclose(out);
}

static long fsize(const char *name)
{
	struct stat st;

	return stat(pgp_path(name), &st) == 0 ? (long)st.st_size : -1;
}

TEST(pgpverify_rejects_damage)
{
	struct pgp_info info;
	struct errbuf err;
	long n;

	CHECK(pgp_setup());
	n = fsize("alice.gpg");
	mutate("alice.gpg", "trunc.gpg", n - 1, -1, 0, NULL);
	CHECK(verify("trunc.gpg", &info, &err) == -EINVAL);
	CHECK(strstr(err.msg, "truncated") != NULL);
	mutate("big.gpg", "bigtrunc.gpg", fsize("big.gpg") - 5000, -1, 0, NULL);
	CHECK(verify("bigtrunc.gpg", &info, &err) == -EINVAL && strstr(err.msg, "truncated"));
	mutate("alice.gpg", "tail.gpg", 0, -1, 0, "x");
	CHECK(verify("tail.gpg", &info, &err) == -EINVAL);
	CHECK(strstr(err.msg, "trailing data") != NULL);
	/* The PKESK's length octet (byte 1): framing no longer adds up. */
	mutate("alice.gpg", "len.gpg", 0, 1, 0x01, NULL);
	CHECK(verify("len.gpg", &info, &err) == -EINVAL);
	CHECK(strncmp(err.msg, "offset ", 7) == 0);
	mutate("alice.gpg", "len2.gpg", 0, 1, 0x40, NULL);
	CHECK(verify("len2.gpg", &info, &err) == -EINVAL);
	mutate("alice.gpg", "hdr.gpg", 0, 0, 0x80, NULL);
	CHECK(verify("hdr.gpg", &info, &err) == -EINVAL);
	CHECK(strstr(err.msg, "offset 0: not an OpenPGP packet header") != NULL);
	mutate("alice.gpg", "empty.gpg", -1, -1, 0, NULL);
	CHECK(fsize("empty.gpg") == 0);
	CHECK(verify("empty.gpg", &info, &err) == -EINVAL && strstr(err.msg, "empty file"));
}

TEST(pgpverify_rejects_other_kinds)
{
	struct pgp_keyids alice;
	struct pgp_info info;
	struct errbuf err;

	CHECK(pgp_setup());
	CHECK(verify("armored.asc", &info, &err) == -EINVAL);
	CHECK(strstr(err.msg, "ASCII-armored") != NULL);
	CHECK(verify("sym.gpg", &info, &err) == -EINVAL);
	CHECK(strstr(err.msg, "passphrase") != NULL);
	CHECK(verify("signed.gpg", &info, &err) == -EINVAL);
	CHECK(strstr(err.msg, "not encrypted") != NULL);
	CHECK(verify("plain", &info, &err) == -EINVAL);
	CHECK(verify("nonexistent", &info, &err) == -ENOENT);
	/* Hidden recipient: well-formed, but not provably ours. */
	CHECK(verify("hidden.gpg", &info, &err) == 0);
	CHECK(info.nkeyids == 1 && info.keyids[0] == 0);
	CHECK(pgp_keyids_load(&alice, pgp_path("alice.asc"), "alice@test", NULL, &err) == 0);
	CHECK(pgp_check_recipient(&info, &alice, &err) == -EKEYREJECTED);
	CHECK(strstr(err.msg, "hidden recipient") != NULL);
}

TEST(pgpverify_byte_by_byte_feed)
{
	struct pgp_parser p;
	struct pgp_info a, b;
	struct errbuf err;
	FILE *f;
	int c, rc = 0;

	CHECK(pgp_setup());
	CHECK(verify("both.gpg", &a, &err) == 0);
	pgp_parser_init(&p);
	f = fopen(pgp_path("both.gpg"), "rb");
	while (f && !rc && (c = fgetc(f)) != EOF) {
		unsigned char ch = (unsigned char)c;

		rc = pgp_parser_feed(&p, &ch, 1, &err);
	}
	if (f)
		fclose(f);
	CHECK(rc == 0 && pgp_parser_finish(&p, &b, &err) == 0);
	CHECK(memcmp(&a, &b, sizeof(a)) == 0);
}

/* ---- tag 20: AEAD (OCB) encrypted data, as GnuPG >= 2.3 writes it ---- */

/* The session key packet(s) of a real message: bytes before its data
 * packet. */
static size_t real_pkesk(unsigned char *out, size_t cap)
{
	struct pgp_info info;
	struct errbuf err;
	FILE *f;
	size_t n = 0;

	if (verify("alice.gpg", &info, &err) || info.data_offset > cap)
		return 0;
	f = fopen(pgp_path("alice.gpg"), "rb");
	if (f) {
		n = fread(out, 1, (size_t)info.data_offset, f);
		fclose(f);
	}
	return n == info.data_offset ? n : 0;
}

/* A tag 20 body: version, cipher, AEAD algorithm, chunk size octet c,
 * the IV, `chunks` ciphertext chunks of 2^(c+6) bytes (the last one
 * `last` bytes) each with a 16-byte tag, and the final tag. */
static size_t aead_body(unsigned char *b, unsigned ver, unsigned cipher, unsigned algo, unsigned c,
			unsigned chunks, size_t last)
{
	size_t n = 0, iv = algo == 1 ? 16 : 15;

	b[n++] = (unsigned char)ver;
	b[n++] = (unsigned char)cipher;
	b[n++] = (unsigned char)algo;
	b[n++] = (unsigned char)c;
	for (size_t i = 0; i < iv; i++)
		b[n++] = (unsigned char)(0xa0 + i);
	for (unsigned k = 0; k < chunks; k++) {
		size_t len = k + 1 < chunks ? (size_t)1 << (c + 6) : last;

		for (size_t i = 0; i < len + 16; i++)
			b[n++] = (unsigned char)(i * 7 + k);
	}
	for (size_t i = 0; i < 16; i++)
		b[n++] = 0xee;
	return n;
}

/* pkesk + a new-format tag 20 header + body; `partial` splits the body
 * into a 512-byte partial chunk and the rest. */
static size_t aead_message(unsigned char *m, const unsigned char *pkesk, size_t pk,
			   const unsigned char *body, size_t blen, bool partial)
{
	size_t n = pk, rest = blen;

	memcpy(m, pkesk, pk);
	m[n++] = 0xc0 | 20;
	if (partial) {
		m[n++] = 0xe0 | 9; /* 2^9 = 512 bytes */
		memcpy(m + n, body, 512);
		n += 512;
		body += 512;
		rest -= 512;
	}
	if (rest < 192) {
		m[n++] = (unsigned char)rest;
	} else {
		m[n++] = (unsigned char)(((rest - 192) >> 8) + 192);
		m[n++] = (unsigned char)((rest - 192) & 0xff);
	}
	memcpy(m + n, body, rest);
	return n + rest;
}

static int parse(const unsigned char *m, size_t n, size_t step, struct pgp_info *info,
		 struct errbuf *err)
{
	struct pgp_parser p;
	int rc = 0;

	pgp_parser_init(&p);
	for (size_t off = 0; off < n && !rc; off += step)
		rc = pgp_parser_feed(&p, m + off, step < n - off ? step : n - off, err);
	return rc ? rc : pgp_parser_finish(&p, info, err);
}

TEST(pgpverify_aead_packets)
{
	static unsigned char pk[2048], body[8192], m[12288];
	struct pgp_keyids alice;
	struct pgp_info info;
	struct errbuf err;
	size_t npk, nb, n;
	int rc = 0;

	CHECK(pgp_setup());
	npk = real_pkesk(pk, sizeof(pk));
	CHECK(npk > 0);
	CHECK(pgp_keyids_load(&alice, pgp_path("alice.asc"), "alice@test", NULL, &err) == 0);
	/* Well-formed: OCB and EAX, one short chunk, several chunks of 64
	 * bytes (c = 0), partial body lengths, any feed split. */
	{
		static const struct {
			unsigned algo, c, chunks;
			size_t last;
			bool partial;
		} ok[] = {
			{2, 16, 1, 100, false}, {1, 16, 1, 1, false}, {2, 0, 5, 64, false},
			{2, 0, 20, 3, true},	{1, 2, 3, 256, true},
		};

		for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
			nb = aead_body(body, 1, 9, ok[i].algo, ok[i].c, ok[i].chunks, ok[i].last);
			n = aead_message(m, pk, npk, body, nb, ok[i].partial);
			for (size_t step = 1; step <= n && !rc; step = step * 3 + 1) {
				rc = parse(m, n, step, &info, &err);
				if (rc)
					fprintf(stderr, "  case %zu step %zu: %s\n", i, step,
						err.msg);
			}
			CHECK(rc == 0);
			if (rc)
				break;
			CHECK(info.data_offset == npk && info.data_length == nb);
			CHECK(info.file_size == n && info.nkeyids == 1);
			CHECK(pgp_check_recipient(&info, &alice, &err) == 0);
		}
	}
	/* Malformed ones are still refused, with the reason. */
	nb = aead_body(body, 2, 9, 2, 16, 1, 100);
	n = aead_message(m, pk, npk, body, nb, false);
	CHECK(parse(m, n, 1, &info, &err) == -EINVAL && strstr(err.msg, "version 2 (expected 1)"));
	nb = aead_body(body, 1, 9, 3, 16, 1, 100);
	n = aead_message(m, pk, npk, body, nb, false);
	CHECK(parse(m, n, n, &info, &err) == -EINVAL && strstr(err.msg, "AEAD algorithm 3"));
	nb = aead_body(body, 1, 2, 2, 16, 1, 100); /* 3DES: 8-byte blocks */
	n = aead_message(m, pk, npk, body, nb, false);
	CHECK(parse(m, n, n, &info, &err) == -EINVAL && strstr(err.msg, "cipher algorithm 2"));
	nb = aead_body(body, 1, 9, 2, 57, 1, 100);
	n = aead_message(m, pk, npk, body, nb, false);
	CHECK(parse(m, n, n, &info, &err) == -EINVAL && strstr(err.msg, "chunk size octet 57"));
	/* Chunks that do not add up: 64-byte chunks, the last one empty
	 * (only its tag), or 10 bytes of one (less than a tag). */
	nb = aead_body(body, 1, 9, 2, 0, 3, 0);
	n = aead_message(m, pk, npk, body, nb, false);
	CHECK(parse(m, n, n, &info, &err) == -EINVAL && strstr(err.msg, "does not split"));
	nb = aead_body(body, 1, 9, 2, 0, 3, 64);
	n = aead_message(m, pk, npk, body, nb - 70, false);
	CHECK(parse(m, n, n, &info, &err) == -EINVAL && strstr(err.msg, "does not split"));
	nb = aead_body(body, 1, 9, 2, 16, 1, 100);
	n = aead_message(m, pk, npk, body, 4 + 15 + 16, false);
	CHECK(parse(m, n, n, &info, &err) == -EINVAL && strstr(err.msg, "too short"));
	/* Truncated, trailing bytes, no session key packet. */
	nb = aead_body(body, 1, 9, 2, 16, 1, 600);
	n = aead_message(m, pk, npk, body, nb, true);
	CHECK(parse(m, n - 1, 7, &info, &err) == -EINVAL && strstr(err.msg, "truncated"));
	m[n] = 0;
	CHECK(parse(m, n + 1, n + 1, &info, &err) == -EINVAL && strstr(err.msg, "trailing"));
	n = aead_message(m, pk, 0, body, nb, false);
	CHECK(parse(m, n, n, &info, &err) == -EINVAL &&
	      strstr(err.msg, "without a public-key encrypted session key"));
}

/* docs/recipients.md: a file must be addressed to every configured recipient. */
TEST(pgpverify_several_recipients)
{
	struct pgp_keyids both;
	struct pgp_info info;
	struct errbuf err;
	char files[300];

	CHECK(pgp_setup());
	snprintf(files, sizeof(files), "%s, %s", pgp_path("alice.asc"), pgp_path("bob.gpg"));
	CHECK(pgp_keyids_load(&both, files, "alice@test, Bob", NULL, &err) == 0);
	CHECK(both.nkeys == 2 && both.key[0].n == 2 && both.key[1].n == 1);
	CHECK(pgp_keyids_has(&both, 0, both.key[0].id[1]));
	CHECK(!pgp_keyids_has(&both, 1, both.key[0].id[1]));
	CHECK(!pgp_keyids_has(&both, 2, both.key[0].id[1]));

	CHECK(verify("both.gpg", &info, &err) == 0);
	CHECK(pgp_check_recipient(&info, &both, &err) == 0);
	/* An extra, named recipient does not hide anyone configured. */
	CHECK(verify("three.gpg", &info, &err) == 0 && info.nkeyids == 3);
	CHECK(pgp_check_recipient(&info, &both, &err) == 0);
	/* One configured key missing: named, with the rotation hint. */
	CHECK(verify("alice.gpg", &info, &err) == 0);
	CHECK(pgp_check_recipient(&info, &both, &err) == -EKEYREJECTED);
	CHECK(strstr(err.msg, both.key[1].fingerprint) && strstr(err.msg, "recipient 'Bob'"));
	CHECK(!strstr(err.msg, both.key[0].fingerprint));
	CHECK(strstr(err.msg, "predates") != NULL);
	CHECK(verify("bob_msg.gpg", &info, &err) == 0);
	CHECK(pgp_check_recipient(&info, &both, &err) == -EKEYREJECTED);
	CHECK(strstr(err.msg, "not to the configured key") &&
	      strstr(err.msg, both.key[0].fingerprint) && strstr(err.msg, "'alice@test'"));
	/* A hidden recipient proves nothing, even beside the right ones. */
	CHECK(verify("hidextra.gpg", &info, &err) == 0 && info.nkeyids == 3);
	CHECK(pgp_check_recipient(&info, &both, &err) == -EKEYREJECTED);
	CHECK(strstr(err.msg, "hidden recipient") != NULL);
	/* Neither key: both named. */
	snprintf(files, sizeof(files), "%s", pgp_path("mallory.gpg"));
	CHECK(pgp_keyids_load(&both, files, "mallory@test", NULL, &err) == 0);
	CHECK(verify("both.gpg", &info, &err) == 0);
	CHECK(pgp_check_recipient(&info, &both, &err) == -EKEYREJECTED);
	CHECK(strstr(err.msg, "'mallory@test'") && !strstr(err.msg, "predates"));
}
