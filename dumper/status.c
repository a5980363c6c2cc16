/* Health and the status/ files: one renderer for the mount and check. */
#include "status.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "timefmt.h"

#ifndef DUMPFS_VERSION
#define DUMPFS_VERSION "unknown"
#endif

static const char *const file_names[STATUS_NFILES] = {
	[STATUS_HEALTH] = "health",	    [STATUS_LAST_SUCCESS] = "last_success",
	[STATUS_LAST_ERROR] = "last_error", [STATUS_AGE_SECONDS] = "age_seconds",
	[STATUS_JSON] = "status.json",	    [STATUS_METRICS] = "metrics.prom",
};

const char *status_file_name(enum status_file f)
{
	return (unsigned)f < STATUS_NFILES ? file_names[f] : NULL;
}

int status_file_lookup(const char *name)
{
	for (int i = 0; i < STATUS_NFILES; i++)
		if (!strcmp(name, file_names[i]))
			return i;
	return -1;
}

/* The binlog archive's part of health (status.h). */
static void evaluate_binlog(const struct status_input *in, struct status_eval *ev)
{
	const struct binlog_report *b = in->binlog;

	ev->binlog_lag = -1;
	if (!b)
		return;
	if (b->have_status)
		ev->binlog_lag = binlog_status_lag(&b->st, in->now);
	if (b->error[0])
		snprintf(ev->binlog_problem, sizeof(ev->binlog_problem),
			 "binlog archive status unreadable");
	else if (!b->have_status)
		snprintf(ev->binlog_problem, sizeof(ev->binlog_problem),
			 "binlog archive never streamed");
	else if (b->st.updated_at > in->now + BINLOG_STATUS_STALE)
		snprintf(ev->binlog_problem, sizeof(ev->binlog_problem),
			 "binlog archive status dated in the future");
	else if (ev->binlog_lag > (int64_t)b->max_lag_seconds)
		snprintf(ev->binlog_problem, sizeof(ev->binlog_problem),
			 "binlog archive %" PRId64 " s behind (max_lag_seconds %u)", ev->binlog_lag,
			 b->max_lag_seconds);
}

void status_evaluate(const struct status_input *in, struct status_eval *ev)
{
	const struct archive_entry *e = in->archives ? archive_newest(in->archives) : NULL;

	memset(ev, 0, sizeof(*ev));
	ev->max_age = (int64_t)in->max_age_hours * 3600;
	evaluate_binlog(in, ev);
	if (!e) {
		ev->health = in->archive_error ? HEALTH_CRITICAL : HEALTH_NONE;
		return;
	}
	ev->newest = e;
	ev->newest_time = e->mtime.tv_sec < e->when ? e->mtime.tv_sec : e->when;
	ev->age = in->now > ev->newest_time ? (int64_t)(in->now - ev->newest_time) : 0;
	ev->future = archive_in_future(e, in->now);
	ev->health =
		ev->age > ev->max_age || ev->future || in->archive_error || ev->binlog_problem[0]
			? HEALTH_CRITICAL
			: HEALTH_OK;
}

int status_exit_code(enum health h)
{
	return h == HEALTH_OK ? 0 : h == HEALTH_CRITICAL ? 1 : 2;
}

static const struct run_state *state_of(const struct status_input *in, struct run_state *empty)
{
	if (in->state)
		return in->state;
	state_init(empty);
	return empty;
}

static void render_health(const struct status_input *in, const struct status_eval *ev,
			  struct strbuf *out)
{
	if (in->archive_error)
		strbuf_addf(out, "CRITICAL %s\n", in->archive_error);
	else if (ev->health == HEALTH_NONE)
		strbuf_addstr(out, "NONE no backup found\n");
	else if (ev->health == HEALTH_OK)
		strbuf_addf(out, "OK %" PRId64 " %s\n", ev->age, ev->newest->name);
	else {
		const char *sep = "";

		strbuf_addf(out, "CRITICAL %" PRId64 " %s ", ev->age, ev->newest->name);
		if (ev->future) {
			strbuf_addstr(out, "dated in the future");
			sep = "; ";
		} else if (ev->age > ev->max_age) {
			strbuf_addf(out, "older than %uh", in->max_age_hours);
			sep = "; ";
		}
		if (ev->binlog_problem[0])
			strbuf_addf(out, "%s%s", sep, ev->binlog_problem);
		strbuf_addch(out, '\n');
	}
}

