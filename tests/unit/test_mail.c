/* Alert mail formatting: RFC 5322 headers, RFC 2047 subjects, the body's
 * transfer encoding, header injection, and no secret in the message. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../dumper/mail.h"
#include "../../dumper/notify_priv.h"
#include "unit.h"

#define SECRET "s3cr3t-smtp-pass"

static const char *const two_to[] = {"dpo@example.org", "Ops Team <ops@example.org>", NULL};

static struct mail_opts opts(void)
{
	struct mail_opts o;

	memset(&o, 0, sizeof(o));
	o.smtp_url = "smtp://127.0.0.1:2525";
	o.tls = MAIL_TLS_TRY;
	o.user = "alerts";
	o.password = SECRET;
	o.from = "dumpfs@db1.example.org";
	o.to = two_to;
	return o;
}

/* The message as a C string; "" on failure. */
static char *format(const struct mail_opts *o, const char *subject, const char *body)
{
	struct strbuf sb = STRBUF_INIT;
	struct mail_content m;
	struct errbuf err;

	memset(&m, 0, sizeof(m));
	m.subject = subject;
	m.body = body;
	m.date = 1796000000;
	m.message_id = "<test.1@db1>";
	if (mail_format(&sb, o, &m, &err)) {
		printf("# mail_format: %s\n", err.msg);
		strbuf_release(&sb);
		return strdup("");
	}
	return strbuf_detach(&sb);
}

static int b64val(int c)
{
	const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(tab, c) : NULL;

	return p ? (int)(p - tab) : -1;
}

/* Decodes every "=?UTF-8?B?...?=" word of a header value, joined. */
static void decode_words(const char *v, char *out, size_t len)
{
	size_t o = 0;

	while ((v = strstr(v, "=?UTF-8?B?"))) {
		unsigned acc = 0;
		int bits = 0;

		for (v += 10; *v && *v != '?'; v++) {
			int x = b64val(*v);

			if (x < 0)
				continue; /* '=' padding */
			acc = (acc << 6) | (unsigned)x;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				if (o + 1 < len)
					out[o++] = (char)((acc >> bits) & 0xff);
			}
		}
	}
	out[o] = '\0';
}

/* No LF without its CR, no CR without its LF. */
static bool crlf_only(const char *s)
{
	for (const char *p = s; *p; p++) {
		if (*p == '\n' && (p == s || p[-1] != '\r'))
			return false;
		if (*p == '\r' && p[1] != '\n')
			return false;
	}
	return true;
}

TEST(mail_headers_and_ascii_subject)
{
	struct mail_opts o = opts();
	char *msg;

	setenv("TZ", "Europe/Paris", 1);
	tzset();
	msg = format(&o, "[ALERTE][Backup MariaDB] Echec du backup", "backup failed\n");
	CHECK(strstr(msg, "Date: Mon, 30 Nov 2026 ") != NULL);
	CHECK(strstr(msg, " +0100\r\n") != NULL);
	CHECK(strstr(msg, "Message-ID: <test.1@db1>\r\n") != NULL);
	CHECK(strstr(msg, "From: dumpfs@db1.example.org\r\n") != NULL);
	CHECK(strstr(msg, "To: dpo@example.org,\r\n Ops Team <ops@example.org>\r\n") != NULL);
	CHECK(strstr(msg, "Subject: [ALERTE][Backup MariaDB] Echec du backup\r\n") != NULL);
	CHECK(strstr(msg, "MIME-Version: 1.0\r\n") != NULL);
	CHECK(strstr(msg, "Content-Type: text/plain; charset=utf-8\r\n") != NULL);
	CHECK(strstr(msg, "Content-Transfer-Encoding: 7bit\r\n") != NULL);
	CHECK(strstr(msg, "\r\n\r\nbackup failed\r\n") != NULL);
	CHECK(crlf_only(msg));
	CHECK(strstr(msg, SECRET) == NULL);
	free(msg);
	unsetenv("TZ");
	tzset();
}

