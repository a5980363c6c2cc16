/* What webhook.c and mail.c share about libcurl: URLs are secrets (tokens
 * in the path or query, passwords in the user info), so errors and logs
 * only ever show the scheme and host.  Private to dumper/. */
#ifndef DUMPER_CURLUTIL_H
#define DUMPER_CURLUTIL_H

#include <curl/curl.h>
#include <stddef.h>

#include "errbuf.h"

/* Sets an option; on failure returns its CURLcode (as int) from the
 * calling setup function. */
#define SETOPT(h, opt, val)                                                                        \
	do {                                                                                       \
		CURLcode c_ = curl_easy_setopt(h, opt, val);                                       \
		if (c_ != CURLE_OK)                                                                \
			return (int)c_;                                                            \
	} while (0)

/* "https://host:port" of url (no user, path, query), for logs; "(invalid
 * URL)" when it cannot be parsed. */
void url_redact(const char *url, char *buf, size_t len);

/* error_set(err, code, "<what> <scheme://host> failed: <reason>") where the
 * reason is curl's detail text (CURLOPT_ERRORBUFFER) unless it shows a
 * secret part of `url`, else curl_easy_strerror(cc).  `cc` is a CURLcode.
 * Returns code. */
int curl_failure(struct errbuf *err, int code, const char *what, const char *url, int cc,
		 const char *detail);

#endif
