#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../fs/config/config.h"
#include "unit.h"

#define SECRET "TOPSECRET-s3cr3t"

/* The smallest valid file: the required keys. */
#define MIN_INI                                                                                    \
	"[mariadb]\nuser = backup_ro\n[gpg]\npublic_key_file = /k.asc\nrecipient = "               \
	"dpo@example.local\n"

struct ctx {
	char dir[64];
	char ini[128];
	struct config cfg;
	struct errbuf err;
};

static void ctx_init(struct ctx *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "/tmp/dumpfs-cfgtest-XXXXXX");
	if (!mkdtemp(c->dir)) {
		perror("mkdtemp");
		abort();
	}
	snprintf(c->ini, sizeof(c->ini), "%s/dumpfs.ini", c->dir);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void ctx_done(struct ctx *c)
{
	config_release(&c->cfg);
	CHECK(nftw(c->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS) == 0);
}

/* Writes dir/name; returns the path in a buffer owned by the caller. */
static void put(struct ctx *c, const char *name, const char *text, char *path, size_t size)
{
	FILE *f;

	snprintf(path, size, "%s/%s", c->dir, name);
	f = fopen(path, "w");
	if (!f || fputs(text, f) == EOF || fclose(f)) {
		perror(path);
		abort();
	}
}

static int load(struct ctx *c, const char *text, const char *const *envp)
{
	char path[256];

	config_release(&c->cfg);
	put(c, "dumpfs.ini", text, path, sizeof(path));
	errbuf_clear(&c->err);
	return config_load(&c->cfg, c->ini, envp, &c->err);
}

/* Loads `text` expecting failure with exactly "<ini>:<line>: <msg>"
 * (line 0: "<ini>: <msg>"; line -1: just msg). */
static void want_err_at(struct ctx *c, const char *text, const char *const *envp, int line,
			const char *msg, int src_line)
{
	char want[ERRBUF_MAX];
	int rc = load(c, text, envp);

	if (line > 0)
		snprintf(want, sizeof(want), "%s:%d: %s", c->ini, line, msg);
	else if (line == 0)
		snprintf(want, sizeof(want), "%s: %s", c->ini, msg);
	else
		snprintf(want, sizeof(want), "%s", msg);
	if (rc >= 0)
		unit_fail(__FILE__, src_line, "config_load succeeded");
	if (strcmp(c->err.msg, want))
		unit_fail_str(__FILE__, src_line, "err.msg", c->err.msg, want);
	if (strstr(c->err.msg, SECRET))
		unit_fail(__FILE__, src_line, "the secret is in the message");
	if (c->cfg.path || c->cfg.mariadb.conn.host)
		unit_fail(__FILE__, src_line, "cfg not released after failure");
}

#define want_err(c, text, envp, line, msg) want_err_at(c, text, envp, line, msg, __LINE__)

static void load_ok_at(struct ctx *c, const char *text, const char *const *envp, int src_line)
{
	if (load(c, text, envp))
		unit_fail_str(__FILE__, src_line, "config_load", c->err.msg, "(success)");
}

#define load_ok(c, text, envp) load_ok_at(c, text, envp, __LINE__)

TEST(config_defaults)
{
	struct ctx c;

	ctx_init(&c);
	load_ok(&c, MIN_INI, NULL);
	CHECK_STREQ(c.cfg.path, c.ini);
	CHECK_STREQ(c.cfg.mariadb.conn.host, "127.0.0.1");
	CHECK(c.cfg.mariadb.conn.port == 3306);
	CHECK(c.cfg.mariadb.conn.socket == NULL);
	CHECK_STREQ(c.cfg.mariadb.conn.user, "backup_ro");
	CHECK(c.cfg.mariadb.conn.password == NULL);
	CHECK(c.cfg.mariadb.databases == NULL);
	CHECK(c.cfg.mariadb.ssl_ca == NULL);
	CHECK(c.cfg.mariadb.read_timeout == 600);
	CHECK(c.cfg.dump.routines && c.cfg.dump.triggers && c.cfg.dump.events);
	CHECK(c.cfg.dump.compression_level == 6);
	CHECK(c.cfg.dump.net_write_timeout == 3600);
	CHECK(c.cfg.dump.max_insert_bytes == 1048576);
	CHECK(c.cfg.dump.threads == 0);
	CHECK_STREQ(c.cfg.gpg.public_key_file, "/k.asc");
	CHECK_STREQ(c.cfg.gpg.recipient, "dpo@example.local");
	CHECK(c.cfg.gpg.fingerprint == NULL);
	CHECK(c.cfg.gpg.warn_expiry_days == 30);
	CHECK_STREQ(c.cfg.archive.dir, "/var/lib/dumpfs/archive");
	CHECK_STREQ(c.cfg.archive.prefix, "mariadb");
	CHECK(!c.cfg.archive.schedule.off && c.cfg.archive.schedule.every_min == 0);
	CHECK(c.cfg.archive.schedule.ntimes == 1 && c.cfg.archive.schedule.times[0] == 120);
	CHECK(c.cfg.archive.keep_days == 30);
	CHECK(c.cfg.archive.min_keep == 3);
	CHECK(c.cfg.archive.max_age_hours == 26);
	CHECK(c.cfg.notify.on == NOTIFY_FAILURE);
	CHECK(!c.cfg.notify.webhook_url && !c.cfg.notify.heartbeat_url && !c.cfg.notify.ca_file);
	CHECK(!c.cfg.notify.smtp_url && !c.cfg.notify.smtp_user && !c.cfg.notify.smtp_password);
	CHECK(c.cfg.notify.smtp_tls == SMTP_TLS_TRY);
	CHECK(!c.cfg.notify.mail_from && !c.cfg.notify.mail_to);
	CHECK_STREQ(c.cfg.notify.mail_subject, "[ALERTE][Backup MariaDB] Echec du backup");
	CHECK(c.cfg.log.level == LOGL_INFO);
	CHECK(c.cfg.log.file == NULL && !c.cfg.log.syslog);
	CHECK(!c.cfg.restore.host && !c.cfg.restore.socket && !c.cfg.restore.user);
	CHECK(!c.cfg.restore.password && c.cfg.restore.port == 0);
	CHECK(c.cfg.fs.max_snapshot_readers == 2);
	CHECK(!c.cfg.binlog.enabled && c.cfg.binlog.segment_seconds == 300 &&
	      c.cfg.binlog.max_lag_seconds == 3600 && c.cfg.binlog.server_id == 0);
	CHECK(c.cfg.fs.snapshot_mode == SNAPSHOT_STREAM);
	CHECK(c.cfg.fs.group == getgid());
	ctx_done(&c);
}

