/* The restore's SQL filter: checks the completion line and keeps one
 * database.  See restore.h (gunzip: gunzip.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "restore.h"
#include "sqldump.h"
#include "sqlguard.h"
#include "strbuf.h"

/* ---- the SQL filter ---- */

#define PREFIX_MAX     4096  /* enough of a line to classify it */
#define PENDING_MAX    65536 /* comment lines held for the next statement */
#define OUT_FLUSH      65536
#define FOOTER_FIRST   "SET SQL_MODE=@OLD_SQL_MODE;"
#define TRAILER_PREFIX "-- dumpfs: "

enum section { SEC_HEADER, SEC_DB, SEC_FOOTER };

struct sqlfilter {
	struct writer w;
	struct writer *next;
	char *want; /* NULL = all */
	bool keep_lines;
	struct restore_stats *st, local;
	char line[PREFIX_MAX + 1];
	size_t len;
	bool streaming;	 /* a long line passing through */
	bool line_keep;	 /* its decision */
	char last_nonsp; /* its last non-space byte */
	enum section sec;
	bool keep;     /* the current section is kept */
	bool in_delim; /* between "DELIMITER x" and "DELIMITER ;" */
	bool seen_want;
	bool completed; /* the last non-blank line was the completion line */
	bool failed;
	struct strbuf pending, out, names;
	struct sqlguard *guard; /* sees every byte before it is passed on */
	void (*trailer_line)(void *arg, const char *line, size_t len);
	void *trailer_arg;
	void (*database)(void *arg, const char *name);
	void *database_arg;
};

static int sf_flush(struct sqlfilter *f, struct errbuf *err)
{
	int ret;

	if (strbuf_error(&f->out) || strbuf_error(&f->pending) || strbuf_error(&f->names))
		return error_set(err, -ENOMEM, "restore: out of memory");
	if (!f->out.len)
		return 0;
	ret = writer_write(f->next, f->out.buf, f->out.len, err);
	strbuf_reset(&f->out);
	return ret;
}

/* Bytes of one line (or a part of it), kept or not. */
static void sf_emit(struct sqlfilter *f, const char *p, size_t n, bool keep)
{
	if (keep) {
		strbuf_add(&f->out, p, n);
		f->st->out_bytes += n;
	} else if (f->keep_lines && n && p[n - 1] == '\n') {
		strbuf_addch(&f->out, '\n');
	}
}

static void sf_resolve_pending(struct sqlfilter *f, bool keep)
{
	const char *p = f->pending.buf, *end;

	if (!p) /* nothing pending yet (and NULL + 0 is undefined) */
		return;
	end = p + f->pending.len;
	if (keep) {
		sf_emit(f, p, f->pending.len, true);
	} else {
		for (; p < end; p++)
			if (*p == '\n')
				sf_emit(f, "\n", 1, false);
	}
	strbuf_reset(&f->pending);
}

/* `name` of "`name`" at s (backticks doubled inside) into sb. */
static bool parse_ident(const char *s, struct strbuf *sb)
{
	if (*s++ != '`')
		return false;
	for (; *s; s++) {
		if (*s == '`') {
			if (s[1] != '`')
				return true;
			s++;
		}
		strbuf_addch(sb, *s);
	}
	return false;
}

