/* What webhook.c and mail.c share about curl.  See curlutil.h. */
#include "curlutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

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
