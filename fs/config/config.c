/* The configuration loader (docs/config.md), driven by one table.
 *
 * Loading runs in phases: the INI file and then the DUMPFS_* environment
 * fill one raw text slot per table key (remembering the line or variable
 * that set it); only then are the slots parsed into struct config, secret
 * files read, required keys and cross-key rules checked.  So an
 * environment variable replaces the file's value before it is looked at.
 *
 * Decisions (documented in the README):
 * - An empty value ("socket =") means "not set": the key keeps its default
 *   (NULL/0 for keys without one).
 * - A secret key and its *_file twin are one setting: setting both in the
 *   file, or both in the environment, is an error; a variable for either
 *   one replaces what the file said for both.
 * - The file is read through our own line reader: leading spaces are
 *   dropped (so inih never sees a "continuation line"), comments are
 *   removed, and a line whose remaining text does not fit inih's line
 *   buffer is an error instead of being cut.  Long values (tokens in URLs)
 *   belong in a *_file secret or an environment variable.
 * - Values are taken literally: quotes are not removed; " ;" starts a
 *   comment, as in inih.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config_priv.h"
#include "config_value.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

extern char **environ;

static const char *const notify_on_names[] = {"failure", "always", "never", NULL};
static const char *const smtp_tls_names[] = {"try", "require", "off", NULL};
static const char *const snapshot_names[] = {"stream", "spool", NULL};
static const char *const level_names[] = {"error", "warn", "info", "debug", NULL};
static const char *const log_format_names[] = {"text", "json", NULL}; /* enum log_format */

#define FLD(m) offsetof(struct config, m), sizeof(((struct config *)0)->m)
#define KEY(s, k, t, fl, m, d, lo, hi, n)                                                          \
	{                                                                                          \
		s, k, t, fl, FLD(m), d, lo, hi, n                                                  \
	}
#define STR(s, k, m, d) KEY(s, k, K_STR, 0, m, d, 0, 0, NULL)
#define REQ(s, k, m)	KEY(s, k, K_STR, F_REQUIRED, m, NULL, 0, 0, NULL)
#define SECRET(s, k, m)                                                                            \
	KEY(s, k, K_SECRET, 0, m, NULL, 0, 0, NULL),                                               \
		KEY(s, k "_file", K_SECFILE, 0, m, NULL, 0, 0, NULL)
#define UINT(s, k, m, d, lo, hi) KEY(s, k, K_UINT, 0, m, d, lo, hi, NULL)
#define PORT(s, k, m, d)	 KEY(s, k, K_PORT, 0, m, d, 1, 65535, NULL)
#define BOOL(s, k, m, d)	 KEY(s, k, K_BOOL, 0, m, d, 0, 0, NULL)
#define ENUM(s, k, m, d, n)	 KEY(s, k, K_ENUM, 0, m, d, 0, 0, n)

