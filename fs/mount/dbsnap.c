#include "dbsnap.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../dumper/dblist.h"
#include "../../dumper/thread.h"

/* Seconds a listing query may wait for the server: `ls` must not hang
 * for the dump's long read timeout. */
#define LIST_READ_TIMEOUT 10

/* Can `db` be a file name in databases/?  Not "", ".", "..", a hidden
 * file, a path, a name a terminal would act on, or too long a name. */
static bool name_ok(const char *db)
{
	size_t len = strlen(db);

	if (!len || db[0] == '.' || len + sizeof(DBSNAP_SUFFIX) - 1 > NAME_MAX)
		return false;
	for (const char *p = db; *p; p++)
		if (*p == '/' || (unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

int dbsnap_parse(const char *file, char *db, size_t size)
{
	size_t len = strlen(file), sl = sizeof(DBSNAP_SUFFIX) - 1;

	if (len <= sl || strcmp(file + len - sl, DBSNAP_SUFFIX) || len - sl >= size)
		return -ENOENT;
	memcpy(db, file, len - sl);
	db[len - sl] = '\0';
	return name_ok(db) ? 0 : -ENOENT;
}

static void warn_name(struct dumpfs *fs, const char *db, const char *source)
{
	logger_log(fs->lg, LOGL_WARN, "database_not_listed",
		   "database=\"%s\" source=%s reason=\"not usable as a file name (empty, '/', "
		   "leading '.', control character or too long); it is only in now.sql.gz.gpg\"",
		   db, source);
}

void dbsnap_check_config(struct dumpfs *fs)
{
	char **v = fs->cfg->mariadb.databases;

	for (size_t i = 0; v && v[i]; i++)
		if (!name_ok(v[i]))
			warn_name(fs, v[i], "config");
}

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A copy of v (NULL-terminated) into *out; -ENOMEM. */
static int names_dup(char ***out, char *const *v)
{
	size_t n = 0;

	while (v[n])
		n++;
	*out = calloc(n + 1, sizeof(**out));
	for (size_t i = 0; *out && i < n; i++) {
		(*out)[i] = strdup(v[i]);
		if (!(*out)[i]) {
			dblist_free(*out);
			*out = NULL;
		}
	}
	return *out ? 0 : -ENOMEM;
}

/* A copy of the kept server list if still fresh; 1 when there is none. */
static int kept_names(struct dumpfs *fs, char ***out)
{
	int ret = 1;

	mutex_lock(&fs->lock);
	if (fs->db_names && now_mono() - fs->db_names_at < DBSNAP_LIST_TTL)
		ret = names_dup(out, fs->db_names);
	mutex_unlock(&fs->lock);
	return ret;
}

/* Asks the server (outside fs->lock: it may take seconds) and keeps a
 * copy of the answer. */
static int fetch_names(struct dumpfs *fs, char ***out)
{
	struct dbconn_opts conn = fs->dump.sql.conn;
	struct errbuf err;
	char **keep = NULL;
	int ret;

	if (!conn.read_timeout || conn.read_timeout > LIST_READ_TIMEOUT)
		conn.read_timeout = LIST_READ_TIMEOUT;
	errbuf_clear(&err);
	ret = dblist_fetch(out, &conn, &err);
	if (ret) {
		logger_log(fs->lg, LOGL_WARN, "database_list_failed", "error=\"%s\"", err.msg);
		return -EIO;
	}
	for (size_t i = 0; (*out)[i]; i++)
		if (!name_ok((*out)[i]))
			warn_name(fs, (*out)[i], "server");
	if (names_dup(&keep, *out))
		return 0; /* not kept: asked again next time */
	mutex_lock(&fs->lock);
	dblist_free(fs->db_names);
	fs->db_names = keep;
	fs->db_names_at = now_mono();
	mutex_unlock(&fs->lock);
	return 0;
}

/* The names to list, in a copy the caller frees (dblist_free). */
static int current_names(struct dumpfs *fs, char ***out)
{
	char **cfg = fs->cfg->mariadb.databases;
	int ret;

	*out = NULL;
	if (cfg && cfg[0])
		return names_dup(out, cfg);
	ret = kept_names(fs, out);
	return ret == 1 ? fetch_names(fs, out) : ret;
}

static bool seen_before(char *const *v, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (!strcmp(v[j], v[i]))
			return true;
	return false;
}

int dbsnap_list(struct dumpfs *fs, int (*add)(void *arg, const char *file), void *arg)
{
	char file[NAME_MAX + 1], **v;
	int ret = current_names(fs, &v);

	for (size_t i = 0; !ret && v[i]; i++) {
		if (!name_ok(v[i]) || seen_before(v, i))
			continue;
		snprintf(file, sizeof(file), "%s%s", v[i], DBSNAP_SUFFIX); /* fits: name_ok */
		ret = add(arg, file);
	}
	dblist_free(v);
	return ret;
}

int dbsnap_exists(struct dumpfs *fs, const char *db)
{
	char **v;
	int ret = current_names(fs, &v);

	if (ret)
		return ret;
	ret = -ENOENT;
	for (size_t i = 0; v[i] && ret; i++)
		if (!strcmp(v[i], db) && name_ok(db))
			ret = 0;
	dblist_free(v);
	return ret;
}

void dbsnap_release(struct dumpfs *fs)
{
	dblist_free(fs->db_names);
	fs->db_names = NULL;
}
