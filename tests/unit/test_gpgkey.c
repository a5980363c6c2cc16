/* gpg_key_load: which public keys, recipients and pins it takes or refuses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpgfixture.h"
#include "unit.h"

TEST(gpgkey_key_info_and_fingerprint_recipient)
{
	struct gpg_key *key = NULL;
	struct gpg_key_info info;
	struct errbuf err;
	char spaced[80] = "", lower[64];
	time_t now = time(NULL);
	const struct gpg_fixture *fx = gpgfx_get();

	if (!fx)
		return;
	/* Fingerprint as recipient and pin, spaced and lower-case. */
	for (int i = 0; i < 40; i += 4)
		snprintf(spaced + strlen(spaced), sizeof(spaced) - strlen(spaced), "%.4s ",
			 fx->good_fpr + i);
	for (int i = 0; i <= 40; i++)
		lower[i] = (char)(fx->good_fpr[i] >= 'A' ? fx->good_fpr[i] - 'A' + 'a'
							 : fx->good_fpr[i]);
	CHECK(gpgfx_load(&key, "good.gpg", spaced, lower, &err) == 0);
	CHECK_STREQ(err.msg, "");
	if (!key)
		return;
	gpg_key_get_info(key, &info);
	CHECK_STREQ(info.fingerprint, fx->good_fpr);
	CHECK_STREQ(info.uid, "Test DPO <dpo@test.local>");
	CHECK(info.expires > now + 86400 - 600 && info.expires < now + 86400 + 600);
	gpg_key_free(key);
	gpg_key_free(NULL);
	CHECK(gpgfx_count_dir(fx->tmp) == 0);
}

TEST(gpgkey_latest_encryption_subkey_expiry)
{
	const struct gpg_fixture *fx = gpgfx_get();
	struct gpg_key *key = NULL;
	struct gpg_key_info info;
	struct errbuf err;
	struct tm tm = {.tm_year = 2099 - 1900, .tm_mon = 0, .tm_mday = 1};
	time_t want = timegm(&tm);

	if (!fx)
		return;
	CHECK(gpgfx_load(&key, "multi.gpg", "multi@test.local", fx->multi_fpr, &err) == 0);
	CHECK_STREQ(err.msg, "");
	if (!key)
		return;
	gpg_key_get_info(key, &info);
	/* gpg turns the date into whole days after the subkey's creation. */
	CHECK(info.expires > want - 2 * 86400 && info.expires < want + 2 * 86400);
	gpg_key_free(key);
}

static void expect_refusal(const char *file, const char *recipient, const char *pin,
			   const char *want1, const char *want2)
{
	const struct gpg_fixture *fx = gpgfx_get();
	struct gpg_key *key = (struct gpg_key *)&key;
	struct errbuf err;
	int rc = gpgfx_load(&key, file, recipient, pin, &err);

	CHECK(rc < 0);
	CHECK(key == NULL);
	if (!strstr(err.msg, want1) || (want2 && !strstr(err.msg, want2)))
		unit_fail_str(__FILE__, __LINE__, file, err.msg, want1);
	CHECK(fx && gpgfx_count_dir(fx->tmp) == 0); /* private home removed */
	if (rc == 0)
		gpg_key_free(key);
}

TEST(gpgkey_refuses_bad_files)
{
	const struct gpg_fixture *fx = gpgfx_get();
	char path[256];

	if (!fx)
		return;
	gpgfx_path(path, sizeof(path), "missing.asc");
	expect_refusal("missing.asc", "dpo@test.local", NULL, path, "[gpg] public_key_file");
	expect_refusal("missing.asc", "dpo@test.local", NULL, "No such file", NULL);
	gpgfx_path(path, sizeof(path), "garbage.asc");
	expect_refusal("garbage.asc", "dpo@test.local", NULL, "no OpenPGP public key found in",
		       path);
	expect_refusal("garbage.asc", "x", NULL, "armored or binary", NULL);
	expect_refusal("empty.asc", "x", NULL, "no OpenPGP public key found", NULL);
	expect_refusal("", "x", NULL, "cannot read [gpg] public_key_file", NULL); /* a dir */
	expect_refusal("secret.asc", "dpo@test.local", NULL, "holds a secret key", NULL);
}

