/* Inside the notifier: shared by notify.c (policy, triggers) and
 * notify_send.c (delivery, background thread).  Not a public header. */
#ifndef DUMPER_NOTIFY_PRIV_H
#define DUMPER_NOTIFY_PRIV_H

#include <pthread.h>
#include <stdbool.h>

#include "notify.h"

#define NOTIFY_DEFAULT_SUBJECT "[ALERTE][Backup MariaDB] Echec du backup"
#define NOTIFY_QUEUE_MAX       16

/* The notices of one trigger. */
struct notify_job {
	struct notify_event ev[NOTIFY_NKINDS];
	unsigned n;
	bool heartbeat;
	struct notify_job *next; /* queued */
};

struct notifier {
	struct notify_opts o; /* strings point at the copies below */
	char *webhook_url, *heartbeat_url, *ca_file, *archive_dir, *prefix;
	char *mail_subject, *smtp_url, *smtp_user, *smtp_password, *mail_from;
	char **mail_to;
	char host[256];

	pthread_mutex_t lock; /* everything below */
	pthread_cond_t cond;
	char key_fingerprint[64];
	time_t key_expires; /* (time_t)-1 until notifier_set_key */
	bool had_problem;   /* for notifier_backup_hook */
	bool use_mem_flags; /* the state file could not be written */
	struct notify_flags mem_flags;
	/* The background thread. */
	pthread_t thread;
	bool running, stopping;
	unsigned check_seconds;
	struct notify_job *head, **tail;
	unsigned queued;
};

/* Delivers `job` now, or queues a copy for the thread when it runs. */
void notify_submit(struct notifier *n, const struct notify_job *job);

/* The mail's subject and body for one notice (tests use them too). */
void notify_mail_subject(struct strbuf *sb, const struct notifier *n,
			 const struct notify_event *ev);
void notify_mail_body(struct strbuf *sb, const struct notifier *n, const struct notify_event *ev);

/* The webhook body, one JSON object:
 * {"status":"error","event":"failure","message":"...",
 *  "timestamp":"2026-11-29T02:00:00+01:00","host":"db1",
 *  "file":"...","size_bytes":N,"duration_seconds":N.N,
 *  "age_seconds":N,"key_fingerprint":"...","key_expires":"..."}
 * file, size_bytes, duration_seconds, age_seconds and the key fields only
 * when known. */
void notify_webhook_body(struct strbuf *sb, const struct notify_event *ev, const char *host);

#endif
