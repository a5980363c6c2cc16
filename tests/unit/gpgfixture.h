/* Shared gpg fixture for the unit tests: real keys, made once per run. */
#ifndef GPGFIXTURE_H
#define GPGFIXTURE_H

#include <stddef.h>

#include "../../dumper/errbuf.h"
#include "../../dumper/gpgstage.h"

/*
 * Everything lives under `dir` (a fresh /tmp/dumpfs-gpgtest-XXXXXX), which
 * is removed, gpg-agent included, at exit.  Key files made there:
 *   good.asc, good.gpg  'Test DPO <dpo@test.local>' (good_fpr), expires in 1d
 *   two.gpg             good + 'Other DPO <other@test.local>' (other_fpr),
 *                       never expires
 *   other.asc           the other key alone (an escrow key, docs/recipients.md)
 *   multi.gpg           'Multi Sub <multi@test.local>' (multi_fpr): an old
 *                       never-expiring encryption subkey and a newer one
 *                       expiring 2099-01-01
 *   expired.gpg, revoked.gpg, signonly.gpg, stalesub.gpg  unusable keys
 *   secret.asc          good's secret key, armored
 *   garbage.asc, empty.asc  no key at all
 */
struct gpg_fixture {
	char dir[64];	   /* everything lives here; removed at exit */
	char home[128];	   /* GNUPGHOME holding the secret keys */
	char tmp[128];	   /* TMPDIR for gpg_key_load's private homes */
	char good_fpr[64]; /* 'Test DPO <dpo@test.local>', expires in 1d */
	char other_fpr[64];
	char multi_fpr[64];
};

/* gpg's options for scripted use, the first %s being the GNUPGHOME:
 * gpgfx_sh(GPGFX_GPG " --decrypt ...", fx->home, ...). */
#define GPGFX_GPG                                                                                  \
	"gpg --homedir %s --batch --quiet --no-tty --pinentry-mode loopback --passphrase ''"

/* The fixture, made on first use; NULL (and a failed CHECK in the
 * calling test) when it could not be made.  Owned by this module. */
const struct gpg_fixture *gpgfx_get(void);

/* Writes "<fixture dir>/<name>" into buf. */
void gpgfx_path(char *buf, size_t n, const char *name);

/* gpg_key_load of "<fixture dir>/<file>" (each entry of a comma-separated
 * `file` list under the fixture dir) with TMPDIR pointed at the
 * fixture's tmp, so tests can see exactly what it leaves behind; `err`
 * is cleared first.  Returns what gpg_key_load returns; *key is the
 * caller's (gpg_key_free). */
int gpgfx_load(struct gpg_key **key, const char *file, const char *recipient, const char *pin,
	       struct errbuf *err);

/* Runs a shell command; prints it when it fails.  Returns system()'s
 * status.  The _quiet form is for commands expected to fail (grep -q
 * finding nothing). */
int gpgfx_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int gpgfx_sh_quiet(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Entries in a directory other than . and ..; -1 when it cannot be read. */
int gpgfx_count_dir(const char *path);

/* gpg processes (double-forked by gpgme, so not our children) whose
 * command line mentions the fixture's tmp: how many there are; with
 * _kill, each is also sent `sig` (0: none); _settle polls for up to 3 s
 * for them to exit on their own and returns how many are left.  -1 when
 * /proc cannot be read. */
int gpgfx_procs(void);
int gpgfx_procs_kill(int sig);
int gpgfx_procs_settle(void);

#endif
