/* The only file built against libfuse's 3.12 API: the pool size
 * (fuse_loop_cfg_set_max_threads) cannot be set at FUSE_USE_VERSION 31,
 * whose fuse_loop_mt() runs at most 10 workers (libfuse 3.14), fewer than
 * max_snapshot_readers may hold.  Everything else stays at 31. */
#undef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312

#include "fuseloop.h"

#include <errno.h>
#include <fuse.h>

int fuseloop_run(struct fuse *f, unsigned max_threads)
{
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	int rc;

	if (!cfg)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	fuse_loop_cfg_set_max_threads(cfg, max_threads);
	rc = fuse_loop_mt(f, cfg);
	fuse_loop_cfg_destroy(cfg);
	return rc;
}