const struct key_def config_keys[] = {
	STR("mariadb", "host", mariadb.conn.host, "127.0.0.1"),
	PORT("mariadb", "port", mariadb.conn.port, "3306"),
	STR("mariadb", "socket", mariadb.conn.socket, NULL),
	REQ("mariadb", "user", mariadb.conn.user),
	SECRET("mariadb", "password", mariadb.conn.password),
	KEY("mariadb", "databases", K_LIST, 0, mariadb.databases, NULL, 0, 0, NULL),
	STR("mariadb", "ssl_ca", mariadb.ssl_ca, NULL),
	/* A silent server fails the run after this long (docs/security.md). */
	UINT("mariadb", "read_timeout", mariadb.read_timeout, "600", 10, 31536000),

	BOOL("dump", "routines", dump.routines, "true"),
	BOOL("dump", "triggers", dump.triggers, "true"),
	BOOL("dump", "events", dump.events, "true"),
	UINT("dump", "compression_level", dump.compression_level, "6", 1, 9),
	UINT("dump", "net_write_timeout", dump.net_write_timeout, "3600", 60, 31536000),
	UINT("dump", "max_insert_bytes", dump.max_insert_bytes, "1048576", 4096, 268435456),
	UINT("dump", "threads", dump.threads, "0", 0, 64),

	REQ("gpg", "public_key_file", gpg.public_key_file),
	REQ("gpg", "recipient", gpg.recipient),
	KEY("gpg", "fingerprint", K_FPR, 0, gpg.fingerprint, NULL, 0, 0, NULL),
	UINT("gpg", "warn_expiry_days", gpg.warn_expiry_days, "30", 0, 3650),

	STR("archive", "dir", archive.dir, "/var/lib/dumpfs/archive"),
	KEY("archive", "prefix", K_NAME, 0, archive.prefix, "mariadb", 0, 0, NULL),
	KEY("archive", "schedule", K_SCHEDULE, 0, archive.schedule, "02:00", 0, 0, NULL),
	UINT("archive", "keep_days", archive.keep_days, "30", 0, 36500),
	/* min_keep >= 1: retention never empties the archive. */
	UINT("archive", "min_keep", archive.min_keep, "3", 1, 100000),
	UINT("archive", "max_age_hours", archive.max_age_hours, "26", 1, 8760),
	/* Retention tiers, 0 = off (docs/retention.md). */
	UINT("archive", "keep_daily", archive.keep_daily, "0", 0, 100000),
	UINT("archive", "keep_weekly", archive.keep_weekly, "0", 0, 100000),
	UINT("archive", "keep_monthly", archive.keep_monthly, "0", 0, 100000),
	UINT("archive", "keep_yearly", archive.keep_yearly, "0", 0, 100000),

	ENUM("notify", "on", notify.on, "failure", notify_on_names),
	SECRET("notify", "webhook_url", notify.webhook_url),
	SECRET("notify", "heartbeat_url", notify.heartbeat_url),
	STR("notify", "ca_file", notify.ca_file, NULL),
	STR("notify", "smtp_url", notify.smtp_url, NULL),
	ENUM("notify", "smtp_tls", notify.smtp_tls, "try", smtp_tls_names),
	STR("notify", "smtp_user", notify.smtp_user, NULL),
	SECRET("notify", "smtp_password", notify.smtp_password),
	KEY("notify", "mail_from", K_STR, F_MAIL, notify.mail_from, NULL, 0, 0, NULL),
	KEY("notify", "mail_to", K_LIST, F_MAIL, notify.mail_to, NULL, 0, 0, NULL),
	STR("notify", "mail_subject", notify.mail_subject,
	    "[ALERTE][Backup MariaDB] Echec du backup"),

	KEY("log", "level", K_LOGLEVEL, 0, log.level, "info", 0, 0, level_names),
	STR("log", "file", log.file, NULL),
	BOOL("log", "syslog", log.syslog, "false"),
	ENUM("log", "format", log.format, "text", log_format_names),

	/* Unset [restore] keys stay NULL/0: callers fall back to [mariadb]. */
	STR("restore", "host", restore.host, NULL),
	PORT("restore", "port", restore.port, NULL),
	STR("restore", "socket", restore.socket, NULL),
	STR("restore", "user", restore.user, NULL),
	SECRET("restore", "password", restore.password),

	/* Point-in-time recovery (docs/pitr.md). */
	BOOL("binlog", "enabled", binlog.enabled, "false"),
	UINT("binlog", "segment_seconds", binlog.segment_seconds, "300", 1, 86400),
	UINT("binlog", "max_lag_seconds", binlog.max_lag_seconds, "3600", 10, 31536000),
	UINT("binlog", "server_id", binlog.server_id, "0", 0, 4294967295u),

	UINT("fs", "max_snapshot_readers", fs.max_snapshot_readers, "2", 1, 64),
	ENUM("fs", "snapshot_mode", fs.snapshot_mode, "stream", snapshot_names),
	KEY("fs", "group", K_GROUP, 0, fs.group, NULL, 0, 0, NULL),
};

