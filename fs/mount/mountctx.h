/* The mounted filesystem's context: FUSE private data (fuse_get_context()
 * ->private_data), made by cmd_mount() before fuse_new() and torn down
 * after the loop ends.  The only mutable state shared between FUSE
 * threads is below `lock`.
 */
#ifndef FS_MOUNTCTX_H
#define FS_MOUNTCTX_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "../../dumper/backup.h"
#include "../../dumper/gpgstage.h"
#include "../../dumper/log.h"
#include "../../dumper/pipeline.h"
#include "../config/config.h"

struct snapshot;
struct scheduler;
struct binlog_thread;
struct handle;
struct dumpfs;

/* Called (from the dump's worker thread) when a snapshot stream failed
 * on its own, not because its reader closed it or the filesystem is
 * being unmounted, after the failure was logged and recorded in the
 * state file.  The reader gets its EIO only once this returns, so it must
 * not block (hand the notice to a thread).  The alerts code plugs in
 * here; NULL: nothing. */
typedef void (*snapshot_failure_hook)(struct dumpfs *fs, const char *msg);

struct dumpfs {
	/* Set up once before mounting; read-only afterwards. */
	const struct config *cfg;		  /* archive.dir is an absolute path */
	struct gpg_key *key;			  /* borrowed; outlives the mount */
	struct logger *lg;			  /* borrowed */
	struct pipeline_opts dump;		  /* what every snapshot dumps */
	struct backup_opts backup;		  /* what every scheduled run does */
	struct gpg_key_info key_info;		  /* the key expiring first */
	const char *key_fprs[GPG_MAX_RECIPIENTS]; /* every recipient's, into key */
	unsigned n_keys;
	struct gpg_key_info recipients[GPG_MAX_RECIPIENTS];
	uid_t uid; /* owner shown for our own files */
	gid_t gid;
	time_t mounted_at; /* mtime of the directories */
	snapshot_failure_hook on_snapshot_failure;
	struct notifier *notifier; /* alerts; its thread runs while mounted */
	struct scheduler *sched;   /* NULL when the schedule is off */
	/* NULL when [binlog] is off; owned by the loop (cmd_mount.c serve) */
	struct binlog_thread *binlog;

	pthread_mutex_t lock;
	unsigned readers;	    /* open snapshot handles (stream or spool) */
	struct snapshot *live;	    /* list of those, for the shutdown */
	struct handle *handles;	    /* open files (fuse_ops.c) */
	bool stopping;		    /* unmounting: no new snapshot */
	unsigned snapshots_started; /* ids for log lines */
	char **db_names;	    /* the server's databases (dbsnap.c) */
	double db_names_at;	    /* when asked, CLOCK_MONOTONIC seconds */
};

/* Fills fs for cfg, key and lg (borrowed; they outlive fs) and creates
 * its notifier.  What runs in the mount (the notifier's thread, the
 * scheduler, snapshots) is started and stopped by the mount's loop
 * (cmd_mount.c), not here. */
int dumpfs_init(struct dumpfs *fs, const struct config *cfg, struct gpg_key *key, struct logger *lg,
		struct errbuf *err);
/* Undoes dumpfs_init, once, after everything started on fs has stopped:
 * frees the notifier (it delivers what is queued, bounded). */
void dumpfs_release(struct dumpfs *fs);

#endif
