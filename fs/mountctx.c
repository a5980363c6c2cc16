#include "mountctx.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "jobopts.h"
#include "scheduler.h"
#include "snapshot.h"

int dumpfs_init(struct dumpfs *fs, const struct config *cfg, struct gpg_key *key, struct logger *lg,
		struct errbuf *err)
{
	memset(fs, 0, sizeof(*fs));
	fs->cfg = cfg;
	fs->key = key;
	fs->lg = lg;
	if (jobopts_from_config(&fs->dump, cfg, key, lg))
		return error_set(err, -EINVAL, "cannot set up the dump from '%s'", cfg->path);
	jobopts_backup(&fs->backup, cfg, &fs->dump, lg);
	gpg_key_get_info(key, &fs->key_info);
	fs->uid = getuid();
	fs->gid = getgid();
	fs->mounted_at = time(NULL);
	pthread_mutex_init(&fs->lock, NULL);
	return 0;
}

void dumpfs_stop(struct dumpfs *fs)
{
	snapshot_abort_all(fs);
	if (fs->sched)
		scheduler_cancel(fs->sched);
}

void dumpfs_release(struct dumpfs *fs)
{
	if (fs->released)
		return;
	fs->released = true;
	snapshot_close_all(fs);
	scheduler_stop(fs->sched);
	fs->sched = NULL;
	pthread_mutex_destroy(&fs->lock);
}