const size_t config_nkeys = ARRAY_SIZE(config_keys);

static void *field(struct config *cfg, size_t i)
{
	return (char *)cfg + config_keys[i].off;
}

/* ---- storing one value ---- */

static void free_field(struct config *cfg, size_t i)
{
	char **p = field(cfg, i);

	switch (config_keys[i].type) {
	case K_SECRET:
		cv_secret_free(*p);
		break;
	case K_STR:
	case K_NAME:
	case K_FPR:
		free(*p);
		break;
	case K_LIST:
		cv_list_free(*(char ***)p);
		break;
	default:
		return;
	}
	*p = NULL;
}

_Static_assert(sizeof(enum notify_on) == sizeof(unsigned) &&
		       sizeof(enum smtp_tls) == sizeof(unsigned) &&
		       sizeof(enum snapshot_mode) == sizeof(unsigned) &&
		       sizeof(int) == sizeof(unsigned),
	       "store_uint() writes enum and int fields as unsigned");

static void store_uint(struct config *cfg, size_t i, unsigned long long v)
{
	if (config_keys[i].size == sizeof(size_t) && sizeof(size_t) != sizeof(unsigned))
		*(size_t *)field(cfg, i) = (size_t)v;
	else
		*(unsigned *)field(cfg, i) = (unsigned)v;
}

static int store_list(struct config *cfg, size_t i, const char *value, struct errbuf *why)
{
	char **list;
	int rc = cv_list(value, &list);

	if (rc)
		return error_set(why, rc, "out of memory");
	for (char **p = list; (config_keys[i].flags & F_MAIL) && p && *p; p++) {
		if (!cv_is_mail(*p)) {
			error_set(why, -EINVAL,
				  "'%s' is not an e-mail address (expected user@domain, "
				  "separated by commas)",
				  *p);
			cv_list_free(list);
			return -EINVAL;
		}
	}
	free_field(cfg, i);
	*(char ***)field(cfg, i) = list;
	return 0;
}

static int store_string(struct config *cfg, size_t i, const char *value, struct errbuf *why)
{
	char *copy = NULL;

	if (config_keys[i].type == K_NAME && !cv_is_name(value))
		return error_set(why, -EINVAL,
				 "expected letters, digits, '.', '_' or '-', starting "
				 "with a letter or digit (it is part of file names)");
	if ((config_keys[i].flags & F_MAIL) && !cv_is_mail(value))
		return error_set(why, -EINVAL, "expected an e-mail address user@domain");
	if (config_keys[i].type == K_FPR) {
		char bad[128];

		int rc = cv_fingerprint_list(value, &copy, bad, sizeof(bad));

		if (rc == -ENOMEM)
			return error_set(why, rc, "out of memory");
		if (rc && !strchr(value, ','))
			return error_set(why, -EINVAL,
					 "expected a key fingerprint of 40 or 64 hex "
					 "digits");
		if (rc)
			return error_set(why, -EINVAL,
					 "expected key fingerprints of 40 or 64 hex digits "
					 "separated by commas; '%s' is not one",
					 bad);
	} else if (!(copy = strdup(value))) {
		return error_set(why, -ENOMEM, "out of memory");
	}
	free_field(cfg, i);
	*(char **)field(cfg, i) = copy;
	return 0;
}

static int expected_one_of(struct errbuf *why, const char *const *names)
{
	char list[128] = "";

	for (size_t i = 0; names[i]; i++) {
		strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
		strncat(list, names[i], sizeof(list) - strlen(list) - 1);
	}
	return error_set(why, -EINVAL, "expected one of: %s", list);
}

