/* One open() of snapshot/now.sql.gz.gpg, or of one of
 * snapshot/databases/<name>.sql.gz.gpg (the same dump limited to that
 * database): its own dump.
 *
 * Stream mode: snapshot_open() starts a dump_job in a worker thread that
 * writes into a bounded buffer (snapbuf.h); snapshot_read() drains it in
 * offset order.  Spool mode: snapshot_open() runs the whole dump into a
 * spool file (spool.h) in a worker and waits for it (stopping it if the
 * opener gives up); reads come from that file.
 *
 * The dump's outcome:
 * - complete: reads end with EOF;
 * - failed on its own (server gone, disk full): reads fail with -EIO, the
 *   failure is logged, recorded as the last error in the archive dir's
 *   state (status/last_error) and passed to fs->on_snapshot_failure;
 * - stopped by snapshot_close() (the reader closed early) or
 *   the mount stopping (unmount, signal): logged as aborted, not recorded.
 *
 * At most cfg->fs.max_snapshot_readers snapshots are open at once
 * (-EBUSY past that); every open one is on fs->live until closed.
 */
#ifndef FS_SNAPSHOT_H
#define FS_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "mountctx.h"

/* The name of a stream's worker thread, and of the threads of its dump. */
#define SNAPSHOT_THREAD_NAME "dumpfs-snap"

struct snapshot;

/* `database`: NULL or "" for the configured databases (now.sql.gz.gpg),
 * else that one alone.  -EBUSY: too many readers (now and databases/
 * share the limit); -ESHUTDOWN: unmounting; else the dump could
 * not start, err says why (spool mode: -EIO with err empty when the dump
 * itself failed, which is already logged and recorded; -EINTR when
 * `interrupted`, polled while the spool runs, said the opener gave up:
 * the dump was stopped; in stream mode it is asked while a read waits).
 * `owner` is the opening process (see
 * snapshot_spool_size).  `interrupted` may be NULL.  On success *out is
 * the caller's (snapshot_close). */
int snapshot_open(struct snapshot **out, struct dumpfs *fs, const char *database, pid_t owner,
		  bool (*interrupted)(void), struct errbuf *err);
/* Bytes (a full `size` unless the dump ended), 0 at EOF, -EIO; -EINTR
 * when snapshot_open()'s `interrupted`, asked while a read waits for the
 * dump, says the reader gave up.  Safe to call from several threads at
 * once (see snapbuf.h). */
ssize_t snapshot_read(struct snapshot *s, void *buf, size_t size, off_t off);
/* The exact size in spool mode, 0 in stream mode (unknown). */
uint64_t snapshot_size(const struct snapshot *s);
/* The size of the newest complete spool of `database` (as for
 * snapshot_open) that process `owner` has open, for its fstat(): the
 * kernel does not say which open file a stat is about, only who asks.
 * False when it has none. */
bool snapshot_spool_size(struct dumpfs *fs, pid_t owner, const char *database, uint64_t *size);
/* Stops the dump if still running (its server query is killed), waits
 * for its worker, removes the spool, frees.  Not while a read runs. */
void snapshot_close(struct snapshot *s);

/* Makes every open snapshot fail now and refuses new ones (unmount).
 * Does not wait and does not free: snapshot_close() still follows. */
void snapshot_abort_all(struct dumpfs *fs);
/* Closes the snapshots still open once the FUSE loop ended (the kernel
 * sends no release after an unmount). */
void snapshot_close_all(struct dumpfs *fs);

#endif