static const char full_ini[] = "\xEF\xBB\xBF; a comment line\n"
			       "# another one\n"
			       "[mariadb]\n"
			       "host = db.example.local ; inline comment\n"
			       "  port = 3307\n"
			       "  socket =\n" /* empty: unset, and not a continuation of port */
			       "user = backup_ro\n"
			       "password = pass;word\n"
			       "databases = app, crm  shop,,  \n"
			       "ssl_ca = /etc/ssl/ca.pem\n"
			       "[dump]\n"
			       "routines = No\n"
			       "triggers = OFF\n"
			       "events = 0\n"
			       "compression_level = 9\n"
			       "net_write_timeout = 60\n"
			       "max_insert_bytes = 268435456\n"
			       "threads = 64\n"
			       "[gpg]\n"
			       "public_key_file = /run/secrets/dpo_pubkey\n"
			       "recipient = dpo@example.local\n"
			       "fingerprint = 0123 4567 89ab cdef 0123  4567 89AB CDEF 0123 4567\n"
			       "warn_expiry_days = 0\n"
			       "[archive]\n"
			       "dir = /srv/archive\n"
			       "prefix = app-db_1.x\n"
			       "schedule = 14:00, 02:00\n"
			       "keep_days = 7\n"
			       "min_keep = 1\n"
			       "max_age_hours = 8760\n"
			       "[notify]\n"
			       "on = ALWAYS\n"
			       "webhook_url = https://hooks.example/T/" SECRET "\n"
			       "heartbeat_url = http://hc.example/ping\n"
			       "ca_file = /etc/ssl/extra.pem\n"
			       "smtp_url = smtps://mail.example:465\n"
			       "smtp_tls = require\n"
			       "smtp_user = alerts\n"
			       "smtp_password = " SECRET "\n"
			       "mail_from = backup@example.local\n"
			       "mail_to = ops@example.local, dpo@example.local\n"
			       "mail_subject = [backup] failed\n"
			       "[log]\n"
			       "level = Debug\n"
			       "file = /var/log/dumpfs.log\n"
			       "syslog = yes\n"
			       "[restore]\n"
			       "host = restore.example\n"
			       "port = 3308\n"
			       "socket = /run/mysqld/mysqld.sock\n"
			       "user = root\n"
			       "password = rootpw\n"
			       "[fs]\n"
			       "max_snapshot_readers = 64\n"
			       "snapshot_mode = spool\n"
			       "group = 4242\n";

