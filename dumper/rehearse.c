/* `dumpfs rehearse`: throwaway server, restore, re-read, compare.  See
 * rehearse.h. */
#include "rehearse.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "restore.h"
#include "sink.h"
#include "sqldump.h"
#include "thread.h"
#include "tmpserver.h"

struct rehearse {
	const struct rehearse_opts *o;
	atomic_bool cancel;
	pthread_mutex_t lock; /* guards the three below against rehearse_cancel() */
	struct tmpserver *server;
	struct restore *restore;
	struct sqldump *dump;
	bool ran;
};

int rehearse_new(struct rehearse **out, const struct rehearse_opts *opts, struct errbuf *err)
{
	struct rehearse *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return error_set(err, -ENOMEM, "out of memory");
	if (mutex_init(&r->lock)) {
		free(r);
		return error_set(err, -ENOMEM, "cannot create a mutex");
	}
	r->o = opts;
	atomic_init(&r->cancel, false);
	*out = r;
	return 0;
}

void rehearse_cancel(struct rehearse *r)
{
	atomic_store(&r->cancel, true);
	mutex_lock(&r->lock);
	if (r->server)
		tmpserver_cancel(r->server);
	if (r->restore)
		restore_cancel(r->restore);
	if (r->dump)
		sqldump_cancel(r->dump);
	mutex_unlock(&r->lock);
}

void rehearse_free(struct rehearse *r)
{
	if (!r)
		return;
	mutex_destroy(&r->lock);
	free(r);
}

