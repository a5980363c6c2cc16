/* dumpfs verify [-c CONFIG] FILE...: each FILE matches its .sha256
 * sidecar and is a well-formed OpenPGP message to every configured key
 * (docs/recipients.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../dumper/archive.h"
#include "../../dumper/pgpverify.h"
#include "../../dumper/sha256.h"
#include "cmd.h"
#include "cmdutil.h"

#define CHUNK (256 * 1024)

struct verify_buf {
	struct pgp_parser parser;
	unsigned char data[CHUNK];
};

/* Returns the index of the first FILE, or -1. */
static int parse_args(int argc, char **argv, const char **config)
{
	static const char usage[] = "dumpfs verify [-c CONFIG] FILE...";
	int first = cmd_parse_config_opt(argc, argv, usage, config);

	if (first >= 0 && first == argc) {
		fprintf(stderr, "usage: %s\n", usage);
		return -1;
	}
	return first;
}

/* Appends one reason, "; "-separated. */
static void add_reason(struct strbuf *why, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_reason(struct strbuf *why, const char *fmt, ...)
{
	char msg[ERRBUF_MAX + 200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (why->len)
		strbuf_addstr(why, "; ");
	strbuf_addstr(why, msg);
}

/* The sidecar's hash for `path` into hex; a reason in why otherwise. */
static bool read_sidecar(const char *path, char hex[65], struct strbuf *why)
{
	char side[4200], name[ARCHIVE_NAME_MAX];
	const char *base = strrchr(path, '/');
	struct errbuf err;

	base = base ? base + 1 : path;
	snprintf(side, sizeof(side), "%s%s", path, ARCHIVE_SIDECAR_SUFFIX);
	if (access(side, F_OK) < 0 && errno == ENOENT) {
		add_reason(why, "missing sidecar '%s'", side);
		return false;
	}
	if (archive_sidecar_read(side, hex, name, &err)) {
		add_reason(why, "%s", err.msg);
		return false;
	}
	if (strcmp(name, base)) {
		add_reason(why, "sidecar '%s' is for '%s', not '%s'", side, name, base);
		return false;
	}
	return true;
}

/* One read of the file feeds both the hash and the OpenPGP parser. */
static void scan_file(const char *path, struct verify_buf *vb, char hex[65], struct pgp_info *info,
		      struct strbuf *why)
{
	struct sha256 ctx;
	struct errbuf err;
	bool bad_pgp = false;
	ssize_t n;
	int fd;

	hex[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		add_reason(why, "cannot open: %s", strerror(errno));
		return;
	}
	sha256_init(&ctx);
	pgp_parser_init(&vb->parser);
	while ((n = read(fd, vb->data, sizeof(vb->data))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			add_reason(why, "cannot read: %s", strerror(errno));
			close(fd);
			return;
		}
		sha256_update(&ctx, vb->data, (size_t)n);
		if (!bad_pgp && pgp_parser_feed(&vb->parser, vb->data, (size_t)n, &err))
			bad_pgp = true;
	}
	close(fd);
	sha256_final_hex(&ctx, hex);
	if (bad_pgp || pgp_parser_finish(&vb->parser, info, &err)) {
		info->nkeyids = 0;
		add_reason(why, "not a well-formed OpenPGP encrypted message: %s", vb->parser.why);
	}
}

static bool verify_one(const char *path, const struct pgp_keyids *keys, struct verify_buf *vb)
{
	struct strbuf why = STRBUF_INIT;
	char want[65], got[65];
	struct pgp_info info = {0};
	struct errbuf err;
	bool have_sum, ok;

	have_sum = read_sidecar(path, want, &why);
	scan_file(path, vb, got, &info, &why);
	if (have_sum && got[0] && strcmp(want, got))
		add_reason(&why, "sha256 does not match the sidecar (file changed or corrupted)");
	if (info.nkeyids && pgp_check_recipient(&info, keys, &err))
		add_reason(&why, "%s", err.msg);
	ok = !why.len && !strbuf_error(&why);
	printf("%s: %s\n", path, ok ? "OK" : why.len ? why.buf : "out of memory");
	strbuf_release(&why);
	return ok;
}

int cmd_verify(int argc, char **argv, struct logger *lg)
{
	struct pgp_keyids keys;
	struct verify_buf *vb;
	const char *config;
	struct config cfg;
	struct errbuf err;
	bool all_ok = true;
	int first;

	errbuf_clear(&err);
	first = parse_args(argc, argv, &config);
	if (first < 0)
		return EXIT_USAGE;
	if (cmd_load_config(&cfg, config, lg))
		return EXIT_USAGE;
	if (pgp_keyids_load(&keys, cfg.gpg.public_key_file, cfg.gpg.recipient, cfg.gpg.fingerprint,
			    &err)) {
		cmd_error(lg, "verify", &err);
		config_release(&cfg);
		return EXIT_USAGE;
	}
	config_release(&cfg);
	vb = malloc(sizeof(*vb));
	if (!vb) {
		fprintf(stderr, "dumpfs: verify: out of memory\n");
		return EXIT_FAILED;
	}
	for (int i = first; i < argc; i++)
		all_ok &= verify_one(argv[i], &keys, vb);
	free(vb);
	if (fflush(stdout) != 0)
		return EXIT_FAILED;
	return all_ok ? EXIT_OK : EXIT_FAILED;
}
