/* An archived binlog segment read back, checked and filtered event by
 * event.  See binlog_filter.h; the event layouts are MariaDB 10.11's
 * (sql/log_event.h). */
#include "binlog_filter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "strbuf.h"

#define MAGIC_LEN      4
#define HDR_LEN	       19
#define CRC_LEN	       4
#define EVENT_MAX      ((uint64_t)1 << 31) /* max_allowed_packet is at most 1 GiB */
#define FDE_FIXED      57		   /* binlog version, server version, time, header length */
#define ROTATE_MAX     (HDR_LEN + 8 + BINLOG_FILE_MAX + CRC_LEN)
#define CONTEXT_MAX    (1024 * 1024) /* INSERT_ID, RAND and user variables held */
#define TABLE_IDS_MAX  4096	     /* table maps of one statement */
#define QUERY_POST_LEN 13
#define NAMES_LOOK     4096 /* bytes of a statement's text read to judge it */
#define NAME_MAX_LEN   256  /* a database name (64 characters of up to 4 bytes) */
#define IGNORABLE_F    0x80

enum {
	QUERY_EVENT = 2,
	ROTATE_EVENT = 4,
	INTVAR_EVENT = 5,
	RAND_EVENT = 13,
	USER_VAR_EVENT = 14,
	FORMAT_DESCRIPTION_EVENT = 15,
	TABLE_MAP_EVENT = 19,
	IGNORABLE_LOG_EVENT = 28,
	START_ENCRYPTION_EVENT = 164,
	QUERY_COMPRESSED_EVENT = 165,
};

enum stage { ST_MAGIC, ST_HEADER, ST_PREFIX, ST_BODY };

struct table_choice {
	uint64_t id;
	bool keep;
};

struct bfilter {
	struct writer w;
	struct writer *next;
	const struct binlog_filter_opts *o;
	struct binlog_seginfo *info;
	enum stage stage;
	uint64_t off; /* stream offset of the next input byte */
	bool failed;
	bool have_fde, crc, cut, after_rotate;
	unsigned char post_len[256]; /* post-header length by event type */
	/* the current event */
	uint64_t ev_start;
	uint32_t ev_size, ev_done; /* bytes of it consumed */
	unsigned char type;
	uint16_t flags;
	time_t when;
	bool keep, decided;
	uint32_t ev_crc;
	unsigned char tail[CRC_LEN]; /* its stored CRC */
	unsigned char *hold;	     /* its first bytes, until decided */
	size_t hold_len, hold_cap, need;
	struct strbuf context; /* INSERT_ID, RAND, user variable events */
	unsigned context_n;
	struct table_choice *tables;
	size_t ntables;
	unsigned char magic[MAGIC_LEN];
};

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le_n(const unsigned char *p, size_t n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static int bad(struct bfilter *f, struct errbuf *err, const char *what)
{
	f->failed = true;
	return error_set(err, -EBADMSG,
			 "the binlog segment '%s' is damaged at offset %llu: %s; restore "
			 "refused (its archive copy was altered or is not a dumpfs segment)",
			 f->o->name, (unsigned long long)f->ev_start, what);
}

static int pass_on(struct bfilter *f, const void *p, size_t n, struct errbuf *err)
{
	int ret;

	if (!f->next || !n)
		return 0;
	ret = writer_write(f->next, p, n, err);
	if (ret)
		f->failed = true;
	return ret;
}

static bool is_rows(unsigned char t)
{
	return (t >= 20 && t <= 25) || (t >= 30 && t <= 32) || (t >= 166 && t <= 171);
}

static bool is_load(unsigned char t)
{
	return t == 6 || (t >= 8 && t <= 12) || t == 17 || t == 18;
}

static bool is_context(unsigned char t)
{
	return t == INTVAR_EVENT || t == RAND_EVENT || t == USER_VAR_EVENT;
}

/* Bytes of the payload (after the header, before the CRC). */
static uint32_t payload_len(const struct bfilter *f)
{
	return f->ev_size - HDR_LEN - (f->crc ? CRC_LEN : 0);
}

/* Bytes of the event before its CRC32 (all of it without checksums):
 * what may be passed on before the CRC is checked. */
static uint32_t crc_at(const struct bfilter *f)
{
	return f->ev_size - (f->crc ? CRC_LEN : 0);
}

static size_t table_id_len(const struct bfilter *f)
{
	return f->post_len[f->type] == 6 ? 4 : 6;
}

/* ---- the format description ---- */

static int take_fde(struct bfilter *f, struct errbuf *err)
{
	const unsigned char *e = f->hold;
	size_t n = f->ev_size, types;
	struct binlog_seginfo *in = f->info;

	if (n < HDR_LEN + FDE_FIXED + 5 || le_n(e + HDR_LEN, 2) != 4 || e[HDR_LEN + 56] != HDR_LEN)
		return bad(f, err, "its format description is not one of binlog version 4");
	/* A checksum-aware server ends it in the algorithm and a CRC32 slot. */
	if (e[n - 5] == 1) {
		if (crc32(0, e, (uInt)(n - 4)) != le32(e + n - 4))
			return bad(f, err, "its format description fails its checksum");
		f->crc = true;
	} else if (e[n - 5] != 0) {
		return bad(f, err, "its format description names an unknown checksum");
	}
	types = n - HDR_LEN - FDE_FIXED - 5;
	memset(f->post_len, 0, sizeof(f->post_len));
	for (size_t i = 0; i < types && i < 255; i++)
		f->post_len[i + 1] = e[HDR_LEN + FDE_FIXED + i];
	if (f->post_len[QUERY_EVENT] < QUERY_POST_LEN || f->post_len[TABLE_MAP_EVENT] < 6)
		return bad(f, err, "its format description has impossible event layouts");
	memcpy(in->fde, e, n);
	in->fde_len = n;
	f->have_fde = true;
	if (f->o->prev_fde && f->o->prev_fde_len == n && !memcmp(f->o->prev_fde, e, n))
		return 0;
	return pass_on(f, e, n, err);
}

/* ---- deciding an event's fate ---- */

static bool keep_db(const struct bfilter *f, const unsigned char *db, size_t len)
{
	return !f->o->keep_db || f->o->keep_db(f->o->keep_db_arg, (const char *)db, len);
}

static bool ident_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '$' || c >= 0x80;
}

