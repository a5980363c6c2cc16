/* Webhook POSTs and heartbeat GETs with libcurl.  See webhook.h. */
#include "webhook.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "curl_priv.h"

#define CONNECT_TIMEOUT 5
#define TIMEOUT		15
#define BACKOFF_MS	2000
#define ATTEMPTS	2

#ifndef DUMPFS_VERSION
#define DUMPFS_VERSION "unknown"
#endif

/* ---- JSON ---- */

/* Length of the valid UTF-8 sequence at s (1..4), 0 when invalid. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n, i;
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
		return 0; /* overlong, surrogate, beyond U+10FFFF */
	return n;
}

/* A JSON string; invalid UTF-8 becomes U+FFFD so the body stays valid. */
static void json_str(struct strbuf *sb, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	strbuf_addch(sb, '"');
	while (*p) {
		size_t n = utf8_len(p);

		if (*p == '"' || *p == '\\') {
			strbuf_addch(sb, '\\');
			strbuf_addch(sb, (char)*p);
		} else if (*p == '\n') {
			strbuf_addstr(sb, "\\n");
		} else if (*p == '\t') {
			strbuf_addstr(sb, "\\t");
		} else if (*p < 0x20 || *p == 0x7f) {
			strbuf_addf(sb, "\\u%04x", *p);
		} else if (!n) {
			strbuf_addstr(sb, "\\ufffd");
			n = 1;
		} else {
			strbuf_add(sb, p, n);
		}
		p += n ? n : 1;
	}
	strbuf_addch(sb, '"');
}

static void json_kstr(struct strbuf *sb, const char *key, const char *val)
{
	strbuf_addf(sb, ",\"%s\":", key);
	json_str(sb, val);
}

void iso8601_local(time_t t, char buf[ISO_OFFSET_LEN])
{
	struct tm tm;
	long off;
	int oh, om;

	buf[0] = '\0';
	if (!localtime_r(&t, &tm) || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
		return;
	off = tm.tm_gmtoff < 0 ? -tm.tm_gmtoff : tm.tm_gmtoff;
	oh = (int)(off / 3600 % 100);
	om = (int)(off % 3600 / 60);
	snprintf(buf, ISO_OFFSET_LEN, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
		 (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100, tm.tm_mday % 100,
		 tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100, tm.tm_gmtoff < 0 ? '-' : '+',
		 oh, om);
}

void webhook_format(struct strbuf *sb, const struct notify_event *ev, const char *host)
{
	char when[ISO_OFFSET_LEN];

	iso8601_local(ev->when, when);
	strbuf_addstr(sb, "{\"status\":");
	json_str(sb, notify_kind_status(ev->kind));
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

/* ---- URLs and curl errors ---- */

void url_redact(const char *url, char *buf, size_t len)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL;

	snprintf(buf, len, "(invalid URL)");
	if (!u)
		return;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK)
			snprintf(buf, len, "%s://%s:%s", scheme, host, port);
		else
			snprintf(buf, len, "%s://%s", scheme, host);
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
}

/* True when `text` contains a part of `url` that may be secret: the
 * user info, the path (beyond "/"), the query or the fragment. */
static bool leaks_url(const char *text, const char *url)
{
	static const CURLUPart parts[] = {CURLUPART_USER, CURLUPART_PASSWORD, CURLUPART_PATH,
					  CURLUPART_QUERY, CURLUPART_FRAGMENT};
	CURLU *u = curl_url();
	bool leak = false;

	if (!u)
		return true;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
		curl_url_cleanup(u);
		return strstr(text, url) != NULL;
	}
	for (size_t i = 0; !leak && i < sizeof(parts) / sizeof(parts[0]); i++) {
		char *v = NULL;

		if (curl_url_get(u, parts[i], &v, 0) == CURLUE_OK && v && strlen(v) > 1 &&
		    strstr(text, v))
			leak = true;
		curl_free(v);
	}
	curl_url_cleanup(u);
	return leak;
}

int curl_failure(struct errbuf *err, int code, const char *what, const char *url, int cc,
		 const char *detail)
{
	char where[256];
	const char *text = detail && detail[0] && !leaks_url(detail, url)
				   ? detail
				   : curl_easy_strerror((CURLcode)cc);

	url_redact(url, where, sizeof(where));
	return error_set(err, code, "%s %s failed: %s", what, where, text);
}