static void render_time(time_t t, bool known, struct strbuf *out)
{
	char iso[ISO8601_LEN];

	if (known) {
		iso8601_utc(t, iso);
		strbuf_addstr(out, iso);
	}
	strbuf_addch(out, '\n');
}

static void render_last_error(const struct run_state *st, struct strbuf *out)
{
	char iso[ISO8601_LEN];

	if (st->last_error_at) {
		iso8601_utc(st->last_error_at, iso);
		strbuf_addf(out, "%s %s", iso, st->last_error);
	}
	strbuf_addch(out, '\n');
}

static void json_key(struct strbuf *out, const char *key, bool *first)
{
	strbuf_addstr(out, *first ? "{\n  " : ",\n  ");
	*first = false;
	json_add_string(out, key);
	strbuf_addstr(out, ": ");
}

static void json_kstr(struct strbuf *out, bool *first, const char *key, const char *v)
{
	json_key(out, key, first);
	if (v)
		json_add_string(out, v);
	else
		strbuf_addstr(out, "null");
}

static void json_ktime(struct strbuf *out, bool *first, const char *key, time_t t, bool known)
{
	char iso[ISO8601_LEN];

	iso8601_utc(t, iso);
	json_kstr(out, first, key, known && iso[0] ? iso : NULL);
}

static void json_kint(struct strbuf *out, bool *first, const char *key, int64_t v, bool known)
{
	json_key(out, key, first);
	if (known)
		strbuf_addf(out, "%" PRId64, v);
	else
		strbuf_addstr(out, "null");
}

/* The backups no sidecar vouches for, as a JSON array of names. */
static void render_missing_sidecars(const struct status_input *in, struct strbuf *out)
{
	bool first = true;

	strbuf_addch(out, '[');
	for (size_t i = 0; in->archives && i < in->archives->n; i++) {
		if (in->archives->v[i].has_sidecar)
			continue;
		strbuf_addstr(out, first ? "" : ", ");
		first = false;
		json_add_string(out, in->archives->v[i].name);
	}
	strbuf_addch(out, ']');
}

static void render_fingerprints(const struct status_input *in, struct strbuf *out)
{
	if (!in->n_key_fingerprints) {
		strbuf_addstr(out, "null");
		return;
	}
	strbuf_addch(out, '[');
	for (unsigned i = 0; i < in->n_key_fingerprints; i++) {
		strbuf_addstr(out, i ? ", " : "");
		json_add_string(out, in->key_fingerprints[i]);
	}
	strbuf_addch(out, ']');
}

static size_t count_missing_sidecars(const struct status_input *in)
{
	size_t n = 0;

	for (size_t i = 0; in->archives && i < in->archives->n; i++)
		n += !in->archives->v[i].has_sidecar;
	return n;
}

/* "retention": the rules in force, and for each rule how many of the
 * backups there now it keeps (a backup kept by two rules counts twice;
 * "kept" counts it once).  null when the rules are unknown. */
static void render_retention(const struct status_input *in, struct strbuf *out)
{
	const struct retention_rules *r = in->retention;
	size_t n = in->archives ? in->archives->n : 0;
	unsigned *keep = NULL, kept = 0, by[RETENTION_NRULES] = {0};
	time_t *when = NULL;
	struct errbuf err;
	size_t i;
	unsigned k;

	if (!r) {
		strbuf_addstr(out, "null");
		return;
	}
	strbuf_addf(out,
		    "{\"keep_days\": %u, \"keep_daily\": %u, \"keep_weekly\": %u, "
		    "\"keep_monthly\": %u, \"keep_yearly\": %u, \"min_keep\": %u, ",
		    r->days, r->daily, r->weekly, r->monthly, r->yearly, r->min_keep);
	if (n) {
		keep = calloc(n, sizeof(*keep));
		when = calloc(n, sizeof(*when));
	}
	for (i = 0; when && i < n; i++)
		when[i] = in->archives->v[i].when;
	if (n && (!keep || !when || retention_decide(r, when, n, keep, &err))) {
		strbuf_addstr(out, "\"kept\": null, \"kept_by\": null}");
	} else {
		/* Every rule 0: retention deletes nothing. */
		for (i = 0; i < n; i++) {
			kept += keep[i] || retention_off(r);
			for (k = 0; k < RETENTION_NRULES; k++)
				by[k] += !!(keep[i] & (1u << k));
		}
		strbuf_addf(out, "\"kept\": %u, \"kept_by\": {", kept);
		for (k = 0; k < RETENTION_NRULES; k++)
			strbuf_addf(out, "%s\"%s\": %u", k ? ", " : "", retention_rule_name(k),
				    by[k]);
		strbuf_addstr(out, "}}");
	}
	free(keep);
	free(when);
}