static bool at_text(const unsigned char *q, size_t n, size_t i, const char *text)
{
	size_t t = strlen(text);

	return n - i >= t && !memcmp(q + i, text, t);
}

/* From i, past spaces and comments as the server reads them: a plain
 * comment is skipped, an executable one's marker ("/" "*!NNNNN",
 * "/" "*M!NNNNN") and its closing are, its content is code. */
static size_t skip_blank(const unsigned char *q, size_t n, size_t i)
{
	while (i < n) {
		if (q[i] == ' ' || q[i] == '\t' || q[i] == '\n' || q[i] == '\r') {
			i++;
		} else if (at_text(q, n, i, "/*!") || at_text(q, n, i, "/*M!")) {
			i += q[i + 2] == 'M' ? 4 : 3;
			while (i < n && q[i] >= '0' && q[i] <= '9')
				i++;
		} else if (at_text(q, n, i, "*/")) {
			i += 2;
		} else if (at_text(q, n, i, "/*")) {
			const unsigned char *end = memmem(q + i + 2, n - i - 2, "*/", 2);

			i = end ? (size_t)(end - q) + 2 : n;
		} else if (q[i] == '#' || at_text(q, n, i, "-- ")) {
			const unsigned char *nl = memchr(q + i, '\n', n - i);

			i = nl ? (size_t)(nl - q) + 1 : n;
		} else {
			break;
		}
	}
	return i;
}

static bool starts_word(const unsigned char *q, size_t n, size_t *at, const char *word)
{
	size_t w = strlen(word), i = skip_blank(q, n, *at);

	if (n - i < w || strncasecmp((const char *)q + i, word, w) ||
	    (i + w < n && ident_byte(q[i + w])))
		return false;
	*at = i + w;
	return true;
}

/* BEGIN, COMMIT, ROLLBACK, XA ..., SAVEPOINT, RELEASE: a transaction's
 * frame, kept whatever the default database. */
