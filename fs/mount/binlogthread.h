/* The mount's binlog archive (docs/pitr.md): with [binlog] on, the
 * stream (dumper/binlog.h) runs in a thread beside the scheduler, its
 * breaks and recoveries alerted through the mount's notifier.
 */
#ifndef FS_BINLOGTHREAD_H
#define FS_BINLOGTHREAD_H

#include "../../dumper/errbuf.h"
#include "mountctx.h"

struct binlog_thread;

/* Starts the thread streaming into "<[archive] dir>/binlog" with fs's
 * config, key, logger and notifier (borrowed: they outlive the thread).
 * While another streamer (`dumpfs binlog`) holds that directory, or it
 * cannot be set up, the thread waits and tries again (logged): the mount
 * reports the other streamer's status meanwhile.  Fails only when the
 * thread cannot be made.  *out is the caller's (binlog_thread_stop). */
int binlog_thread_start(struct binlog_thread **out, struct dumpfs *fs, struct errbuf *err);
/* Makes the stream end (its read returns within the read timeout);
 * does not wait.  Any thread, idempotent, safe on NULL. */
void binlog_thread_cancel(struct binlog_thread *t);
/* Cancels, waits for the thread, frees.  Safe on NULL. */
void binlog_thread_stop(struct binlog_thread *t);

#endif
