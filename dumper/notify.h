/* Alerts (docs/notifications.md): when to notify, and the notifier that sends
 * webhook JSON, alert mails and the heartbeat.
 *
 * Two layers:
 * - notify_decide(): the policy, a pure function from the facts of one
 *   trigger (a run ended, a snapshot failed, a periodic check) and the
 *   persisted "already notified" flags to the notices to send and the new
 *   flags.  No I/O, unit-tested.
 * - struct notifier: applies the policy under the state lock (state.h:
 *   stale_notified, expiry_warned_day live in "<dir>/.dumpfs-state", so a
 *   mount and a cron `dumpfs backup` never notify the same thing twice)
 *   and delivers.  Delivery never fails the caller: an undeliverable
 *   notice is logged ("notify_failed" with the channel, the URL's scheme
 *   and host only, and the reason) and dropped.  Every channel has
 *   bounded timeouts; channels are delivered in parallel, so one call
 *   blocks at most ~35 s (webhook: 15 s, retry after 2 s, 15 s; mail:
 *   30 s; heartbeat: 10 s, retry, 10 s).  With notifier_start() a
 *   background thread delivers instead and calls return at once.
 *
 * The policy:
 * - on = never: no notice at all (the heartbeat still goes out);
 * - a failed backup run, or a failed snapshot stream (not one its reader
 *   closed early): "failure", once per failure;
 * - a successful run: "recovered" when the state before the run had an
 *   error (failed run, failed snapshot, crashed run) or a notified
 *   staleness, else "success" with on = always, else nothing; the
 *   heartbeat URL is requested after every success, whatever `on` says;
 *   and "retention_skipped" (with any `on` but never) when its retention
 *   was skipped because the backups' dates cannot be trusted (a clock
 *   jump, backup.h);
 * - a failed `dumpfs rehearse` (a mismatch, or a file that would not
 *   restore): "rehearsal_failed", every time (with any `on` but never);
 * - the binlog streamer (binlog.h) reports a break once and the recovery
 *   once (it remembers which it said, in its status file): "binlog_broken"
 *   and "binlog_recovered" (with any `on` but never);
 * - the periodic check: "stale" once when the newest backup is older than
 *   max_age_hours (health CRITICAL by age; not when there is no backup at
 *   all), the flag cleared again once it is fresh (or by the next
 *   success);
 * - the key: "key_expiry" at most once per UTC day when the encryption
 *   key expires within warn_expiry_days (or has expired), checked at every
 *   trigger where the key's expiry is known.
 */
#ifndef DUMPER_NOTIFY_H
#define DUMPER_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "backup.h"
#include "errbuf.h"
#include "gpgstage.h"
#include "log.h"
#include "mail.h"
#include "state.h"

enum notify_mode { NOTIFY_MODE_FAILURE, NOTIFY_MODE_ALWAYS, NOTIFY_MODE_NEVER };

enum notify_kind {
	NOTIFY_EV_FAILURE,	     /* status "error" */
	NOTIFY_EV_SUCCESS,	     /* status "success" */
	NOTIFY_EV_RECOVERED,	     /* status "success" */
	NOTIFY_EV_STALE,	     /* status "error" */
	NOTIFY_EV_KEY_EXPIRY,	     /* status "error" */
	NOTIFY_EV_RETENTION_SKIPPED, /* status "error"; the run succeeded */
	NOTIFY_EV_REHEARSAL_FAILED,  /* status "error": `dumpfs rehearse` */
	NOTIFY_EV_BINLOG_BROKEN,     /* status "error": the binlog stream broke */
	NOTIFY_EV_BINLOG_RECOVERED,  /* status "success": ... and works again */
	NOTIFY_NKINDS
};
#define NOTIFY_BIT(kind) (1u << (kind))

/* "failure", "success", "recovered", "stale", "key_expiry",
 * "retention_skipped", "rehearsal_failed", "binlog_broken",
 * "binlog_recovered". */
const char *notify_kind_name(enum notify_kind k);
/* "error" or "success": the webhook's "status". */
const char *notify_kind_status(enum notify_kind k);

/* ---- the policy ---------------------------------------------------- */

enum notify_trigger {
	NOTIFY_RUN_OK,		 /* a backup run succeeded */
	NOTIFY_RUN_FAILED,	 /* a backup run failed */
	NOTIFY_SNAPSHOT_FAILED,	 /* a snapshot stream failed by itself */
	NOTIFY_CHECK,		 /* periodic: staleness and the key */
	NOTIFY_REHEARSAL_FAILED, /* `dumpfs rehearse` found a mismatch or failed */
	NOTIFY_BINLOG_BROKEN,	 /* the binlog stream broke (once per break) */
	NOTIFY_BINLOG_RECOVERED, /* ... and works again (once) */
};

/* What the state file remembers for the alerts. */
struct notify_flags {
	bool stale_notified;
	long expiry_warned_day; /* UTC day (time / 86400); 0 = never */
};