static bool is_control(const unsigned char *q, size_t n)
{
	static const char *const words[] = {"BEGIN",	 "COMMIT",  "ROLLBACK", "XA",
					    "SAVEPOINT", "RELEASE", NULL};

	for (size_t i = 0; words[i]; i++) {
		size_t at = 0;

		if (starts_word(q, n, &at, words[i]))
			return true;
	}
	return false;
}

/* Account statements: never replayed (a dump holds no accounts). */
static bool is_account(const unsigned char *q, size_t n)
{
	static const char *const first[] = {"GRANT", "REVOKE", "RENAME", NULL};
	size_t at = 0;

	for (size_t i = 0; first[i]; i++)
		if (starts_word(q, n, &at, first[i]) && (i < 2 || starts_word(q, n, &at, "USER")))
			return true;
	at = 0;
	if (starts_word(q, n, &at, "CREATE") || starts_word(q, n, &at, "ALTER") ||
	    starts_word(q, n, &at, "DROP")) {
		size_t b = at;

		if (starts_word(q, n, &at, "OR") && starts_word(q, n, &at, "REPLACE"))
			b = at;
		at = b;
		return starts_word(q, n, &at, "USER") || (at = b, starts_word(q, n, &at, "ROLE"));
	}
	at = 0;
	return starts_word(q, n, &at, "SET") &&
	       (starts_word(q, n, &at, "PASSWORD") ||
		(starts_word(q, n, &at, "DEFAULT") && starts_word(q, n, &at, "ROLE")));
}

/* An identifier at q[*i] (bare, or `quoted` with `` inside) into name;
 * false when there is none. */
static bool take_ident(const unsigned char *q, size_t n, size_t *i, char *name, size_t cap,
		       size_t *len)
{
	size_t j = *i, k = 0;

	if (q[j] == '`') {
		for (j++; j < n; j++) {
			if (q[j] == '`' && !(j + 1 < n && q[j + 1] == '`'))
				break;
			if (q[j] == '`')
				j++;
			if (k < cap)
				name[k++] = (char)q[j];
		}
		if (j >= n)
			return false;
		j++;
	} else {
		while (j < n && ident_byte(q[j])) {
			if (k < cap)
				name[k++] = (char)q[j];
			j++;
		}
	}
	if (j == *i || k >= cap)
		return false;
	*i = j;
	*len = k;
	return true;
}

/* A statement without a default database: replayed when it names a
 * restored database, as the qualifier of db.table, or as the database
 * of CREATE/ALTER/DROP DATABASE (the text after the word). */
static bool names_kept_db(const struct bfilter *f, const unsigned char *q, size_t n)
{
	char name[NAME_MAX_LEN];
	size_t at = 0, len;
	char quote = 0;

	if ((starts_word(q, n, &at, "CREATE") || starts_word(q, n, &at, "ALTER") ||
	     starts_word(q, n, &at, "DROP")) &&
	    (starts_word(q, n, &at, "DATABASE") || starts_word(q, n, &at, "SCHEMA"))) {
		size_t b = at;

		if (!(starts_word(q, n, &at, "IF") &&
		      (starts_word(q, n, &at, "EXISTS") ||
		       (starts_word(q, n, &at, "NOT") && starts_word(q, n, &at, "EXISTS")))))
			at = b;
		while (at < n && (q[at] == ' ' || q[at] == '\t' || q[at] == '\n'))
			at++;
		return at < n && take_ident(q, n, &at, name, sizeof(name), &len) &&
		       keep_db(f, (const unsigned char *)name, len);
	}
	for (size_t i = 0; i < n; i++) {
		size_t j = i;

		if (quote) {
			if (q[i] == '\\')
				i++;
			else if (q[i] == quote)
				quote = 0;
			continue;
		}
		if (q[i] == '\'' || q[i] == '"') {
			quote = (char)q[i];
			continue;
		}
		if ((i && (ident_byte(q[i - 1]) || q[i - 1] == '.' || q[i - 1] == '`')) ||
		    !(q[i] == '`' || ident_byte(q[i])))
			continue;
		if (!take_ident(q, n, &j, name, sizeof(name), &len)) {
			if (q[i] == '`')
				return false; /* an unterminated name: not judged */
			continue;
		}
		if (j < n && q[j] == '.' && keep_db(f, (const unsigned char *)name, len))
			return true;
		i = j - 1;
	}
	return false;
}