TEST(gpgkey_refuses_wrong_recipient_or_pin)
{
	const struct gpg_fixture *fx = gpgfx_get();
	char spaced[80];

	if (!fx)
		return;
	expect_refusal("good.asc", "nobody@test.local", NULL,
		       "no key for recipient 'nobody@test.local' in", "good.asc");
	expect_refusal("two.gpg", "test.local", NULL, "ambiguous", "fingerprint");
	expect_refusal("two.gpg", "test.local", NULL, fx->good_fpr, fx->other_fpr);
	expect_refusal("good.asc", "dpo@test.local", fx->other_fpr, fx->good_fpr, fx->other_fpr);
	expect_refusal("good.asc", "dpo@test.local", "ABCD 1234", "not a full fingerprint", NULL);
	snprintf(spaced, sizeof(spaced), "%.20s %.40s", fx->other_fpr, fx->other_fpr + 20);
	expect_refusal("good.asc", "dpo@test.local", spaced, "pins", fx->other_fpr);
	/* With two keys, the pin works once the recipient is unambiguous. */
	struct gpg_key *key = NULL;
	struct errbuf err;

	CHECK(gpgfx_load(&key, "two.gpg", "other@test.local", fx->other_fpr, &err) == 0);
	gpg_key_free(key);
}

TEST(gpgkey_refuses_unusable_keys)
{
	const struct gpg_fixture *fx = gpgfx_get();

	if (!fx)
		return;
	expect_refusal("expired.gpg", "expired@test.local", NULL, "expired on 2020-01-02",
		       "renewed key");
	expect_refusal("expired.gpg", "expired@test.local", NULL, "Expired DPO", NULL);
	expect_refusal("revoked.gpg", "revoked@test.local", NULL, "is revoked", "Revoked DPO");
	expect_refusal("signonly.gpg", "signer@test.local", NULL, "cannot encrypt", "Signer");
	expect_refusal("stalesub.gpg", "stalesub@test.local", NULL,
		       "encryption subkey expired on 2020-01-02", "renewed key");
}

/* docs/recipients.md: several recipients, from one file or several. */
TEST(gpgkey_several_recipients)
{
	const struct gpg_fixture *fx = gpgfx_get();
	struct gpg_key *key = NULL;
	struct gpg_key_info info;
	struct errbuf err;
	char pins[200];

	if (!fx)
		return;
	/* Two files; the first-expiring key (good, 1 day) is the summary
	 * whatever the order, the list keeps the configured order. */
	CHECK(gpgfx_load(&key, "other.asc, good.gpg", "other@test.local , dpo@test.local", NULL,
			 &err) == 0);
	CHECK_STREQ(err.msg, "");
	if (key) {
		CHECK(gpg_key_count(key) == 2);
		gpg_key_get_info(key, &info);
		CHECK_STREQ(info.fingerprint, fx->good_fpr);
		CHECK(info.expires != 0);
		gpg_key_recipient_info(key, 0, &info);
		CHECK_STREQ(info.fingerprint, fx->other_fpr);
		CHECK_STREQ(info.recipient, "other@test.local");
		CHECK(info.expires == 0);
		gpg_key_recipient_info(key, 1, &info);
		CHECK_STREQ(info.fingerprint, fx->good_fpr);
		gpg_key_free(key);
		key = NULL;
	}
	/* One file holding both keys; pins as a set, in another order; the
	 * same key also in a second file is fine. */
	snprintf(pins, sizeof(pins), "%s,%s", fx->good_fpr, fx->other_fpr);
	CHECK(gpgfx_load(&key, "two.gpg,good.asc", "other@test.local,dpo@test.local", pins, &err) ==
	      0);
	CHECK_STREQ(err.msg, "");
	CHECK(key && gpg_key_count(key) == 2);
	gpg_key_free(key);
	key = NULL;
	CHECK(gpgfx_count_dir(fx->tmp) == 0);
}

