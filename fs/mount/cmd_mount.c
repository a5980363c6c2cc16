/* dumpfs CONFIG MOUNTPOINT [-f] [-o OPT,...]   (also: dumpfs mount ...)
 *
 * Everything that can fail for a reason the user must fix (config, key,
 * archive dir, options) is checked before mounting, so an error mounts
 * nothing.  Then: mount, daemonize unless -f, run the archive schedule
 * and the multi-threaded FUSE loop until SIGTERM/SIGINT or an unmount;
 * running dumps are aborted, temporaries removed, exit 0.
 */
#include <errno.h>
#include <fuse.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../dumper/notify.h"
#include "../cli/cmd.h"
#include "../cli/cmdutil.h"
#include "binlogthread.h"
#include "dbsnap.h"
#include "fuse_ops.h"
#include "fuseloop.h"
#include "../config/jobopts.h"
#include "mountctx.h"
#include "mountprep.h"
#include "scheduler.h"
#include "snapshot.h"
#include "../../dumper/thread.h"

/* ---- options ---------------------------------------------------------- */

struct mount_args {
	char *config;	  /* first non-option argument */
	char *mountpoint; /* second */
	int foreground;
	int help;
	int bad; /* an extra argument was seen */
};

enum { KEY_HELP, KEY_FOREGROUND, KEY_DEBUG };

/* Also what mount(8) and mount.fuse3 pass: options that only mean
 * something to them are dropped; rw/ro too, since the mount is always
 * read-only.  Everything else goes to libfuse, which refuses what it
 * does not know, before anything is mounted. */
