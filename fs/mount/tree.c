#include "tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../dumper/archive.h"
#include "../../dumper/binlog.h"
#include "../../dumper/state.h"
#include "dbsnap.h"
#include "../config/jobopts.h"
#include "scheduler.h"
#include "../../dumper/thread.h"

static const char snapshot_dir[] = "snapshot";
static const char archive_dir[] = "archive";
static const char status_dir[] = "status";
/* archive/binlog: the binlog segments' directory (docs/pitr.md), also
 * under the archive dir; never a backup's name (those are
 * "<prefix>_<time>.sql.gz.gpg"). */
static const char binlog_dir[] = BINLOG_DIR_NAME;

/* Splits "/dir/name" (name may be empty) into the dir's node. */
static int resolve_dir(const char *dir, size_t len, struct node *n)
{
	if (len == sizeof(snapshot_dir) - 1 && !memcmp(dir, snapshot_dir, len))
		n->kind = NODE_SNAPSHOT_DIR;
	else if (len == sizeof(archive_dir) - 1 && !memcmp(dir, archive_dir, len))
		n->kind = NODE_ARCHIVE_DIR;
	else if (len == sizeof(status_dir) - 1 && !memcmp(dir, status_dir, len))
		n->kind = NODE_STATUS_DIR;
	else
		return -ENOENT;
	return 0;
}

static int resolve_file(struct dumpfs *fs, const char *name, struct node *n)
{
	const char *prefix = fs->cfg->archive.prefix;
	int f;

	switch (n->kind) {
	case NODE_SNAPSHOT_DIR:
		if (strcmp(name, TREE_SNAPSHOT_NAME))
			return -ENOENT;
		n->kind = NODE_SNAPSHOT;
		return 0;
	case NODE_STATUS_DIR:
		f = status_file_lookup(name);
		if (f < 0)
			return -ENOENT;
		n->kind = NODE_STATUS;
		n->status = (enum status_file)f;
		return 0;
	case NODE_ARCHIVE_DIR:
		if (!strcmp(name, ARCHIVE_LATEST_NAME)) {
			n->kind = NODE_LATEST;
			return 0;
		}
		if (!archive_parse_name(name, prefix, NULL) &&
		    !archive_is_sidecar_name(name, prefix))
			return -ENOENT;
		n->kind = NODE_ARCHIVE;
		n->name = name;
		return 0;
	default:
		return -ENOENT;
	}
}

/* True when `name` ends with the sidecar suffix. */
static bool is_sidecar(const char *name, size_t len)
{
	size_t sl = sizeof(ARCHIVE_SIDECAR_SUFFIX) - 1;

	return len > sl && !strcmp(name + len - sl, ARCHIVE_SIDECAR_SUFFIX);
}

/* True for the name of a complete segment of [archive] prefix (binlog.h)
 * or of its sidecar: never a hidden file, a temporary or a foreign one. */
static bool binlog_name(struct dumpfs *fs, const char *name)
{
	const char *prefix = fs->cfg->archive.prefix;
	char seg[NAME_MAX + 1];
	size_t len = strlen(name), plen;
	struct binlog_pos start;

	if (is_sidecar(name, len))
		len -= sizeof(ARCHIVE_SIDECAR_SUFFIX) - 1;
	if (len >= sizeof(seg))
		return false;
	memcpy(seg, name, len);
	seg[len] = '\0';
	return binlog_segment_name_parse(seg, &start, &plen) && plen == strlen(prefix) &&
	       !memcmp(seg, prefix, plen);
}

/* The segment directory is a directory, not a link to elsewhere. */
static bool binlog_dir_is_real(struct dumpfs *fs)
{
	char path[PATH_MAX];
	struct stat st;

	return !tree_archive_path(fs, binlog_dir, path, sizeof(path)) && !lstat(path, &st) &&
	       S_ISDIR(st.st_mode);
}

/* "binlog" or "binlog/<file>" under archive/ when [binlog] is on; 1 when
 * `rest` is not in binlog/. */
static int resolve_binlog(struct dumpfs *fs, const char *rest, struct node *n)
{
	size_t len = sizeof(binlog_dir) - 1;

	if (!fs->cfg->binlog.enabled || strncmp(rest, binlog_dir, len) ||
	    (rest[len] && rest[len] != '/'))
		return 1;
	n->kind = NODE_BINLOG_DIR;
	if (!rest[len])
		return 0;
	if (strchr(rest + len + 1, '/') || !binlog_name(fs, rest + len + 1) ||
	    !binlog_dir_is_real(fs))
		return -ENOENT;
	n->kind = NODE_BINLOG;
	n->name = rest; /* "binlog/<file>", under the archive dir */
	return 0;
}

/* "databases" or "databases/<file>" under snapshot/; 1 when `rest` is
 * not in databases/. */