TEST(config_every_key)
{
	struct ctx c;
	struct config *k = &c.cfg;

	ctx_init(&c);
	load_ok(&c, full_ini, NULL);
	CHECK_STREQ(k->mariadb.conn.host, "db.example.local");
	CHECK(k->mariadb.conn.port == 3307 && k->mariadb.conn.socket == NULL);
	CHECK_STREQ(k->mariadb.conn.password, "pass;word");
	CHECK(k->mariadb.databases && k->mariadb.databases[3] == NULL);
	if (k->mariadb.databases) {
		CHECK_STREQ(k->mariadb.databases[0], "app");
		CHECK_STREQ(k->mariadb.databases[1], "crm");
		CHECK_STREQ(k->mariadb.databases[2], "shop");
	}
	CHECK_STREQ(k->mariadb.ssl_ca, "/etc/ssl/ca.pem");
	CHECK(!k->dump.routines && !k->dump.triggers && !k->dump.events);
	CHECK(k->dump.compression_level == 9 && k->dump.net_write_timeout == 60);
	CHECK(k->dump.max_insert_bytes == 268435456 && k->dump.threads == 64);
	CHECK_STREQ(k->gpg.fingerprint, "0123456789ABCDEF0123456789ABCDEF01234567");
	CHECK(k->gpg.warn_expiry_days == 0);
	CHECK_STREQ(k->archive.dir, "/srv/archive");
	CHECK_STREQ(k->archive.prefix, "app-db_1.x");
	CHECK(k->archive.schedule.ntimes == 2 && k->archive.schedule.times[1] == 840);
	CHECK(k->archive.keep_days == 7 && k->archive.min_keep == 1);
	CHECK(k->archive.max_age_hours == 8760);
	CHECK(k->notify.on == NOTIFY_ALWAYS);
	CHECK_STREQ(k->notify.webhook_url, "https://hooks.example/T/" SECRET);
	CHECK_STREQ(k->notify.heartbeat_url, "http://hc.example/ping");
	CHECK_STREQ(k->notify.ca_file, "/etc/ssl/extra.pem");
	CHECK_STREQ(k->notify.smtp_url, "smtps://mail.example:465");
	CHECK(k->notify.smtp_tls == SMTP_TLS_REQUIRE);
	CHECK_STREQ(k->notify.smtp_user, "alerts");
	CHECK_STREQ(k->notify.smtp_password, SECRET);
	CHECK_STREQ(k->notify.mail_from, "backup@example.local");
	CHECK(k->notify.mail_to && k->notify.mail_to[2] == NULL);
	if (k->notify.mail_to)
		CHECK_STREQ(k->notify.mail_to[1], "dpo@example.local");
	CHECK_STREQ(k->notify.mail_subject, "[backup] failed");
	CHECK(k->log.level == LOGL_DEBUG && k->log.syslog);
	CHECK_STREQ(k->log.file, "/var/log/dumpfs.log");
	CHECK_STREQ(k->restore.host, "restore.example");
	CHECK(k->restore.port == 3308);
	CHECK_STREQ(k->restore.socket, "/run/mysqld/mysqld.sock");
	CHECK_STREQ(k->restore.user, "root");
	CHECK_STREQ(k->restore.password, "rootpw");
	CHECK(k->fs.max_snapshot_readers == 64 && k->fs.snapshot_mode == SNAPSHOT_SPOOL);
	CHECK(k->fs.group == 4242);
	config_release(&c.cfg);
	CHECK(c.cfg.path == NULL && c.cfg.mariadb.databases == NULL);
	config_release(&c.cfg); /* twice is harmless */
	ctx_done(&c);
}

/* MIN_INI plus "[section]\nkey = value" on lines 6 and 7. */
static void bad_value(struct ctx *c, const char *section, const char *key, const char *value,
		      const char *expected, int src_line)
{
	char text[512], msg[512];

	snprintf(text, sizeof(text), MIN_INI "[%s]\n%s = %s\n", section, key, value);
	snprintf(msg, sizeof(msg), "invalid value '%s' for key '%s' in [%s]: %s", value, key,
		 section, expected);
	want_err_at(c, text, NULL, 7, msg, src_line);
}

#define BAD(sec, key, val, exp) bad_value(&c, sec, key, val, exp, __LINE__)

TEST(config_invalid_values)
{
	struct ctx c;

	ctx_init(&c);
	BAD("mariadb", "port", "0", "expected a port number 1..65535");
	BAD("mariadb", "port", "65536", "expected a port number 1..65535");
	BAD("mariadb", "port", "x", "expected a port number 1..65535");
	BAD("restore", "port", "-1", "expected a port number 1..65535");
	BAD("mariadb", "read_timeout", "9", "expected an integer 10..31536000");
	BAD("mariadb", "read_timeout", "0", "expected an integer 10..31536000");
	BAD("dump", "compression_level", "10", "expected an integer 1..9");
	BAD("dump", "compression_level", "0", "expected an integer 1..9");
	BAD("dump", "compression_level", "+5", "expected an integer 1..9");
	BAD("dump", "net_write_timeout", "59", "expected an integer 60..31536000");
	BAD("dump", "max_insert_bytes", "4095", "expected an integer 4096..268435456");
	BAD("dump", "max_insert_bytes", "99999999999999999999999",
	    "expected an integer 4096..268435456");
	BAD("dump", "threads", "65", "expected an integer 0..64");
	BAD("dump", "threads", "1.5", "expected an integer 0..64");
	BAD("gpg", "warn_expiry_days", "3651", "expected an integer 0..3650");
	BAD("archive", "keep_days", "36501", "expected an integer 0..36500");
	BAD("archive", "keep_weekly", "-1", "expected an integer 0..100000");
	BAD("archive", "min_keep", "0", "expected an integer 1..100000");
	BAD("archive", "max_age_hours", "8761", "expected an integer 1..8760");
	BAD("fs", "max_snapshot_readers", "0", "expected an integer 1..64");
	BAD("dump", "routines", "maybe", "expected true or false (or yes/no, on/off, 1/0)");
	BAD("log", "syslog", "2", "expected true or false (or yes/no, on/off, 1/0)");
	BAD("notify", "on", "sometimes", "expected one of: failure, always, never");
	BAD("notify", "smtp_tls", "yes", "expected one of: try, require, off");
	BAD("fs", "snapshot_mode", "mmap", "expected one of: stream, spool");
	BAD("fs", "group", "no-such-group-dumpfs",
	    "expected the name of a group known to this system or a group number");
	BAD("fs", "group", "4294967295",
	    "expected the name of a group known to this system or a group number");
	BAD("fs", "group", "12x",
	    "expected the name of a group known to this system or a group number");
	BAD("log", "level", "verbose", "expected one of: error, warn, info, debug");
	BAD("log", "level", "debugdebugdebugdebug", "expected one of: error, warn, info, debug");
	BAD("gpg", "fingerprint", "ABCD1234", "expected a key fingerprint of 40 or 64 hex digits");
	BAD("gpg", "fingerprint", "0123456789ABCDEF0123456789ABCDEF0123456G",
	    "expected a key fingerprint of 40 or 64 hex digits");
	/* docs/recipients.md: a list; the bad entry is named. */
	BAD("gpg", "fingerprint", "0123456789ABCDEF0123456789ABCDEF01234567, ABCD",
	    "expected key fingerprints of 40 or 64 hex digits separated by commas; 'ABCD' is "
	    "not one");
	BAD("gpg", "fingerprint", "0123456789ABCDEF0123456789ABCDEF01234567,,",
	    "expected key fingerprints of 40 or 64 hex digits separated by commas; '' is not "
	    "one");
	BAD("archive", "prefix", "../x",
	    "expected letters, digits, '.', '_' or '-', starting with a letter or digit (it is "
	    "part of file names)");
	BAD("archive", "prefix", "my db",
	    "expected letters, digits, '.', '_' or '-', starting with a letter or digit (it is "
	    "part of file names)");
	BAD("notify", "mail_from", "nobody", "expected an e-mail address user@domain");
	BAD("notify", "mail_to", "a@b.example, nobody",
	    "'nobody' is not an e-mail address (expected user@domain, separated by commas)");
	BAD("archive", "schedule", "25:00",
	    "bad time '25:00' in schedule: expected \"off\", daily times HH:MM (00:00..23:59) "
	    "separated by commas such as \"02:00,14:00\", or an interval \"every Nh\" (1..24) or "
	    "\"every Nm\" (1..1440)");
	ctx_done(&c);
}

