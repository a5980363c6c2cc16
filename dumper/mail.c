/* Alert mails over SMTP with libcurl.  See mail.h. */
#include "mail.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "curlutil.h"

#define CONNECT_TIMEOUT 5
#define TIMEOUT		30
#define QP_LINE		76 /* RFC 2045 */
#define WORD_BYTES	45 /* 60 base64 chars: an encoded-word of 72 */

static bool is_plain_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

static bool has_crlf(const char *s)
{
	return s && strpbrk(s, "\r\n") != NULL;
}

static bool is_smtp_url(const char *url, bool *implicit_tls)
{
	*implicit_tls = !strncasecmp(url, "smtps://", 8);
	return *implicit_tls || !strncasecmp(url, "smtp://", 7);
}

int mail_addr_spec(const char *addr, char *buf, size_t len)
{
	const char *lt = strrchr(addr, '<'), *start = addr, *end;
	size_t n;

	if (lt) {
		start = lt + 1;
		end = strchr(start, '>');
		if (!end || end[1 + strspn(end + 1, " \t")])
			return -EINVAL;
	} else {
		start += strspn(start, " \t");
		end = start + strlen(start);
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
	}
	n = (size_t)(end - start);
	if (!n || n >= len)
		return -EINVAL;
	for (const char *p = start; p < end; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p > 0x7e || strchr("<>,;\"", *p))
			return -EINVAL;
	memcpy(buf, start, n);
	buf[n] = '\0';
	if (!strchr(buf, '@') || buf[0] == '@' || buf[n - 1] == '@')
		return -EINVAL;
	return 0;
}

int mail_opts_check(const struct mail_opts *o, struct errbuf *err)
{
	char spec[320];
	bool tls;

	if (!o->smtp_url || has_crlf(o->smtp_url) || !is_smtp_url(o->smtp_url, &tls))
		return error_set(err, -EINVAL,
				 "[notify] smtp_url must be smtp://host:port or smtps://host:port");
	if (!o->from || has_crlf(o->from) || mail_addr_spec(o->from, spec, sizeof(spec)))
		return error_set(err, -EINVAL,
				 "[notify] mail_from '%s' is not a mail address (name@domain)",
				 o->from && !has_crlf(o->from) ? o->from : "");
	if (!o->to || !o->to[0])
		return error_set(err, -EINVAL, "[notify] mail_to needs at least one address");
	for (size_t i = 0; o->to[i]; i++)
		if (has_crlf(o->to[i]) || mail_addr_spec(o->to[i], spec, sizeof(spec)))
			return error_set(
				err, -EINVAL,
				"[notify] mail_to: '%s' is not a mail address (name@domain)",
				has_crlf(o->to[i]) ? "" : o->to[i]);
	if (has_crlf(o->user))
		return error_set(err, -EINVAL, "[notify] smtp_user contains a line break");
	return 0;
}

void mail_format_date(char buf[MAIL_DATE_MAX], time_t t)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	long off;

	if (!localtime_r(&t, &tm) || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900) {
		snprintf(buf, MAIL_DATE_MAX, "Thu, 01 Jan 1970 00:00:00 +0000");
		return;
	}
	off = tm.tm_gmtoff < 0 ? -tm.tm_gmtoff : tm.tm_gmtoff;
	snprintf(buf, MAIL_DATE_MAX, "%s, %02d %s %04d %02d:%02d:%02d %c%02d%02d",
		 days[tm.tm_wday % 7], tm.tm_mday % 100, months[tm.tm_mon % 12],
		 (tm.tm_year + 1900) % 10000, tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100,
		 tm.tm_gmtoff < 0 ? '-' : '+', (int)(off / 3600 % 100), (int)(off % 3600 / 60));
}

static void base64(struct strbuf *sb, const unsigned char *p, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		strbuf_addch(sb, tab[(v >> 18) & 63]);
		strbuf_addch(sb, tab[(v >> 12) & 63]);
		strbuf_addch(sb, i + 1 < n ? tab[(v >> 6) & 63] : '=');
		strbuf_addch(sb, i + 2 < n ? tab[v & 63] : '=');
	}
}

/* Bytes of s (at most max) that end on a UTF-8 character boundary. */
static size_t utf8_cut(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n ? n : max; /* not UTF-8 at all: cut anywhere */
}

void mail_encode_phrase(struct strbuf *sb, const char *text)
{
	bool first = true;

	if (is_plain_ascii(text)) {
		strbuf_addstr(sb, text);
		return;
	}
	while (*text) {
		size_t n = utf8_cut(text, WORD_BYTES);

		if (!first)
			strbuf_addstr(sb, "\r\n ");
		strbuf_addstr(sb, "=?UTF-8?B?");
		base64(sb, (const unsigned char *)text, n);
		strbuf_addstr(sb, "?=");
		text += n;
		first = false;
	}
}