/* How many bytes of the event must be held before its fate is known;
 * 0 once it is known (f->keep set). */
static int query_need(struct bfilter *f, struct errbuf *err)
{
	const unsigned char *p = f->hold + HDR_LEN, *text;
	uint32_t pl = payload_len(f), post = f->post_len[f->type];
	size_t status, dblen, text_at, look, have;

	if (post < QUERY_POST_LEN)
		return bad(f, err, "its format description gives statements an impossible layout");
	if (pl < post)
		return bad(f, err, "a statement event is too short");
	if (f->hold_len < HDR_LEN + post) {
		f->need = HDR_LEN + post;
		return 0;
	}
	dblen = p[8];
	status = le_n(p + 11, 2);
	text_at = post + status + dblen + 1;
	if (text_at > pl)
		return bad(f, err, "a statement event's lengths exceed it");
	/* the text is judged by its first words (after comments) and, without
	 * a default database, by the names in it (compressed: by db only) */
	look = f->type == QUERY_EVENT ? NAMES_LOOK : 0;
	if (pl - text_at < look)
		look = pl - text_at;
	if (f->hold_len < HDR_LEN + text_at + look) {
		f->need = HDR_LEN + text_at + look;
		return 0;
	}
	f->need = 0;
	text = p + text_at;
	have = f->hold_len - HDR_LEN - text_at;
	if (f->type == QUERY_EVENT && is_control(text, have))
		f->keep = true;
	else if (f->type == QUERY_EVENT && is_account(text, have))
		f->keep = false; /* whatever its database: a dump holds no accounts */
	else if (dblen)
		f->keep = keep_db(f, p + post + status, dblen);
	else
		f->keep = f->type == QUERY_EVENT && names_kept_db(f, text, have);
	return 0;
}

static int remember_table(struct bfilter *f, uint64_t id, bool keep, struct errbuf *err)
{
	if (f->ntables == TABLE_IDS_MAX)
		return bad(f, err, "a statement maps too many tables");
	if (!f->tables && !(f->tables = calloc(TABLE_IDS_MAX, sizeof(*f->tables)))) {
		f->failed = true;
		return error_set(err, -ENOMEM, "out of memory");
	}
	f->tables[f->ntables].id = id;
	f->tables[f->ntables++].keep = keep;
	return 0;
}

static int table_map_need(struct bfilter *f, struct errbuf *err)
{
	uint32_t pl = payload_len(f), post = f->post_len[TABLE_MAP_EVENT];
	const unsigned char *p = f->hold + HDR_LEN;
	size_t dblen;

	if (pl < post + 2u) {
		return bad(f, err, "a table map event is too short");
	}
	if (f->hold_len < HDR_LEN + post + 1) {
		f->need = HDR_LEN + post + 1;
		return 0;
	}
	dblen = p[post];
	if (post + 1 + dblen + 1 > pl)
		return bad(f, err, "a table map event's lengths exceed it");
	if (f->hold_len < HDR_LEN + post + 1 + dblen) {
		f->need = HDR_LEN + post + 1 + dblen;
		return 0;
	}
	f->need = 0;
	f->keep = keep_db(f, p + post + 1, dblen);
	return remember_table(f, le_n(p, table_id_len(f)), f->keep, err);
}

static int rows_need(struct bfilter *f, struct errbuf *err)
{
	size_t idlen = table_id_len(f);
	uint64_t id;

	if (payload_len(f) < idlen + 2)
		return bad(f, err, "a row event is too short");
	if (f->hold_len < HDR_LEN + idlen + 2) {
		f->need = HDR_LEN + idlen + 2;
		return 0;
	}
	f->need = 0;
	id = le_n(f->hold + HDR_LEN, idlen);
	f->keep = true; /* a table never mapped: mariadb-binlog says so */
	for (size_t i = f->ntables; i-- > 0;)
		if (f->tables[i].id == id) {
			f->keep = f->tables[i].keep;
			break;
		}
	return 0;
}

/* From the bytes held: sets f->need above what is held when it needs
 * more, else decides (need 0, keep set).  Called again as bytes come. */