TEST(gpgkey_several_recipients_refusals)
{
	const struct gpg_fixture *fx = gpgfx_get();
	char pins[300], path[256], recip[120];

	if (!fx)
		return;
	/* A bad entry among good ones is named. */
	expect_refusal("two.gpg", "dpo@test.local, nobody@test.local", NULL,
		       "no key for recipient 'nobody@test.local'", NULL);
	gpgfx_path(path, sizeof(path), "missing.asc");
	expect_refusal("good.gpg,missing.asc", "dpo@test.local", NULL, path, "No such file");
	gpgfx_path(path, sizeof(path), "garbage.asc");
	expect_refusal("good.gpg,garbage.asc", "dpo@test.local", NULL, "no OpenPGP public key",
		       path);
	expect_refusal("two.gpg", "dpo@test.local,,other@test.local", NULL, "empty entry",
		       "recipient");
	expect_refusal("two.gpg,", "dpo@test.local", NULL, "empty entry", "public_key_file");
	expect_refusal("two.gpg", "a,b,c,d,e,f,g,h,i", NULL, "more than 8", NULL);
	/* An unusable key among several: which entry, which file. */
	gpgfx_path(path, sizeof(path), "expired.gpg");
	expect_refusal("good.gpg,expired.gpg", "dpo@test.local,expired@test.local", NULL,
		       "[gpg] recipient 'expired@test.local' (in '", "expired on 2020-01-02");
	expect_refusal("good.gpg,expired.gpg", "dpo@test.local,expired@test.local", NULL, path,
		       NULL);
	/* The same key twice is a mistake, not an escrow. */
	snprintf(recip, sizeof(recip), "dpo@test.local, %s", fx->good_fpr);
	expect_refusal("two.gpg", recip, NULL, "same key", fx->good_fpr);
	expect_refusal("two.gpg", "dpo@test.local,dpo@test.local", NULL, "same key", NULL);
	/* A listed file whose keys nobody selects: a forgotten recipient. */
	gpgfx_path(path, sizeof(path), "other.asc");
	expect_refusal("good.gpg, other.asc", "dpo@test.local", NULL, path,
		       "holds no key that [gpg] recipient selects");
	expect_refusal("good.gpg, other.asc", "dpo@test.local", NULL, fx->other_fpr, NULL);
	/* Pins and recipients must be the same set of keys. */
	expect_refusal("two.gpg", "dpo@test.local,other@test.local", fx->good_fpr, "pins",
		       fx->other_fpr);
	snprintf(pins, sizeof(pins), "%s,%s", fx->good_fpr, fx->other_fpr);
	expect_refusal("two.gpg", "dpo@test.local", pins, "no [gpg] recipient selects",
		       fx->other_fpr);
	snprintf(pins, sizeof(pins), "%s, ABCD", fx->good_fpr);
	expect_refusal("two.gpg", "dpo@test.local", pins, "not a full fingerprint", "'ABCD'");
}

/* dumpfs verify still needs keys that can no longer encrypt. */
TEST(gpgkey_any_state_for_verify)
{
	const struct gpg_fixture *fx = gpgfx_get();
	struct gpg_key *key = NULL;
	struct gpg_key_info info;
	struct errbuf err;
	char files[300], *old;

	if (!fx)
		return;
	snprintf(files, sizeof(files), "%s/expired.gpg,%s/revoked.gpg", fx->dir, fx->dir);
	old = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
	setenv("TMPDIR", fx->tmp, 1);
	errbuf_clear(&err);
	CHECK(gpg_key_load(&key, files, "expired@test.local,revoked@test.local", NULL, &err) < 0);
	CHECK(key == NULL);
	CHECK(gpg_key_load_flags(&key, files, "expired@test.local,revoked@test.local", NULL,
				 GPG_KEY_ANY_STATE, &err) == 0);
	if (key) {
		uint64_t ids[GPG_MAX_KEYIDS];

		CHECK(gpg_key_count(key) == 2);
		gpg_key_recipient_info(key, 1, &info);
		CHECK_STREQ(info.uid, "Revoked DPO <revoked@test.local>");
		CHECK(gpg_key_keyids(key, 0, ids) == 2); /* primary + encryption subkey */
		gpg_key_free(key);
	}
	if (old)
		setenv("TMPDIR", old, 1);
	else
		unsetenv("TMPDIR");
	free(old);
	CHECK(gpgfx_count_dir(fx->tmp) == 0);
}
