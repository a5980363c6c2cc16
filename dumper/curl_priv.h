/* What webhook.c and mail.c share in setting up a curl easy handle.
 * Private to dumper/. */
#ifndef DUMPER_CURL_PRIV_H
#define DUMPER_CURL_PRIV_H

#include <curl/curl.h>

/* Sets an option; on failure returns its CURLcode (as int) from the
 * calling setup function. */
#define SETOPT(h, opt, val)                                                                        \
	do {                                                                                       \
		CURLcode c_ = curl_easy_setopt(h, opt, val);                                       \
		if (c_ != CURLE_OK)                                                                \
			return (int)c_;                                                            \
	} while (0)

#endif