static int resolve_databases(const char *rest, struct node *n)
{
	size_t len = sizeof(DBSNAP_DIR_NAME) - 1;

	if (strncmp(rest, DBSNAP_DIR_NAME, len) || (rest[len] && rest[len] != '/'))
		return 1;
	n->kind = NODE_DATABASES_DIR;
	if (!rest[len])
		return 0;
	rest += len + 1;
	if (strchr(rest, '/') || dbsnap_parse(rest, n->database, sizeof(n->database)))
		return -ENOENT;
	n->kind = NODE_SNAPSHOT;
	return 0;
}

int tree_resolve(struct dumpfs *fs, const char *path, struct node *n)
{
	const char *slash;
	int ret;

	n->kind = NODE_ROOT;
	n->status = 0;
	n->name = NULL;
	n->database[0] = '\0';
	if (path[0] != '/')
		return -ENOENT;
	path++;
	if (!*path)
		return 0;
	slash = strchr(path, '/');
	ret = resolve_dir(path, slash ? (size_t)(slash - path) : strlen(path), n);
	if (ret || !slash)
		return ret;
	if (n->kind == NODE_SNAPSHOT_DIR)
		ret = resolve_databases(slash + 1, n);
	else if (n->kind == NODE_ARCHIVE_DIR)
		ret = resolve_binlog(fs, slash + 1, n);
	else
		ret = 1;
	if (ret <= 0)
		return ret;
	if (!slash[1] || strchr(slash + 1, '/'))
		return -ENOENT;
	return resolve_file(fs, slash + 1, n);
}

int tree_archive_path(struct dumpfs *fs, const char *name, char *buf, size_t size)
{
	if ((size_t)snprintf(buf, size, "%s/%s", fs->cfg->archive.dir, name) >= size)
		return -ENAMETOOLONG;
	return 0;
}

static void base_attr(struct dumpfs *fs, struct stat *st, mode_t mode)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = mode;
	st->st_nlink = 1;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_blksize = 65536;
	st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = fs->mounted_at;
}

void tree_file_attr(struct dumpfs *fs, struct stat *st, off_t size)
{
	base_attr(fs, st, S_IFREG | 0444);
	st->st_size = size;
	st->st_blocks = (size + 511) / 512;
	/* Made now, for the one who asks. */
	st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = time(NULL);
}

void tree_snapshot_attr(struct dumpfs *fs, struct stat *st, off_t size)
{
	tree_file_attr(fs, st, size);
	/* Opening it starts a dump: only the owner and [fs] group may
	 * (the mount's default_permissions makes the kernel check). */
	st->st_mode = S_IFREG | 0440;
	st->st_gid = fs->cfg->fs.group;
}

void tree_archive_attr(struct stat *st)
{
	st->st_mode &= (mode_t) ~(S_IWUSR | S_IWGRP | S_IWOTH | S_ISUID | S_ISGID | S_ISVTX);
	st->st_nlink = 1;
}

/* A listed archive or binlog file (`name` under the archive dir, its
 * pattern checked by tree_resolve): a regular file; a sidecar only next
 * to the backup or segment it vouches for. */