TEST(mail_subject_rfc2047)
{
	struct mail_opts o = opts();
	const char *subject =
		"[ALERTE][Sauvegarde MariaDB] Échec de la sauvegarde — base « clients » "
		"sur le serveur de production numéro 2";
	char decoded[512], *msg = format(&o, subject, "x\n");
	const char *h = strstr(msg, "Subject: "), *end;

	CHECK(h != NULL);
	if (!h) {
		free(msg);
		return;
	}
	end = strstr(h, "\r\nMIME-Version");
	CHECK(end != NULL);
	CHECK(strncmp(h, "Subject: =?UTF-8?B?", 19) == 0);
	/* Every encoded-word fits in 75 characters; folded lines start
	 * with a space. */
	for (const char *w = strstr(h, "=?UTF-8?B?"); w && w < end; w = strstr(w, "=?UTF-8?B?")) {
		const char *we = strstr(w + 10, "?=");

		CHECK(we && we + 2 - w <= 75);
		if (!we)
			break;
		CHECK(we[2] == '\r' || we + 2 == end);
		w = we + 2;
	}
	decode_words(h, decoded, sizeof(decoded));
	CHECK_STREQ(decoded, subject);
	CHECK(crlf_only(msg));
	free(msg);
}

TEST(mail_body_quoted_printable)
{
	struct mail_opts o = opts();
	char *msg = format(&o, "s",
			   "base « clients » échouée\n"
			   "a very long line that goes on and on well past the seventy-six "
			   "character limit of quoted-printable lines, really\n"
			   ". a line starting with a dot\n"
			   "trailing space \n");
	const char *body = strstr(msg, "\r\n\r\n");

	CHECK(strstr(msg, "Content-Transfer-Encoding: quoted-printable\r\n") != NULL);
	CHECK(body != NULL);
	if (body) {
		CHECK(strstr(body, "base =C2=AB clients =C2=BB =C3=A9chou=C3=A9e\r\n") != NULL);
		CHECK(strstr(body, "trailing space=20\r\n") != NULL);
		/* No line longer than 76 characters. */
		for (const char *l = body + 4; *l;) {
			const char *e = strstr(l, "\r\n");

			if (!e)
				break;
			CHECK(e - l <= 76);
			l = e + 2;
		}
	}
	CHECK(crlf_only(msg));
	free(msg);
}

TEST(mail_no_header_injection)
{
	struct mail_opts o = opts();
	const char *bad_to[] = {"dpo@example.org\r\nBcc: evil@example.org", NULL};
	struct errbuf err;
	char *msg;

	msg = format(&o, "hello\r\nBcc: evil@example.org", "x\n");
	CHECK(strstr(msg, "\r\nBcc:") == NULL);
	CHECK(strstr(msg, "Subject: hello  Bcc: evil@example.org\r\n") != NULL);
	free(msg);
	o.to = bad_to;
	CHECK(mail_opts_check(&o, &err) == -EINVAL);
	CHECK(strstr(err.msg, "Bcc") == NULL);
	o = opts();
	o.from = "a@b\nX-Evil: 1";
	CHECK(mail_opts_check(&o, &err) == -EINVAL);
	o = opts();
	o.smtp_url = "http://127.0.0.1/";
	CHECK(mail_opts_check(&o, &err) == -EINVAL);
	o.smtp_url = "smtps://mail.example.org:465";
	CHECK(mail_opts_check(&o, &err) == 0);
}

TEST(mail_addr_specs)
{
	char buf[128];

	CHECK(mail_addr_spec("dpo@example.org", buf, sizeof(buf)) == 0);
	CHECK_STREQ(buf, "dpo@example.org");
	CHECK(mail_addr_spec("  DPO Office <dpo@example.org> ", buf, sizeof(buf)) == 0);
	CHECK_STREQ(buf, "dpo@example.org");
	CHECK(mail_addr_spec("Délégué <dpo@example.org>", buf, sizeof(buf)) == 0);
	CHECK_STREQ(buf, "dpo@example.org");
	CHECK(mail_addr_spec("no-at-sign", buf, sizeof(buf)) == -EINVAL);
	CHECK(mail_addr_spec("two words@example.org", buf, sizeof(buf)) == -EINVAL);
	CHECK(mail_addr_spec("<dpo@example.org> trailing", buf, sizeof(buf)) == -EINVAL);
	CHECK(mail_addr_spec("", buf, sizeof(buf)) == -EINVAL);
	CHECK(mail_addr_spec("@example.org", buf, sizeof(buf)) == -EINVAL);
}

