/* Short FUSE operations over tree.c (what a path is), snapshot.c (a dump
 * per open) and the real archive files.  Every write-type operation
 * fails with EROFS; the mount is also mounted "ro". */
#include "fuse_ops.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "dbsnap.h"
#include "mountctx.h"
#include "snapshot.h"
#include "tree.h"
#include "../../dumper/thread.h"

/* What an open file is (fi->fh); on fs->handles until released, so the
 * ones the kernel never releases (open at unmount) are freed too. */
struct handle {
	struct handle *next, **pprev; /* under fs->lock */
	enum node_kind kind;
	int fd;		       /* NODE_ARCHIVE, NODE_BINLOG: the real file */
	struct snapshot *snap; /* NODE_SNAPSHOT */
	struct strbuf text;    /* NODE_STATUS: the content made at open */
};

static struct dumpfs *ctx(void)
{
	return fuse_get_context()->private_data;
}

static struct handle *handle_of(const struct fuse_file_info *fi)
{
	return fi ? (struct handle *)(uintptr_t)fi->fh : NULL;
}

/* Internal results (0, a byte count, or a negative errno code from any
 * layer) as what FUSE may return: only real errno values go out. */
static int fs_errno(long rc)
{
	if (rc >= 0)
		return rc > INT_MAX ? INT_MAX : (int)rc;
	switch (rc) {
	case -ECANCELED: /* a stopped dump */
	case -ESHUTDOWN: /* unmounting */
		return -EIO;
	default:
		return rc > -4096 ? (int)rc : -EIO;
	}
}

/* The process (thread group) of the thread FUSE names as the caller. */
static pid_t caller_process(void)
{
	pid_t tid = fuse_get_context()->pid, tgid = 0;
	char path[64], line[128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return tid;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid > 0 ? tgid : tid;
}

/* Spool mode: fstat() on an open snapshot must give the spool's size, but
 * the kernel sends it as a stat by path; only the caller (and the path)
 * tell which spool it is about. */
static void snapshot_spool_attr(const struct node *n, struct stat *st)
{
	struct dumpfs *fs = ctx();
	uint64_t size = 0;

	if (fs->cfg->fs.snapshot_mode == SNAPSHOT_SPOOL &&
	    snapshot_spool_size(fs, caller_process(), n->database, &size))
		tree_snapshot_attr(fs, st, (off_t)size);
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);
	struct node n;
	int ret;

	if (h) {
		switch (h->kind) {
		case NODE_SNAPSHOT:
			tree_snapshot_attr(ctx(), st, (off_t)snapshot_size(h->snap));
			return 0;
		case NODE_STATUS:
			tree_file_attr(ctx(), st, (off_t)h->text.len);
			return 0;
		case NODE_ARCHIVE:
		case NODE_BINLOG:
			if (fstat(h->fd, st) < 0)
				return -errno;
			tree_archive_attr(st);
			return 0;
		default:
			break;
		}
	}
	ret = tree_resolve(ctx(), path, &n);
	if (!ret)
		ret = tree_getattr(ctx(), &n, st);
	if (!ret && n.kind == NODE_SNAPSHOT)
		snapshot_spool_attr(&n, st);
	return fs_errno(ret);
}

static int op_readlink(const char *path, char *buf, size_t size)
{
	struct node n;
	int ret = tree_resolve(ctx(), path, &n);

	if (!ret && n.kind != NODE_LATEST)
		ret = -EINVAL;
	if (!ret)
		ret = tree_readlink(ctx(), buf, size);
	return fs_errno(ret);
}

struct fill {
	void *buf;
	fuse_fill_dir_t filler;
};

static int add_entry(void *arg, const char *name, mode_t mode)
{
	struct fill *f = arg;
	struct stat st = {.st_mode = mode};

	return f->filler(f->buf, name, &st, 0, 0) ? -ENOBUFS : 0;
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct fill f = {buf, filler};
	struct node n;
	int ret = tree_resolve(ctx(), path, &n);

	(void)off;
	(void)fi;
	(void)flags;
	if (!ret)
		ret = tree_readdir(ctx(), &n, add_entry, &f);
	return fs_errno(ret == -ENOBUFS ? 0 : ret);
}

/* The process whose open() this thread serves was killed or gave up
 * (the kernel sent FUSE_INTERRUPT). */
static bool caller_gave_up(void)
{
	return fuse_interrupted() != 0;
}

