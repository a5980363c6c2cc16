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

/* The oldest backup's recorded position; -ENOENT (logged why) if none. */
static int oldest_position(const char *dir, const char *prefix, struct binlog_pos *p,
			   struct logger *lg, struct errbuf *err)
{
	struct archive_list l = ARCHIVE_LIST_INIT;
	char name[ARCHIVE_NAME_MAX + 32], path[PATH_MAX];
	struct errbuf e2;
	int rc = archive_scan(&l, dir, prefix, err);

	if (rc)
		return rc;
	rc = -ENOENT;
	if (l.n && !backup_position_name(name, sizeof(name), l.v[0].name) &&
	    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) < sizeof(path)) {
		rc = binlog_position_load(path, p, &e2);
		if (rc)
			logger_log(lg, LOGL_WARN, "binlog_retention_skipped",
				   "oldest=%s reason=\"%s\"", l.v[0].name,
				   rc == -ENOENT ? "no recorded binlog position: segments are kept"
						 : e2.msg);
	}
	archive_list_release(&l);
	return rc;
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
	 * the oldest backup's position; the newest one always stays */
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
