/* The shared gpg fixture (gpgfixture.h): a temp GNUPGHOME, keys made with
 * the gpg command once per run, gpg processes found through /proc. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpgfixture.h"
#include "unit.h"

/* Test-runner state: keys are generated once and shared by the tests. */
static struct gpg_fixture fx;
static pid_t fx_owner; /* the process that made it: only it removes it */

static int vsh(int quiet, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static int vsh(int quiet, const char *fmt, va_list ap)
{
	char cmd[4096];
	int rc;

	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	rc = system(cmd);
	if (rc != 0 && !quiet)
		printf("#   command failed (%d): %s\n", rc, cmd);
	return rc;
}

int gpgfx_sh(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vsh(0, fmt, ap);
	va_end(ap);
	return rc;
}

int gpgfx_sh_quiet(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vsh(1, fmt, ap);
	va_end(ap);
	return rc;
}

void gpgfx_path(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", fx.dir, name);
}

static int gen_key(const char *faked, const char *uid, const char *algo, const char *usage,
		   const char *expire)
{
	return gpgfx_sh(GPGFX_GPG " %s%s --quick-gen-key '%s' %s %s %s 2>/dev/null", fx.home,
			faked ? "--faked-system-time " : "", faked ? faked : "", uid, algo, usage,
			expire);
}

static int fpr_of(const char *who, char *out, size_t n)
{
	char cmd[512];
	FILE *p;
	int ok;

	snprintf(cmd, sizeof(cmd),
		 "gpg --homedir %s --with-colons --list-keys '%s' 2>/dev/null"
		 " | awk -F: '/^fpr/{print $10; exit}'",
		 fx.home, who);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	ok = fgets(out, (int)n, p) != NULL;
	pclose(p);
	if (!ok)
		return -1;
	out[strcspn(out, "\n")] = '\0';
	return strlen(out) == 40 ? 0 : -1;
}

static int export_key(const char *file, const char *opts, const char *fprs)
{
	return gpgfx_sh(GPGFX_GPG " %s %s > %s/%s", fx.home, opts, fprs, fx.dir, file);
}

static void fixture_cleanup(void)
{
	if (!fx.dir[0] || getpid() != fx_owner)
		return;
	gpgfx_sh("gpgconf --homedir %s --kill all >/dev/null 2>&1; rm -rf %s", fx.home, fx.dir);
}

/* Expired, revoked, sign-only and stale-subkey keys, each exported. */
static int make_bad_keys(void)
{
	char fpr[64], file[256];
	FILE *f;

	if (gen_key("20200101T000000", "Expired DPO <expired@test.local>", "future-default",
		    "default", "1d") ||
	    fpr_of("expired@test.local", fpr, sizeof(fpr)) ||
	    export_key("expired.gpg", "--export", fpr))
		return -1;
	/* gpg 2.2 writes a revocation certificate at key generation. */
	if (gen_key(NULL, "Revoked DPO <revoked@test.local>", "future-default", "default",
		    "never") ||
	    fpr_of("revoked@test.local", fpr, sizeof(fpr)) ||
	    gpgfx_sh("sed 's/^:-----BEGIN/-----BEGIN/' %s/openpgp-revocs.d/%s.rev > %s/rev.asc "
		     "&&" GPGFX_GPG " --import %s/rev.asc 2>/dev/null",
		     fx.home, fpr, fx.dir, fx.home, fx.dir) ||
	    export_key("revoked.gpg", "--export", fpr))
		return -1;
	if (gen_key(NULL, "Signer <signer@test.local>", "ed25519", "sign", "1y") ||
	    fpr_of("signer@test.local", fpr, sizeof(fpr)) ||
	    export_key("signonly.gpg", "--export", fpr))
		return -1;
	if (gen_key("20200101T000000", "Stale Sub <stalesub@test.local>", "ed25519", "sign",
		    "never") ||
	    fpr_of("stalesub@test.local", fpr, sizeof(fpr)) ||
	    gpgfx_sh(GPGFX_GPG
		     " --faked-system-time 20200101T000000 --quick-add-key %s cv25519 encr 1d "
		     "2>/dev/null",
		     fx.home, fpr) ||
	    export_key("stalesub.gpg", "--export", fpr))
		return -1;
	if (export_key("secret.asc", "--export-secret-keys --armor", fx.good_fpr))
		return -1;
	gpgfx_path(file, sizeof(file), "garbage.asc");
	f = fopen(file, "w");
	if (!f)
		return -1;
	fputs("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key at all\n", f);
	return fclose(f) ? -1 : gpgfx_sh(": > %s/empty.asc", fx.dir);
}

/* A key with an old never-expiring encryption subkey and a newer one
 * expiring 2099-01-01: gpg uses (and get_info reports) the newer one. */
static int make_multi_key(void)
{
	if (gen_key("20200101T000000", "Multi Sub <multi@test.local>", "ed25519", "sign",
		    "never") ||
	    fpr_of("multi@test.local", fx.multi_fpr, sizeof(fx.multi_fpr)))
		return -1;
	if (gpgfx_sh(GPGFX_GPG
		     " --faked-system-time 20200601T000000 --quick-add-key %s cv25519 encr never "
		     "2>/dev/null",
		     fx.home, fx.multi_fpr) ||
	    gpgfx_sh(GPGFX_GPG " --quick-add-key %s cv25519 encr 2099-01-01 2>/dev/null", fx.home,
		     fx.multi_fpr))
		return -1;
	return export_key("multi.gpg", "--export", fx.multi_fpr);
}

static int fixture_make(void)
{
	char both[160];

	snprintf(fx.dir, sizeof(fx.dir), "/tmp/dumpfs-gpgtest-XXXXXX");
	if (!mkdtemp(fx.dir)) {
		fx.dir[0] = '\0';
		return -1;
	}
	fx_owner = getpid();
	atexit(fixture_cleanup);
	gpgfx_path(fx.home, sizeof(fx.home), "gnupg");
	gpgfx_path(fx.tmp, sizeof(fx.tmp), "tmp");
	if (mkdir(fx.home, 0700) || mkdir(fx.tmp, 0700))
		return -1;
	if (gen_key(NULL, "Test DPO <dpo@test.local>", "future-default", "default", "1d") ||
	    fpr_of("dpo@test.local", fx.good_fpr, sizeof(fx.good_fpr)) ||
	    gen_key(NULL, "Other DPO <other@test.local>", "future-default", "default", "never") ||
	    fpr_of("other@test.local", fx.other_fpr, sizeof(fx.other_fpr)))
		return -1;
	snprintf(both, sizeof(both), "%s %s", fx.good_fpr, fx.other_fpr);
	if (export_key("good.asc", "--export --armor", fx.good_fpr) ||
	    export_key("good.gpg", "--export", fx.good_fpr) ||
	    export_key("two.gpg", "--export", both) ||
	    export_key("other.asc", "--export --armor", fx.other_fpr))
		return -1;
	return make_bad_keys() || make_multi_key() ? -1 : 0;
}

const struct gpg_fixture *gpgfx_get(void)
{
	static int ready, failed;

	if (!ready && !failed) {
		if (fixture_make() == 0)
			ready = 1;
		else
			failed = 1;
	}
	CHECK(ready);
	return ready ? &fx : NULL;
}

/* Made once in the runner's process for the tests that use it (unit.h). */
static void fixture_warm(void)
{
	(void)gpgfx_get();
}
UNIT_FIXTURE("gpgkey_", fixture_warm)
UNIT_FIXTURE("gpgstage_", fixture_warm)

int gpgfx_load(struct gpg_key **key, const char *file, const char *recipient, const char *pin,
	       struct errbuf *err)
{
	char path[1024], *old = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
	size_t used = 0;
	int rc, first = 1;

	/* Each entry of a comma-separated list, under the fixture dir. */
	for (const char *p = file;; p++) {
		const char *comma = strchr(p, ',');
		int len = comma ? (int)(comma - p) : (int)strlen(p);

		while (len > 0 && *p == ' ') {
			p++;
			len--;
		}
		/* An empty entry in a list stays empty (it is what a test
		 * checks); "" alone is the fixture dir itself. */
		bool keep = len || !*file;

		used += (size_t)snprintf(path + used, sizeof(path) - used, "%s%s%s%.*s",
					 first ? "" : ",", keep ? fx.dir : "", keep ? "/" : "", len,
					 p);
		first = 0;
		if (!comma || used >= sizeof(path))
			break;
		p = comma;
	}
	setenv("TMPDIR", fx.tmp, 1);
	errbuf_clear(err);
	rc = gpg_key_load(key, path, recipient, pin, err);
	if (old)
		setenv("TMPDIR", old, 1);
	else
		unsetenv("TMPDIR");
	free(old);
	return rc;
}

int gpgfx_count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

int gpgfx_procs_kill(int sig)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char path[300], buf[4096];
		ssize_t len;
		int fd;

		if (e->d_name[0] < '1' || e->d_name[0] > '9' || atoi(e->d_name) == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		for (ssize_t i = 0; i < len; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		buf[len > 0 ? len : 0] = '\0';
		if (strstr(buf, fx.tmp)) {
			n++;
			if (sig)
				kill(atoi(e->d_name), sig);
		}
	}
	closedir(d);
	return n;
}

int gpgfx_procs(void)
{
	return gpgfx_procs_kill(0);
}

/* Polls for up to 3 s: gpg, orphaned by gpgme's double fork, exits on its
 * own once its pipes are closed. */
int gpgfx_procs_settle(void)
{
	int n = gpgfx_procs();

	for (int i = 0; i < 300 && n > 0; i++) {
		usleep(10000);
		n = gpgfx_procs();
	}
	return n;
}
