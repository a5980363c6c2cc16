/* Delivering notices: webhook, mail and heartbeat in parallel, either in
 * the caller's thread or in the notifier's background thread. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "notify_priv.h"
#include "thread.h"
#include "timefmt.h"
#include "curlutil.h"
#include "webhook.h"

#define TAIL_MAX 4096

/* ---- webhook body ---- */

static void json_kstr(struct strbuf *sb, const char *key, const char *val)
{
	strbuf_addf(sb, ",\"%s\":", key);
	json_add_string(sb, val);
}

void notify_webhook_body(struct strbuf *sb, const struct notify_event *ev, const char *host)
{
	char when[ISO8601_LEN];

	iso8601_local(ev->when, when);
	strbuf_addstr(sb, "{\"status\":");
	json_add_string(sb, notify_kind_status(ev->kind));
	json_kstr(sb, "event", notify_kind_name(ev->kind));
	json_kstr(sb, "message", ev->message);
	json_kstr(sb, "timestamp", when);
	json_kstr(sb, "host", host ? host : "");
	if (ev->file[0])
		json_kstr(sb, "file", ev->file);
	if (ev->size_bytes >= 0)
		strbuf_addf(sb, ",\"size_bytes\":%lld", (long long)ev->size_bytes);
	if (ev->duration >= 0)
		strbuf_addf(sb, ",\"duration_seconds\":%.3f", ev->duration);
	if (ev->age_seconds >= 0)
		strbuf_addf(sb, ",\"age_seconds\":%lld", (long long)ev->age_seconds);
	if (ev->key_fingerprint[0])
		json_kstr(sb, "key_fingerprint", ev->key_fingerprint);
	if (ev->key_expires > 0) {
		iso8601_local(ev->key_expires, when);
		json_kstr(sb, "key_expires", when);
	}
	strbuf_addstr(sb, "}\n");
}

/* ---- mail text ---- */

void notify_mail_subject(struct strbuf *sb, const struct notifier *n, const struct notify_event *ev)
{
	switch (ev->kind) {
	case NOTIFY_EV_FAILURE:
		strbuf_addstr(sb, n->o.mail_subject);
		return;
	case NOTIFY_EV_SUCCESS:
		strbuf_addf(sb, "[dumpfs] %s: backup succeeded", n->host);
		return;
	case NOTIFY_EV_RECOVERED:
		strbuf_addf(sb, "[dumpfs] %s: backup recovered", n->host);
		return;
	case NOTIFY_EV_STALE:
		strbuf_addf(sb, "[dumpfs] %s: no backup for more than %u hours", n->host,
			    n->o.max_age_hours);
		return;
	case NOTIFY_EV_RETENTION_SKIPPED:
		strbuf_addf(sb, "[dumpfs] %s: retention skipped, check the clock", n->host);
		return;
	case NOTIFY_EV_REHEARSAL_FAILED:
		strbuf_addf(sb, "[dumpfs] %s: restore rehearsal of %s failed", n->host, ev->file);
		return;
	case NOTIFY_EV_BINLOG_BROKEN:
		strbuf_addf(sb, "[dumpfs] %s: binlog archive broken", n->host);
		return;
	case NOTIFY_EV_BINLOG_RECOVERED:
		strbuf_addf(sb, "[dumpfs] %s: binlog archive recovered", n->host);
		return;
	case NOTIFY_EV_KEY_EXPIRY:
	case NOTIFY_NKINDS:
	default:
		strbuf_addf(sb, "[dumpfs] %s: the encryption key %s", n->host,
			    ev->key_expires > 0 && ev->key_expires <= ev->when ? "has expired"
									       : "expires soon");
		return;
	}
}

void notify_mail_body(struct strbuf *sb, const struct notifier *n, const struct notify_event *ev)
{
	char when[ISO8601_LEN], *tail;

	iso8601_local(ev->when, when);
	strbuf_addf(sb, "%s\n\n", ev->message);
	strbuf_addf(sb, "Event:       %s\n", notify_kind_name(ev->kind));
	strbuf_addf(sb, "Host:        %s\n", n->host);
	strbuf_addf(sb, "Time:        %s\n", when);
	strbuf_addf(sb, "Archive dir: %s\n", n->o.archive_dir);
	if (ev->file[0])
		strbuf_addf(sb, "File:        %s\n", ev->file);
	if (ev->size_bytes >= 0)
		strbuf_addf(sb, "Size:        %lld bytes\n", (long long)ev->size_bytes);
	if (ev->duration >= 0)
		strbuf_addf(sb, "Duration:    %.1f s\n", ev->duration);
	if (ev->age_seconds >= 0)
		strbuf_addf(sb, "Age:         %lld s\n", (long long)ev->age_seconds);
	if (ev->key_fingerprint[0])
		strbuf_addf(sb, "Key:         %s\n", ev->key_fingerprint);
	if (!n->o.log)
		return;
	tail = malloc(TAIL_MAX);
	if (!tail) {
		sb->failed = true;
		return;
	}
	logger_tail(n->o.log, tail, TAIL_MAX);
	if (tail[0])
		strbuf_addf(sb, "\nLast log lines:\n%s%s", tail,
			    tail[strlen(tail) - 1] == '\n' ? "" : "\n");
	free(tail);
}