/* "binlog" (docs/pitr.md): always an object, "enabled": false when off. */
static void render_binlog(const struct status_input *in, const struct status_eval *ev,
			  struct strbuf *out)
{
	const struct binlog_report *b = in->binlog;
	const struct binlog_status *st = b && b->have_status ? &b->st : NULL;
	struct strbuf inner = STRBUF_INIT;
	bool first = true;

	json_key(&inner, "enabled", &first);
	strbuf_addstr(&inner, b ? "true" : "false");
	json_ktime(&inner, &first, "last_event_at", st ? st->last_event_at : 0,
		   st && st->last_event_at);
	json_kint(&inner, &first, "lag_seconds", ev->binlog_lag, ev->binlog_lag >= 0);
	json_kint(&inner, &first, "max_lag_seconds", b ? b->max_lag_seconds : 0, b != NULL);
	json_kint(&inner, &first, "segments", b ? b->segments : 0, true);
	if (b && b->error[0])
		json_kstr(&inner, &first, "last_error", b->error);
	else
		json_kstr(&inner, &first, "last_error",
			  st && st->last_error_at ? st->last_error : NULL);
	json_ktime(&inner, &first, "last_error_at", st ? st->last_error_at : 0,
		   st && st->last_error_at);
	json_ktime(&inner, &first, "updated_at", st ? st->updated_at : 0, st != NULL);
	strbuf_addstr(&inner, "\n}");
	if (strbuf_error(&inner))
		out->failed = true; /* (status_render returns it) */
	/* nested one level: indent its lines */
	for (const char *c = strbuf_str(&inner); *c; c++) {
		strbuf_addch(out, *c);
		if (*c == '\n')
			strbuf_addstr(out, "  ");
	}
	strbuf_release(&inner);
}

static void render_json(const struct status_input *in, const struct status_eval *ev,
			const struct run_state *st, struct strbuf *out)
{
	static const char *const states[] = {"ok", "critical", "none"};
	const struct archive_entry *e = ev->newest;
	struct strbuf health = STRBUF_INIT;
	bool first = true;

	render_health(in, ev, &health);
	if (health.len)
		health.buf[--health.len] = '\0'; /* no newline inside */
	json_kstr(out, &first, "state", states[ev->health]);
	json_kstr(out, &first, "health", strbuf_str(&health));
	json_ktime(out, &first, "last_success", ev->newest_time, e != NULL);
	json_kint(out, &first, "age_seconds", ev->age, e != NULL);
	json_kint(out, &first, "max_age_seconds", ev->max_age, true);
	json_kstr(out, &first, "last_file", e ? e->name : NULL);
	json_kint(out, &first, "last_size_bytes", e ? (int64_t)e->size : 0, e != NULL);
	json_key(out, "last_duration_seconds", &first);
	if (st->last_duration >= 0)
		strbuf_addf(out, "%.3f", st->last_duration);
	else
		strbuf_addstr(out, "null");
	json_kstr(out, &first, "last_error", st->last_error_at ? st->last_error : NULL);
	json_ktime(out, &first, "last_error_at", st->last_error_at, st->last_error_at != 0);
	json_key(out, "running", &first);
	strbuf_addstr(out, st->running ? "true" : "false");
	json_kint(out, &first, "archive_count", in->archives ? (int64_t)in->archives->n : 0, true);
	json_ktime(out, &first, "next_run", in->next_run, in->next_run != (time_t)-1);
	json_kstr(out, &first, "key_fingerprint", in->key_fingerprint);
	json_ktime(out, &first, "key_expires", in->key_expires,
		   in->key_expires != 0 && in->key_expires != (time_t)-1);
	json_key(out, "key_fingerprints", &first);
	render_fingerprints(in, out);
	json_kint(out, &first, "snapshot_readers", in->snapshot_readers, true);
	json_kint(out, &first, "max_snapshot_readers", in->max_snapshot_readers, true);
	json_kint(out, &first, "backups_succeeded", (int64_t)st->successes, true);
	json_kint(out, &first, "backups_failed", (int64_t)st->failures, true);
	json_kstr(out, &first, "archive_error", in->archive_error);
	json_key(out, "missing_sidecars", &first);
	render_missing_sidecars(in, out);
	json_key(out, "retention", &first);
	render_retention(in, out);
	json_key(out, "binlog", &first);
	render_binlog(in, ev, out);
	json_ktime(out, &first, "generated_at", in->now, true);
	json_kstr(out, &first, "version", in->version ? in->version : DUMPFS_VERSION);
	strbuf_addstr(out, "\n}\n");
	strbuf_release(&health);
}

