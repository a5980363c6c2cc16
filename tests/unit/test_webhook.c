/* The webhook: its JSON body, URL redaction, and real POSTs through
 * libcurl to a tiny HTTP server on 127.0.0.1 (retry on 5xx, none on 4xx,
 * a hanging server bounded by the timeout). */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../dumper/curlutil.h"
#include "../../dumper/notify_priv.h"
#include "../../dumper/webhook.h"
#include "unit.h"

static struct notify_event event(enum notify_kind k)
{
	struct notify_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = k;
	ev.when = 1796000000;
	ev.size_bytes = -1;
	ev.duration = -1;
	ev.age_seconds = -1;
	return ev;
}

TEST(webhook_json_failure)
{
	struct notify_event ev = event(NOTIFY_EV_FAILURE);
	struct strbuf sb = STRBUF_INIT;

	setenv("TZ", "Europe/Paris", 1);
	tzset();
	snprintf(ev.message, sizeof(ev.message), "sql: table 'a\"b'\\x\nfailed\x01 \xff");
	notify_webhook_body(&sb, &ev, "db1");
	CHECK_STREQ(strbuf_str(&sb),
		    "{\"status\":\"error\",\"event\":\"failure\","
		    "\"message\":\"sql: table 'a\\\"b'\\\\x\\nfailed\\u0001 \\ufffd\","
		    "\"timestamp\":\"2026-11-30T01:53:20+01:00\",\"host\":\"db1\"}\n");
	strbuf_release(&sb);
	unsetenv("TZ");
	tzset();
}

TEST(webhook_json_success_fields)
{
	struct notify_event ev = event(NOTIFY_EV_RECOVERED);
	struct strbuf sb = STRBUF_INIT;
	const char *s;

	snprintf(ev.message, sizeof(ev.message), "ok");
	snprintf(ev.file, sizeof(ev.file), "mariadb_2026-11-30_020000.sql.gz.gpg");
	ev.size_bytes = 12345;
	ev.duration = 1.5;
	notify_webhook_body(&sb, &ev, "db1");
	s = strbuf_str(&sb);
	CHECK(strncmp(s, "{\"status\":\"success\",\"event\":\"recovered\",", 40) == 0);
	CHECK(strstr(s, ",\"file\":\"mariadb_2026-11-30_020000.sql.gz.gpg\"") != NULL);
	CHECK(strstr(s, ",\"size_bytes\":12345") != NULL);
	CHECK(strstr(s, ",\"duration_seconds\":1.500") != NULL);
	CHECK(strstr(s, "age_seconds") == NULL);
	strbuf_release(&sb);
}

TEST(webhook_url_redact)
{
	char buf[256];

	url_redact("https://user:pw@hooks.example.org:8443/T0KEN/x?sig=abc#f", buf, sizeof(buf));
	CHECK_STREQ(buf, "https://hooks.example.org:8443");
	url_redact("http://127.0.0.1/hook/SECRET", buf, sizeof(buf));
	CHECK_STREQ(buf, "http://127.0.0.1");
	url_redact("not a url", buf, sizeof(buf));
	CHECK_STREQ(buf, "(invalid URL)");
}

/* ---- a tiny HTTP server ---- */

struct tiny {
	int fd;
	int port;
	const int *statuses; /* answer i-th request with statuses[i]; 0 = hang */
	int nstatus;
	int requests;
	char last_body[2048];
	char last_head[2048];
	pthread_t t;
};

static void serve_one(struct tiny *s, int c)
{
	char buf[8192], *body;
	size_t have = 0;
	long clen = 0;
	int status;
	ssize_t r;

	while (have < sizeof(buf) - 1) {
		r = read(c, buf + have, sizeof(buf) - 1 - have);
		if (r <= 0)
			return;
		have += (size_t)r;
		buf[have] = '\0';
		body = strstr(buf, "\r\n\r\n");
		if (!body)
			continue;
		char *cl = strcasestr(buf, "Content-Length:");
		clen = cl ? strtol(cl + 15, NULL, 10) : 0;
		if ((long)(have - (size_t)(body + 4 - buf)) >= clen)
			break;
	}
	body = strstr(buf, "\r\n\r\n");
	snprintf(s->last_head, sizeof(s->last_head), "%.*s", body ? (int)(body - buf) : 0, buf);
	snprintf(s->last_body, sizeof(s->last_body), "%s", body ? body + 4 : "");
	status = s->requests < s->nstatus ? s->statuses[s->requests] : 200;
	s->requests++;
	if (!status) {
		/* Hang: answer nothing until the client gives up and closes
		 * (at most 10 s). */
		struct pollfd pfd = {.fd = c, .events = POLLIN};

		while (poll(&pfd, 1, 10000) == 1 && read(c, buf, sizeof(buf)) > 0)
			;
		return;
	}
	snprintf(buf, sizeof(buf),
		 "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", status);
	if (write(c, buf, strlen(buf)) < 0)
		return;
}

