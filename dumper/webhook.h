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

struct http_opts {
	const char *ca_file;	  /* NULL = system CAs */
	unsigned connect_timeout; /* seconds; 0 = 5 */
	unsigned timeout;	  /* per attempt; 0 = 15 */
	unsigned backoff_ms;	  /* before the retry; 0 = 2000 */
	unsigned attempts;	  /* 0 = 2 (one retry) */
};

/* POSTs `json` with Content-Type: application/json; 2xx is success. */
int webhook_post(const char *url, const char *json, const struct http_opts *o, struct errbuf *err);

/* GETs `url`; 2xx is success. */
int heartbeat_ping(const char *url, const struct http_opts *o, struct errbuf *err);

#endif
