/* The mount's binlog archive (docs/pitr.md): with [binlog] on, the
 * stream (dumper/binlog.h) runs in a thread beside the scheduler, its
 * breaks and recoveries alerted through the mount's notifier.
 */
#ifndef FS_BINLOGTHREAD_H
#define FS_BINLOGTHREAD_H

#include "../../dumper/errbuf.h"
#include "mountctx.h"

struct binlog_thread;

/* Starts streaming into "<[archive] dir>/binlog" with fs's config, key,
 * logger and notifier (borrowed; they outlive the thread).  -EBUSY, with
 * the holder named, when another streamer (`dumpfs binlog`) archives
 * there: the mount then only reports that streamer's status. */
int binlog_thread_start(struct binlog_thread **out, struct dumpfs *fs, struct errbuf *err);
/* Cancels the stream (its read returns within the read timeout), waits
 * for the thread, frees.  Safe on NULL. */
void binlog_thread_stop(struct binlog_thread *t);

#endif