TEST(config_value_forms)
{
	struct ctx c;

	ctx_init(&c);
	load_ok(&c,
		MIN_INI "[archive]\nschedule = every 6h\n[dump]\nroutines = TRUE\ntriggers = "
			"on\nevents = 1\n[notify]\nheartbeat_url = HTTPS://hc.example/x\n",
		NULL);
	CHECK(c.cfg.archive.schedule.every_min == 360);
	CHECK(c.cfg.dump.routines && c.cfg.dump.triggers && c.cfg.dump.events);
	load_ok(&c, MIN_INI "[archive]\nschedule = off\nprefix =\n[mariadb]\ndatabases = , ,\n",
		NULL);
	CHECK(c.cfg.archive.schedule.off == 1);
	CHECK_STREQ(c.cfg.archive.prefix, "mariadb"); /* empty: the default */
	CHECK(c.cfg.mariadb.databases == NULL);
	/* a 64-digit (v5) fingerprint */
	load_ok(&c,
		MIN_INI "[gpg]\nfingerprint = "
			"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
		NULL);
	CHECK(c.cfg.gpg.fingerprint && strlen(c.cfg.gpg.fingerprint) == 64);
	/* several (docs/recipients.md): each normalised, joined by commas */
	load_ok(&c,
		MIN_INI "[gpg]\nfingerprint = 0123 4567 89ab cdef 0123 4567 89ab cdef 0123 4567 ,"
			"89ABCDEF0123456789ABCDEF0123456789ABCDEF\n",
		NULL);
	CHECK_STREQ(c.cfg.gpg.fingerprint, "0123456789ABCDEF0123456789ABCDEF01234567,"
					   "89ABCDEF0123456789ABCDEF0123456789ABCDEF");
	/* a group by name */
	load_ok(&c, MIN_INI "[fs]\ngroup = root\n", NULL);
	CHECK(c.cfg.fs.group == 0);
	ctx_done(&c);
}

TEST(config_unknown_names)
{
	struct ctx c;

	ctx_init(&c);
	want_err(
		&c, MIN_INI "[dump]\ncompresion_level = 5\n", NULL, 7,
		"unknown key 'compresion_level' in [dump] (known keys: routines, triggers, events, "
		"compression_level, net_write_timeout, max_insert_bytes, threads)");
	want_err(&c, MIN_INI "[foo]\nx = 1\n", NULL, 6,
		 "unknown section [foo] (known sections: mariadb, dump, gpg, archive, notify, log, "
		 "restore, binlog, fs)");
	/* an empty unknown section, at the end or followed by a known one */
	want_err(&c, MIN_INI "[fs ]\n", NULL, 6,
		 "unknown section [fs ] (known sections: mariadb, dump, gpg, archive, notify, log, "
		 "restore, binlog, fs)");
	want_err(&c, "[mariadb]\n[mariadbx]\n[gpg]\n", NULL, 2,
		 "unknown section [mariadbx] (known sections: mariadb, dump, gpg, archive, notify, "
		 "log, restore, binlog, fs)");
	want_err(&c, "user = x\n" MIN_INI, NULL, 1,
		 "key 'user' is outside any section (start with one of: mariadb, dump, gpg, "
		 "archive, "
		 "notify, log, restore, binlog, fs)");
	want_err(&c, MIN_INI "[restore]\npassword_files = /x\n", NULL, 7,
		 "unknown key 'password_files' in [restore] (known keys: host, port, socket, user, "
		 "password, password_file)");
	ctx_done(&c);
}