/* ---- channels ---- */

static void log_result(struct notifier *n, const char *channel, const char *url,
		       const struct notify_event *ev, int ret, const struct errbuf *err)
{
	char where[256];

	url_redact(url, where, sizeof(where));
	if (ret)
		logger_log(n->o.log, LOGL_WARN, "notify_failed",
			   "channel=%s target=%s event=%s error=\"%s\"", channel, where,
			   ev ? notify_kind_name(ev->kind) : "heartbeat", err->msg);
	else
		logger_log(n->o.log, LOGL_INFO, "notify_sent", "channel=%s target=%s event=%s",
			   channel, where, ev ? notify_kind_name(ev->kind) : "heartbeat");
}

static void http_opts_of(const struct notifier *n, struct http_opts *h)
{
	memset(h, 0, sizeof(*h));
	h->ca_file = n->ca_file;
	h->timeout = n->o.http_timeout;
}

static void send_webhook(struct notifier *n, const struct notify_event *ev)
{
	struct strbuf body = STRBUF_INIT;
	struct http_opts h;
	struct errbuf err;
	int ret;

	errbuf_clear(&err);
	http_opts_of(n, &h);
	notify_webhook_body(&body, ev, n->host);
	ret = strbuf_error(&body) ? error_set(&err, -ENOMEM, "out of memory")
				  : webhook_post(n->webhook_url, body.buf, &h, &err);
	log_result(n, "webhook", n->webhook_url, ev, ret, &err);
	strbuf_release(&body);
}

static void send_heartbeat(struct notifier *n)
{
	struct http_opts h;
	struct errbuf err;
	int ret;

	errbuf_clear(&err);
	http_opts_of(n, &h);
	if (!h.timeout)
		h.timeout = 10;
	ret = heartbeat_ping(n->heartbeat_url, &h, &err);
	log_result(n, "heartbeat", n->heartbeat_url, NULL, ret, &err);
}

static void send_mail(struct notifier *n, const struct notify_event *ev)
{
	struct strbuf subject = STRBUF_INIT, body = STRBUF_INIT;
	struct mail_content m;
	struct mail_opts mo = n->o.mail;
	struct errbuf err;
	int ret;

	errbuf_clear(&err);
	mo.timeout = n->o.mail_timeout;
	notify_mail_subject(&subject, n, ev);
	notify_mail_body(&body, n, ev);
	memset(&m, 0, sizeof(m));
	m.subject = strbuf_str(&subject);
	m.body = strbuf_str(&body);
	m.date = ev->when;
	m.hostname = n->host;
	ret = strbuf_error(&subject) || strbuf_error(&body)
		      ? error_set(&err, -ENOMEM, "out of memory")
		      : mail_send(&mo, &m, &err);
	log_result(n, "mail", n->smtp_url, ev, ret, &err);
	strbuf_release(&subject);
	strbuf_release(&body);
}

struct side_run {
	struct notifier *n;
	const struct notify_job *job;
};

static void *mail_thread(void *arg)
{
	struct side_run *r = arg;

	for (unsigned i = 0; i < r->job->n; i++)
		send_mail(r->n, &r->job->ev[i]);
	return NULL;
}

static void *heartbeat_thread(void *arg)
{
	send_heartbeat(((struct side_run *)arg)->n);
	return NULL;
}

/* Mail and heartbeat in their own threads while the webhook goes out
 * here, so a slow channel does not add to the others' time: one job
 * takes at most the slowest channel's bound. */