/* "Name <addr>" with a non-ASCII name encoded; else as configured. */
static void add_address(struct strbuf *sb, const char *addr)
{
	const char *lt = strrchr(addr, '<');
	size_t n;

	if (!lt || is_plain_ascii(addr)) {
		strbuf_addstr(sb, addr);
		return;
	}
	n = (size_t)(lt - addr);
	while (n && (addr[n - 1] == ' ' || addr[n - 1] == '\t'))
		n--;
	if (n) {
		char *name = strndup(addr, n);

		if (!name) {
			sb->failed = true;
			return;
		}
		mail_encode_phrase(sb, name);
		free(name);
		strbuf_addch(sb, ' ');
	}
	strbuf_addstr(sb, lt);
}

static void message_id(char *buf, size_t len, time_t t, const char *host)
{
	uint32_t r[2] = {0, 0};
	char h[128];
	size_t n = 0;

	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r[0] = (uint32_t)getpid() ^ (uint32_t)clock();
	for (const char *p = host ? host : ""; *p && n < sizeof(h) - 1; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '-')
			h[n++] = *p;
	h[n] = '\0';
	snprintf(buf, len, "<dumpfs.%lld.%ld.%08x%08x@%s>", (long long)t, (long)getpid(), r[0],
		 r[1], n ? h : "localhost");
}

/* Lines that 7bit can carry as they are. */
static bool body_is_7bit(const char *s)
{
	size_t col = 0;

	for (; *s; s++) {
		if (*s == '\n') {
			col = 0;
			continue;
		}
		if (((unsigned char)*s < 0x20 && *s != '\t') || (unsigned char)*s > 0x7e ||
		    ++col > QP_LINE)
			return false;
	}
	return true;
}

static void body_7bit(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			strbuf_addch(sb, '\r');
		strbuf_addch(sb, *s);
	}
}

/* Quoted-printable (RFC 2045 6.7), soft breaks at 76 columns. */
static void body_qp(struct strbuf *sb, const char *s)
{
	size_t col = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		bool eol = s[1] == '\n' || s[1] == '\0';
		bool lit = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !eol);
		size_t w = lit ? 1 : 3;

		if (c == '\n') {
			strbuf_addstr(sb, "\r\n");
			col = 0;
			continue;
		}
		if (col + w > QP_LINE - 1) { /* room for the soft break's '=' */
			strbuf_addstr(sb, "=\r\n");
			col = 0;
		}
		if (lit)
			strbuf_addch(sb, (char)c);
		else
			strbuf_addf(sb, "=%02X", c);
		col += w;
	}
}

/* One header line's text: line breaks become spaces (no injection). */
static void add_header_text(struct strbuf *sb, const char *name, const char *text)
{
	char *copy = strdup(text ? text : "");

	if (!copy) {
		sb->failed = true;
		return;
	}
	for (char *p = copy; *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	strbuf_addf(sb, "%s: ", name);
	mail_encode_phrase(sb, copy);
	strbuf_addstr(sb, "\r\n");
	free(copy);
}

int mail_format(struct strbuf *sb, const struct mail_opts *o, const struct mail_content *m,
		struct errbuf *err)
{
	char date[MAIL_DATE_MAX], mid[256];
	const char *body = m->body ? m->body : "";
	bool seven = body_is_7bit(body);
	int ret = mail_opts_check(o, err);

	if (ret)
		return ret;
	mail_format_date(date, m->date);
	if (m->message_id && !has_crlf(m->message_id))
		snprintf(mid, sizeof(mid), "%s", m->message_id);
	else
		message_id(mid, sizeof(mid), m->date, m->hostname);
	strbuf_addf(sb, "Date: %s\r\nMessage-ID: %s\r\nFrom: ", date, mid);
	add_address(sb, o->from);
	strbuf_addstr(sb, "\r\nTo: ");
	for (size_t i = 0; o->to[i]; i++) {
		if (i)
			strbuf_addstr(sb, ",\r\n ");
		add_address(sb, o->to[i]);
	}
	strbuf_addstr(sb, "\r\n");
	add_header_text(sb, "Subject", m->subject);
	strbuf_addf(sb,
		    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: %s\r\nAuto-Submitted: auto-generated\r\n\r\n",
		    seven ? "7bit" : "quoted-printable");
	if (seven)
		body_7bit(sb, body);
	else
		body_qp(sb, body);
	if (sb->len && sb->buf[sb->len - 1] != '\n')
		strbuf_addstr(sb, "\r\n");
	if (strbuf_error(sb))
		return error_set(err, -ENOMEM, "mail: out of memory");
	return 0;
}

/* ---- sending ---- */

struct upload {
	const char *data;
	size_t len, pos;
};

static size_t read_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct upload *u = arg;
	size_t n = size * nmemb;

	if (n > u->len - u->pos)
		n = u->len - u->pos;
	memcpy(ptr, u->data + u->pos, n);
	u->pos += n;
	return n;
}