TEST(config_syntax)
{
	struct ctx c;

	ctx_init(&c);
	want_err(&c, MIN_INI "[mariadb]\nport = 1\n port = 2\n", NULL, 8,
		 "duplicate key 'port' in [mariadb] (first set on line 7)");
	/* a repeated section is fine, a key in both is a duplicate */
	load_ok(&c, MIN_INI "[mariadb]\nhost = a\n", NULL);
	want_err(&c, MIN_INI "[mariadb]\nuser = other\n", NULL, 7,
		 "duplicate key 'user' in [mariadb] (first set on line 2)");
	want_err(&c, MIN_INI "[mariadb]\n" SECRET "\n", NULL, 7,
		 "syntax error: expected '[section]' or 'key = value'");
	want_err(&c, MIN_INI "[mariadb\n", NULL, 6, "syntax error: missing ']' in section header");
	want_err(&c, MIN_INI "[mariadb] x\n", NULL, 6,
		 "syntax error: text after the section header");
	{
		char path[256];
		static const char nul[] = MIN_INI "[log]\nfile = /a\0b\n";

		config_release(&c.cfg);
		put(&c, "dumpfs.ini", "", path, sizeof(path));
		FILE *f = fopen(path, "w");
		CHECK(f && fwrite(nul, 1, sizeof(nul) - 1, f) == sizeof(nul) - 1 && !fclose(f));
		CHECK(config_load(&c.cfg, c.ini, NULL, &c.err) < 0);
		CHECK(strstr(c.err.msg, "dumpfs.ini:7: line contains a NUL byte") != NULL);
	}
	/* comments after a header are fine; so are CRLF line ends */
	load_ok(&c,
		"[mariadb] ; db\r\nuser = u\r\n[gpg]\r\npublic_key_file = /k\r\nrecipient = r\r\n",
		NULL);
	CHECK_STREQ(c.cfg.mariadb.conn.user, "u");
	ctx_done(&c);
}

TEST(config_long_lines)
{
	struct ctx c;
	char text[2048], value[400];

	ctx_init(&c);
	/* a long comment, alone or after a value, is not a long line */
	memset(value, 'c', 300);
	value[300] = '\0';
	snprintf(text, sizeof(text), MIN_INI "; %s\n[log]\nfile = /x.log ; %s\n", value, value);
	load_ok(&c, text, NULL);
	CHECK_STREQ(c.cfg.log.file, "/x.log");
	/* 198 characters fit inih's 200-byte line buffer, 199 do not */
	memset(value, 'a', sizeof(value));
	snprintf(text, sizeof(text), MIN_INI "[log]\nfile = /%.*s\n", 198 - 8, value);
	load_ok(&c, text, NULL);
	CHECK(c.cfg.log.file && strlen(c.cfg.log.file) == 198 - 7);
	snprintf(text, sizeof(text), MIN_INI "[log]\nfile = /%.*s\n", 199 - 8, value);
	want_err(&c, text, NULL, 7,
		 "line too long (199 characters without comments, at most 198): put long secrets "
		 "in a *_file or an environment variable");
	snprintf(text, sizeof(text), MIN_INI "[notify]\nwebhook_url = https://x/%s%.*s\n", SECRET,
		 300, value);
	want_err(&c, text, NULL, 7,
		 "line too long (340 characters without comments, at most 198): put long secrets "
		 "in a *_file or an environment variable");
	ctx_done(&c);
}

TEST(config_file_errors)
{
	struct ctx c;
	char msg[512];
	int rc;

	ctx_init(&c);
	snprintf(msg, sizeof(msg), "%s/none.ini", c.dir);
	rc = config_load(&c.cfg, msg, NULL, &c.err);
	CHECK(rc == -ENOENT);
	snprintf(msg, sizeof(msg),
		 "cannot read config '%s/none.ini': No such file or directory (pass -c FILE or "
		 "set DUMPFS_CONFIG)",
		 c.dir);
	CHECK_STREQ(c.err.msg, msg);
	rc = config_load(&c.cfg, c.dir, NULL, &c.err);
	CHECK(rc == -EISDIR);
	snprintf(msg, sizeof(msg),
		 "cannot read config '%s': Is a directory (pass -c FILE or set DUMPFS_CONFIG)",
		 c.dir);
	CHECK_STREQ(c.err.msg, msg);
	CHECK(c.cfg.path == NULL);
	ctx_done(&c);
}

TEST(config_required_keys)
{
	struct ctx c;

	ctx_init(&c);
	want_err(&c, "[gpg]\npublic_key_file = /k\nrecipient = r\n", NULL, 0,
		 "missing required key 'user' in [mariadb]");
	want_err(&c, "[mariadb]\nuser = u\n[gpg]\nrecipient = r\n", NULL, 0,
		 "missing required key 'public_key_file' in [gpg]");
	want_err(&c, "[mariadb]\nuser = u\n[gpg]\npublic_key_file = /k\nrecipient =\n", NULL, 0,
		 "missing required key 'recipient' in [gpg]");
	/* the environment can provide them */
	{
		const char *env[] = {"DUMPFS_MARIADB_USER=envuser", "DUMPFS_GPG_RECIPIENT=r",
				     "DUMPFS_GPG_PUBLIC_KEY_FILE=/k", NULL};

		load_ok(&c, "", env);
		CHECK_STREQ(c.cfg.mariadb.conn.user, "envuser");
	}
	ctx_done(&c);
}