static const struct fuse_opt mount_opts[] = {
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-f", KEY_FOREGROUND),
	FUSE_OPT_KEY("-d", KEY_DEBUG),
	FUSE_OPT_KEY("debug", KEY_DEBUG),
	FUSE_OPT_KEY("-s", FUSE_OPT_KEY_DISCARD),  /* mount(8): sloppy */
	FUSE_OPT_KEY("-n", FUSE_OPT_KEY_DISCARD),  /* mount(8): no mtab */
	FUSE_OPT_KEY("-v", FUSE_OPT_KEY_DISCARD),  /* mount(8): verbose */
	FUSE_OPT_KEY("-t ", FUSE_OPT_KEY_DISCARD), /* mount(8): the type */
	FUSE_OPT_KEY("rw", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("ro", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("defaults", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("auto", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("noauto", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("user", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nouser", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("users", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("owner", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("_netdev", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nofail", FUSE_OPT_KEY_DISCARD),
	/* Generic mount(8) flags libfuse 3.14 does not know; meaningless on
	 * a read-only file system whose files we make. */
	FUSE_OPT_KEY("relatime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("norelatime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("strictatime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nostrictatime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("lazytime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nolazytime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("diratime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nodiratime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("iversion", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("noiversion", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("mand", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nomand", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("silent", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("loud", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_END,
};

static int opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct mount_args *a = data;
	char **slot;

	(void)outargs;
	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		slot = !a->config ? &a->config : !a->mountpoint ? &a->mountpoint : NULL;
		if (!slot) {
			fprintf(stderr, "dumpfs: unexpected argument '%s'\n", arg);
			a->bad = 1;
			return 0;
		}
		*slot = strdup(arg);
		return *slot ? 0 : -1;
	case FUSE_OPT_KEY_OPT:
		/* fstab-only options (x-systemd.*, comment=...). */
		return strncmp(arg, "x-", 2) && strncmp(arg, "comment=", 8);
	case KEY_HELP:
		a->help = 1;
		return 0;
	case KEY_FOREGROUND:
		a->foreground = 1;
		return 0;
	case KEY_DEBUG:
		a->foreground = 1;
		return 1; /* libfuse's debug output too */
	default:
		return 1;
	}
}

static void usage(FILE *out)
{
	fprintf(out, "usage: dumpfs CONFIG MOUNTPOINT [-f] [-d] [-o OPT[,OPT...]]\n"
		     "       dumpfs mount CONFIG MOUNTPOINT [-f] [-d] [-o ...]\n"
		     "       mount -t fuse.dumpfs CONFIG MOUNTPOINT [-o ...]\n"
		     "\n"
		     "  -f         stay in the foreground (logs go to stderr)\n"
		     "  -d         foreground with FUSE debug output\n"
		     "  -o OPT     FUSE mount options (allow_other, ...); the mount\n"
		     "             is always read-only\n");
}

/* The mount options we always add, in front of the user's: read-only,
 * permissions checked by the kernel, "fuse.dumpfs" with the config as
 * its source in /proc/mounts. */
static int add_our_options(struct fuse_args *args, const char *config)
{
	char *fsname = NULL, *opts = NULL;
	int ret = -1;

	if (asprintf(&fsname, "fsname=%s", config) < 0)
		return -1;
	if (!fuse_opt_add_opt(&opts, "ro,default_permissions,subtype=dumpfs") &&
	    !fuse_opt_add_opt_escaped(&opts, fsname) && !fuse_opt_insert_arg(args, 1, "-o") &&
	    !fuse_opt_insert_arg(args, 2, opts))
		ret = 0;
	free(fsname);
	free(opts);
	return ret;
}

static int parse_args(struct fuse_args *args, struct mount_args *a)
{
	memset(a, 0, sizeof(*a));
	if (fuse_opt_parse(args, a, mount_opts, opt_proc) < 0 || a->bad)
		return -1;
	if (a->help) {
		usage(stdout);
		return 1;
	}
	if (!a->config || !a->mountpoint) {
		usage(stderr);
		return -1;
	}
	return add_our_options(args, a->config) ? -1 : 0;
}

/* Aborts every running snapshot and scheduled backup and refuses new
 * snapshots; does not wait (the signal watcher, and after the loop). */
static void stop_all(struct dumpfs *fs)
{
	snapshot_abort_all(fs);
	if (fs->sched)
		scheduler_cancel(fs->sched);
	binlog_thread_cancel(fs->binlog);
}

/* ---- signals ---------------------------------------------------------- */

/* A signal handler's only way out: a pipe to the watcher thread, and
 * libfuse's own handlers (they end the FUSE loop) to chain to.  Set
 * before the handlers are installed, reset after they are removed. */
static volatile sig_atomic_t sig_pipe_wr = -1;
static struct sigaction sig_fuse_old[3]; /* SIGTERM, SIGINT, SIGHUP */
static const int sig_watched[3] = {SIGTERM, SIGINT, SIGHUP};

static void on_signal(int sig)
{
	int saved = errno;
	char c = sig == SIGHUP ? 'H' : 'T';

	/* A full pipe already holds a pending request. */
	if (write(sig_pipe_wr, &c, 1) < 0)
		errno = saved;
	if (sig == SIGTERM && !(sig_fuse_old[0].sa_flags & SA_SIGINFO) &&
	    sig_fuse_old[0].sa_handler != SIG_DFL && sig_fuse_old[0].sa_handler != SIG_IGN)
		sig_fuse_old[0].sa_handler(sig);
	if (sig == SIGINT && !(sig_fuse_old[1].sa_flags & SA_SIGINFO) &&
	    sig_fuse_old[1].sa_handler != SIG_DFL && sig_fuse_old[1].sa_handler != SIG_IGN)
		sig_fuse_old[1].sa_handler(sig);
	errno = saved;
}

/* Does, in a normal thread, what a handler cannot: reopen the log
 * (SIGHUP) and abort running dumps (SIGTERM/SIGINT), so the FUSE loop's
 * busy threads return and the loop can end. */
struct watcher {
	struct dumpfs *fs;
	int rfd, wfd;
	pthread_t thread;
	bool started;
	bool signalled; /* read after the thread was joined */
};

static void *watcher_main(void *arg)
{
	struct watcher *w = arg;
	struct errbuf err;
	char c;

	pthread_setname_np(pthread_self(), "dumpfs-signal");
	for (;;) {
		ssize_t n = read(w->rfd, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || c == 'Q')
			break;
		if (c == 'H') {
			errbuf_clear(&err);
			if (logger_reopen(w->fs->lg, &err))
				logger_log(w->fs->lg, LOGL_ERROR, "log_reopen", "error=\"%s\"",
					   err.msg);
			continue;
		}
		if (!w->signalled)
			logger_log(w->fs->lg, LOGL_INFO, "unmount_requested", "reason=signal");
		w->signalled = true;
		stop_all(w->fs);
	}
	return NULL;
}

static int watcher_start(struct watcher *w, struct dumpfs *fs, struct errbuf *err)
{
	int p[2], e;

	memset(w, 0, sizeof(*w));
	w->fs = fs;
	if (pipe2(p, O_CLOEXEC) < 0)
		return error_set(err, -errno, "cannot create a pipe: %s", strerror(errno));
	w->rfd = p[0];
	w->wfd = p[1];
	if (fcntl(w->wfd, F_SETFL, O_NONBLOCK) < 0) {
		e = errno;
		goto fail;
	}
	/* It takes no signal itself: the signal handler writes to its pipe. */
	e = -thread_start_nosig(&w->thread, watcher_main, w);
	if (!e) {
		w->started = true;
		return 0;
	}
fail:
	close(w->rfd);
	close(w->wfd);
	return error_set(err, -e, "cannot start the signal thread: %s", strerror(e));
}

static void watcher_stop(struct watcher *w)
{
	char q = 'Q';

	if (!w->started)
		return;
	while (write(w->wfd, &q, 1) < 0 && errno == EINTR)
		;
	thread_join(w->thread);
	close(w->rfd);
	close(w->wfd);
	w->started = false;
}

/* libfuse's handlers first (they make the loop end), then ours on top.
 * libfuse leaves a signal that was ignored at start ignored (a script's
 * `dumpfs ... &` starts with SIGINT ignored); ours would still abort the
 * dumps, and the loop would run on: half a stop.  SIGTERM and SIGINT
 * always unmount, so both get libfuse's handler. */
static int signals_install(struct watcher *w, struct fuse_session *se, struct errbuf *err)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
		return error_set(err, -errno, "sigaction: %s", strerror(errno));
	if (fuse_set_signal_handlers(se) < 0)
		return error_set(err, -EIO, "cannot install signal handlers");
	sig_pipe_wr = w->wfd;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 3; i++)
		if (sigaction(sig_watched[i], &sa, &sig_fuse_old[i]) < 0)
			return error_set(err, -errno, "sigaction: %s", strerror(errno));
	return 0;
}

static void signals_remove(struct fuse_session *se)
{
	for (int i = 0; i < 3; i++)
		sigaction(sig_watched[i], &sig_fuse_old[i], NULL);
	fuse_remove_signal_handlers(se);
	signal(SIGPIPE, SIG_IGN); /* as main() set it; libfuse reset it */
	sig_pipe_wr = -1;
}

/* ---- mounted ---------------------------------------------------------- */

static int start_scheduler(struct dumpfs *fs, struct errbuf *err)
{
	struct scheduler_opts o = {
		.schedule = &fs->cfg->archive.schedule,
		.backup = &fs->backup,
		.log = fs->lg,
		.on_run = notifier_backup_hook,
		.hook_arg = fs->notifier,
	};

	if (fs->cfg->archive.schedule.off)
		return 0;
	return scheduler_start(&fs->sched, &o, err);
}

/* [binlog] on: the stream in its thread (binlogthread.h). */
static int start_binlog(struct dumpfs *fs, struct errbuf *err)
{
	if (!fs->cfg->binlog.enabled)
		return 0;
	return binlog_thread_start(&fs->binlog, fs, err);
}

/* Runs the loop until an unmount or a signal; the exit code.  What it
 * starts (notifier thread, scheduler, watcher, snapshots) it stops. */
static int serve(struct fuse *f, struct dumpfs *fs, const char *mnt)
{
	struct fuse_session *se = fuse_get_session(f);
	struct watcher w;
	struct errbuf err;
	int rc, ret = EXIT_FAILED;

	errbuf_clear(&err);
	/* The scheduler first: the watcher may stop it from then on. */
	memset(&w, 0, sizeof(w));
	/* Alerts: queued delivery, staleness and key expiry every minute. */
	rc = notifier_start(fs->notifier, 60, &err);
	if (!rc)
		rc = start_scheduler(fs, &err);
	if (!rc)
		rc = start_binlog(fs, &err);
	if (!rc)
		rc = watcher_start(&w, fs, &err);
	if (!rc)
		rc = signals_install(&w, se, &err);
	if (rc) {
		logger_log(fs->lg, LOGL_ERROR, "mount_failed", "error=\"%s\"", err.msg);
		goto out;
	}
	logger_log(fs->lg, LOGL_INFO, "mounted", "mountpoint=\"%s\" archive=\"%s\" mode=%s pid=%ld",
		   mnt, fs->cfg->archive.dir,
		   fs->cfg->fs.snapshot_mode == SNAPSHOT_SPOOL ? "spool" : "stream",
		   (long)getpid());
	rc = fuseloop_run(f, FUSELOOP_THREADS(fs->cfg->fs.max_snapshot_readers));
	/* > 0: the signal that ended it; 0: unmounted (fusermount3 -u). */
	if (rc < 0)
		logger_log(fs->lg, LOGL_ERROR, "fuse_loop_failed", "error=\"%s\"", strerror(-rc));
	else
		ret = EXIT_OK;
out:
	/* Nothing runs in FUSE any more: stop what we started.  The watcher
	 * goes first (it may touch what is stopped below); a signal now only
	 * reaches libfuse's handler, which has nothing left to end. */
	stop_all(fs);
	sig_pipe_wr = -1;
	watcher_stop(&w);
	fuse_ops_close_all(fs);
	snapshot_close_all(fs);	   /* their spools are removed */
	scheduler_stop(fs->sched); /* a cancelled backup cleans up after itself */
	fs->sched = NULL;
	binlog_thread_stop(fs->binlog); /* an open segment is dropped, resumed next time */
	fs->binlog = NULL;
	signals_remove(se);
	return ret;
}

int cmd_mount(int argc, char **argv, struct logger *lg)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct gpg_key *key = NULL;
	struct mount_args a;
	struct config cfg;
	struct dumpfs fs;
	struct errbuf err;
	struct fuse *f;
	char *mnt = NULL;
	int ret = EXIT_FAILED, rc;

	errbuf_clear(&err);
	rc = parse_args(&args, &a);
	if (rc) {
		ret = rc > 0 ? EXIT_OK : EXIT_USAGE;
		goto out_args;
	}
	if (cmd_load_config(&cfg, a.config, lg))
		goto out_args;
	/* A daemon's stderr is /dev/null: without [log] file or syslog its
	 * lines (a stale mount, failed dumps) would be lost. */
	if (!a.foreground && !cfg.log.file && !cfg.log.syslog)
		logger_set_syslog(lg, "dumpfs");
	if (mountprep_archive_dir(&cfg, &err) || mountprep_group(&cfg, &err) ||
	    jobopts_load_key(&key, &cfg, &err))
		goto out_error;
	mountprep_clean_temps(&cfg, lg, true);
	if (mountprep_mountpoint(a.mountpoint, &mnt, lg, &err) ||
	    dumpfs_init(&fs, &cfg, key, lg, &err))
		goto out_error;
	dbsnap_check_config(&fs);
	f = fuse_new(&args, &dumpfs_fuse_ops, sizeof(dumpfs_fuse_ops), &fs);
	if (!f) /* libfuse said why (an unknown option...) */
		goto out_fs;
	if (fuse_mount(f, mnt))
		goto out_new;
	if (fuse_daemonize(a.foreground))
		goto out_mount;
	ret = serve(f, &fs, mnt);
	mountprep_clean_temps(&cfg, lg, false);
	logger_log(lg, LOGL_INFO, "unmounted", "mountpoint=\"%s\"", mnt);
out_mount:
	fuse_unmount(f);
out_new:
	fuse_destroy(f);
out_fs:
	dbsnap_release(&fs);
	dumpfs_release(&fs);
	goto out_key;
out_error:
	cmd_error(lg, "mount", &err);
out_key:
	gpg_key_free(key);
	config_release(&cfg);
out_args:
	fuse_opt_free_args(&args);
	free(a.config);
	free(a.mountpoint);
	free(mnt);
	return ret;
}