static int store_level(struct config *cfg, size_t i, const char *value, struct errbuf *why)
{
	char lower[16];
	enum log_level level;
	size_t n = 0;

	for (; value[n] && n < sizeof(lower) - 1; n++)
		lower[n] = (char)tolower((unsigned char)value[n]);
	lower[n] = '\0';
	if (value[n] || log_level_parse(lower, &level))
		return expected_one_of(why, config_keys[i].names);
	*(enum log_level *)field(cfg, i) = level;
	return 0;
}

/* Parses `value` (non-empty) into key i's field; on -EINVAL `why` says
 * what was expected. */
static int store(struct config *cfg, size_t i, const char *value, struct errbuf *why)
{
	const struct key_def *k = &config_keys[i];
	unsigned long long n;
	unsigned idx;
	bool b;
	int rc;

	switch (k->type) {
	case K_PORT:
	case K_UINT:
		if (cv_uint(value, k->min, k->max, &n))
			return error_set(why, -EINVAL, "expected %s %llu..%llu",
					 k->type == K_PORT ? "a port number" : "an integer", k->min,
					 k->max);
		store_uint(cfg, i, n);
		return 0;
	case K_BOOL:
		if (cv_bool(value, &b))
			return error_set(why, -EINVAL,
					 "expected true or false (or yes/no, on/off, 1/0)");
		*(bool *)field(cfg, i) = b;
		return 0;
	case K_ENUM:
		if (cv_enum(value, k->names, &idx))
			return expected_one_of(why, k->names);
		store_uint(cfg, i, idx);
		return 0;
	case K_LOGLEVEL:
		return store_level(cfg, i, value, why);
	case K_SCHEDULE:
		return schedule_parse(field(cfg, i), value, why);
	case K_LIST:
		return store_list(cfg, i, value, why);
	case K_GROUP:
		rc = cv_group(value, field(cfg, i));
		if (rc == -EINVAL)
			return error_set(why, rc,
					 "expected the name of a group known to this system or "
					 "a group number");
		return rc ? error_set(why, rc, "cannot look up the group: %s", strerror(-rc)) : 0;
	default:
		return store_string(cfg, i, value, why);
	}
}

static int invalid(struct load *ld, size_t i, const char *value, const struct errbuf *why)
{
	const struct slot *sl = &ld->slots[i];

	if (sl->env)
		return config_fail(ld, sl, -EINVAL, "invalid value '%s' (%s)", value, why->msg);
	return config_fail(ld, sl, -EINVAL, "invalid value '%s' for key '%s' in [%s]: %s", value,
			   config_keys[i].key, config_keys[i].section, why->msg);
}

/* ---- applying the raw values ---- */

static int apply_value(struct load *ld, size_t i)
{
	const char *raw = ld->slots[i].raw;
	struct errbuf why;
	int rc = store(ld->cfg, i, raw, &why);

	if (rc == -EINVAL)
		return invalid(ld, i, raw, &why);
	if (rc)
		return config_fail(ld, &ld->slots[i], rc, "out of memory");
	return 0;
}

static int read_secret_file(struct load *ld, size_t fi)
{
	const struct slot *sl = &ld->slots[fi];
	char what[128] = "", *secret = NULL;
	int rc = cv_read_secret(sl->raw, &secret);

	if (!sl->env)
		snprintf(what, sizeof(what), " (key '%s' in [%s])", config_keys[fi].key,
			 config_keys[fi].section);
	if (rc == -ENODATA)
		return config_fail(ld, sl, -EINVAL, "secret file '%s'%s is empty", sl->raw, what);
	if (rc == -EFBIG)
		return config_fail(ld, sl, -EINVAL, "secret file '%s'%s is larger than 64 KiB",
				   sl->raw, what);
	if (rc == -EILSEQ)
		return config_fail(ld, sl, -EINVAL, "secret file '%s'%s contains a NUL byte",
				   sl->raw, what);
	if (rc)
		return config_fail(ld, sl, rc, "cannot read secret file '%s'%s: %s", sl->raw, what,
				   strerror(-rc));
	free_field(ld->cfg, fi - 1);
	*(char **)field(ld->cfg, fi - 1) = secret;
	return 0;
}

