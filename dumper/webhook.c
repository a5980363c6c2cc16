/* Webhook POSTs and heartbeat GETs with libcurl.  See webhook.h. */
#include "webhook.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "curlutil.h"

#define CONNECT_TIMEOUT 5
#define TIMEOUT		15
#define BACKOFF_MS	2000
#define ATTEMPTS	2

#ifndef DUMPFS_VERSION
#define DUMPFS_VERSION "unknown"
#endif

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