static int open_snapshot(struct handle *h, const struct node *n, struct fuse_file_info *fi)
{
	struct dumpfs *fs = ctx();
	struct errbuf err;
	int ret;

	/* A databases/ file: only a listed database (it may be gone since
	 * the lookup). */
	if (n->database[0]) {
		ret = dbsnap_exists(fs, n->database);
		if (ret)
			return ret;
	}
	errbuf_clear(&err);
	ret = snapshot_open(&h->snap, fs, n->database, caller_process(), caller_gave_up, &err);
	if (ret == -EBUSY)
		logger_log(fs->lg, LOGL_WARN, "snapshot_busy", "error=\"%s\"", err.msg);
	else if (ret && ret != -ESHUTDOWN && ret != -EINTR && err.msg[0])
		logger_log(fs->lg, LOGL_ERROR, "snapshot_open_failed", "error=\"%s\"", err.msg);
	if (ret)
		return ret;
	/* Stream: sequential, size unknown, no page cache.  Spool: the
	 * size is only known to fstat on this handle, so the page cache
	 * (which trusts the inode's size 0) must stay out too. */
	fi->direct_io = 1;
	fi->nonseekable = snapshot_size(h->snap) == 0;
	return 0;
}

/* A real file: `name` under the archive dir (a backup, a binlog segment
 * or a sidecar). */
static int open_archive(struct handle *h, const char *name, struct fuse_file_info *fi)
{
	char path[PATH_MAX];
	struct stat st;

	if (tree_archive_path(ctx(), name, path, sizeof(path)))
		return -ENOENT;
	h->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (h->fd < 0)
		return -errno;
	if (fstat(h->fd, &st) < 0 || !S_ISREG(st.st_mode))
		return -ENOENT;
	/* Copies read whole files front to back: a larger read-ahead on the
	 * real file keeps the disk busy while FUSE round-trips.  Advice only. */
	(void)posix_fadvise(h->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	fi->keep_cache = 1; /* backups and segments never change once listed */
	return 0;
}

static int open_node(struct handle *h, const struct node *n, struct fuse_file_info *fi)
{
	int ret;

	switch (n->kind) {
	case NODE_SNAPSHOT:
		return open_snapshot(h, n, fi);
	case NODE_STATUS:
		ret = tree_status_render(ctx(), n->status, &h->text);
		fi->direct_io = 1; /* the content changes; its size too */
		return ret;
	case NODE_ARCHIVE:
	case NODE_BINLOG:
		return open_archive(h, n->name, fi);
	case NODE_LATEST: /* the kernel follows the link itself */
		return -ELOOP;
	default:
		return -EISDIR;
	}
}

static void handle_enlist(struct dumpfs *fs, struct handle *h)
{
	mutex_lock(&fs->lock);
	h->next = fs->handles;
	if (h->next)
		h->next->pprev = &h->next;
	h->pprev = &fs->handles;
	fs->handles = h;
	mutex_unlock(&fs->lock);
}

static void handle_free(struct dumpfs *fs, struct handle *h)
{
	if (!h)
		return;
	mutex_lock(&fs->lock);
	if (h->pprev) {
		*h->pprev = h->next;
		if (h->next)
			h->next->pprev = h->pprev;
	}
	mutex_unlock(&fs->lock);
	if (h->fd >= 0)
		close(h->fd);
	snapshot_close(h->snap);
	strbuf_release(&h->text);
	free(h);
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
	struct handle *h;
	struct node n;
	int ret;

	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
		return -EROFS;
	ret = tree_resolve(ctx(), path, &n);
	if (ret)
		return fs_errno(ret);
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->kind = n.kind;
	h->fd = -1;
	strbuf_init(&h->text);
	ret = open_node(h, &n, fi);
	if (ret) {
		handle_free(ctx(), h);
		return fs_errno(ret);
	}
	handle_enlist(ctx(), h);
	fi->fh = (uint64_t)(uintptr_t)h;
	return 0;
}

static int read_mem(struct handle *h, char *buf, size_t size, off_t off)
{
	if (h->kind == NODE_SNAPSHOT)
		return fs_errno(snapshot_read(h->snap, buf, size, off));
	if (h->kind != NODE_STATUS)
		return -EIO;
	if (off < 0 || (size_t)off >= h->text.len)
		return 0;
	if (size > h->text.len - (size_t)off)
		size = h->text.len - (size_t)off;
	memcpy(buf, h->text.buf + off, size);
	return (int)size;
}

/* Archive and binlog files are handed to libfuse as (fd, offset), so it
 * can splice them to the kernel without a copy; the rest is made in
 * memory. */
static int op_read_buf(const char *path, struct fuse_bufvec **bufp, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);
	struct fuse_bufvec *bv = malloc(sizeof(*bv));
	int n;

	(void)path;
	if (!bv)
		return -ENOMEM;
	*bv = FUSE_BUFVEC_INIT(size);
	if (h->kind == NODE_ARCHIVE || h->kind == NODE_BINLOG) {
		bv->buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		bv->buf[0].fd = h->fd;
		bv->buf[0].pos = off;
		*bufp = bv;
		return 0;
	}
	bv->buf[0].mem = malloc(size ? size : 1);
	if (!bv->buf[0].mem) {
		free(bv);
		return -ENOMEM;
	}
	n = read_mem(h, bv->buf[0].mem, size, off);
	if (n < 0) {
		free(bv->buf[0].mem);
		free(bv);
		return n;
	}
	bv->buf[0].size = (size_t)n;
	*bufp = bv;
	return 0;
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	handle_free(ctx(), handle_of(fi));
	return 0;
}