/* A secret comes from its key or its *_file twin, never both. */
static int apply_secret(struct load *ld, size_t i)
{
	const struct slot *v = &ld->slots[i], *f = &ld->slots[i + 1];
	bool has_v = v->raw && *v->raw, has_f = f->raw && *f->raw;
	char wv[96], wf[96];

	if (has_v && has_f) {
		config_where(v, wv, sizeof(wv));
		config_where(f, wf, sizeof(wf));
		return config_fail(
			ld, f, -EINVAL,
			"'%s' (%s) and '%s' (%s) are both set in [%s]: set only one of them",
			config_keys[i].key, wv, config_keys[i + 1].key, wf, config_keys[i].section);
	}
	if (has_f)
		return read_secret_file(ld, i + 1);
	return has_v ? apply_value(ld, i) : 0;
}

static int apply_all(struct load *ld)
{
	for (size_t i = 0; i < config_nkeys; i++) {
		const char *raw = ld->slots[i].raw;
		int rc = 0;

		if (config_keys[i].type == K_SECRET)
			rc = apply_secret(ld, i);
		else if (config_keys[i].type != K_SECFILE && raw && *raw)
			rc = apply_value(ld, i);
		if (rc)
			return rc;
	}
	return 0;
}

static int set_defaults(struct config *cfg, struct errbuf *err)
{
	struct errbuf why;

	/* [fs] group: the daemon's primary group, which no text can say. */
	cfg->fs.group = getgid();
	for (size_t i = 0; i < config_nkeys; i++) {
		int rc = config_keys[i].def ? store(cfg, i, config_keys[i].def, &why) : 0;

		if (rc)
			return error_set(err, rc, "default of '%s' in [%s]: %s", config_keys[i].key,
					 config_keys[i].section, why.msg);
	}
	return 0;
}

/* ---- checks across keys ---- */

static int check_required(struct load *ld)
{
	for (size_t i = 0; i < config_nkeys; i++)
		if ((config_keys[i].flags & F_REQUIRED) && !*(char **)field(ld->cfg, i))
			return config_fail(ld, NULL, -EINVAL, "missing required key '%s' in [%s]",
					   config_keys[i].key, config_keys[i].section);
	return 0;
}

/* The slot that set [notify] `key` (or its *_file twin). */
static const struct slot *origin(struct load *ld, const char *key)
{
	char file_key[64];
	const struct slot *sl;

	snprintf(file_key, sizeof(file_key), "%s_file", key);
	sl = config_find_slot(ld, "notify", file_key);
	if (sl && sl->raw && *sl->raw)
		return sl;
	return config_find_slot(ld, "notify", key);
}

static bool has_scheme(const char *url, const char *a, const char *b)
{
	return !strncasecmp(url, a, strlen(a)) || !strncasecmp(url, b, strlen(b));
}

static int check_url(struct load *ld, const char *key, const char *url)
{
	if (!url || has_scheme(url, "http://", "https://"))
		return 0;
	return config_fail(
		ld, origin(ld, key), -EINVAL,
		"key '%s' in [notify] must start with http:// or https:// (the value is not "
		"shown: it may hold a token)",
		key);
}

static int check_notify(struct load *ld)
{
	const typeof(ld->cfg->notify) *n = &ld->cfg->notify;

	if (n->smtp_url && !has_scheme(n->smtp_url, "smtp://", "smtps://"))
		return config_fail(ld, origin(ld, "smtp_url"), -EINVAL,
				   "key 'smtp_url' in [notify] must start with smtp:// or smtps:// "
				   "(smtp://host:587 or smtps://host:465)");
	if (n->smtp_url && (!n->mail_from || !n->mail_to))
		return config_fail(
			ld, origin(ld, "smtp_url"), -EINVAL,
			"key 'smtp_url' in [notify] is set, so 'mail_from' and 'mail_to' "
			"must be set too (the alert mail's sender and recipients)");
	if (n->mail_to && !n->smtp_url)
		return config_fail(
			ld, origin(ld, "mail_to"), -EINVAL,
			"key 'mail_to' in [notify] is set but 'smtp_url' is not: set smtp_url "
			"to smtp://host:587 or smtps://host:465 to send alert mails");
	if (check_url(ld, "webhook_url", n->webhook_url))
		return ld->rc;
	return check_url(ld, "heartbeat_url", n->heartbeat_url);
}

