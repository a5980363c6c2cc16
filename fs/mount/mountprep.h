/* Before and after a mount: what must hold before fuse_mount() (a usable
 * archive dir, the [fs] group, a mount point that is free) and what a
 * crash left behind.  Used by cmd_mount.c only; no FUSE here. */
#ifndef FS_MOUNTPREP_H
#define FS_MOUNTPREP_H

#include <stdbool.h>

#include "../../dumper/errbuf.h"
#include "../../dumper/log.h"
#include "../config/config.h"

/* Replaces cfg->archive.dir by its absolute path (fuse_daemonize changes
 * to "/") after checking the mount can read it, and write it when it
 * will (scheduled backups, spool mode). */
int mountprep_archive_dir(struct config *cfg, struct errbuf *err);

/* Checks now that files can be given to [fs] group (scheduled backups). */
int mountprep_group(const struct config *cfg, struct errbuf *err);

/* Removes what a crash left: backup temporaries (when no backup runs),
 * spool files nobody holds; when `starting`, also the GnuPG homes of
 * killed processes and an interrupted state save, and reports backups
 * without a sidecar.  Problems are logged, never fatal. */
void mountprep_clean_temps(const struct config *cfg, struct logger *lg, bool starting);

/* Detaches a stale mount left by a killed daemon, resolves `mnt` into
 * *abs (malloc'd, the caller frees it, also on failure) and refuses a
 * mount point that is not a directory or already has a dumpfs on it. */
int mountprep_mountpoint(const char *mnt, char **abs, struct logger *lg, struct errbuf *err);

#endif