static void *tiny_thread(void *arg)
{
	struct tiny *s = arg;
	int c;

	while ((c = accept(s->fd, NULL, NULL)) >= 0) {
		serve_one(s, c);
		close(c);
	}
	return NULL;
}

static int tiny_start(struct tiny *s, const int *statuses, int n)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->statuses = statuses;
	s->nstatus = n;
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof(a)) || listen(s->fd, 8) ||
	    getsockname(s->fd, (struct sockaddr *)&a, &len))
		return -1;
	s->port = ntohs(a.sin_port);
	return pthread_create(&s->t, NULL, tiny_thread, s) ? -1 : 0;
}

static void tiny_stop(struct tiny *s)
{
	shutdown(s->fd, SHUT_RDWR);
	close(s->fd);
	pthread_join(s->t, NULL);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct http_opts fast(void)
{
	struct http_opts o;

	memset(&o, 0, sizeof(o));
	o.connect_timeout = 1;
	o.timeout = 1;
	o.backoff_ms = 100;
	return o;
}

TEST(webhook_post_retries_5xx_once)
{
	static const int st[] = {503, 200};
	struct http_opts o = fast();
	struct tiny s;
	struct errbuf err;
	char url[128];

	curl_global_init(CURL_GLOBAL_DEFAULT);
	CHECK(tiny_start(&s, st, 2) == 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook/TOKEN123", s.port);
	CHECK(webhook_post(url, "{\"a\":1}\n", &o, &err) == 0);
	tiny_stop(&s);
	CHECK(s.requests == 2);
	CHECK_STREQ(s.last_body, "{\"a\":1}\n");
	CHECK(strstr(s.last_head, "POST /hook/TOKEN123 HTTP/1.1") != NULL);
	CHECK(strcasestr(s.last_head, "Content-Type: application/json") != NULL);
}

TEST(webhook_post_4xx_fails_without_retry_or_secret)
{
	static const int st[] = {404, 200};
	struct http_opts o = fast();
	struct tiny s;
	struct errbuf err;
	char url[128];

	CHECK(tiny_start(&s, st, 2) == 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook/TOKEN123", s.port);
	CHECK(webhook_post(url, "{}", &o, &err) == -EIO);
	tiny_stop(&s);
	CHECK(s.requests == 1);
	CHECK(strstr(err.msg, "HTTP 404") != NULL);
	CHECK(strstr(err.msg, "TOKEN123") == NULL);
	CHECK(strstr(err.msg, "http://127.0.0.1:") != NULL);
}

TEST(webhook_hanging_server_is_bounded)
{
	static const int st[] = {0, 0};
	struct http_opts o = fast();
	struct tiny s;
	struct errbuf err;
	char url[128];
	double t0;

	CHECK(tiny_start(&s, st, 2) == 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook/TOKEN123?k=SECRETQ", s.port);
	t0 = now_s();
	CHECK(webhook_post(url, "{}", &o, &err) == -EIO);
	CHECK(now_s() - t0 < 4.0); /* 2 attempts of 1 s + 0.1 s backoff */
	CHECK(strstr(err.msg, "TOKEN123") == NULL && strstr(err.msg, "SECRETQ") == NULL);
	tiny_stop(&s);
	CHECK(s.requests == 2);
}

TEST(webhook_connection_refused)
{
	struct http_opts o = fast();
	struct tiny s;
	struct errbuf err;
	char url[128];

	CHECK(tiny_start(&s, NULL, 0) == 0);
	tiny_stop(&s); /* the port is now closed */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook/TOKEN123", s.port);
	CHECK(heartbeat_ping(url, &o, &err) == -EIO);
	CHECK(strstr(err.msg, "heartbeat http://127.0.0.1:") != NULL);
	CHECK(strstr(err.msg, "TOKEN123") == NULL);
}