static int sf_enter_db(struct sqlfilter *f, const char *ident_at, struct errbuf *err)
{
	struct strbuf name = STRBUF_INIT;
	bool ok = parse_ident(ident_at, &name);

	if (!ok && f->want) {
		strbuf_release(&name);
		return error_set(err, -EINVAL,
				 "cannot follow the dump's database sections at SQL line %llu: "
				 "restore without --database",
				 (unsigned long long)f->st->lines);
	}
	f->sec = SEC_DB;
	f->keep = !f->want || (ok && !strcmp(strbuf_str(&name), f->want));
	if (f->want && f->keep)
		f->seen_want = true;
	if (ok && f->keep && f->database)
		f->database(f->database_arg, strbuf_str(&name));
	if (ok && f->names.len < 400 && !strstr(strbuf_str(&f->names), strbuf_str(&name))) {
		strbuf_addstr(&f->names, f->names.len ? ", " : "");
		strbuf_addstr(&f->names, strbuf_str(&name));
	}
	strbuf_release(&name);
	return 0;
}

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* Section changes; 0 or an error. */
static int sf_classify(struct sqlfilter *f, const char *text, struct errbuf *err)
{
	if (starts(text, "CREATE DATABASE ")) {
		const char *p = text + 16;

		if (starts(p, "/*!32312 IF NOT EXISTS*/ "))
			p += 25;
		else if (starts(p, "IF NOT EXISTS "))
			p += 14;
		return sf_enter_db(f, p, err);
	}
	if (starts(text, "USE "))
		return sf_enter_db(f, text + 4, err);
	if (!strcmp(text, FOOTER_FIRST)) {
		f->sec = SEC_FOOTER;
		f->keep = true;
	} else if (starts(text, "DELIMITER ") && strcmp(text + 10, ";")) {
		f->in_delim = true;
	}
	return 0;
}

static bool blank(const char *s)
{
	return s[strspn(s, " \t\r")] == '\0';
}

static char last_nonspace(const char *p, size_t n, char prev)
{
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
		n--;
	return n ? p[n - 1] : prev;
}

/* A whole line of at most PREFIX_MAX bytes, "\n" included. */
static int sf_line(struct sqlfilter *f, char *line, size_t n, struct errbuf *err)
{
	int ret;

	f->st->lines++;
	line[n - 1] = '\0'; /* the text, for matching */
	if (f->in_delim) {
		if (!strcmp(line, "DELIMITER ;")) {
			f->in_delim = false;
			f->st->statements += f->keep;
		}
		line[n - 1] = '\n';
		sf_emit(f, line, n, f->keep);
		f->completed = false;
		return 0;
	}
	if (!strcmp(line, SQLDUMP_COMPLETION_LINE)) {
		line[n - 1] = '\n';
		sf_resolve_pending(f, true);
		sf_emit(f, line, n, true);
		f->completed = true;
		return 0;
	}
	if (blank(line) || starts(line, "--")) {
		if (!blank(line))
			f->completed = false;
		if (f->trailer_line && f->sec == SEC_FOOTER && starts(line, TRAILER_PREFIX))
			f->trailer_line(f->trailer_arg, line, n - 1);
		line[n - 1] = '\n';
		strbuf_add(&f->pending, line, n);
		if (f->pending.len > PENDING_MAX)
			sf_resolve_pending(f, f->keep);
		return 0;
	}
	ret = sf_classify(f, line, err);
	if (ret)
		return ret;
	line[n - 1] = '\n';
	sf_resolve_pending(f, f->keep);
	sf_emit(f, line, n, f->keep);
	if (!f->in_delim && last_nonspace(line, n, 0) == ';')
		f->st->statements += f->keep;
	f->completed = false;
	return 0;
}

/* The start of a line too long to classify: an ordinary statement. */
static void sf_start_stream(struct sqlfilter *f)
{
	sf_resolve_pending(f, f->keep);
	f->streaming = true;
	f->line_keep = f->keep;
	f->last_nonsp = last_nonspace(f->line, f->len, 0);
	sf_emit(f, f->line, f->len, f->line_keep);
	f->len = 0;
	f->completed = false;
}

static size_t sf_stream(struct sqlfilter *f, const char *p, size_t len)
{
	const char *nl = memchr(p, '\n', len);
	size_t n = nl ? (size_t)(nl - p) + 1 : len;

	sf_emit(f, p, n, f->line_keep);
	f->last_nonsp = last_nonspace(p, n, f->last_nonsp);
	if (nl) {
		f->streaming = false;
		f->st->lines++;
		if (!f->in_delim && f->last_nonsp == ';')
			f->st->statements += f->line_keep;
	}
	return n;
}

