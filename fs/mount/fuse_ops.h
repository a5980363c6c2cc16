/* The FUSE operations of the mount: one table, read-only everywhere. */
#ifndef FS_FUSE_OPS_H
#define FS_FUSE_OPS_H

#include <fuse.h>

#include "mountctx.h"

/* private_data of the fuse handle must be the struct dumpfs. */
extern const struct fuse_operations dumpfs_fuse_ops;

/* Once the FUSE loop has ended: frees the files still open (the kernel
 * sends no release after an unmount), closing their snapshots. */
void fuse_ops_close_all(struct dumpfs *fs);

#endif