static void deliver(struct notifier *n, const struct notify_job *job)
{
	struct side_run r = {n, job};
	bool mail = n->smtp_url && job->n, mail_t = false, hb_t = false;
	pthread_t tm, th;

	for (unsigned i = 0; i < job->n; i++)
		logger_log(n->o.log, LOGL_INFO, "notify", "event=%s channels=%s%s%s",
			   notify_kind_name(job->ev[i].kind), n->webhook_url ? "webhook" : "",
			   n->webhook_url && mail ? "," : "", mail ? "mail" : "");
	if (mail)
		mail_t = !thread_start_nosig(&tm, mail_thread, &r);
	if (job->heartbeat)
		hb_t = !thread_start_nosig(&th, heartbeat_thread, &r);
	for (unsigned i = 0; n->webhook_url && i < job->n; i++)
		send_webhook(n, &job->ev[i]);
	/* Without a thread (pthread_create failed): here, one after another. */
	if (job->heartbeat && !hb_t)
		send_heartbeat(n);
	if (mail && !mail_t)
		mail_thread(&r);
	if (hb_t)
		thread_join(th);
	if (mail_t)
		thread_join(tm);
}

/* ---- the background thread ---- */

void notify_submit(struct notifier *n, const struct notify_job *job)
{
	struct notify_job *copy;

	mutex_lock(&n->lock);
	if (!n->running) {
		mutex_unlock(&n->lock);
		deliver(n, job);
		return;
	}
	copy = n->queued < NOTIFY_QUEUE_MAX ? malloc(sizeof(*copy)) : NULL;
	if (copy) {
		*copy = *job;
		copy->next = NULL;
		*n->tail = copy;
		n->tail = &copy->next;
		n->queued++;
		cond_signal(&n->cond);
	}
	mutex_unlock(&n->lock);
	if (!copy)
		logger_log(n->o.log, LOGL_ERROR, "notify_failed",
			   "error=\"notification queue full or out of memory: %u notices dropped\"",
			   job->n);
}

static struct notify_job *pop(struct notifier *n)
{
	struct notify_job *j = n->head;

	n->head = j->next;
	if (!n->head)
		n->tail = &n->head;
	n->queued--;
	return j;
}

static void *notify_thread(void *arg)
{
	struct notifier *n = arg;
	struct timespec next;

	clock_gettime(CLOCK_REALTIME, &next); /* the first check at once */
	mutex_lock(&n->lock);
	while (n->head || !n->stopping) {
		struct timespec now;

		if (n->head) {
			struct notify_job *j = pop(n);

			mutex_unlock(&n->lock);
			deliver(n, j);
			free(j);
			mutex_lock(&n->lock);
			continue;
		}
		if (!n->check_seconds) {
			cond_wait(&n->cond, &n->lock);
			continue;
		}
		clock_gettime(CLOCK_REALTIME, &now);
		if (now.tv_sec < next.tv_sec) {
			cond_timedwait(&n->cond, &n->lock, &next);
			continue;
		}
		next.tv_sec = now.tv_sec + n->check_seconds;
		mutex_unlock(&n->lock);
		notifier_check(n, now.tv_sec);
		mutex_lock(&n->lock);
	}
	mutex_unlock(&n->lock);
	return NULL;
}

int notifier_start(struct notifier *n, unsigned check_seconds, struct errbuf *err)
{
	int rc;

	mutex_lock(&n->lock);
	if (n->running) {
		mutex_unlock(&n->lock);
		return error_set(err, -EINVAL, "notify: the thread already runs");
	}
	n->check_seconds = check_seconds;
	n->head = NULL;
	n->tail = &n->head;
	n->stopping = false;
	n->running = true;
	rc = thread_start_nosig(&n->thread, notify_thread, n);
	if (rc)
		n->running = false;
	mutex_unlock(&n->lock);
	if (rc)
		return error_set(err, rc, "notify: cannot start the thread: %s", strerror(-rc));
	return 0;
}

static void free_strings(struct notifier *n)
{
	free(n->webhook_url);
	free(n->heartbeat_url);
	free(n->ca_file);
	free(n->archive_dir);
	free(n->prefix);
	free(n->mail_subject);
	free(n->smtp_url);
	free(n->smtp_user);
	if (n->smtp_password) {
		explicit_bzero(n->smtp_password, strlen(n->smtp_password));
		free(n->smtp_password);
	}
	free(n->mail_from);
	for (size_t i = 0; n->mail_to && n->mail_to[i]; i++)
		free(n->mail_to[i]);
	free(n->mail_to);
}

void notifier_free(struct notifier *n)
{
	bool running;

	if (!n)
		return;
	mutex_lock(&n->lock);
	running = n->running;
	n->stopping = true;
	cond_signal(&n->cond);
	mutex_unlock(&n->lock);
	if (running)
		thread_join(n->thread);
	free_strings(n);
	mutex_destroy(&n->lock);
	cond_destroy(&n->cond);
	free(n);
}
