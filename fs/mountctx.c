#include "mountctx.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "alerts.h"
#include "jobopts.h"

/* Hands the failure to the notifier's thread: never blocks the reader. */
static void notify_snapshot_failure(struct dumpfs *fs, const char *msg)
{
	notifier_snapshot_failed(fs->notifier, msg);
}

int dumpfs_init(struct dumpfs *fs, const struct config *cfg, struct gpg_key *key, struct logger *lg,
		struct errbuf *err)
{
	int ret;

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
	ret = alerts_new(&fs->notifier, cfg, lg, err);
	if (ret)
		return ret;
	notifier_set_key(fs->notifier, &fs->key_info);
	fs->on_snapshot_failure = notify_snapshot_failure;
	pthread_mutex_init(&fs->lock, NULL);
	return 0;
}

void dumpfs_release(struct dumpfs *fs)
{
	notifier_free(fs->notifier); /* delivers what is queued, bounded */
	fs->notifier = NULL;
	pthread_mutex_destroy(&fs->lock);
}