struct notify_facts {
	enum notify_mode mode;
	enum notify_trigger trigger;
	time_t now;
	/* NOTIFY_RUN_OK: before the run there was an error or a notified
	 * staleness (notify_had_problem() of the state read before it). */
	bool had_problem;
	/* NOTIFY_RUN_OK: retention was skipped (a clock jump). */
	bool retention_skipped;
	struct notify_flags flags; /* as persisted now */
	bool stale;		   /* NOTIFY_CHECK: older than max_age_hours */
	time_t key_expires;	   /* 0 = never, (time_t)-1 = unknown */
	unsigned warn_expiry_days; /* 0 = no warning */
};

struct notify_decision {
	unsigned events;	   /* NOTIFY_BIT()s to send */
	bool heartbeat;		   /* request the heartbeat URL */
	struct notify_flags flags; /* to persist */
	bool flags_changed;
};

void notify_decide(const struct notify_facts *f, struct notify_decision *d);
/* An error since the last success, or a notified staleness. */
bool notify_had_problem(const struct run_state *st);

/* ---- one notice ---------------------------------------------------- */

#define NOTIFY_MSG_MAX 512

struct notify_event {
	enum notify_kind kind;
	time_t when;
	char message[NOTIFY_MSG_MAX]; /* one line, never a secret */
	char file[ARCHIVE_NAME_MAX];  /* "" = unknown */
	int64_t size_bytes;	      /* -1 = unknown */
	double duration;	      /* seconds; < 0 = unknown */
	int64_t age_seconds;	      /* newest backup's age; -1 = unknown */
	time_t key_expires;	      /* 0 = never, -1 = unknown */
	char key_fingerprint[64];     /* "" = unknown */
};

/* ---- the notifier -------------------------------------------------- */

struct notify_opts {
	enum notify_mode mode;
	const char *webhook_url;   /* secret; NULL = no webhook */
	const char *heartbeat_url; /* secret; NULL = no heartbeat */
	const char *ca_file;	   /* NULL = system CAs */
	struct mail_opts mail;	   /* mail.smtp_url NULL = no mail */
	const char *mail_subject;  /* failures; NULL = the documented default */
	const char *archive_dir;   /* state flags, mail body; required */
	const char *prefix;	   /* archive prefix (staleness check) */
	unsigned max_age_hours;	   /* staleness */
	unsigned warn_expiry_days;
	struct logger *log; /* may be NULL; its tail goes into mails */
	/* Per-attempt timeouts in seconds; 0 = the defaults above. */
	unsigned http_timeout, mail_timeout;
};

struct notifier;

/* Copies the strings of `o`.  *out is the caller's (notifier_free). */
int notifier_new(struct notifier **out, const struct notify_opts *o, struct errbuf *err);
/* Stops the thread after delivering what is queued; safe on NULL. */
void notifier_free(struct notifier *n);

/* Starts the background thread: it delivers notices (calls below then
 * return at once) and runs notifier_check() every `check_seconds` (0 =
 * never).  For the mount. */
int notifier_start(struct notifier *n, unsigned check_seconds, struct errbuf *err);

/* The encryption key's fingerprint and expiry (gpg_key_get_info), so
 * checks can warn before it expires.  Any thread. */
void notifier_set_key(struct notifier *n, const struct gpg_key_info *key);

/* Around one backup run: _begin reads the state before the run (it must
 * be called before backup_run), _end applies the policy to the outcome:
 * rc 0 (res valid) or the failure `error` (its message).  -EBUSY (another
 * run holds the lock) notifies nothing: the other run does.  Any thread;
 * `run` is the caller's. */
struct notify_run {
	bool had_problem;
	bool valid; /* _begin was called */
};
void notifier_run_begin(struct notifier *n, struct notify_run *run);
void notifier_run_end(struct notifier *n, const struct notify_run *run, int rc,
		      const struct backup_result *res, const char *error);

/* The fs/mount/scheduler.h hook (scheduler_hook): notifier_run_end with the
 * state remembered from the last call or check (the scheduler has no
 * hook before a run).  `arg` is the notifier. */
void notifier_backup_hook(void *arg, int rc, const struct backup_result *res,
			  const struct errbuf *err);

/* A snapshot stream failed by itself (not closed early by its reader). */
void notifier_snapshot_failed(struct notifier *n, const char *error);

/* `dumpfs rehearse` of `file` (its name is reported) failed: `error` says
 * which table or step.  Reads and writes no state file: a rehearsal may
 * run where no archive is (the DPO's workstation). */
void notifier_rehearsal_failed(struct notifier *n, const char *file, const char *error);

/* The binlog stream broke (`broken`, `error` says why) or works again:
 * the streamer calls this once for each (binlog_alert_hook). */
void notifier_binlog(struct notifier *n, bool broken, const char *error);
/* The same as binlog_stream_opts.alert; `arg` is the notifier. */
void notifier_binlog_hook(void *arg, bool broken, const char *error);

/* Staleness of the archive dir and the key's expiry, now. */
void notifier_check(struct notifier *n, time_t now);

#endif