TEST(config_env_overrides)
{
	struct ctx c;
	const char *env[] = {"PATH=/bin",
			     "DUMPFS_CONFIG=/somewhere/else.ini",
			     "DUMPFS_ARCHIVE_MAX_AGE_HOURS=6",
			     "DUMPFS_MARIADB_SOCKET=",
			     "DUMPFS_MARIADB_PORT=3310",
			     "DUMPFS_NOTIFY_ON=never",
			     "DUMPFS_MARIADB_READ_TIMEOUT=30",
			     "DUMPFS_ARCHIVE_MAX_AGE_HOURS=7", /* repeated: the first wins */
			     "dumpfs_mariadb_port=1",
			     NULL};

	ctx_init(&c);
	/* the process environment is not read: only envp */
	setenv("DUMPFS_BOGUS_FROM_ENVIRON", "1", 1);
	load_ok(&c,
		MIN_INI "[archive]\nmax_age_hours = 48\n[mariadb]\nsocket = /run/x.sock\nport = "
			"x\n",
		env);
	unsetenv("DUMPFS_BOGUS_FROM_ENVIRON");
	CHECK(c.cfg.archive.max_age_hours == 6);
	CHECK(c.cfg.mariadb.conn.socket == NULL);
	CHECK(c.cfg.mariadb.conn.port == 3310); /* the file's invalid value is never read */
	CHECK(c.cfg.notify.on == NOTIFY_NEVER);
	CHECK(c.cfg.mariadb.read_timeout == 30);
	ctx_done(&c);
}

TEST(config_env_errors)
{
	struct ctx c;
	const char *bad[] = {"DUMPFS_ARCHIVE_MAX_AGE_HOURS=x", NULL};
	const char *typo[] = {"DUMPFS_MARIADB_PASWORD=" SECRET, NULL};
	const char *nosec[] = {"DUMPFS_FOO=" SECRET, NULL};
	const char *sched[] = {"DUMPFS_ARCHIVE_SCHEDULE=every 0m", NULL};
	const char *lower[] = {"DUMPFS_Mariadb_Host=db", NULL};

	ctx_init(&c);
	want_err(&c, MIN_INI, bad, -1,
		 "environment DUMPFS_ARCHIVE_MAX_AGE_HOURS: invalid value 'x' (expected an integer "
		 "1..8760)");
	want_err(&c, MIN_INI, typo, -1,
		 "environment DUMPFS_MARIADB_PASWORD: unknown key 'pasword' in [mariadb] (known "
		 "keys: host, port, socket, user, password, password_file, databases, ssl_ca, "
		 "read_timeout)");
	/* DUMPFS_* outside our sections belongs to someone else: ignored. */
	CHECK(load(&c, MIN_INI, nosec) == 0);
	config_release(&c.cfg);
	want_err(&c, MIN_INI, lower, -1,
		 "environment DUMPFS_Mariadb_Host: unknown variable: write it in upper case, "
		 "DUMPFS_MARIADB_HOST");
	CHECK(load(&c, MIN_INI, sched) < 0);
	CHECK(strstr(c.err.msg, "environment DUMPFS_ARCHIVE_SCHEDULE: invalid value 'every 0m' "
				"(interval out of range '0m' in schedule: expected") == c.err.msg);
	ctx_done(&c);
}

TEST(config_secret_files)
{
	struct ctx c;
	char lf[256], crlf[256], two[256], bare[256], text[1024];

	ctx_init(&c);
	put(&c, "lf", SECRET "\n", lf, sizeof(lf));
	put(&c, "crlf", SECRET "\r\n", crlf, sizeof(crlf));
	put(&c, "two", SECRET "\n\n", two, sizeof(two));
	put(&c, "bare", SECRET, bare, sizeof(bare));
	snprintf(text, sizeof(text),
		 MIN_INI "[mariadb]\npassword_file = %s\n[notify]\nsmtp_password_file = %s\n"
			 "[restore]\npassword_file=%s\n",
		 lf, crlf, two);
	load_ok(&c, text, NULL);
	CHECK_STREQ(c.cfg.mariadb.conn.password, SECRET);
	CHECK_STREQ(c.cfg.notify.smtp_password, SECRET);
	CHECK_STREQ(c.cfg.restore.password, SECRET "\n"); /* only one newline goes */
	{
		char e1[300], e2[300];
		const char *env[] = {e1, e2, NULL};

		snprintf(e1, sizeof(e1), "DUMPFS_NOTIFY_WEBHOOK_URL_FILE=%s", bare);
		snprintf(e2, sizeof(e2), "DUMPFS_MARIADB_PASSWORD_FILE=%s", crlf);
		put(&c, "bare", "https://hooks.example/" SECRET, bare, sizeof(bare));
		load_ok(&c, MIN_INI, env);
		CHECK_STREQ(c.cfg.notify.webhook_url, "https://hooks.example/" SECRET);
		CHECK_STREQ(c.cfg.mariadb.conn.password, SECRET);
	}
	ctx_done(&c);
}