static int sf_write(struct writer *w, const void *buf, size_t len, struct errbuf *err)
{
	struct sqlfilter *f = (struct sqlfilter *)w;
	const char *p = buf;
	int ret = 0;

	if (f->failed)
		return error_set(err, -EIO, "restore: an earlier write failed");
	ret = sqlguard_feed(f->guard, buf, len, err);
	while (len && !ret) {
		size_t n;

		if (f->streaming) {
			n = sf_stream(f, p, len);
		} else {
			const char *nl = memchr(p, '\n', len);
			size_t want = nl ? (size_t)(nl - p) + 1 : len;

			n = want < PREFIX_MAX - f->len ? want : PREFIX_MAX - f->len;
			memcpy(f->line + f->len, p, n);
			f->len += n;
			if (f->line[f->len - 1] == '\n') {
				ret = sf_line(f, f->line, f->len, err);
				f->len = 0;
			} else if (f->len == PREFIX_MAX) {
				sf_start_stream(f);
			}
		}
		p += n;
		len -= n;
		if (!ret && f->out.len >= OUT_FLUSH)
			ret = sf_flush(f, err);
	}
	if (ret)
		f->failed = true;
	return ret;
}

static int sf_close(struct writer *w, struct errbuf *err)
{
	struct sqlfilter *f = (struct sqlfilter *)w;
	int ret;

	if (f->failed)
		return error_set(err, -EIO, "restore: an earlier write failed");
	ret = sqlguard_end(f->guard, err);
	if (ret) {
		f->failed = true;
		return ret;
	}
	if (!f->completed || f->len || f->streaming)
		return error_set(err, -EPROTO,
				 "the dump is truncated: its SQL (%llu lines) does not end with "
				 "the line '%s' (the dump was cut short or the file is "
				 "incomplete); do not trust anything restored from it",
				 (unsigned long long)f->st->lines, SQLDUMP_COMPLETION_LINE);
	if (f->want && !f->seen_want)
		return error_set(err, -ENOENT, "database '%s' is not in this dump (it has: %s)",
				 f->want, f->names.len ? strbuf_str(&f->names) : "none");
	sf_resolve_pending(f, true); /* blank lines after the end */
	return sf_flush(f, err);
}

static void sf_free(struct writer *w)
{
	struct sqlfilter *f = (struct sqlfilter *)w;

	strbuf_release(&f->pending);
	strbuf_release(&f->out);
	strbuf_release(&f->names);
	sqlguard_free(f->guard);
	free(f->want);
	free(f);
}

static const struct writer_ops sqlfilter_ops = {"sql filter", sf_write, sf_close, sf_free};

void sqlfilter_on_trailer(struct writer *filter,
			  void (*fn)(void *arg, const char *line, size_t len), void *arg)
{
	struct sqlfilter *f = (struct sqlfilter *)filter;

	f->trailer_line = fn;
	f->trailer_arg = arg;
}

int sqlfilter_new(struct writer **out, struct writer *next, const char *database,
		  bool keep_line_numbers, struct restore_stats *stats, struct errbuf *err)
{
	struct sqlfilter *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (!f || (database && !(f->want = strdup(database))) || !(f->guard = sqlguard_new())) {
		if (f)
			free(f->want);
		free(f);
		return error_set(err, -ENOMEM, "restore: out of memory");
	}
	f->w.ops = &sqlfilter_ops;
	f->next = next;
	f->keep_lines = keep_line_numbers;
	f->st = stats ? stats : &f->local;
	f->sec = SEC_HEADER;
	f->keep = true;
	strbuf_init(&f->pending);
	strbuf_init(&f->out);
	strbuf_init(&f->names);
	*out = &f->w;
	return 0;
}

void sqlfilter_on_database(struct writer *filter, void (*fn)(void *arg, const char *name),
			   void *arg)
{
	struct sqlfilter *f = (struct sqlfilter *)filter;

	f->database = fn;
	f->database_arg = arg;
}