void fuse_ops_close_all(struct dumpfs *fs)
{
	struct handle *h;

	for (;;) {
		mutex_lock(&fs->lock);
		h = fs->handles;
		mutex_unlock(&fs->lock);
		if (!h)
			break;
		handle_free(fs, h);
	}
}

static int op_statfs(const char *path, struct statvfs *sv)
{
	(void)path;
	/* df shows the archive's file system. */
	if (statvfs(ctx()->cfg->archive.dir, sv) < 0)
		return -errno;
	sv->f_flag |= ST_RDONLY;
	return 0;
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	/* status/ must show exact sizes at every stat, and the archive
	 * listing changes under us: the kernel caches no attributes, no
	 * entries, no negative entries. */
	cfg->attr_timeout = 0;
	cfg->entry_timeout = 0;
	cfg->negative_timeout = 0;
	cfg->use_ino = 0;
	cfg->kernel_cache = 0;
	cfg->direct_io = 0;
	/* A large O_DIRECT read would reach us as several concurrent
	 * requests; one at a time keeps the snapshot stream simple (the
	 * ordered reads of snapbuf.h still guard against the rest). */
	conn->want &= ~FUSE_CAP_ASYNC_DIO;
	/* Archive files never change: no GETATTR before every read. */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE;
	return fuse_get_context()->private_data;
}

/* The mount is read-only: every operation that would change it. */
static int ro_path(const char *path)
{
	(void)path;
	return -EROFS;
}

static int ro_mode(const char *path, mode_t mode)
{
	(void)mode;
	return ro_path(path);
}

static int ro_two(const char *from, const char *to)
{
	(void)to;
	return ro_path(from);
}

static int ro_mknod(const char *path, mode_t mode, dev_t dev)
{
	(void)dev;
	return ro_mode(path, mode);
}

static int ro_rename(const char *from, const char *to, unsigned flags)
{
	(void)flags;
	return ro_two(from, to);
}

static int ro_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	(void)fi;
	return ro_mode(path, mode);
}

static int ro_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	(void)uid;
	(void)gid;
	(void)fi;
	return ro_path(path);
}

static int ro_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	(void)size;
	(void)fi;
	return ro_path(path);
}

static int ro_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	(void)buf;
	(void)size;
	(void)off;
	(void)fi;
	return ro_path(path);
}

static int ro_setxattr(const char *path, const char *name, const char *value, size_t size,
		       int flags)
{
	(void)name;
	(void)value;
	(void)size;
	(void)flags;
	return ro_path(path);
}

static int ro_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	(void)fi;
	return ro_mode(path, mode);
}

static int ro_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	(void)tv;
	(void)fi;
	return ro_path(path);
}

static int ro_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi)
{
	(void)mode;
	(void)off;
	(void)len;
	(void)fi;
	return ro_path(path);
}

const struct fuse_operations dumpfs_fuse_ops = {
	.init = op_init,
	.getattr = op_getattr,
	.readlink = op_readlink,
	.readdir = op_readdir,
	.open = op_open,
	.read_buf = op_read_buf,
	.release = op_release,
	.statfs = op_statfs,
	.mknod = ro_mknod,
	.mkdir = ro_mode,
	.unlink = ro_path,
	.rmdir = ro_path,
	.symlink = ro_two,
	.rename = ro_rename,
	.link = ro_two,
	.chmod = ro_chmod,
	.chown = ro_chown,
	.truncate = ro_truncate,
	.write = ro_write,
	.setxattr = ro_setxattr,
	.removexattr = ro_two,
	.create = ro_create,
	.utimens = ro_utimens,
	.fallocate = ro_fallocate,
};