static int archive_getattr(struct dumpfs *fs, const char *name, struct stat *st)
{
	char path[PATH_MAX], backup[PATH_MAX];
	struct stat bst;
	size_t len = strlen(name);

	if (is_sidecar(name, len)) {
		len -= sizeof(ARCHIVE_SIDECAR_SUFFIX) - 1;
		if (len >= sizeof(backup))
			return -ENOENT;
		memcpy(backup, name, len);
		backup[len] = '\0';
		if (tree_archive_path(fs, backup, path, sizeof(path)) || lstat(path, &bst) < 0 ||
		    !S_ISREG(bst.st_mode))
			return -ENOENT;
	}
	if (tree_archive_path(fs, name, path, sizeof(path)))
		return -ENOENT;
	if (lstat(path, st) < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	if (!S_ISREG(st->st_mode))
		return -ENOENT;
	tree_archive_attr(st);
	return 0;
}

static int scan(struct dumpfs *fs, struct archive_list *l)
{
	struct errbuf err;
	int ret;

	errbuf_clear(&err);
	ret = archive_scan(l, fs->cfg->archive.dir, fs->cfg->archive.prefix, &err);
	if (ret)
		logger_log(fs->lg, LOGL_WARN, "archive_unreadable", "error=\"%s\"", err.msg);
	return ret;
}

/* The newest complete backup (what latest.sql.gz.gpg points to), copied
 * into *out; -ENOENT when there is none. */
static int newest_backup(struct dumpfs *fs, struct archive_entry *out)
{
	struct archive_list l = ARCHIVE_LIST_INIT;
	const struct archive_entry *e;
	int ret = scan(fs, &l);

	if (ret)
		return ret;
	e = archive_newest(&l);
	if (e)
		*out = *e;
	archive_list_release(&l);
	return e ? 0 : -ENOENT;
}

static int latest_getattr(struct dumpfs *fs, struct stat *st)
{
	struct archive_entry e;
	int ret = newest_backup(fs, &e);

	if (ret)
		return ret;
	base_attr(fs, st, S_IFLNK | 0777);
	st->st_size = (off_t)strlen(e.name);
	st->st_mtim = st->st_ctim = st->st_atim = e.mtime;
	return 0;
}

static int dir_getattr(struct dumpfs *fs, const struct node *n, struct stat *st)
{
	char path[PATH_MAX];
	struct stat real;

	base_attr(fs, st, S_IFDIR | 0555);
	st->st_nlink = n->kind == NODE_ROOT ? 5 : n->kind == NODE_SNAPSHOT_DIR ? 3 : 2;
	if (n->kind == NODE_ARCHIVE_DIR && fs->cfg->binlog.enabled)
		st->st_nlink = 3;
	st->st_size = 4096;
	if (n->kind == NODE_DATABASES_DIR) {
		/* Listing it asks the server: for those who may read the
		 * snapshots (owner and [fs] group), as the files are. */
		st->st_mode = S_IFDIR | 0550;
		st->st_gid = fs->cfg->fs.group;
	}
	if ((n->kind == NODE_ARCHIVE_DIR && stat(fs->cfg->archive.dir, &real) == 0) ||
	    (n->kind == NODE_BINLOG_DIR && !tree_archive_path(fs, binlog_dir, path, sizeof(path)) &&
	     stat(path, &real) == 0)) {
		st->st_mtim = real.st_mtim;
		st->st_ctim = real.st_ctim;
		st->st_atim = real.st_atim;
	}
	return 0;
}

int tree_getattr(struct dumpfs *fs, const struct node *n, struct stat *st)
{
	struct strbuf sb = STRBUF_INIT;
	int ret;

	switch (n->kind) {
	case NODE_SNAPSHOT:
		ret = n->database[0] ? dbsnap_exists(fs, n->database) : 0;
		if (!ret)
			tree_snapshot_attr(fs, st, 0);
		return ret;
	case NODE_STATUS:
		ret = tree_status_render(fs, n->status, &sb);
		if (!ret)
			tree_file_attr(fs, st, (off_t)sb.len);
		strbuf_release(&sb);
		return ret;
	case NODE_ARCHIVE:
	case NODE_BINLOG:
		return archive_getattr(fs, n->name, st);
	case NODE_LATEST:
		return latest_getattr(fs, st);
	default:
		return dir_getattr(fs, n, st);
	}
}

static int list_archive(struct dumpfs *fs, tree_add_fn add, void *arg)
{
	struct archive_list l = ARCHIVE_LIST_INIT;
	char side[ARCHIVE_NAME_MAX];
	int ret = scan(fs, &l);

	for (size_t i = 0; !ret && i < l.n; i++) {
		ret = add(arg, l.v[i].name, S_IFREG);
		if (!ret && l.v[i].has_sidecar &&
		    !archive_sidecar_name(side, sizeof(side), l.v[i].name))
			ret = add(arg, side, S_IFREG);
	}
	if (!ret && l.n)
		ret = add(arg, ARCHIVE_LATEST_NAME, S_IFLNK);
	if (!ret && fs->cfg->binlog.enabled)
		ret = add(arg, binlog_dir, S_IFDIR);
	archive_list_release(&l);
	return ret;
}

/* True when `name` in the open directory is a regular file (lstat). */
static bool regular_at(DIR *d, const char *name)
{
	struct stat st;

	return fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

/* archive/binlog: the segments of our prefix, each with its sidecar when
 * there is one; nothing (no error) while the directory does not exist. */
static int list_binlog(struct dumpfs *fs, tree_add_fn add, void *arg)
{
	char path[PATH_MAX], side[NAME_MAX + 1];
	struct dirent *de;
	int ret = tree_archive_path(fs, binlog_dir, path, sizeof(path));
	/* never through a symlink: the directory is the archive's own */
	int fd = ret ? -1 : open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);

	if (!d) {
		if (fd >= 0)
			close(fd);
		if (ret || errno == ENOENT)
			return ret;
		ret = -errno;
		logger_log(fs->lg, LOGL_WARN, "archive_unreadable",
			   "error=\"cannot read '%s': %s\"", path, strerror(-ret));
		return ret;
	}
	while (!ret && (errno = 0, de = readdir(d))) {
		if (is_sidecar(de->d_name, strlen(de->d_name)) || !binlog_name(fs, de->d_name) ||
		    !regular_at(d, de->d_name))
			continue;
		ret = add(arg, de->d_name, S_IFREG);
		if (!ret &&
		    (size_t)snprintf(side, sizeof(side), "%s%s", de->d_name,
				     ARCHIVE_SIDECAR_SUFFIX) < sizeof(side) &&
		    regular_at(d, side))
			ret = add(arg, side, S_IFREG);
	}
	if (!ret && errno)
		ret = -errno;
	closedir(d);
	return ret;
}

struct db_add {
	tree_add_fn add;
	void *arg;
};

static int add_db_file(void *p, const char *file)
{
	struct db_add *a = p;

	return a->add(a->arg, file, S_IFREG);
}

int tree_readdir(struct dumpfs *fs, const struct node *n, tree_add_fn add, void *arg)
{
	struct db_add dba = {add, arg};

	int ret = add(arg, ".", S_IFDIR);

	if (!ret)
		ret = add(arg, "..", S_IFDIR);
	switch (n->kind) {
	case NODE_ROOT:
		if (!ret)
			ret = add(arg, snapshot_dir, S_IFDIR);
		if (!ret)
			ret = add(arg, archive_dir, S_IFDIR);
		if (!ret)
			ret = add(arg, status_dir, S_IFDIR);
		return ret;
	case NODE_SNAPSHOT_DIR:
		if (!ret)
			ret = add(arg, TREE_SNAPSHOT_NAME, S_IFREG);
		return ret ? ret : add(arg, DBSNAP_DIR_NAME, S_IFDIR);
	case NODE_DATABASES_DIR:
		return ret ? ret : dbsnap_list(fs, add_db_file, &dba);
	case NODE_STATUS_DIR:
		for (int f = 0; !ret && f < STATUS_NFILES; f++)
			ret = add(arg, status_file_name((enum status_file)f), S_IFREG);
		return ret;
	case NODE_ARCHIVE_DIR:
		return ret ? ret : list_archive(fs, add, arg);
	case NODE_BINLOG_DIR:
		return ret ? ret : list_binlog(fs, add, arg);
	default:
		return -ENOTDIR;
	}
}

int tree_readlink(struct dumpfs *fs, char *buf, size_t size)
{
	struct archive_entry e;
	int ret = newest_backup(fs, &e);

	if (!ret && size)
		snprintf(buf, size, "%s", e.name); /* FUSE: truncate is fine */
	return ret;
}

static unsigned readers_now(struct dumpfs *fs)
{
	unsigned n;

	mutex_lock(&fs->lock);
	n = fs->readers;
	mutex_unlock(&fs->lock);
	return n;
}

int tree_status_render(struct dumpfs *fs, enum status_file f, struct strbuf *out)
{
	struct archive_list l = ARCHIVE_LIST_INIT;
	struct retention_rules rules;
	struct binlog_report binlog;
	char bdir[4096];
	struct run_state st;
	struct status_input in;
	struct errbuf err, dir_err;
	int ret;

	strbuf_reset(out);
	/* An unreadable archive dir is what status/ must show (CRITICAL,
	 * dumpfs_up 0), not a read error of the status files. */
	errbuf_clear(&dir_err);
	if (archive_scan(&l, fs->cfg->archive.dir, fs->cfg->archive.prefix, &dir_err))
		logger_log(fs->lg, LOGL_WARN, "archive_unreadable", "error=\"%s\"", dir_err.msg);
	errbuf_clear(&err);
	if (state_read(&st, fs->cfg->archive.dir, &err))
		logger_log(fs->lg, LOGL_WARN, "state_unreadable", "error=\"%s\"", err.msg);
	jobopts_retention(&rules, fs->cfg);
	memset(&binlog, 0, sizeof(binlog));
	if (fs->cfg->binlog.enabled && jobopts_binlog_dir(bdir, sizeof(bdir), fs->cfg, false, &err))
		snprintf(binlog.error, sizeof(binlog.error), "%s", err.msg);
	else if (fs->cfg->binlog.enabled)
		binlog_report_read(&binlog, bdir, fs->cfg->archive.prefix,
				   fs->cfg->binlog.max_lag_seconds);
	in = (struct status_input){
		.archives = &l,
		.state = &st,
		.now = time(NULL),
		.max_age_hours = fs->cfg->archive.max_age_hours,
		.next_run = fs->sched ? scheduler_next_run(fs->sched) : (time_t)-1,
		.key_fingerprint = fs->key_info.fingerprint,
		.key_expires = fs->key_info.expires,
		.key_fingerprints = fs->key_fprs,
		.n_key_fingerprints = fs->n_keys,
		.snapshot_readers = readers_now(fs),
		.max_snapshot_readers = fs->cfg->fs.max_snapshot_readers,
		.version = NULL,
		.archive_error = dir_err.msg[0] ? dir_err.msg : NULL,
		.retention = &rules,
		.binlog = fs->cfg->binlog.enabled ? &binlog : NULL,
	};
	ret = status_render(f, &in, out);
	archive_list_release(&l);
	return ret;
}