static int decide(struct bfilter *f, struct errbuf *err)
{
	unsigned char t = f->type;

	f->need = 0;
	f->keep = true;
	if (t == FORMAT_DESCRIPTION_EVENT || t == ROTATE_EVENT) {
		if (f->hold_len < f->ev_size)
			f->need = f->ev_size; /* whole */
		return 0;
	}
	if (t == QUERY_EVENT || t == QUERY_COMPRESSED_EVENT)
		return f->o->keep_db ? query_need(f, err) : 0;
	if (t == TABLE_MAP_EVENT)
		return f->o->keep_db ? table_map_need(f, err) : 0;
	if (is_rows(t))
		return f->o->keep_db ? rows_need(f, err) : 0;
	return 0;
}

/* ---- event boundaries ---- */

static int start_event(struct bfilter *f, struct errbuf *err)
{
	const unsigned char *h = f->hold;
	uint64_t end;

	f->ev_start = f->off - HDR_LEN;
	f->when = (time_t)le32(h);
	f->type = h[4];
	f->ev_size = le32(h + 9);
	end = le32(h + 13);
	f->flags = (uint16_t)le_n(h + 17, 2);
	f->decided = false;
	if (f->ev_size < HDR_LEN + (f->crc ? CRC_LEN : 0) || f->ev_size > EVENT_MAX)
		return bad(f, err, "an event has an impossible length");
	/* (a format description resent at a mid-file start has 0) */
	if (end != f->ev_start + f->ev_size && !(f->type == FORMAT_DESCRIPTION_EVENT && !end))
		return bad(f, err, "an event does not end where its header says");
	if (f->after_rotate)
		return bad(f, err, "an event follows the rotate event that ends the file");
	if (!f->have_fde) {
		if (f->type != FORMAT_DESCRIPTION_EVENT)
			return bad(f, err, "it does not start with a format description");
		if (f->ev_size > BINLOG_FDE_MAX)
			return bad(f, err, "its format description is too long");
		f->crc = false;
	} else if (f->type == FORMAT_DESCRIPTION_EVENT) {
		return bad(f, err, "a second format description");
	}
	if (f->type == START_ENCRYPTION_EVENT)
		return bad(f, err, "it holds an encrypted event (not written by dumpfs)");
	if (is_load(f->type))
		return bad(f, err,
			   "it holds a statement-based LOAD DATA, which a replay cannot run "
			   "without files on disk (use binlog_format=ROW)");
	if (f->type == ROTATE_EVENT && f->ev_size > ROTATE_MAX)
		return bad(f, err, "a rotate event is too long");
	f->ev_crc = f->crc ? (uint32_t)crc32(0, h, HDR_LEN) : 0;
	f->ev_done = HDR_LEN;
	f->need = HDR_LEN; /* decide() runs now */
	return 0;
}

/* The fate of an event known: pending context events go with it, the
 * held bytes are passed on or dropped. */
static int release(struct bfilter *f, struct errbuf *err)
{
	struct binlog_seginfo *in = f->info;
	bool header = !in->events && !in->padded && f->type == IGNORABLE_LOG_EVENT &&
		      (f->flags & IGNORABLE_F) && f->ev_start == MAGIC_LEN + in->fde_len;
	bool statement = f->type == QUERY_EVENT || f->type == QUERY_COMPRESSED_EVENT;
	int ret = 0;

	f->decided = true;
	if (f->type == FORMAT_DESCRIPTION_EVENT)
		return 0; /* at its end */
	if (header) {	  /* the padding before the segment's first event */
		in->padded = true;
		in->padding = f->ev_size;
		f->keep = false;
		return 0;
	}
	if (!in->events++) {
		in->first = f->ev_start;
		in->first_time = f->when;
	}
	if (f->when > in->last_time)
		in->last_time = f->when;
	if (f->ev_start >= f->o->from && f->o->has_until && f->when >= f->o->until &&
	    f->type != ROTATE_EVENT) {
		in->reached_until = true;
		f->cut = true;
	}
	if (f->cut || f->ev_start < f->o->from) {
		f->keep = false;
		strbuf_reset(&f->context);
		f->context_n = 0;
		return 0;
	}
	if ((statement || is_rows(f->type) || f->type == TABLE_MAP_EVENT) && !f->keep)
		in->skipped++;
	if (is_context(f->type) && f->keep) {
		/* held until the statement it belongs to is judged */
		if (f->context.len + f->ev_size > CONTEXT_MAX) {
			f->failed = true;
			return error_set(err, -E2BIG,
					 "the binlog segment '%s' holds at offset %llu statement "
					 "context (user variables, INSERT_ID, RAND) of more than "
					 "%d bytes, which a replay does not hold in memory: "
					 "statement-based binlog; use binlog_format=ROW",
					 f->o->name, (unsigned long long)f->ev_start, CONTEXT_MAX);
		}
		f->keep = false;
		f->need = f->ev_size;
		return 0;
	}
	if (f->context.len && (f->keep || !statement)) {
		ret = pass_on(f, f->context.buf, f->context.len, err);
		in->passed += f->context_n;
	}
	strbuf_reset(&f->context);
	f->context_n = 0;
	if (!ret && f->keep) {
		in->passed++;
		ret = pass_on(f, f->hold, f->hold_len < crc_at(f) ? f->hold_len : crc_at(f), err);
	}
	return ret;
}

