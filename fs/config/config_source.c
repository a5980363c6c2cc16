/* Collecting the config's raw text: the INI file (through inih, with our
 * own line reader) and the DUMPFS_* environment.  See fs/config.c for the
 * phases and the rules; fs/config_priv.h for the shared types.
 */
#include "config_priv.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* In the order of docs/config.md, for messages; every config_keys[].section is here. */
static const char *const sections[] = {"mariadb", "dump",    "gpg",    "archive", "notify",
				       "log",	  "restore", "binlog", "fs"};

/* ---- messages ---- */

static size_t env_name_len(const char *entry)
{
	const char *eq = strchr(entry, '=');

	return eq ? (size_t)(eq - entry) : strlen(entry);
}

int config_fail(struct load *ld, const struct slot *sl, int code, const char *fmt, ...)
{
	char msg[ERRBUF_MAX];
	va_list ap;

	if (ld->rc)
		return code; /* keep the first message */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (sl && sl->env)
		error_set(ld->err, code, "environment %.*s: %s", (int)env_name_len(sl->env),
			  sl->env, msg);
	else if (sl && sl->line > 0)
		error_set(ld->err, code, "%s:%d: %s", ld->path, sl->line, msg);
	else
		error_set(ld->err, code, "%s: %s", ld->path, msg);
	ld->rc = code;
	return code;
}

/* "a, b, c": the known keys of `section`, or every section. */
static void known(char *buf, size_t size, const char *section)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < (section ? config_nkeys : ARRAY_SIZE(sections)); i++) {
		const char *name = section ? config_keys[i].key : sections[i];
		int n;

		if (section && strcmp(config_keys[i].section, section))
			continue;
		n = snprintf(buf + len, size - len, "%s%s", len ? ", " : "", name);
		if (n < 0 || (size_t)n >= size - len)
			return;
		len += (size_t)n;
	}
}

static bool known_section(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
		if (!strcmp(sections[i], name))
			return true;
	return false;
}

static int unknown_key(struct load *ld, const struct slot *sl, const char *section, const char *key)
{
	char list[512];

	known(list, sizeof(list), section);
	return config_fail(ld, sl, -EINVAL, "unknown key '%s' in [%s] (known keys: %s)", key,
			   section, list);
}

static int unknown_section(struct load *ld, const struct slot *sl, const char *section)
{
	char list[256];

	known(list, sizeof(list), NULL);
	return config_fail(ld, sl, -EINVAL, "unknown section [%s] (known sections: %s)", section,
			   list);
}

void config_where(const struct slot *sl, char *buf, size_t size)
{
	if (sl->env)
		snprintf(buf, size, "%.*s", (int)env_name_len(sl->env), sl->env);
	else
		snprintf(buf, size, "line %d", sl->line);
}

/* ---- the file ---- */

struct slot *config_find_slot(struct load *ld, const char *section, const char *key)
{
	for (size_t i = 0; i < config_nkeys; i++)
		if (!strcmp(config_keys[i].section, section) && !strcmp(config_keys[i].key, key))
			return &ld->slots[i];
	return NULL;
}

static int on_key(void *user, const char *section, const char *key, const char *value)
{
	struct load *ld = user;
	struct slot here = {NULL, ld->lineno, NULL};
	struct slot *sl;
	char list[256];

	if (ld->rc)
		return 0;
	if (!*section) {
		known(list, sizeof(list), NULL);
		return !config_fail(ld, &here, -EINVAL,
				    "key '%s' is outside any section (start with one "
				    "of: %s)",
				    key, list);
	}
	sl = config_find_slot(ld, section, key);
	if (!sl)
		return !unknown_key(ld, &here, section, key);
	if (sl->raw)
		return !config_fail(ld, &here, -EINVAL,
				    "duplicate key '%s' in [%s] (first set on line %d)", key,
				    section, sl->line);
	sl->raw = strdup(value);
	if (!sl->raw)
		return !config_fail(ld, &here, -ENOMEM, "out of memory");
	sl->line = ld->lineno;
	return 1;
}

/* Checks a "[section]" line; `line` is trimmed and starts with '['. */
static int check_header(struct load *ld, char *line)
{
	struct slot here = {NULL, ld->lineno, NULL};
	char *end = strchr(line, ']');

	if (!end)
		return config_fail(ld, &here, -EINVAL,
				   "syntax error: missing ']' in section header");
	if (end[1])
		return config_fail(ld, &here, -EINVAL,
				   "syntax error: text after the section header");
	*end = '\0';
	if (!known_section(line + 1))
		unknown_section(ld, &here, line + 1);
	*end = ']';
	return ld->rc;
}

/* Trims `s` in place: drops a comment, leading and trailing spaces. */
static char *clean_line(char *s)
{
	size_t len;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == ';' || *s == '#')
		*s = '\0';
	for (char *p = s; *p; p++) {
		if (*p == ';' && p > s && isspace((unsigned char)p[-1])) {
			*p = '\0';
			break;
		}
	}
	len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	return s;
}

static int check_line(struct load *ld, char *line, int num)
{
	struct slot here = {NULL, ld->lineno, NULL};
	size_t len = strlen(line);

	if (line[0] == '[')
		return check_header(ld, line);
	if (len && !strpbrk(line, "=:"))
		return config_fail(ld, &here, -EINVAL,
				   "syntax error: expected '[section]' or 'key = value'");
	if (len + 2 > (size_t)num)
		return config_fail(ld, &here, -EINVAL,
				   "line too long (%zu characters without comments, at "
				   "most %d): put long secrets in a *_file or an "
				   "environment variable",
				   len, num - 2);
	return 0;
}