TEST(config_secret_errors)
{
	struct ctx c;
	char empty[256], text[1024], msg[1024], lf[256];

	ctx_init(&c);
	put(&c, "empty", "\n", empty, sizeof(empty));
	put(&c, "lf", SECRET "\n", lf, sizeof(lf));
	snprintf(text, sizeof(text), MIN_INI "[mariadb]\npassword_file = %s/missing\n", c.dir);
	snprintf(msg, sizeof(msg),
		 "cannot read secret file '%s/missing' (key 'password_file' in [mariadb]): No such "
		 "file or directory",
		 c.dir);
	want_err(&c, text, NULL, 7, msg);
	snprintf(text, sizeof(text), MIN_INI "[notify]\nsmtp_password_file = %s\n", c.dir);
	snprintf(msg, sizeof(msg),
		 "cannot read secret file '%s' (key 'smtp_password_file' in [notify]): Is a "
		 "directory",
		 c.dir);
	want_err(&c, text, NULL, 7, msg);
	snprintf(text, sizeof(text), MIN_INI "[restore]\npassword_file = %s\n", empty);
	snprintf(msg, sizeof(msg), "secret file '%s' (key 'password_file' in [restore]) is empty",
		 empty);
	want_err(&c, text, NULL, 7, msg);
	{
		char e1[300];
		const char *env[] = {e1, NULL};

		snprintf(e1, sizeof(e1), "DUMPFS_NOTIFY_HEARTBEAT_URL_FILE=%s/missing", c.dir);
		snprintf(msg, sizeof(msg),
			 "environment DUMPFS_NOTIFY_HEARTBEAT_URL_FILE: cannot read secret file "
			 "'%s/missing': No such file or directory",
			 c.dir);
		want_err(&c, MIN_INI, env, -1, msg);
	}
	/* both forms of one secret */
	snprintf(text, sizeof(text),
		 MIN_INI "[mariadb]\npassword = " SECRET "\npassword_file = %s\n", lf);
	want_err(&c, text, NULL, 8,
		 "'password' (line 7) and 'password_file' (line 8) are both set in [mariadb]: set "
		 "only one of them");
	{
		char e2[300];
		const char *env[] = {"DUMPFS_RESTORE_PASSWORD=" SECRET, e2, NULL};

		snprintf(e2, sizeof(e2), "DUMPFS_RESTORE_PASSWORD_FILE=%s", lf);
		want_err(&c, MIN_INI, env, -1,
			 "environment DUMPFS_RESTORE_PASSWORD_FILE: 'password' "
			 "(DUMPFS_RESTORE_PASSWORD) and 'password_file' "
			 "(DUMPFS_RESTORE_PASSWORD_FILE) "
			 "are both set in [restore]: set only one of them");
	}
	ctx_done(&c);
}

TEST(config_env_replaces_secret_pair)
{
	struct ctx c;
	char text[512];
	const char *env[] = {"DUMPFS_MARIADB_PASSWORD=" SECRET, NULL};

	ctx_init(&c);
	/* the file's password_file (missing) is never read */
	snprintf(text, sizeof(text), MIN_INI "[mariadb]\npassword_file = %s/missing\n", c.dir);
	load_ok(&c, text, env);
	CHECK_STREQ(c.cfg.mariadb.conn.password, SECRET);
	ctx_done(&c);
}

TEST(config_cross_checks)
{
	struct ctx c;
	const char *env[] = {"DUMPFS_NOTIFY_WEBHOOK_URL=ftp://x/" SECRET, NULL};
	char hb[256], text[512];

	ctx_init(&c);
	want_err(&c, MIN_INI "[notify]\nsmtp_url = smtp://mail:587\nmail_to = a@b.c\n", NULL, 7,
		 "key 'smtp_url' in [notify] is set, so 'mail_from' and 'mail_to' must be set too "
		 "(the alert mail's sender and recipients)");
	want_err(&c, MIN_INI "[notify]\nsmtp_url = smtp://mail:587\nmail_from = a@b.c\n", NULL, 7,
		 "key 'smtp_url' in [notify] is set, so 'mail_from' and 'mail_to' must be set too "
		 "(the alert mail's sender and recipients)");
	want_err(&c, MIN_INI "[notify]\nmail_from = a@b.c\nmail_to = a@b.c\n", NULL, 8,
		 "key 'mail_to' in [notify] is set but 'smtp_url' is not: set smtp_url to "
		 "smtp://host:587 or smtps://host:465 to send alert mails");
	want_err(&c,
		 MIN_INI "[notify]\nsmtp_url = http://u:" SECRET "@mail\nmail_from = a@b.c\n"
			 "mail_to = a@b.c\n",
		 NULL, 7,
		 "key 'smtp_url' in [notify] must start with smtp:// or smtps:// (smtp://host:587 "
		 "or smtps://host:465)");
	want_err(&c, MIN_INI "[notify]\nwebhook_url = hooks.example/" SECRET "\n", NULL, 7,
		 "key 'webhook_url' in [notify] must start with http:// or https:// (the value is "
		 "not shown: it may hold a token)");
	want_err(&c, MIN_INI, env, -1,
		 "environment DUMPFS_NOTIFY_WEBHOOK_URL: key 'webhook_url' in [notify] must start "
		 "with http:// or https:// (the value is not shown: it may hold a token)");
	put(&c, "hb", "mailto:" SECRET "\n", hb, sizeof(hb));
	snprintf(text, sizeof(text), MIN_INI "[notify]\n\nheartbeat_url_file = %s\n", hb);
	want_err(&c, text, NULL, 8,
		 "key 'heartbeat_url' in [notify] must start with http:// or https:// (the value "
		 "is not shown: it may hold a token)");
	load_ok(&c,
		MIN_INI "[notify]\nsmtp_url = SMTP://mail:25\nmail_from = a@b.c\nmail_to = "
			"a@b.c d@e.f\n",
		NULL);
	ctx_done(&c);
}

