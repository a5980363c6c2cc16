/* Private temporary directories (the GnuPG homes of gpgkey.c, which
 * pgpverify.c uses too; older versions also made "v" homes; the
 * throwaway servers of tmpserver.c, kind "rehearse"):
 * "<base>/dumpfs-<kind>-<pid>-XXXXXX", mode 0700, held by a shared flock on the directory for as
 * long as it is in use.  A process killed with SIGKILL cannot remove its own; tmphome_sweep()
 * removes them later, and only them: never one whose pid is alive or whose lock is held (another
 * pid namespace sharing /tmp). */
#ifndef DUMPER_TMPHOME_H
#define DUMPER_TMPHOME_H

#include <stddef.h>

#include "errbuf.h"
#include "log.h"

/* Creates the directory under `base` into buf (len bytes); *lock_fd gets
 * the descriptor that holds it (O_CLOEXEC): close it only after removing
 * the directory.  -ENAMETOOLONG when it does not fit. */
int tmphome_make(char *buf, size_t len, const char *base, const char *kind, int *lock_fd,
		 struct errbuf *err);

/* Removes the stale homes of every kind in $TMPDIR (when set) and /tmp:
 * named as above, real directories owned by this effective uid, whose pid
 * is dead and whose lock nobody holds.  Each removal is logged
 * ("cleanup" event, reason=stale_gpg_home); returns how many.  Never
 * fails: problems are logged and skipped. */
unsigned tmphome_sweep(struct logger *lg);

#endif