void rehearse_result_release(struct rehearse_result *res)
{
	for (size_t i = 0; i < res->ntables; i++)
		free(res->tables[i].db);
	free(res->tables);
	for (size_t i = 0; i < res->nmismatches; i++)
		free(res->mismatches[i]);
	free(res->mismatches);
	memset(res, 0, sizeof(*res));
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the result ---- */

struct collect {
	struct rehearse_result *res;
	bool nomem;
};

/* Names come from the file: no control characters in a message line. */
static void clean(const char *s, char *out, size_t len)
{
	size_t o = 0;

	for (; *s && o + 1 < len; s++)
		out[o++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
	out[o] = '\0';
}

static void add_mismatch(struct collect *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_mismatch(struct collect *c, const char *fmt, ...)
{
	struct rehearse_result *res = c->res;
	char **v = realloc(res->mismatches, (res->nmismatches + 1) * sizeof(*v));
	va_list ap;
	int n;

	if (!v) {
		c->nomem = true;
		return;
	}
	res->mismatches = v;
	va_start(ap, fmt);
	n = vasprintf(&v[res->nmismatches], fmt, ap);
	va_end(ap);
	if (n < 0) {
		c->nomem = true;
		return;
	}
	res->nmismatches++;
	res->ok = false;
}

static void add_table(struct collect *c, const struct trailer_row *row)
{
	struct rehearse_result *res = c->res;
	size_t dl = strlen(row->db), tl = strlen(row->table);
	struct rehearse_table *v = realloc(res->tables, (res->ntables + 1) * sizeof(*v)), *t;
	char *names;

	if (!v || !(names = malloc(dl + tl + 2))) {
		if (v)
			res->tables = v;
		c->nomem = true;
		return;
	}
	res->tables = v;
	t = &v[res->ntables++];
	memcpy(names, row->db, dl + 1);
	memcpy(names + dl + 1, row->table, tl + 1);
	t->db = names;
	t->table = names + dl + 1;
	t->dump_rows = row->want_rows;
	t->rows = row->got_rows;
	t->ok = row->verdict == TRAILER_OK;
	res->rows += row->got_rows;
}

static void on_row(void *arg, const struct trailer_row *row)
{
	struct collect *c = arg;
	char db[200], table[200];

	add_table(c, row);
	clean(row->db, db, sizeof(db));
	clean(row->table, table, sizeof(table));
	switch (row->verdict) {
	case TRAILER_OK:
		break;
	case TRAILER_ROWS:
		add_mismatch(c, "table %s.%s: %llu rows in the dump, %llu restored", db, table,
			     (unsigned long long)row->want_rows, (unsigned long long)row->got_rows);
		break;
	case TRAILER_DIGEST:
		add_mismatch(c,
			     "table %s.%s: the restored rows differ from the dumped ones (%llu "
			     "rows, digest mismatch)",
			     db, table, (unsigned long long)row->got_rows);
		break;
	case TRAILER_MISSING:
		add_mismatch(c,
			     "table %s.%s: in the dump (%llu rows), missing from the restored "
			     "server",
			     db, table, (unsigned long long)row->want_rows);
		break;
	case TRAILER_EXTRA:
		add_mismatch(c, "table %s.%s: restored (%llu rows), but not in the dump's trailer",
			     db, table, (unsigned long long)row->got_rows);
		break;
	}
}

/* Fills res from the file's trailer and the re-read's. */
static int compare(struct trailer *want, struct trailer *got, struct rehearse_result *res,
		   struct errbuf *err)
{
	struct collect c = {res, false};
	char diff[512];

	res->ok = true;
	if (want->nomem || got->nomem)
		return error_set(err, -ENOMEM, "out of memory");
	if (trailer_empty(want)) {
		add_mismatch(&c, "the dump has no trailer lines (made before dumpfs wrote row "
				 "digests): its rows cannot be checked");
		return c.nomem ? error_set(err, -ENOMEM, "out of memory") : 0;
	}
	trailer_compare(want, got, on_row, &c);
	if (want->bad[0])
		add_mismatch(&c, "the dump's trailer: %s", want->bad);
	if (got->bad[0]) /* our own lines: a bug */
		add_mismatch(&c, "the re-read: %s", got->bad);
	if (!want->have_objects)
		add_mismatch(&c, "objects: the dump's trailer has no objects line");
	else if (trailer_objects_diff(&want->objects, &got->objects, diff, sizeof(diff)))
		add_mismatch(&c, "objects: %s", diff);
	return c.nomem ? error_set(err, -ENOMEM, "out of memory") : 0;
}

/* ---- the steps ---- */

static void on_trailer_line(void *arg, const char *line, size_t len)
{
	trailer_add_line(arg, line, len);
}

static int run_restore(struct rehearse *r, struct tmpserver *srv, struct trailer *want,
		       struct rehearse_result *res, struct errbuf *err)
{
	struct restore_opts o;
	struct restore_stats st;
	struct restore *rs;
	int ret;

	memset(&o, 0, sizeof(o));
	o.file = r->o->file;
	o.out_fd = -1;
	o.target.socket = tmpserver_socket(srv);
	o.target.user = tmpserver_user(srv);
	o.progress = r->o->progress;
	o.log = r->o->log;
	o.trailer_line = on_trailer_line;
	o.trailer_arg = want;
	o.jobs = r->o->jobs;
	ret = restore_new(&rs, &o, err);
	if (ret)
		return ret;
	mutex_lock(&r->lock);
	r->restore = rs;
	mutex_unlock(&r->lock);
	if (atomic_load(&r->cancel))
		restore_cancel(rs);
	ret = restore_run(rs, &st, err);
	mutex_lock(&r->lock);
	r->restore = NULL;
	mutex_unlock(&r->lock);
	restore_free(rs);
	res->restore_seconds = st.seconds;
	if (ret && atomic_load(&r->cancel))
		return error_set(err, -ECANCELED, "cancelled");
	if (ret)
		return error_prefix(err, ret, "the restore failed");
	return 0;
}

/* The restored server read with the dump's own code; its trailer into got. */
static int reread(struct rehearse *r, struct tmpserver *srv, struct trailer *got,
		  struct errbuf *err)
{
	struct writer nullw;
	struct sqldump_opts o;
	struct sqldump_stats st;
	struct sqldump *d;
	const char *text;
	size_t len;
	int ret;

	memset(&o, 0, sizeof(o));
	o.conn.socket = tmpserver_socket(srv);
	o.conn.user = tmpserver_user(srv);
	o.routines = o.triggers = o.events = true;
	o.digests_only = true;
	nullsink_init(&nullw);
	ret = sqldump_new(&d, &o, err);
	if (ret)
		return ret;
	mutex_lock(&r->lock);
	r->dump = d;
	mutex_unlock(&r->lock);
	if (atomic_load(&r->cancel))
		sqldump_cancel(d);
	ret = sqldump_run(d, &nullw, &st, err);
	mutex_lock(&r->lock);
	r->dump = NULL;
	mutex_unlock(&r->lock);
	if (!ret) {
		text = sqldump_trailer(d, &len);
		trailer_add_text(got, text, len);
		got->objects = (struct rowdigest_objects){st.views, st.triggers, st.routines,
							  st.events, st.sequences};
		got->have_objects = true;
	}
	sqldump_free(d);
	if (ret && atomic_load(&r->cancel))
		return error_set(err, -ECANCELED, "cancelled");
	if (ret)
		return error_prefix(err, ret, "reading the restored server failed");
	return 0;
}

static int start_server(struct rehearse *r, struct tmpserver **out, const struct tmpserver_opts *so,
			struct errbuf *err)
{
	int ret = tmpserver_new(out, so, err);

	if (ret)
		return ret;
	mutex_lock(&r->lock);
	r->server = *out;
	mutex_unlock(&r->lock);
	if (atomic_load(&r->cancel))
		tmpserver_cancel(*out);
	return tmpserver_start(*out, err);
}

/* Before a server is started for nothing. */
static int readable(const char *file, struct errbuf *err)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return error_set(err, -errno, "cannot open '%s': %s", file, strerror(errno));
	close(fd);
	return 0;
}

int rehearse_run(struct rehearse *r, struct rehearse_result *res, struct errbuf *err)
{
	struct trailer want, got;
	struct tmpserver_opts so;
	struct tmpserver *srv = NULL;
	const char *tmp = getenv("TMPDIR");
	double t0;
	int ret;

	memset(res, 0, sizeof(*res));
	if (r->ran)
		return error_set(err, -EINVAL, "already ran");
	r->ran = true;
	trailer_init(&want);
	trailer_init(&got);
	ret = readable(r->o->file, err);
	if (ret)
		return ret;
	memset(&so, 0, sizeof(so));
	so.base = r->o->tmpdir ? r->o->tmpdir : tmp && *tmp ? tmp : "/tmp";
	so.log = r->o->log;
	ret = start_server(r, &srv, &so, err);
	if (!ret)
		ret = run_restore(r, srv, &want, res, err);
	t0 = now_s();
	if (!ret)
		ret = reread(r, srv, &got, err);
	res->reread_seconds = now_s() - t0;
	mutex_lock(&r->lock);
	r->server = NULL;
	mutex_unlock(&r->lock);
	tmpserver_free(srv); /* killed and removed before anything is reported */
	if (!ret)
		ret = compare(&want, &got, res, err);
	trailer_release(&want);
	trailer_release(&got);
	logger_log(r->o->log,
		   ret	     ? LOGL_ERROR
		   : res->ok ? LOGL_INFO
			     : LOGL_ERROR,
		   "rehearse_done",
		   "file=\"%s\" ok=%s tables=%zu rows=%llu mismatches=%zu "
		   "restore_seconds=%.1f%s%s%s",
		   r->o->file, LOG_BOOL(!ret && res->ok), res->ntables,
		   (unsigned long long)res->rows, res->nmismatches, res->restore_seconds,
		   ret ? " error=\"" : "", ret ? err->msg : "", ret ? "\"" : "");
	return ret;
}
