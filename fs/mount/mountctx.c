#include "mountctx.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../config/alerts.h"
#include "../config/jobopts.h"
#include "../../dumper/thread.h"

/* Hands the failure to the notifier's thread: never blocks the reader. */
static void notify_snapshot_failure(struct dumpfs *fs, const char *msg)
{
	notifier_snapshot_failed(fs->notifier, msg);
}

/* Which keys can decrypt what this mount writes (public, never secret). */
static void log_recipients(const struct dumpfs *fs)
{
	char list[GPG_MAX_RECIPIENTS * 65] = "";
	size_t used = 0;

	for (unsigned i = 0; i < fs->n_keys && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? "," : "",
					 fs->key_fprs[i]);
	logger_log(fs->lg, LOGL_INFO, "encryption_keys", "count=%u fingerprints=\"%s\"", fs->n_keys,
		   list);
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
	fs->n_keys = gpg_key_count(key);
	for (unsigned i = 0; i < fs->n_keys; i++) {
		gpg_key_recipient_info(key, i, &fs->recipients[i]);
		fs->key_fprs[i] = fs->recipients[i].fingerprint;
	}
	log_recipients(fs);
	fs->uid = getuid();
	fs->gid = getgid();
	fs->mounted_at = time(NULL);
	ret = alerts_new(&fs->notifier, cfg, lg, err);
	if (ret)
		return ret;
	notifier_set_key(fs->notifier, &fs->key_info);
	fs->on_snapshot_failure = notify_snapshot_failure;
	ret = mutex_init(&fs->lock);
	if (ret) {
		notifier_free(fs->notifier);
		fs->notifier = NULL;
		return error_set(err, ret, "cannot create the mount's mutex: %s", strerror(-ret));
	}
	return 0;
}

void dumpfs_release(struct dumpfs *fs)
{
	notifier_free(fs->notifier); /* delivers what is queued, bounded */
	fs->notifier = NULL;
	mutex_destroy(&fs->lock);
}
