/* The alert policy and the notifier's triggers.  See notify.h; delivery
 * (channels, the background thread) is in notify_send.c. */
#include "notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "archive.h"
#include "notify_priv.h"
#include "status.h"
#include "timefmt.h"
#include "thread.h"

#define DAY 86400

static const char *const kind_names[NOTIFY_NKINDS] = {
	"failure",	    "success",		 "recovered",	     "stale",
	"key_expiry",	    "retention_skipped", "rehearsal_failed", "binlog_broken",
	"binlog_recovered",
};

const char *notify_kind_name(enum notify_kind k)
{
	return (unsigned)k < NOTIFY_NKINDS ? kind_names[k] : "unknown";
}

const char *notify_kind_status(enum notify_kind k)
{
	return k == NOTIFY_EV_SUCCESS || k == NOTIFY_EV_RECOVERED || k == NOTIFY_EV_BINLOG_RECOVERED
		       ? "success"
		       : "error";
}

/* ---- the policy ---- */

static bool key_warning_due(const struct notify_facts *f, long today)
{
	if (f->key_expires == 0 || f->key_expires == (time_t)-1 || !f->warn_expiry_days)
		return false;
	if ((int64_t)f->key_expires - (int64_t)f->now > (int64_t)f->warn_expiry_days * DAY)
		return false;
	return f->flags.expiry_warned_day != today;
}

void notify_decide(const struct notify_facts *f, struct notify_decision *d)
{
	long today = (long)(f->now / DAY);

	memset(d, 0, sizeof(*d));
	d->flags = f->flags;
	switch (f->trigger) {
	case NOTIFY_RUN_OK:
		d->heartbeat = true;
		if (f->had_problem || f->flags.stale_notified)
			d->events |= NOTIFY_BIT(NOTIFY_EV_RECOVERED);
		else if (f->mode == NOTIFY_MODE_ALWAYS)
			d->events |= NOTIFY_BIT(NOTIFY_EV_SUCCESS);
		if (f->retention_skipped)
			d->events |= NOTIFY_BIT(NOTIFY_EV_RETENTION_SKIPPED);
		d->flags.stale_notified = false;
		break;
	case NOTIFY_RUN_FAILED:
	case NOTIFY_SNAPSHOT_FAILED:
		d->events |= NOTIFY_BIT(NOTIFY_EV_FAILURE);
		break;
	case NOTIFY_REHEARSAL_FAILED:
		d->events |= NOTIFY_BIT(NOTIFY_EV_REHEARSAL_FAILED);
		break;
	case NOTIFY_BINLOG_BROKEN:
		d->events |= NOTIFY_BIT(NOTIFY_EV_BINLOG_BROKEN);
		break;
	case NOTIFY_BINLOG_RECOVERED:
		d->events |= NOTIFY_BIT(NOTIFY_EV_BINLOG_RECOVERED);
		break;
	case NOTIFY_CHECK:
		if (f->stale && !f->flags.stale_notified)
			d->events |= NOTIFY_BIT(NOTIFY_EV_STALE);
		d->flags.stale_notified = f->stale;
		break;
	}
	if (key_warning_due(f, today)) {
		d->events |= NOTIFY_BIT(NOTIFY_EV_KEY_EXPIRY);
		d->flags.expiry_warned_day = today;
	}
	/* Flags move on even with `never`: switching it on later must not
	 * replay old news. */
	if (f->mode == NOTIFY_MODE_NEVER)
		d->events = 0;
	d->flags_changed = d->flags.stale_notified != f->flags.stale_notified ||
			   d->flags.expiry_warned_day != f->flags.expiry_warned_day;
}

bool notify_had_problem(const struct run_state *st)
{
	return st->last_error_at != 0 || st->stale_notified;
}

/* ---- the notifier ---- */

static char *dup_opt(const char *s, bool *fail)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*fail = true;
	return d;
}

