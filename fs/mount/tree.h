/* The mounted tree (docs/tree.md): which path is what, its attributes,
 * directory listings and the status files' content.  Nothing here opens
 * a snapshot: stat, ls, find and du only ever reach these functions.
 */
#ifndef FS_TREE_H
#define FS_TREE_H

#include <limits.h>
#include <stddef.h>
#include <sys/stat.h>

#include "../../dumper/status.h"
#include "../../dumper/strbuf.h"
#include "mountctx.h"

#define TREE_SNAPSHOT_NAME "now.sql.gz.gpg"

enum node_kind {
	NODE_ROOT,
	NODE_SNAPSHOT_DIR,
	NODE_ARCHIVE_DIR,
	NODE_STATUS_DIR,
	NODE_DATABASES_DIR, /* snapshot/databases */
	NODE_SNAPSHOT,	    /* snapshot/now.sql.gz.gpg, snapshot/databases/<db>.sql.gz.gpg */
	NODE_STATUS,	    /* status/<file> */
	NODE_ARCHIVE,	    /* archive/<backup or sidecar> */
	NODE_LATEST,	    /* archive/latest.sql.gz.gpg */
	NODE_BINLOG_DIR,    /* archive/binlog, when [binlog] enabled */
	NODE_BINLOG,	    /* archive/binlog/<segment or sidecar> */
};

struct node {
	enum node_kind kind;
	enum status_file status; /* NODE_STATUS */
	/* NODE_ARCHIVE, NODE_BINLOG: the real file's path under the archive
	 * dir ("<backup>", "binlog/<segment>"); points into the path. */
	const char *name;
	/* NODE_SNAPSHOT: the database of a databases/ file, "" for now. */
	char database[NAME_MAX + 1];
};

/* Classifies an absolute path.  -ENOENT when it cannot be in the tree;
 * an archive, binlog or databases/ name is only checked against the
 * naming pattern here (its existence is tree_getattr's business). */
int tree_resolve(struct dumpfs *fs, const char *path, struct node *n);

/* Attributes by path.  Archive and binlog files: the real file's
 * (read-only); snapshots: size 0 (a databases/ file only if the database
 * is listed, see dbsnap.h); status files: the exact size of their
 * content now. */
int tree_getattr(struct dumpfs *fs, const struct node *n, struct stat *st);
/* Our fixed attributes of a file whose content we make (status files:
 * 0444), with st_size `size`. */
void tree_file_attr(struct dumpfs *fs, struct stat *st, off_t size);
/* The snapshot's: as tree_file_attr, but mode 0440 and group [fs] group. */
void tree_snapshot_attr(struct dumpfs *fs, struct stat *st, off_t size);
/* The archive file's attributes from its real stat, made read-only. */
void tree_archive_attr(struct stat *st);

/* Lists a directory node: add(arg, name, mode) for each entry, "." and
 * ".." included; stops at the first non-zero return of add. */
typedef int (*tree_add_fn)(void *arg, const char *name, mode_t mode);
int tree_readdir(struct dumpfs *fs, const struct node *n, tree_add_fn add, void *arg);

/* The target of latest.sql.gz.gpg (the newest backup's name) into buf. */
int tree_readlink(struct dumpfs *fs, char *buf, size_t size);

/* "<archive dir>/<name>" into buf (PATH_MAX); name: a node's name. */
int tree_archive_path(struct dumpfs *fs, const char *name, char *buf, size_t size);

/* Renders status file f as of now into out (emptied first). */
int tree_status_render(struct dumpfs *fs, enum status_file f, struct strbuf *out);

#endif