/* A label value: the exposition format escapes only \\, " and newline. */
static void prom_label(struct strbuf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			strbuf_addch(out, '\\');
		if (*s == '\n')
			strbuf_addstr(out, "\\n");
		else
			strbuf_addch(out, *s);
	}
}

static void metric(struct strbuf *out, const char *name, const char *type, const char *help)
{
	strbuf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void render_metrics(const struct status_input *in, const struct status_eval *ev,
			   const struct run_state *st, struct strbuf *out)
{
	const struct archive_entry *e = ev->newest;

	metric(out, "dumpfs_up", "gauge", "1 when the archive directory could be read.");
	strbuf_addf(out, "dumpfs_up %d\n", in->archive_error ? 0 : 1);
	metric(out, "dumpfs_last_success_timestamp_seconds", "gauge",
	       "Time of the newest complete backup (Unix seconds; 0 when there is none).");
	strbuf_addf(out, "dumpfs_last_success_timestamp_seconds %lld\n",
		    e ? (long long)ev->newest_time : 0LL);
	metric(out, "dumpfs_backup_age_seconds", "gauge",
	       "Age of the newest complete backup (+Inf when there is none).");
	if (e)
		strbuf_addf(out, "dumpfs_backup_age_seconds %" PRId64 "\n", ev->age);
	else
		strbuf_addstr(out, "dumpfs_backup_age_seconds +Inf\n");
	metric(out, "dumpfs_backup_max_age_seconds", "gauge",
	       "Age past which the newest backup is CRITICAL (max_age_hours).");
	strbuf_addf(out, "dumpfs_backup_max_age_seconds %" PRId64 "\n", ev->max_age);
	metric(out, "dumpfs_healthy", "gauge", "1 when status/health says OK.");
	strbuf_addf(out, "dumpfs_healthy %d\n", ev->health == HEALTH_OK);
	metric(out, "dumpfs_last_backup_size_bytes", "gauge", "Size of the newest backup.");
	strbuf_addf(out, "dumpfs_last_backup_size_bytes %llu\n",
		    e ? (unsigned long long)e->size : 0ULL);
	metric(out, "dumpfs_last_backup_duration_seconds", "gauge",
	       "Duration of the last successful backup run (NaN when unknown).");
	if (st->last_duration >= 0)
		strbuf_addf(out, "dumpfs_last_backup_duration_seconds %.3f\n", st->last_duration);
	else
		strbuf_addstr(out, "dumpfs_last_backup_duration_seconds NaN\n");
	metric(out, "dumpfs_backups_total", "counter", "Backup runs by result.");
	strbuf_addf(out, "dumpfs_backups_total{result=\"success\"} %" PRIu64 "\n", st->successes);
	strbuf_addf(out, "dumpfs_backups_total{result=\"failure\"} %" PRIu64 "\n", st->failures);
	metric(out, "dumpfs_last_failure_timestamp_seconds", "gauge",
	       "Time of the last failure since the last success (0 when none).");
	strbuf_addf(out, "dumpfs_last_failure_timestamp_seconds %lld\n",
		    (long long)st->last_error_at);
	metric(out, "dumpfs_backup_running", "gauge", "1 while a backup run is in progress.");
	strbuf_addf(out, "dumpfs_backup_running %d\n", st->running ? 1 : 0);
	metric(out, "dumpfs_archive_files", "gauge", "Complete backups in the archive directory.");
	strbuf_addf(out, "dumpfs_archive_files %zu\n", in->archives ? in->archives->n : 0);
	metric(out, "dumpfs_archive_missing_sidecars", "gauge",
	       "Backups without a .sha256 sidecar (nothing vouches for them).");
	strbuf_addf(out, "dumpfs_archive_missing_sidecars %zu\n", count_missing_sidecars(in));
	metric(out, "dumpfs_snapshot_readers", "gauge", "Snapshot streams being read now.");
	strbuf_addf(out, "dumpfs_snapshot_readers %u\n", in->snapshot_readers);
	if (in->next_run != (time_t)-1) {
		metric(out, "dumpfs_next_run_timestamp_seconds", "gauge",
		       "Time of the next scheduled backup run.");
		strbuf_addf(out, "dumpfs_next_run_timestamp_seconds %lld\n",
			    (long long)in->next_run);
	}
	if (in->key_expires != 0 && in->key_expires != (time_t)-1) {
		metric(out, "dumpfs_key_expiry_timestamp_seconds", "gauge",
		       "Expiry time of the encryption key.");
		strbuf_addf(out, "dumpfs_key_expiry_timestamp_seconds %lld\n",
			    (long long)in->key_expires);
	}
	if (in->binlog) {
		metric(out, "dumpfs_binlog_lag_seconds", "gauge",
		       "How far the binlog archive is behind the server (+Inf when never "
		       "streamed).");
		if (ev->binlog_lag >= 0)
			strbuf_addf(out, "dumpfs_binlog_lag_seconds %" PRId64 "\n", ev->binlog_lag);
		else
			strbuf_addstr(out, "dumpfs_binlog_lag_seconds +Inf\n");
		metric(out, "dumpfs_binlog_max_lag_seconds", "gauge",
		       "Lag past which health is CRITICAL (max_lag_seconds).");
		strbuf_addf(out, "dumpfs_binlog_max_lag_seconds %u\n", in->binlog->max_lag_seconds);
		metric(out, "dumpfs_binlog_segments", "gauge",
		       "Complete segments in the binlog archive.");
		strbuf_addf(out, "dumpfs_binlog_segments %u\n", in->binlog->segments);
	}
	metric(out, "dumpfs_build_info", "gauge", "The dumpfs version, as a label.");
	strbuf_addstr(out, "dumpfs_build_info{version=\"");
	prom_label(out, in->version ? in->version : DUMPFS_VERSION);
	strbuf_addstr(out, "\"} 1\n");
}

int status_render(enum status_file f, const struct status_input *in, struct strbuf *out)
{
	struct run_state empty;
	const struct run_state *st = state_of(in, &empty);
	struct status_eval ev;

	status_evaluate(in, &ev);
	switch (f) {
	case STATUS_HEALTH:
		render_health(in, &ev, out);
		break;
	case STATUS_LAST_SUCCESS:
		render_time(ev.newest_time, ev.newest != NULL, out);
		break;
	case STATUS_LAST_ERROR:
		render_last_error(st, out);
		break;
	case STATUS_AGE_SECONDS:
		if (ev.newest)
			strbuf_addf(out, "%" PRId64, ev.age);
		strbuf_addch(out, '\n');
		break;
	case STATUS_JSON:
		render_json(in, &ev, st, out);
		break;
	case STATUS_METRICS:
		render_metrics(in, &ev, st, out);
		break;
	default:
		strbuf_addch(out, '\n');
		break;
	}
	return strbuf_error(out);
}