static int copy_opts(struct notifier *n, const struct notify_opts *o)
{
	bool fail = false;
	size_t nto = 0;

	n->o = *o;
	n->o.webhook_url = n->webhook_url = dup_opt(o->webhook_url, &fail);
	n->o.heartbeat_url = n->heartbeat_url = dup_opt(o->heartbeat_url, &fail);
	n->o.ca_file = n->ca_file = dup_opt(o->ca_file, &fail);
	n->o.archive_dir = n->archive_dir = dup_opt(o->archive_dir, &fail);
	n->o.prefix = n->prefix = dup_opt(o->prefix ? o->prefix : "mariadb", &fail);
	n->o.mail_subject = n->mail_subject =
		dup_opt(o->mail_subject ? o->mail_subject : NOTIFY_DEFAULT_SUBJECT, &fail);
	n->o.mail.smtp_url = n->smtp_url = dup_opt(o->mail.smtp_url, &fail);
	n->o.mail.user = n->smtp_user = dup_opt(o->mail.user, &fail);
	n->o.mail.password = n->smtp_password = dup_opt(o->mail.password, &fail);
	n->o.mail.from = n->mail_from = dup_opt(o->mail.from, &fail);
	n->o.mail.ca_file = n->ca_file;
	while (o->mail.to && o->mail.to[nto])
		nto++;
	n->mail_to = calloc(nto + 1, sizeof(*n->mail_to));
	if (!n->mail_to)
		return -ENOMEM;
	for (size_t i = 0; i < nto; i++)
		n->mail_to[i] = dup_opt(o->mail.to[i], &fail);
	n->o.mail.to = (const char *const *)n->mail_to;
	return fail ? -ENOMEM : 0;
}

/* The configured channels, checked once so a bad address is reported at
 * start rather than at the first failure. */
static int check_channels(struct notifier *n, struct errbuf *err)
{
	int ret;

	if (!n->o.archive_dir)
		return error_set(err, -EINVAL, "notify: the archive dir is required");
	if (!n->smtp_url)
		return 0;
	if (!n->mail_from) {
		char from[300];

		snprintf(from, sizeof(from), "dumpfs@%s",
			 strchr(n->host, '.') ? n->host : "localhost");
		n->mail_from = strdup(from);
		if (!n->mail_from)
			return error_set(err, -ENOMEM, "notify: out of memory");
		n->o.mail.from = n->mail_from;
	}
	ret = mail_opts_check(&n->o.mail, err);
	if (!ret && n->o.mail.tls == MAIL_TLS_OFF && n->smtp_user &&
	    strncasecmp(n->smtp_url, "smtps://", 8))
		logger_log(n->o.log, LOGL_WARN, "notify_config",
			   "note=\"smtp_tls = off with smtp_user: the SMTP password is sent "
			   "unencrypted\"");
	return ret;
}

int notifier_new(struct notifier **out, const struct notify_opts *o, struct errbuf *err)
{
	struct notifier *n = calloc(1, sizeof(*n));
	struct run_state st;
	struct errbuf e2;
	int ret;

	*out = NULL;
	if (!n)
		return error_set(err, -ENOMEM, "notify: out of memory");
	if (mutex_init(&n->lock)) {
		free(n);
		return error_set(err, -ENOMEM, "notify: cannot create a mutex");
	}
	if (cond_init(&n->cond, false)) { /* CLOCK_REALTIME: check times are wall times */
		mutex_destroy(&n->lock);
		free(n);
		return error_set(err, -ENOMEM, "notify: cannot create a condition");
	}
	n->key_expires = (time_t)-1;
	if (gethostname(n->host, sizeof(n->host) - 1))
		snprintf(n->host, sizeof(n->host), "localhost");
	n->host[sizeof(n->host) - 1] = '\0';
	if (copy_opts(n, o)) {
		notifier_free(n);
		return error_set(err, -ENOMEM, "notify: out of memory");
	}
	ret = check_channels(n, err);
	if (ret) {
		notifier_free(n);
		return ret;
	}
	state_read(&st, n->o.archive_dir, &e2); /* usable even on error */
	n->had_problem = notify_had_problem(&st);
	*out = n;
	return 0;
}

void notifier_set_key(struct notifier *n, const struct gpg_key_info *key)
{
	mutex_lock(&n->lock);
	snprintf(n->key_fingerprint, sizeof(n->key_fingerprint), "%s", key->fingerprint);
	n->key_expires = key->expires;
	mutex_unlock(&n->lock);
}

