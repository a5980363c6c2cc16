/* HTTP notices with libcurl: the webhook (POST of a JSON body) and the
 * heartbeat (GET after each success, a dead man's switch).
 *
 * Bounded: a connect timeout, a total timeout per attempt, CURLOPT_NOSIGNAL
 * (threads), one retry after a short backoff for transient failures
 * (connect, timeout, HTTP 408/429/5xx), never for 4xx or certificate
 * errors.  Only http/https, no redirects; HTTPS certificates verified
 * (ca_file adds a private CA).  URLs are secrets (tokens in the path or
 * query): errors and logs only ever show the scheme and host.
 *
 * curl_global_init() must have been called by main().
 */
#ifndef DUMPER_WEBHOOK_H
#define DUMPER_WEBHOOK_H

#include <stddef.h>

#include "errbuf.h"
#include "notify.h"
#include "strbuf.h"

struct http_opts {
	const char *ca_file;	  /* NULL = system CAs */
	unsigned connect_timeout; /* seconds; 0 = 5 */
	unsigned timeout;	  /* per attempt; 0 = 15 */
	unsigned backoff_ms;	  /* before the retry; 0 = 2000 */
	unsigned attempts;	  /* 0 = 2 (one retry) */
};

/* The webhook body, one JSON object:
 * {"status":"error","event":"failure","message":"...",
 *  "timestamp":"2026-11-29T02:00:00+01:00","host":"db1",
 *  "file":"...","size_bytes":N,"duration_seconds":N.N,
 *  "age_seconds":N,"key_fingerprint":"...","key_expires":"..."}
 * file, size_bytes, duration_seconds, age_seconds and the key fields only
 * when known. */
void webhook_format(struct strbuf *sb, const struct notify_event *ev, const char *host);

/* POSTs `json` with Content-Type: application/json; 2xx is success. */
int webhook_post(const char *url, const char *json, const struct http_opts *o, struct errbuf *err);

/* GETs `url`; 2xx is success. */
int heartbeat_ping(const char *url, const struct http_opts *o, struct errbuf *err);

/* "https://host:port" of url (no user, path, query), for logs; "(invalid
 * URL)" when it cannot be parsed. */
void url_redact(const char *url, char *buf, size_t len);

/* Shared with mail.c: error_set(err, code, "<what> <scheme://host> failed:
 * <reason>") where the reason is curl's detail text (CURLOPT_ERRORBUFFER)
 * unless it shows a secret part of `url`, else curl_easy_strerror(cc).
 * `cc` is a CURLcode. */
int curl_failure(struct errbuf *err, int code, const char *what, const char *url, int cc,
		 const char *detail);

/* "2026-11-29T02:00:00+01:00": local time with its offset. */
#define ISO_OFFSET_LEN 32
void iso8601_local(time_t t, char buf[ISO_OFFSET_LEN]);

#endif