static int take_rotate(struct bfilter *f, struct errbuf *err)
{
	const unsigned char *e = f->hold;
	size_t name_len = f->ev_size - HDR_LEN - 8 - (f->crc ? CRC_LEN : 0);
	struct binlog_seginfo *in = f->info;

	if (f->ev_size < HDR_LEN + 8 + 1 + (f->crc ? CRC_LEN : 0) || name_len > BINLOG_FILE_MAX)
		return bad(f, err, "a rotate event has an impossible length");
	memcpy(in->rotate_to.file, e + HDR_LEN + 8, name_len);
	in->rotate_to.file[name_len] = '\0';
	in->rotate_to.pos = le_n(e + HDR_LEN, 8);
	if (!binlog_file_name_valid(in->rotate_to.file))
		return bad(f, err, "a rotate event names an invalid binlog file");
	in->rotated = f->after_rotate = true;
	return 0;
}

static int end_event(struct bfilter *f, struct errbuf *err)
{
	int ret = 0;

	if (f->crc && f->type != FORMAT_DESCRIPTION_EVENT && le32(f->tail) != f->ev_crc)
		return bad(f, err, "an event fails its checksum");
	/* a kept event's CRC goes on only now that it matched: the reader
	 * after us never holds a whole event that was not checked */
	if (f->crc && f->keep && f->type != FORMAT_DESCRIPTION_EVENT &&
	    (ret = pass_on(f, f->tail, CRC_LEN, err)))
		return ret;
	if (f->type == FORMAT_DESCRIPTION_EVENT) {
		ret = take_fde(f, err);
	} else if (f->type == ROTATE_EVENT) {
		ret = take_rotate(f, err);
	} else if (is_context(f->type) && f->need) {
		strbuf_add(&f->context, f->hold, f->hold_len);
		f->context_n++;
		if (f->context.len > CONTEXT_MAX || strbuf_error(&f->context))
			ret = bad(f, err, "too many context events before a statement");
	} else if (is_rows(f->type) && f->hold_len >= HDR_LEN + table_id_len(f) + 2 &&
		   (le_n(f->hold + HDR_LEN + table_id_len(f), 2) & 1)) {
		f->ntables = 0; /* STMT_END_F: the statement's table maps end */
	}
	f->info->end = f->ev_start + f->ev_size;
	f->hold_len = 0;
	f->need = 0;
	f->stage = ST_HEADER;
	return ret;
}

/* ---- the stage ---- */

static int hold(struct bfilter *f, const unsigned char *p, size_t n, struct errbuf *err)
{
	if (f->hold_len + n > f->hold_cap) {
		size_t cap = f->hold_cap ? f->hold_cap : 256;
		unsigned char *nb;

		while (cap < f->hold_len + n)
			cap *= 2;
		if (!(nb = realloc(f->hold, cap))) {
			f->failed = true;
			return error_set(err, -ENOMEM, "out of memory");
		}
		f->hold = nb;
		f->hold_cap = cap;
	}
	memcpy(f->hold + f->hold_len, p, n);
	f->hold_len += n;
	return 0;
}