/* ---- applying the policy under the state lock ---- */

struct apply_arg {
	struct notify_facts f;
	struct notify_decision d;
};

static void flags_of(const struct run_state *st, struct notify_flags *fl)
{
	fl->stale_notified = st->stale_notified;
	fl->expiry_warned_day = st->expiry_warned_day;
}

static void apply_edit(struct run_state *st, void *arg)
{
	struct apply_arg *a = arg;

	flags_of(st, &a->f.flags);
	notify_decide(&a->f, &a->d);
	st->stale_notified = a->d.flags.stale_notified;
	st->expiry_warned_day = a->d.flags.expiry_warned_day;
}

/* Decides with the persisted flags; when they change, decides again
 * under the state lock and saves, so concurrent processes notify once.
 * When the state cannot be written, the flags live on in memory. */
static void apply(struct notifier *n, struct apply_arg *a)
{
	struct run_state st;
	struct errbuf err;

	mutex_lock(&n->lock);
	a->f.key_expires = n->key_expires;
	mutex_unlock(&n->lock);
	a->f.mode = n->o.mode;
	a->f.warn_expiry_days = n->o.warn_expiry_days;
	state_read(&st, n->o.archive_dir, &err);
	flags_of(&st, &a->f.flags);
	mutex_lock(&n->lock);
	if (n->use_mem_flags)
		a->f.flags = n->mem_flags;
	mutex_unlock(&n->lock);
	notify_decide(&a->f, &a->d);
	if (!a->d.flags_changed)
		return;
	errbuf_clear(&err);
	if (state_update(n->o.archive_dir, apply_edit, a, &err)) {
		logger_log(n->o.log, LOGL_WARN, "notify_state",
			   "error=\"cannot record what was notified: %s\" note=\"kept in memory\"",
			   err.msg);
		mutex_lock(&n->lock);
		n->mem_flags = a->d.flags;
		n->use_mem_flags = true;
		mutex_unlock(&n->lock);
		return;
	}
	mutex_lock(&n->lock);
	n->use_mem_flags = false;
	mutex_unlock(&n->lock);
}

/* ---- the notices ---- */

static void event_init(struct notifier *n, struct notify_event *ev, enum notify_kind kind,
		       time_t now)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->when = now;
	ev->size_bytes = -1;
	ev->duration = -1;
	ev->age_seconds = -1;
	mutex_lock(&n->lock);
	ev->key_expires = n->key_expires;
	snprintf(ev->key_fingerprint, sizeof(ev->key_fingerprint), "%s", n->key_fingerprint);
	mutex_unlock(&n->lock);
}

static void key_message(struct notify_event *ev, unsigned warn_days)
{
	char when[ISO8601_LEN];
	int64_t left = (int64_t)ev->key_expires - (int64_t)ev->when;

	iso8601_local(ev->key_expires, when);
	if (left <= 0)
		snprintf(ev->message, sizeof(ev->message),
			 "the encryption key %s expired on %s: backups cannot be encrypted; "
			 "extend its expiry or configure a new key in [gpg]",
			 ev->key_fingerprint, when);
	else
		snprintf(ev->message, sizeof(ev->message),
			 "the encryption key %s expires on %s (in %lld days, warn_expiry_days = "
			 "%u): extend its expiry or configure a new key in [gpg] before then",
			 ev->key_fingerprint, when, (long long)((left + DAY - 1) / DAY), warn_days);
}

static void run_message(struct notify_event *ev, const struct backup_result *res)
{
	const char *what =
		ev->kind == NOTIFY_EV_RECOVERED ? "backup succeeded again" : "backup succeeded";

	snprintf(ev->file, sizeof(ev->file), "%s", res->file);
	ev->size_bytes = (int64_t)res->size;
	ev->duration = res->seconds;
	snprintf(ev->message, sizeof(ev->message), "%s: %s (%llu bytes in %.1f s)", what, res->file,
		 (unsigned long long)res->size, res->seconds);
}