TEST(config_binlog_lag_limit_above_the_segment_time)
{
	const char *env[] = {"DUMPFS_BINLOG_SEGMENT_SECONDS=7200", NULL};
	struct ctx c;

	ctx_init(&c);
	want_err(&c, MIN_INI "[binlog]\nsegment_seconds = 60\nmax_lag_seconds = 60\n", NULL, 8,
		 "key 'max_lag_seconds' in [binlog] (60) must be more than 'segment_seconds' "
		 "(60): an open segment counts as lag, so health would turn CRITICAL under "
		 "ordinary writes; set it well above 90");
	/* The default limit (3600) under a longer segment: the segment is named. */
	want_err(&c, MIN_INI "[binlog]\nsegment_seconds = 7200\n", NULL, 7,
		 "key 'max_lag_seconds' in [binlog] (3600) must be more than 'segment_seconds' "
		 "(7200): an open segment counts as lag, so health would turn CRITICAL under "
		 "ordinary writes; set it well above 7230");
	want_err(&c, MIN_INI, env, -1,
		 "environment DUMPFS_BINLOG_SEGMENT_SECONDS: key 'max_lag_seconds' in [binlog] "
		 "(3600) must be more than 'segment_seconds' (7200): an open segment counts as "
		 "lag, so health would turn CRITICAL under ordinary writes; set it well above "
		 "7230");
	load_ok(&c, MIN_INI "[binlog]\nsegment_seconds = 1\nmax_lag_seconds = 10\n", NULL);
	load_ok(&c, MIN_INI, NULL); /* 300 and 3600 */
	ctx_done(&c);
}

TEST(config_scrub_env_removes_secrets_only)
{
	static const char *const secrets[] = {
		"DUMPFS_MARIADB_PASSWORD", "DUMPFS_RESTORE_PASSWORD", "DUMPFS_NOTIFY_WEBHOOK_URL",
		"DUMPFS_NOTIFY_HEARTBEAT_URL", "DUMPFS_NOTIFY_SMTP_PASSWORD"};
	size_t n = sizeof(secrets) / sizeof(secrets[0]);

	for (size_t i = 0; i < n; i++)
		setenv(secrets[i], SECRET, 1);
	setenv("DUMPFS_MARIADB_PASSWORD_FILE", "/run/secrets/p", 1);
	setenv("DUMPFS_MARIADB_HOST", "db", 1);
	config_scrub_env();
	for (size_t i = 0; i < n; i++)
		CHECK(getenv(secrets[i]) == NULL);
	CHECK(getenv("DUMPFS_MARIADB_PASSWORD_FILE") != NULL);
	CHECK(getenv("DUMPFS_MARIADB_HOST") != NULL);
	unsetenv("DUMPFS_MARIADB_PASSWORD_FILE");
	unsetenv("DUMPFS_MARIADB_HOST");
}

/* An entry the environment does not own (as the initial block that
 * /proc/PID/environ shows): unsetenv() only unlinks it, so its value must
 * be overwritten in place. */
TEST(config_scrub_env_wipes_the_value_in_place)
{
	static char entry[] = "DUMPFS_NOTIFY_SMTP_PASSWORD=" SECRET;
	const size_t name_len = strlen("DUMPFS_NOTIFY_SMTP_PASSWORD=");
	size_t zeros = 0;

	CHECK(putenv(entry) == 0);
	config_scrub_env();
	CHECK(getenv("DUMPFS_NOTIFY_SMTP_PASSWORD") == NULL);
	CHECK(!strncmp(entry, "DUMPFS_NOTIFY_SMTP_PASSWORD=", name_len));
	for (size_t i = name_len; i < sizeof(entry) - 1; i++)
		zeros += entry[i] == '\0';
	CHECK(zeros == strlen(SECRET));
}

/* [log] format (docs/logging.md); the compose stack switches it with
 * DUMPFS_LOG_FORMAT=json over docker/dumpfs.ini's "format = text". */
TEST(config_log_format)
{
	const char *env[] = {"DUMPFS_LOG_FORMAT=json", NULL};
	struct ctx c;

	ctx_init(&c);
	load_ok(&c, MIN_INI, NULL);
	CHECK(c.cfg.log.format == LOGF_TEXT);
	load_ok(&c, MIN_INI "[log]\nformat = JSON\n", NULL);
	CHECK(c.cfg.log.format == LOGF_JSON);
	load_ok(&c, MIN_INI "[log]\nformat = text\n", env);
	CHECK(c.cfg.log.format == LOGF_JSON);
	BAD("log", "format", "syslog", "expected one of: text, json");
	ctx_done(&c);
}
