/* Alert mails: an RFC 5322 message sent over SMTP with libcurl.
 *
 * smtp://host:587 uses STARTTLS as `tls` says (require: CURLUSESSL_ALL,
 * the mail is not sent without TLS; try: CURLUSESSL_TRY, but as require
 * when `user` is set, so a password never goes out in clear; off: plain);
 * smtps://host:465 is TLS from the start.  Certificates are verified
 * (ca_file adds a private CA bundle).  AUTH when `user` is set.
 *
 * The message: Date, Message-ID, From, To, Subject (RFC 2047 encoded-words
 * when not ASCII), MIME-Version, text/plain; charset=utf-8, the body in
 * quoted-printable when it is not plain short ASCII lines.  CRLF line
 * ends.  The password is never part of the message or of any error.
 *
 * curl_global_init() must have been called by main().
 */
#ifndef DUMPER_MAIL_H
#define DUMPER_MAIL_H

#include <time.h>

#include "errbuf.h"
#include "strbuf.h"

enum mail_tls { MAIL_TLS_TRY, MAIL_TLS_REQUIRE, MAIL_TLS_OFF };

struct mail_opts {
	const char *smtp_url;	  /* smtp://host[:port] or smtps://... */
	enum mail_tls tls;	  /* STARTTLS on smtp:// */
	const char *user;	  /* NULL = no AUTH */
	const char *password;	  /* secret */
	const char *from;	  /* "addr" or "Name <addr>" */
	const char *const *to;	  /* NULL-terminated, at least one */
	const char *ca_file;	  /* NULL = system CAs */
	unsigned connect_timeout; /* seconds; 0 = 5 */
	unsigned timeout;	  /* whole transfer; 0 = 30 */
};

struct mail_content {
	const char *subject; /* UTF-8, one line */
	const char *body;    /* UTF-8, "\n" line ends */
	time_t date;
	const char *message_id; /* "<...@...>"; NULL = a fresh one */
	const char *hostname;	/* for a fresh Message-ID; NULL = "localhost" */
};

/* Checks the addresses and the URL (scheme smtp/smtps, no CR/LF, at least
 * one recipient) so a bad config is reported once, at start. */
int mail_opts_check(const struct mail_opts *o, struct errbuf *err);

/* Appends the whole message (headers, blank line, body; CRLF) to sb. */
int mail_format(struct strbuf *sb, const struct mail_opts *o, const struct mail_content *m,
		struct errbuf *err);

/* Sends the message to every recipient.  Errors name the server by its
 * scheme and host only. */
int mail_send(const struct mail_opts *o, const struct mail_content *m, struct errbuf *err);

/* ---- pieces, exposed for tests ---- */

/* RFC 5322 date, C locale: "Sun, 29 Nov 2026 02:00:00 +0100". */
#define MAIL_DATE_MAX 40
void mail_format_date(char buf[MAIL_DATE_MAX], time_t t);
/* `text` as is when it is printable ASCII, else as RFC 2047 "B"
 * encoded-words of at most 75 characters, folded with CRLF SP. */
void mail_encode_phrase(struct strbuf *sb, const char *text);
/* The addr-spec of "addr" or "Name <addr>" into buf; -EINVAL when there
 * is none or it has spaces, control characters or no '@'. */
int mail_addr_spec(const char *addr, char *buf, size_t len);

#endif