/* With a password to send, "try" is "require": a man in the middle who
 * strips STARTTLS from the server's EHLO reply must not get it in clear.
 * Only an explicit "off" sends it unencrypted. */
static bool mail_tls_required(const struct mail_opts *o)
{
	return o->tls == MAIL_TLS_REQUIRE || (o->tls == MAIL_TLS_TRY && o->user);
}

static int smtp_setup(CURL *h, const struct mail_opts *o, struct curl_slist *rcpt, struct upload *u,
		      const char *from, char *ebuf)
{
	bool implicit_tls;

	is_smtp_url(o->smtp_url, &implicit_tls);
	SETOPT(h, CURLOPT_URL, o->smtp_url);
	SETOPT(h, CURLOPT_ERRORBUFFER, ebuf);
	SETOPT(h, CURLOPT_NOSIGNAL, 1L);
	SETOPT(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	SETOPT(h, CURLOPT_CONNECTTIMEOUT,
	       (long)(o->connect_timeout ? o->connect_timeout : CONNECT_TIMEOUT));
	SETOPT(h, CURLOPT_TIMEOUT, (long)(o->timeout ? o->timeout : TIMEOUT));
	SETOPT(h, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->ca_file)
		SETOPT(h, CURLOPT_CAINFO, o->ca_file);
	if (implicit_tls || mail_tls_required(o))
		SETOPT(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	else if (o->tls == MAIL_TLS_TRY)
		SETOPT(h, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
	else
		SETOPT(h, CURLOPT_USE_SSL, (long)CURLUSESSL_NONE);
	if (o->user) {
		SETOPT(h, CURLOPT_USERNAME, o->user);
		SETOPT(h, CURLOPT_PASSWORD, o->password ? o->password : "");
	}
	SETOPT(h, CURLOPT_MAIL_FROM, from);
	SETOPT(h, CURLOPT_MAIL_RCPT, rcpt);
	SETOPT(h, CURLOPT_READFUNCTION, read_cb);
	SETOPT(h, CURLOPT_READDATA, u);
	SETOPT(h, CURLOPT_UPLOAD, 1L);
	SETOPT(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)u->len);
	return CURLE_OK;
}

/* "<addr>" for every recipient. */
static struct curl_slist *recipients(const struct mail_opts *o)
{
	struct curl_slist *list = NULL, *l2;
	char spec[320], br[324];

	for (size_t i = 0; o->to[i]; i++) {
		if (mail_addr_spec(o->to[i], spec, sizeof(spec)))
			continue; /* mail_opts_check refused it already */
		snprintf(br, sizeof(br), "<%s>", spec);
		l2 = curl_slist_append(list, br);
		if (!l2) {
			curl_slist_free_all(list);
			return NULL;
		}
		list = l2;
	}
	return list;
}

static int no_starttls(struct errbuf *err, const char *url)
{
	char where[256];

	url_redact(url, where, sizeof(where));
	return error_set(err, -EIO,
			 "mail via %s failed: the server offers no STARTTLS, and with smtp_user "
			 "set the password is only sent over TLS (smtp_tls = try acts as require; "
			 "set smtp_tls = off to send it in clear)",
			 where);
}

int mail_send(const struct mail_opts *o, const struct mail_content *m, struct errbuf *err)
{
	struct strbuf msg = STRBUF_INIT;
	struct curl_slist *rcpt = NULL;
	char ebuf[CURL_ERROR_SIZE] = "", spec[320], from[324];
	struct upload u;
	CURL *h = NULL;
	int ret, cc;

	ret = mail_format(&msg, o, m, err);
	if (ret)
		return ret;
	mail_addr_spec(o->from, spec, sizeof(spec));
	snprintf(from, sizeof(from), "<%s>", spec);
	rcpt = recipients(o);
	h = curl_easy_init();
	if (!rcpt || !h) {
		ret = error_set(err, -ENOMEM, "mail: out of memory");
		goto out;
	}
	u = (struct upload){msg.buf, msg.len, 0};
	cc = smtp_setup(h, o, rcpt, &u, from, ebuf);
	if (cc == CURLE_OK)
		cc = curl_easy_perform(h);
	if (cc == CURLE_USE_SSL_FAILED && o->tls == MAIL_TLS_TRY && o->user)
		ret = no_starttls(err, o->smtp_url);
	else if (cc != CURLE_OK)
		ret = curl_failure(err, -EIO, "mail via", o->smtp_url, cc, ebuf);
out:
	curl_easy_cleanup(h);
	curl_slist_free_all(rcpt);
	strbuf_release(&msg);
	return ret;
}
