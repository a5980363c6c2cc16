/* Retention of binlog segments (docs/pitr.md): see binlog.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive.h"
#include "binlog.h"

struct segname {
	char name[ARCHIVE_NAME_MAX];
	struct binlog_pos start;
};

static int by_start(const void *a, const void *b)
{
	return binlog_pos_cmp(&((const struct segname *)a)->start,
			      &((const struct segname *)b)->start);
}

/* The segments of `prefix` in the open directory, sorted. */
static int list(DIR *d, const char *prefix, struct segname **out, size_t *n, struct errbuf *err)
{
	size_t cap = 0, plen = strlen(prefix), len;
	struct segname *v = NULL;
	struct dirent *de;

	*n = 0;
	while ((errno = 0, de = readdir(d))) {
		struct binlog_pos start;

		if (!binlog_segment_name_parse(de->d_name, &start, &len) || len != plen ||
		    strncmp(de->d_name, prefix, plen) || strlen(de->d_name) >= ARCHIVE_NAME_MAX)
			continue;
		if (*n == cap) {
			struct segname *nv = reallocarray(v, cap ? cap * 2 : 64, sizeof(*v));

			if (!nv) {
				free(v);
				return error_set(err, -ENOMEM, "out of memory");
			}
			v = nv;
			cap = cap ? cap * 2 : 64;
		}
		strcpy(v[*n].name, de->d_name);
		v[(*n)++].start = start;
	}
	if (errno) {
		free(v);
		return error_set(err, -errno, "cannot list the binlog segments: %s",
				 strerror(errno));
	}
	if (*n)
		qsort(v, *n, sizeof(*v), by_start);
	*out = v;
	return 0;
}

/* The binlog file's base name: "mysql-bin" of "mysql-bin.000012". */
static size_t base_len(const char *file)
{
	const char *dot = strrchr(file, '.');

	return dot ? (size_t)(dot - file) : strlen(file);
}

static bool same_base(const char *a, const char *b)
{
	size_t n = base_len(a);

	return n == base_len(b) && !strncmp(a, b, n);
}

static void skipped(struct logger *lg, const char *backup, const char *why)
{
	logger_log(lg, LOGL_WARN, "binlog_retention_skipped", "backup=%s reason=\"%s\"", backup,
		   why);
}

/* The oldest kept backup's recorded position, when every kept backup has
 * one and they go forward in one binlog history (a RESET MASTER, a new
 * server or a new log_bin name starts another: what the older backups
 * need can then not be told from names); else -ENOENT, logged why. */
static int oldest_position(const char *dir, const char *prefix, struct binlog_pos *oldest,
			   struct logger *lg, struct errbuf *err)
{
	struct archive_list l = ARCHIVE_LIST_INIT;
	char name[ARCHIVE_NAME_MAX + 32], path[PATH_MAX];
	struct binlog_pos p, prev;
	struct errbuf e2;
	int rc = archive_scan(&l, dir, prefix, err);

	if (rc)
		return rc;
	rc = l.n ? 0 : -ENOENT;
	for (size_t i = 0; !rc && i < l.n; i++) {
		const char *b = l.v[i].name;

		if (backup_position_name(name, sizeof(name), b) ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
			rc = -ENOENT;
		else if ((rc = binlog_position_load(path, &p, &e2)))
			skipped(lg, b,
				rc == -ENOENT ? "no recorded binlog position: segments are kept"
					      : e2.msg);
		else if (i && (!same_base(prev.file, p.file) || binlog_pos_cmp(&p, &prev) < 0)) {
			skipped(lg, b,
				"its binlog position is not after the older backup's (RESET "
				"MASTER, "
				"a new server or a new log_bin name): segments are kept");
			rc = -ENOENT;
		}
		if (!rc && !i)
			*oldest = p;
		prev = p;
	}
	archive_list_release(&l);
	return rc ? -ENOENT : 0;
}

/* Keeps (in order, at the front) the segments of p's binlog name; their
 * number. */
static size_t same_history(struct segname *v, size_t n, const struct binlog_pos *p)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (same_base(v[i].start.file, p->file))
			v[k++] = v[i];
	return k;
}

int binlog_prune_segments(const char *archive_dir, const char *prefix, struct logger *lg,
			  unsigned *deleted, struct errbuf *err)
{
	char dir[PATH_MAX], side[ARCHIVE_NAME_MAX + 16];
	struct segname *v = NULL;
	struct binlog_pos oldest;
	size_t n = 0;
	DIR *d;
	int rc;

	*deleted = 0;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/binlog", archive_dir) >= sizeof(dir))
		return error_set(err, -ENAMETOOLONG, "path too long in '%s'", archive_dir);
	if (!(d = opendir(dir)))
		return errno == ENOENT ? 0
				       : error_set(err, -errno, "cannot read '%s': %s", dir,
						   strerror(errno));
	rc = oldest_position(archive_dir, prefix, &oldest, lg, err);
	if (rc == -ENOENT)
		rc = 0;
	else if (!rc)
		rc = list(d, prefix, &v, &n, err);
	/* segment i ends where i + 1 starts: gone when that is not after
	 * the oldest backup's position; the newest one always stays.  Only
	 * segments of that backup's binlog name are judged. */
	n = same_history(v, n, &oldest);
	for (size_t i = 0; !rc && i + 1 < n && binlog_pos_cmp(&v[i + 1].start, &oldest) <= 0; i++) {
		if (unlinkat(dirfd(d), v[i].name, 0) < 0 && errno != ENOENT) {
			rc = error_set(err, -errno, "cannot delete '%s/%s': %s", dir, v[i].name,
				       strerror(errno));
			break;
		}
		snprintf(side, sizeof(side), "%s.sha256", v[i].name);
		if (unlinkat(dirfd(d), side, 0) < 0 && errno != ENOENT)
			logger_log(lg, LOGL_WARN, "binlog_prune_failed", "file=%s error=\"%s\"",
				   side, strerror(errno));
		logger_log(lg, LOGL_INFO, "binlog_prune", "file=%s oldest_backup_at=\"%s:%llu\"",
			   v[i].name, oldest.file, (unsigned long long)oldest.pos);
		(*deleted)++;
	}
	free(v);
	closedir(d);
	return rc;
}