/* Event bytes after the header: CRC, then held or passed or dropped. */
static int body_bytes(struct bfilter *f, const unsigned char *p, size_t n, struct errbuf *err)
{
	uint32_t end = crc_at(f);
	size_t data = f->ev_done < end ? end - f->ev_done : 0;

	if (data > n)
		data = n;
	if (f->crc) {
		if (data)
			f->ev_crc = (uint32_t)crc32(f->ev_crc, p, (uInt)data);
		for (size_t i = data; i < n; i++)
			f->tail[f->ev_done + i - end] = p[i];
	}
	f->ev_done += (uint32_t)n;
	if (!f->decided || f->need)
		return hold(f, p, n, err);
	return f->keep ? pass_on(f, p, data, err) : 0;
}

static int bf_write(struct writer *w, const void *buf, size_t len, struct errbuf *err)
{
	struct bfilter *f = (struct bfilter *)w;
	const unsigned char *p = buf;
	int ret = 0;

	if (f->failed)
		return error_set(err, -EIO, "the binlog reader failed before");
	while (len && !ret) {
		size_t n;

		if (f->stage == ST_MAGIC) {
			n = MAGIC_LEN - (size_t)f->off < len ? MAGIC_LEN - (size_t)f->off : len;
			memcpy(f->magic + f->off, p, n);
			f->off += n;
			if (f->off == MAGIC_LEN) {
				if (memcmp(f->magic,
					   "\xfe"
					   "bin",
					   MAGIC_LEN))
					return bad(f, err, "it is not a binlog file (no magic)");
				if (f->o->magic)
					ret = pass_on(f, f->magic, MAGIC_LEN, err);
				f->stage = ST_HEADER;
			}
		} else if (f->stage == ST_HEADER) {
			n = HDR_LEN - f->hold_len < len ? HDR_LEN - f->hold_len : len;
			ret = hold(f, p, n, err);
			f->off += n;
			if (!ret && f->hold_len == HDR_LEN) {
				ret = start_event(f, err);
				f->stage = ST_PREFIX;
			}
		} else {
			/* up to the event's end, or to what the decision needs */
			uint64_t left = f->ev_size - f->ev_done;

			n = left < len ? (size_t)left : len;
			if (!f->decided && f->need && f->hold_len + n > f->need)
				n = f->need - f->hold_len;
			ret = body_bytes(f, p, n, err);
			f->off += n;
		}
		p += n;
		len -= n;
		if (ret || f->stage == ST_MAGIC || f->stage == ST_HEADER)
			continue;
		/* an event in progress: judged once what it needs is held */
		if (!f->decided && f->hold_len >= f->need) {
			ret = decide(f, err);
			if (!ret && !f->need)
				ret = release(f, err);
		}
		if (!ret && f->ev_done == f->ev_size)
			ret = end_event(f, err);
	}
	if (ret)
		f->failed = true;
	return ret;
}

static int bf_close(struct writer *w, struct errbuf *err)
{
	struct bfilter *f = (struct bfilter *)w;

	if (f->failed)
		return error_set(err, -EIO, "the binlog reader failed before");
	if (f->stage == ST_MAGIC && !f->off)
		return bad(f, err, "it is empty");
	if (f->stage != ST_HEADER || f->hold_len)
		return bad(f, err, "it ends inside an event (truncated)");
	if (!f->have_fde)
		return bad(f, err, "it has no format description");
	if (!f->info->events)
		return bad(f, err, "it holds no event (an archived segment is never empty)");
	return 0;
}

static void bf_free(struct writer *w)
{
	struct bfilter *f = (struct bfilter *)w;

	if (!f)
		return;
	free(f->hold);
	free(f->tables);
	strbuf_release(&f->context);
	free(f);
}

static const struct writer_ops binlog_filter_ops = {"binlog reader", bf_write, bf_close, bf_free};

int binlog_filter_new(struct writer **out, struct writer *next,
		      const struct binlog_filter_opts *opts, struct binlog_seginfo *info,
		      struct errbuf *err)
{
	struct bfilter *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (!f)
		return error_set(err, -ENOMEM, "out of memory");
	f->w.ops = &binlog_filter_ops;
	f->next = next;
	f->o = opts;
	f->info = info;
	memset(info, 0, sizeof(*info));
	strbuf_init(&f->context);
	f->stage = ST_MAGIC;
	*out = &f->w;
	return 0;
}
