#include "alerts.h"

#include <string.h>

static enum notify_mode mode_of(enum notify_on on)
{
	switch (on) {
	case NOTIFY_ALWAYS:
		return NOTIFY_MODE_ALWAYS;
	case NOTIFY_NEVER:
		return NOTIFY_MODE_NEVER;
	default:
		return NOTIFY_MODE_FAILURE;
	}
}

static enum mail_tls tls_of(enum smtp_tls t)
{
	switch (t) {
	case SMTP_TLS_REQUIRE:
		return MAIL_TLS_REQUIRE;
	case SMTP_TLS_OFF:
		return MAIL_TLS_OFF;
	default:
		return MAIL_TLS_TRY;
	}
}

int alerts_new(struct notifier **out, const struct config *cfg, struct logger *lg,
	       struct errbuf *err)
{
	const typeof(cfg->notify) *n = &cfg->notify;
	struct notify_opts o;

	memset(&o, 0, sizeof(o));
	o.mode = mode_of(n->on);
	o.webhook_url = n->webhook_url;
	o.heartbeat_url = n->heartbeat_url;
	o.ca_file = n->ca_file;
	o.mail.smtp_url = n->smtp_url;
	o.mail.tls = tls_of(n->smtp_tls);
	o.mail.user = n->smtp_user;
	o.mail.password = n->smtp_password;
	o.mail.from = n->mail_from;
	o.mail.to = (const char *const *)n->mail_to;
	o.mail_subject = n->mail_subject;
	o.archive_dir = cfg->archive.dir;
	o.prefix = cfg->archive.prefix;
	o.max_age_hours = cfg->archive.max_age_hours;
	o.warn_expiry_days = cfg->gpg.warn_expiry_days;
	o.log = lg;
	return notifier_new(out, &o, err);
}