/* An open segment counts as lag, so a limit at or under segment_seconds
 * would make health CRITICAL under ordinary writes.  Named at
 * max_lag_seconds when it was set, else at segment_seconds. */
static int check_binlog(struct load *ld)
{
	const struct slot *at = config_find_slot(ld, "binlog", "max_lag_seconds");
	unsigned seg_s = ld->cfg->binlog.segment_seconds;

	if (ld->cfg->binlog.max_lag_seconds > seg_s)
		return 0;
	if (!at || !at->raw)
		at = config_find_slot(ld, "binlog", "segment_seconds");
	return config_fail(ld, at, -EINVAL,
			   "key 'max_lag_seconds' in [binlog] (%u) must be more than "
			   "'segment_seconds' (%u): an open segment counts as lag, so health would "
			   "turn CRITICAL under ordinary writes; set it well above %u",
			   ld->cfg->binlog.max_lag_seconds, seg_s, seg_s + 30);
}

/* ---- the public functions ---- */

static void load_release(struct load *ld)
{
	for (size_t i = 0; ld->slots && i < config_nkeys; i++)
		config_drop_raw(ld, i);
	free(ld->slots);
	free(ld->buf);
	if (ld->f)
		(void)fclose(ld->f); /* read-only */
}

static int load(struct config *cfg, const char *path, const char *const *envp, bool required,
		struct errbuf *err)
{
	struct load ld = {.cfg = cfg, .path = path, .err = err};
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	cfg->path = strdup(path);
	ld.slots = calloc(config_nkeys, sizeof(*ld.slots));
	if (!cfg->path || !ld.slots) {
		free(ld.slots);
		config_release(cfg);
		return error_set(err, -ENOMEM, "out of memory");
	}
	rc = set_defaults(cfg, err);
	if (!rc && !(rc = config_parse_file(&ld)) && !(rc = config_parse_env(&ld, envp)) &&
	    !(rc = apply_all(&ld)) && !(rc = required ? check_required(&ld) : 0) &&
	    !(rc = check_notify(&ld)))
		rc = check_binlog(&ld);
	load_release(&ld);
	if (rc)
		config_release(cfg);
	return rc;
}

int config_load(struct config *cfg, const char *path, const char *const *envp, struct errbuf *err)
{
	return load(cfg, path, envp, true, err);
}

int config_load_alerts_only(struct config *cfg, const char *path, const char *const *envp,
			    struct errbuf *err)
{
	return load(cfg, path, envp, false, err);
}

void config_release(struct config *cfg)
{
	for (size_t i = 0; i < config_nkeys; i++)
		free_field(cfg, i);
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}

/* Zeroes the value of every "name=..." entry of environ in place: the
 * first ones live in the block /proc/PID/environ shows (the initial stack),
 * which unsetenv() only unlinks. */
static void wipe_env_values(const char *name)
{
	size_t len = strlen(name);

	for (char **e = environ; e && *e; e++)
		if (!strncmp(*e, name, len) && (*e)[len] == '=')
			explicit_bzero(*e + len + 1, strlen(*e + len + 1));
}

void config_scrub_env(void)
{
	char name[96];

	for (size_t i = 0; i < config_nkeys; i++) {
		if (config_keys[i].type != K_SECRET)
			continue;
		config_env_name(i, name, sizeof(name));
		wipe_env_values(name);
		(void)unsetenv(name); /* fails only for malformed names */
	}
}