/* inih's reader: hands over one cleaned line at a time, so that inih's
 * line count is ours, and refuses what inih would cut or misread. */
static char *read_line(char *str, int num, void *user)
{
	struct load *ld = user;
	ssize_t n;
	char *line;

	if (ld->rc)
		return NULL;
	errno = 0;
	n = getline(&ld->buf, &ld->cap, ld->f);
	if (n < 0) {
		if (errno)
			ld->rc = error_set(ld->err, -errno,
					   "cannot read config '%s': %s (pass -c FILE or set "
					   "DUMPFS_CONFIG)",
					   ld->path, strerror(errno));
		return NULL;
	}
	ld->lineno++;
	if (strlen(ld->buf) != (size_t)n) {
		config_fail(ld, &(struct slot){NULL, ld->lineno, NULL}, -EINVAL,
			    "line contains a NUL byte");
		return NULL;
	}
	line = ld->buf;
	if (ld->lineno == 1 && !strncmp(line, "\xEF\xBB\xBF", 3))
		line += 3; /* UTF-8 byte order mark */
	line = clean_line(line);
	if (check_line(ld, line, num))
		return NULL;
	snprintf(str, (size_t)num, "%s\n", line);
	return str;
}

int config_parse_file(struct load *ld)
{
	int rc;

	ld->f = fopen(ld->path, "re");
	if (!ld->f)
		return error_set(ld->err, -errno,
				 "cannot read config '%s': %s (pass -c FILE or set DUMPFS_CONFIG)",
				 ld->path, strerror(errno));
	rc = ini_parse_stream(read_line, ld, on_key, ld);
	/* our reader and handler report first; inih only sees clean lines */
	if (!ld->rc && rc > 0)
		config_fail(ld, &(struct slot){NULL, rc, NULL}, -EINVAL, "syntax error");
	else if (!ld->rc && rc < 0)
		config_fail(ld, NULL, -ENOMEM, "out of memory while parsing");
	return ld->rc;
}

/* ---- the environment ---- */

/* "DUMPFS_<SECTION>_<KEY>" for key i, upper case. */
void config_env_name(size_t i, char *buf, size_t size)
{
	snprintf(buf, size, "DUMPFS_%s_%s", config_keys[i].section, config_keys[i].key);
	for (char *p = buf; *p; p++)
		*p = (char)toupper((unsigned char)*p);
}

void config_drop_raw(struct load *ld, size_t i)
{
	struct slot *sl = &ld->slots[i];

	if (sl->raw && key_is_secret(i))
		explicit_bzero(sl->raw, strlen(sl->raw));
	free(sl->raw);
	*sl = (struct slot){NULL, 0, NULL};
}

/* The key whose variable is the first `len` bytes of `name`, or -1. */
static long env_key(const char *name, size_t len)
{
	char want[96];

	for (size_t i = 0; i < config_nkeys; i++) {
		config_env_name(i, want, sizeof(want));
		if (strlen(want) == len && !strncmp(want, name, len))
			return (long)i;
	}
	return -1;
}

static int env_unknown(struct load *ld, const char *entry)
{
	struct slot here = {NULL, 0, entry};
	size_t len = env_name_len(entry);
	char upper[96], lower[96];
	char *us;

	snprintf(upper, sizeof(upper), "%.*s", (int)len, entry);
	for (char *p = upper; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	if (env_key(upper, strlen(upper)) >= 0)
		return config_fail(ld, &here, -EINVAL,
				   "unknown variable: write it in upper case, %s", upper);
	snprintf(lower, sizeof(lower), "%s", upper + strlen("DUMPFS_"));
	for (char *p = lower; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	us = strchr(lower, '_');
	if (us) {
		*us = '\0';
		if (known_section(lower))
			return unknown_key(ld, &here, lower, us + 1);
	}
	/* Not ours to judge: only DUMPFS_<known section>_* names a config
	 * key; other DUMPFS_* variables (test harnesses, wrappers) pass. */
	return 0;
}

static int env_entry(struct load *ld, const char *entry)
{
	size_t len = env_name_len(entry);
	long i = env_key(entry, len);
	struct slot *sl;

	if (!strncmp(entry, "DUMPFS_CONFIG=", 14))
		return 0; /* the config file's name, read by main() */
	if (i < 0)
		return env_unknown(ld, entry);
	sl = &ld->slots[i];
	if (sl->env)
		return 0; /* a repeated variable: the first wins, as getenv() */
	config_drop_raw(ld, (size_t)i);
	if (key_is_secret((size_t)i) && ld->slots[key_twin((size_t)i)].line)
		config_drop_raw(ld, key_twin((size_t)i)); /* the variable replaces the pair */
	sl->raw = strdup(entry + len + 1);
	sl->env = entry;
	if (!sl->raw)
		return config_fail(ld, sl, -ENOMEM, "out of memory");
	return 0;
}

int config_parse_env(struct load *ld, const char *const *envp)
{
	for (; envp && *envp; envp++) {
		if (strncmp(*envp, "DUMPFS_", 7) || !strchr(*envp, '='))
			continue;
		if (env_entry(ld, *envp))
			return ld->rc;
	}
	return 0;
}