/* ---- HTTP ---- */

static size_t discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
	(void)ptr;
	(void)arg;
	return size * nmemb;
}

struct http_req {
	const char *what; /* "webhook", "heartbeat" */
	const char *url;
	const char *body; /* NULL = GET */
	const struct http_opts *o;
};

static unsigned pick(unsigned v, unsigned def)
{
	return v ? v : def;
}

/* Sets up the handle; returns a CURLcode. */
static int http_setup(CURL *h, const struct http_req *r, struct curl_slist *hdrs, char *ebuf)
{
	SETOPT(h, CURLOPT_URL, r->url);
	SETOPT(h, CURLOPT_ERRORBUFFER, ebuf);
	SETOPT(h, CURLOPT_NOSIGNAL, 1L);
	SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(h, CURLOPT_CONNECTTIMEOUT, (long)pick(r->o->connect_timeout, CONNECT_TIMEOUT));
	SETOPT(h, CURLOPT_TIMEOUT, (long)pick(r->o->timeout, TIMEOUT));
	SETOPT(h, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (r->o->ca_file)
		SETOPT(h, CURLOPT_CAINFO, r->o->ca_file);
	SETOPT(h, CURLOPT_USERAGENT, "dumpfs/" DUMPFS_VERSION);
	SETOPT(h, CURLOPT_WRITEFUNCTION, discard);
	if (r->body) {
		SETOPT(h, CURLOPT_HTTPHEADER, hdrs);
		SETOPT(h, CURLOPT_POSTFIELDS, r->body);
		SETOPT(h, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
	} else {
		SETOPT(h, CURLOPT_HTTPGET, 1L);
	}
	return CURLE_OK;
}

static bool transient(CURLcode cc, long status)
{
	switch (cc) {
	case CURLE_OK:
		return status == 408 || status == 429 || status >= 500;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return true;
	default:
		return false;
	}
}

/* One attempt.  0 on 2xx; else the error and *retry. */
static int http_once(const struct http_req *r, bool *retry, struct errbuf *err)
{
	char ebuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL, *h2;
	long status = 0;
	CURL *h;
	int cc;

	*retry = false;
	h = curl_easy_init();
	if (!h)
		return error_set(err, -ENOMEM, "%s: cannot create a curl handle", r->what);
	if (r->body) {
		hdrs = curl_slist_append(NULL, "Content-Type: application/json");
		h2 = hdrs ? curl_slist_append(hdrs, "Expect:") : NULL;
		if (!h2) {
			curl_slist_free_all(hdrs);
			curl_easy_cleanup(h);
			return error_set(err, -ENOMEM, "%s: out of memory", r->what);
		}
		hdrs = h2;
	}
	cc = http_setup(h, r, hdrs, ebuf);
	if (cc == CURLE_OK)
		cc = curl_easy_perform(h);
	if (cc == CURLE_OK && curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
		status = 0;
	curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	*retry = transient((CURLcode)cc, status);
	if (cc != CURLE_OK)
		return curl_failure(err, -EIO, r->what, r->url, cc, ebuf);
	if (status < 200 || status > 299) {
		char where[256];

		url_redact(r->url, where, sizeof(where));
		return error_set(err, -EIO, "%s %s answered HTTP %ld", r->what, where, status);
	}
	return 0;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int http_request(const struct http_req *r, struct errbuf *err)
{
	unsigned attempts = pick(r->o->attempts, ATTEMPTS);
	bool retry = false;
	int ret = -EIO;

	for (unsigned i = 0; i < attempts; i++) {
		if (i)
			sleep_ms(pick(r->o->backoff_ms, BACKOFF_MS) * i);
		ret = http_once(r, &retry, err);
		if (!ret || !retry)
			break;
	}
	return ret;
}

int webhook_post(const char *url, const char *json, const struct http_opts *o, struct errbuf *err)
{
	struct http_req r = {"webhook", url, json, o};

	return http_request(&r, err);
}

int heartbeat_ping(const char *url, const struct http_opts *o, struct errbuf *err)
{
	struct http_req r = {"heartbeat", url, NULL, o};

	return http_request(&r, err);
}