TEST(mail_non_ascii_display_name)
{
	struct mail_opts o = opts();
	const char *to[] = {"Délégué <dpo@example.org>", NULL};
	char decoded[128], *msg;
	const char *h;

	o.to = to;
	msg = format(&o, "s", "x\n");
	h = strstr(msg, "To: =?UTF-8?B?");
	CHECK(h != NULL);
	if (h) {
		CHECK(strstr(h, "?= <dpo@example.org>\r\n") != NULL);
		decode_words(h, decoded, sizeof(decoded));
		CHECK(strncmp(decoded, "Délégué", strlen("Délégué")) == 0);
	}
	free(msg);
}

TEST(mail_fresh_message_ids_differ)
{
	struct mail_opts o = opts();
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	struct mail_content m;
	struct errbuf err;

	memset(&m, 0, sizeof(m));
	m.subject = "s";
	m.body = "b\n";
	m.date = 1796000000;
	m.hostname = "db1.example.org\r\nX: y";
	CHECK(mail_format(&a, &o, &m, &err) == 0);
	CHECK(mail_format(&b, &o, &m, &err) == 0);
	CHECK(strstr(strbuf_str(&a), "@db1.example.orgXy>\r\n") != NULL);
	CHECK(strcmp(strbuf_str(&a), strbuf_str(&b)) != 0);
	strbuf_release(&a);
	strbuf_release(&b);
}

/* The alert's own body: message, host, time, archive dir, log tail. */
TEST(mail_alert_body)
{
	struct logger *lg = logger_new(LOGL_INFO);
	struct notifier *n = NULL;
	struct notify_opts o;
	struct notify_event ev;
	struct strbuf sub = STRBUF_INIT, body = STRBUF_INIT;
	struct errbuf err;

	CHECK(lg != NULL);
	if (!lg)
		return;
	logger_set_quiet(lg, true);
	logger_log(lg, LOGL_ERROR, "backup_failed", "error=\"%s\"", "sql: connection refused");
	memset(&o, 0, sizeof(o));
	o.archive_dir = "/var/lib/dumpfs/archive";
	o.log = lg;
	o.mail = opts();
	o.mail_subject = "Backup KO";
	CHECK(notifier_new(&n, &o, &err) == 0);
	if (!n) {
		logger_free(lg);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.kind = NOTIFY_EV_FAILURE;
	ev.when = 1796000000;
	ev.size_bytes = -1;
	ev.duration = 2.5;
	ev.age_seconds = -1;
	snprintf(ev.message, sizeof(ev.message), "sql: connection refused");
	notify_mail_subject(&sub, n, &ev);
	notify_mail_body(&body, n, &ev);
	CHECK_STREQ(strbuf_str(&sub), "Backup KO");
	CHECK(strncmp(strbuf_str(&body), "sql: connection refused\n", 24) == 0);
	CHECK(strstr(strbuf_str(&body), "Host:        ") != NULL);
	CHECK(strstr(strbuf_str(&body), "Time:        2026-") != NULL);
	CHECK(strstr(strbuf_str(&body), "Archive dir: /var/lib/dumpfs/archive\n") != NULL);
	CHECK(strstr(strbuf_str(&body), "Duration:    2.5 s\n") != NULL);
	CHECK(strstr(strbuf_str(&body), "Last log lines:\n") != NULL);
	CHECK(strstr(strbuf_str(&body), "backup_failed error=\"sql: connection refused\"") != NULL);
	CHECK(strstr(strbuf_str(&body), SECRET) == NULL);
	ev.kind = NOTIFY_EV_RECOVERED;
	strbuf_reset(&sub);
	notify_mail_subject(&sub, n, &ev);
	CHECK(strstr(strbuf_str(&sub), "backup recovered") != NULL);
	strbuf_release(&sub);
	strbuf_release(&body);
	notifier_free(n);
	logger_free(lg);
}