/* Builds the decided notices into job and hands it to delivery. */
static void emit(struct notifier *n, const struct apply_arg *a, const struct backup_result *res,
		 const char *error, int64_t age, const char *file)
{
	struct notify_job job;

	memset(&job, 0, sizeof(job));
	job.heartbeat = a->d.heartbeat && n->heartbeat_url;
	if (a->d.flags.expiry_warned_day != a->f.flags.expiry_warned_day) {
		struct notify_event kev;

		event_init(n, &kev, NOTIFY_EV_KEY_EXPIRY, a->f.now);
		key_message(&kev, n->o.warn_expiry_days);
		logger_log(n->o.log, LOGL_WARN, "key_expiry",
			   "fingerprint=%s expires=%lld note=\"%s\"", kev.key_fingerprint,
			   (long long)kev.key_expires, kev.message);
	}
	for (unsigned k = 0; k < NOTIFY_NKINDS; k++) {
		struct notify_event *ev = &job.ev[job.n];

		if (!(a->d.events & NOTIFY_BIT(k)))
			continue;
		event_init(n, ev, (enum notify_kind)k, a->f.now);
		if (k == NOTIFY_EV_FAILURE)
			snprintf(ev->message, sizeof(ev->message), "%s", error ? error : "failed");
		else if ((k == NOTIFY_EV_SUCCESS || k == NOTIFY_EV_RECOVERED) && res)
			run_message(ev, res);
		else if (k == NOTIFY_EV_KEY_EXPIRY)
			key_message(ev, n->o.warn_expiry_days);
		else if (k == NOTIFY_EV_RETENTION_SKIPPED && res) {
			snprintf(ev->file, sizeof(ev->file), "%s", res->file);
			/* The reason names the backups; it is cut to fit. */
			snprintf(ev->message, sizeof(ev->message), "retention skipped: %.480s",
				 res->retention_skipped);
		} else if (k == NOTIFY_EV_STALE) {
			ev->age_seconds = age;
			snprintf(ev->file, sizeof(ev->file), "%s", file ? file : "");
			snprintf(ev->message, sizeof(ev->message),
				 "the newest backup %s is %lld hours old, more than max_age_hours "
				 "= %u: check the schedule and the last errors",
				 file ? file : "", (long long)(age / 3600), n->o.max_age_hours);
		} else if (k == NOTIFY_EV_REHEARSAL_FAILED) {
			snprintf(ev->file, sizeof(ev->file), "%s", file ? file : "");
			snprintf(ev->message, sizeof(ev->message), "rehearsal of %s failed: %s",
				 file ? file : "", error ? error : "failed");
		} else if (k == NOTIFY_EV_BINLOG_BROKEN) {
			snprintf(ev->message, sizeof(ev->message),
				 "the binlog archive stopped following the server: %.400s",
				 error ? error : "failed");
		} else if (k == NOTIFY_EV_BINLOG_RECOVERED) {
			snprintf(ev->message, sizeof(ev->message),
				 "the binlog archive follows the server again");
		}
		for (char *p = ev->message; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		job.n++;
	}
	if (job.n || job.heartbeat)
		notify_submit(n, &job);
}

void notifier_run_begin(struct notifier *n, struct notify_run *run)
{
	struct run_state st;
	struct errbuf err;

	state_read(&st, n->o.archive_dir, &err);
	run->had_problem = notify_had_problem(&st);
	run->valid = true;
}

void notifier_run_end(struct notifier *n, const struct notify_run *run, int rc,
		      const struct backup_result *res, const char *error)
{
	struct apply_arg a;

	if (rc == -EBUSY) {
		logger_log(n->o.log, LOGL_DEBUG, "notify_skip",
			   "reason=\"another backup was running; it notifies\"");
		return;
	}
	memset(&a, 0, sizeof(a));
	a.f.trigger = rc ? NOTIFY_RUN_FAILED : NOTIFY_RUN_OK;
	a.f.now = time(NULL);
	a.f.retention_skipped = !rc && res && res->retention_skipped[0];
	mutex_lock(&n->lock);
	a.f.had_problem = run && run->valid ? run->had_problem : n->had_problem;
	n->had_problem = rc != 0;
	mutex_unlock(&n->lock);
	apply(n, &a);
	emit(n, &a, rc ? NULL : res, error, -1, NULL);
}

void notifier_backup_hook(void *arg, int rc, const struct backup_result *res,
			  const struct errbuf *err)
{
	notifier_run_end(arg, NULL, rc, res, rc && err ? err->msg : NULL);
}

void notifier_binlog(struct notifier *n, bool broken, const char *error)
{
	struct apply_arg a;

	memset(&a, 0, sizeof(a));
	a.f.trigger = broken ? NOTIFY_BINLOG_BROKEN : NOTIFY_BINLOG_RECOVERED;
	a.f.now = time(NULL);
	a.f.mode = n->o.mode;
	notify_decide(&a.f, &a.d); /* the streamer remembers what it said */
	emit(n, &a, NULL, error, -1, NULL);
}

void notifier_binlog_hook(void *arg, bool broken, const char *error)
{
	notifier_binlog(arg, broken, error);
}

void notifier_snapshot_failed(struct notifier *n, const char *error)
{
	struct apply_arg a;

	memset(&a, 0, sizeof(a));
	a.f.trigger = NOTIFY_SNAPSHOT_FAILED;
	a.f.now = time(NULL);
	mutex_lock(&n->lock);
	n->had_problem = true;
	mutex_unlock(&n->lock);
	apply(n, &a);
	emit(n, &a, NULL, error, -1, NULL);
}

void notifier_rehearsal_failed(struct notifier *n, const char *file, const char *error)
{
	struct apply_arg a;
	const char *slash = strrchr(file, '/');

	memset(&a, 0, sizeof(a));
	a.f.trigger = NOTIFY_REHEARSAL_FAILED;
	a.f.now = time(NULL);
	a.f.mode = n->o.mode;
	notify_decide(&a.f, &a.d); /* no state: no flag to remember */
	emit(n, &a, NULL, error, -1, slash ? slash + 1 : file);
}

/* Whether the newest backup is older than max_age_hours, as status/health
 * says it (CRITICAL by age; not NONE, not an unreadable dir). */
static bool archive_stale(struct notifier *n, time_t now, const struct run_state *st, int64_t *age,
			  char *newest, size_t len)
{
	struct archive_list l = ARCHIVE_LIST_INIT;
	struct status_input in;
	struct status_eval ev;
	struct errbuf err;
	bool stale;

	if (archive_scan(&l, n->o.archive_dir, n->prefix, &err)) {
		logger_log(n->o.log, LOGL_DEBUG, "notify_check", "error=\"%s\"", err.msg);
		return false;
	}
	memset(&in, 0, sizeof(in));
	in.archives = &l;
	in.state = st;
	in.now = now;
	in.max_age_hours = n->o.max_age_hours;
	in.next_run = (time_t)-1;
	in.key_expires = (time_t)-1;
	status_evaluate(&in, &ev);
	stale = ev.health == HEALTH_CRITICAL && ev.newest && ev.age > ev.max_age;
	*age = ev.newest ? ev.age : -1;
	snprintf(newest, len, "%s", ev.newest ? ev.newest->name : "");
	archive_list_release(&l);
	return stale;
}

void notifier_check(struct notifier *n, time_t now)
{
	char newest[ARCHIVE_NAME_MAX];
	struct run_state st;
	struct apply_arg a;
	struct errbuf err;
	int64_t age = -1;

	memset(&a, 0, sizeof(a));
	state_read(&st, n->o.archive_dir, &err);
	mutex_lock(&n->lock);
	n->had_problem = notify_had_problem(&st);
	mutex_unlock(&n->lock);
	a.f.trigger = NOTIFY_CHECK;
	a.f.now = now;
	a.f.stale = n->o.max_age_hours && archive_stale(n, now, &st, &age, newest, sizeof(newest));
	apply(n, &a);
	if (a.d.flags.stale_notified) {
		mutex_lock(&n->lock);
		n->had_problem = true;
		mutex_unlock(&n->lock);
	}
	emit(n, &a, NULL, NULL, age, newest);
}
