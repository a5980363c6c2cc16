/* Trailer sets and their comparison.  See trailer.h. */
#include "trailer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TABLE_PREFIX   "-- dumpfs: table "
#define OBJECTS_PREFIX "-- dumpfs: objects "

void trailer_init(struct trailer *t)
{
	memset(t, 0, sizeof(*t));
}

void trailer_release(struct trailer *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].db);
	free(t->v);
	trailer_init(t);
}

/* Only the first reason is kept; names are left out (they are untrusted
 * and may be long): the line number in the set says which. */
static void mark_bad(struct trailer *t, const char *why)
{
	if (!t->bad[0])
		snprintf(t->bad, sizeof(t->bad), "%s", why);
}

static bool starts(const char *line, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && !memcmp(line, prefix, n);
}

static void add_table(struct trailer *t, const struct rowdigest_line *l)
{
	size_t dl = strlen(l->db), tl = strlen(l->table);
	struct trailer_table *e;
	char *names;

	if (t->n >= TRAILER_MAX_TABLES || t->name_bytes + dl + tl + 2 > TRAILER_MAX_NAME_BYTES) {
		mark_bad(t, "more tables than a trailer may list");
		return;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;

		e = realloc(t->v, cap * sizeof(*e));
		if (!e) {
			t->nomem = true;
			return;
		}
		t->v = e;
		t->cap = cap;
	}
	names = malloc(dl + tl + 2);
	if (!names) {
		t->nomem = true;
		return;
	}
	memcpy(names, l->db, dl + 1);
	memcpy(names + dl + 1, l->table, tl + 1);
	e = &t->v[t->n++];
	e->db = names;
	e->table = names + dl + 1;
	e->rows = l->rows;
	memcpy(e->sum, l->sum, ROWDIGEST_LEN);
	t->name_bytes += dl + tl + 2;
}

void trailer_add_line(struct trailer *t, const char *line, size_t len)
{
	if (starts(line, len, TABLE_PREFIX)) {
		struct rowdigest_line l;

		if (rowdigest_parse_line(line, len, &l))
			mark_bad(t, "a table line of the trailer does not parse");
		else
			add_table(t, &l);
	} else if (starts(line, len, OBJECTS_PREFIX)) {
		struct rowdigest_objects o;

		if (rowdigest_parse_objects(line, len, &o))
			mark_bad(t, "the objects line of the trailer does not parse");
		else if (t->have_objects)
			mark_bad(t, "the trailer has two objects lines");
		else {
			t->objects = o;
			t->have_objects = true;
		}
	}
}

void trailer_add_text(struct trailer *t, const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		trailer_add_line(t, p, n);
		p += n + (nl ? 1 : 0);
	}
}

bool trailer_empty(const struct trailer *t)
{
	return !t->n && !t->have_objects && !t->bad[0];
}

static int cmp_table(const void *a, const void *b)
{
	const struct trailer_table *x = a, *y = b;
	int c = strcmp(x->db, y->db);

	return c ? c : strcmp(x->table, y->table);
}

static void sort_set(struct trailer *t)
{
	if (t->n > 1)
		qsort(t->v, t->n, sizeof(*t->v), cmp_table);
	for (size_t i = 1; i < t->n; i++)
		if (!cmp_table(&t->v[i - 1], &t->v[i]))
			mark_bad(t, "a table is listed twice in the trailer");
}

static enum trailer_verdict verdict_of(const struct trailer_table *w, const struct trailer_table *g)
{
	if (w->rows != g->rows)
		return TRAILER_ROWS;
	if (memcmp(w->sum, g->sum, ROWDIGEST_LEN))
		return TRAILER_DIGEST;
	return TRAILER_OK;
}

size_t trailer_compare(struct trailer *want, struct trailer *got,
		       void (*fn)(void *arg, const struct trailer_row *row), void *arg)
{
	size_t i = 0, j = 0, bad = 0;

	sort_set(want);
	sort_set(got);
	while (i < want->n || j < got->n) {
		const struct trailer_table *w = i < want->n ? &want->v[i] : NULL;
		const struct trailer_table *g = j < got->n ? &got->v[j] : NULL;
		int c = !w ? 1 : !g ? -1 : cmp_table(w, g);
		struct trailer_row r;

		memset(&r, 0, sizeof(r));
		if (c < 0) {
			r.db = w->db;
			r.table = w->table;
			r.verdict = TRAILER_MISSING;
			r.want_rows = w->rows;
			i++;
		} else if (c > 0) {
			r.db = g->db;
			r.table = g->table;
			r.verdict = TRAILER_EXTRA;
			r.got_rows = g->rows;
			j++;
		} else {
			r.db = w->db;
			r.table = w->table;
			r.verdict = verdict_of(w, g);
			r.want_rows = w->rows;
			r.got_rows = g->rows;
			i++;
			j++;
		}
		bad += r.verdict != TRAILER_OK;
		fn(arg, &r);
	}
	return bad;
}

unsigned trailer_objects_diff(const struct rowdigest_objects *want,
			      const struct rowdigest_objects *got, char *buf, size_t len)
{
	const char *names[] = {"views", "triggers", "routines", "events", "sequences"};
	unsigned w[] = {want->views, want->triggers, want->routines, want->events, want->sequences};
	unsigned g[] = {got->views, got->triggers, got->routines, got->events, got->sequences};
	unsigned n = 0;
	size_t off = 0;

	if (len)
		buf[0] = '\0';
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		int m;

		if (w[k] == g[k])
			continue;
		m = off < len ? snprintf(buf + off, len - off, "%s%s %u in the dump, %u restored",
					 n ? "; " : "", names[k], w[k], g[k])
			      : 0;
		if (m > 0)
			off += (size_t)m < len - off ? (size_t)m : len - off;
		n++;
	}
	return n;
}
