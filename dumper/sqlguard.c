/* The guard against client commands in a restored file.  See sqlguard.h.
 *
 * The stock client (client/mysql.cc, read_and_execute() and add_line(),
 * with --comments) runs a command in three places: a line whose first
 * word is a command name while no statement is pending, a statement
 * (text up to the delimiter) whose first word is one, and "\x" anywhere
 * outside a string or comment.  This file follows its lexer byte by byte
 * (strings, comments, executable comments, the delimiter, the sql_mode
 * flags it takes from the server) and refuses a superset: a command name
 * as the first word of any statement, any backslash outside a string but
 * "\N", a NUL byte.  Allowed: USE (the client's `use` only selects the
 * database) and DELIMITER as a line of its own with a plain delimiter;
 * with sqlguard_allow_charset(), also `\C name` as mariadb-binlog writes
 * it (charset_cmd()).
 *
 * The sql_mode is followed for the statements a dump writes (sqldump.c,
 * sqlobjects.c); a file that changes it otherwise can make this view
 * differ from the client's, which is why the client also runs with
 * --binary-mode (no client command but DELIMITER and \C) and --sandbox.
 * In that mode the client takes any name whose first 9 bytes equal
 * "delimiter" for DELIMITER ("delimiterx $$" too): see dl_byte(). */
#include "sqlguard.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "strbuf.h"

#define DELIM_MAX 15 /* the client keeps 15 bytes of a delimiter */
#define CS_NAME	  32 /* the longest charset name in an accepted `\C name` */
#define CS_SPACES 4  /* spaces or tabs accepted on each side of it */
/* Bytes of lookahead a decision needs: the longest accepted "\C name"
 * with its spaces and the closing of its comment (a delimiter is shorter). */
#define LOOK	  (2 + CS_SPACES + CS_NAME + CS_SPACES + 2)
#define WORD_MAX  12  /* longer than any command name */
#define CAP_MAX	  200 /* enough of a statement to match the sql_mode ones */
#define DLINE_MAX 64

struct mode {
	bool nbe;  /* NO_BACKSLASH_ESCAPES: no escapes in strings */
	bool ansi; /* ANSI_QUOTES: "..." is an identifier, no escapes */
};

struct sqlguard {
	struct strbuf pend; /* bytes not judged yet (< LOOK after a feed) */
	unsigned long long line;
	bool line_start;
	bool at_start; /* before the first byte (a UTF-8 BOM there is skipped) */
	char delim[DELIM_MAX + 1];
	size_t dlen;
	char in_string; /* the open quote, or 0 */
	bool ml_comment, ss_comment, line_comment;
	bool after_delim; /* spaces and a comment after a delimiter */
	bool stmt_empty;  /* the client's statement buffer is empty */
	bool stmt_ws;	  /* only spaces and comments so far in the statement */
	bool line_level;  /* stmt_empty at the start of this line */
	bool nonws_line;  /* a non-space byte seen on this line */
	bool in_word;	  /* collecting the statement's first word */
	bool word_line;	  /* that word is the line's first (line level) */
	bool word_col0;	  /* ... and starts it */
	char word[WORD_MAX + 1];
	size_t wlen;
	bool use_line, line_has_delim;
	bool delim_line; /* the rest of this line is a DELIMITER argument */
	char dline[DLINE_MAX];
	size_t dllen;
	char cap[CAP_MAX];
	size_t caplen;
	bool capturing, capover;
	struct mode mode, saved;
	bool special[256]; /* bytes that plain_run() stops at */
	bool allow_charset;
	unsigned dl_mask; /* dl_byte() */
};

/* The client's commands (`help` in the client lists them). */
static const char *const commands[] = {
	"?",	  "charset", "clear", "connect",  "delimiter", "edit",	    "ego",
	"exit",	  "go",	     "help",  "nopager",  "notee",     "nowarning", "pager",
	"print",  "prompt",  "quit",  "rehash",	  "sandbox",   "source",    "status",
	"system", "tee",     "use",   "warnings", NULL,
};

/* Outside strings and comments, the bytes that can change the state:
 * quotes, backslash, comment starts and ends, newline, NUL, the
 * delimiter's first byte. */
static void set_special(struct sqlguard *g)
{
	memset(g->special, 0, sizeof(g->special));
	for (const char *s = "'\"`\\\n#-/*"; *s; s++)
		g->special[(unsigned char)*s] = true;
	g->special[0] = true;
	g->special[(unsigned char)g->delim[0]] = true;
}

struct sqlguard *sqlguard_new(void)
{
	struct sqlguard *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	strbuf_init(&g->pend);
	g->line = 1;
	g->line_start = g->at_start = true;
	strcpy(g->delim, ";");
	g->dlen = 1;
	set_special(g);
	g->stmt_empty = g->stmt_ws = true;
	g->dl_mask = 1;
	return g;
}

void sqlguard_allow_charset(struct sqlguard *g)
{
	g->allow_charset = true;
}

void sqlguard_free(struct sqlguard *g)
{
	if (!g)
		return;
	strbuf_release(&g->pend);
	free(g);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' || c == '\n';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int refuse(const struct sqlguard *g, struct errbuf *err, const char *what)
{
	return error_set(err, -EPERM,
			 "the SQL at line %llu holds %s: a restore runs statements only, never "
			 "client commands (the file was altered or is not a dumpfs dump; do not "
			 "restore it)",
			 g->line, what);
}

static int refuse_cmd(const struct sqlguard *g, struct errbuf *err, const char *name)
{
	char what[64];

	snprintf(what, sizeof(what), "the client command '%s'", name);
	return refuse(g, err, what);
}

/* ---- sql_mode, from the statements a dump writes ---- */

static bool mode_has(const char *list, size_t n, const char *name)
{
	size_t k = strlen(name);

	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j < n && list[j] != ',')
			j++;
		if (j - i == k && !strncasecmp(list + i, name, k))
			return true;
		i = j + 1;
	}
	return false;
}

/* `SET sql_mode = '<names>'`, as sqlobjects.c writes it. */
static bool mode_literal(const char *s, size_t n, struct mode *m)
{
	static const char *const ansi[] = {"ANSI_QUOTES", "ANSI",   "DB2",	  "MAXDB",
					   "MSSQL",	  "ORACLE", "POSTGRESQL", NULL};
	static const char prefix[] = "set sql_mode = '";
	size_t p = sizeof(prefix) - 1;

	if (n < p + 1 || strncasecmp(s, prefix, p) || s[n - 1] != '\'')
		return false;
	s += p;
	n -= p + 1;
	for (size_t i = 0; i < n; i++)
		if (!is_alpha(s[i]) && s[i] != '_' && s[i] != ',' && !is_digit(s[i]))
			return false;
	m->nbe = mode_has(s, n, "NO_BACKSLASH_ESCAPES");
	m->ansi = false;
	for (size_t i = 0; ansi[i]; i++)
		m->ansi = m->ansi || mode_has(s, n, ansi[i]);
	return true;
}

/* `SET @@session.sql_mode=<number>`, as mariadb-binlog writes it.  A
 * value the server refuses fails the statement, and the client stops. */
static bool mode_number(const char *s, size_t n, struct mode *m)
{
	static const char prefix[] = "SET @@session.sql_mode=";
	const unsigned long long nbe = 1ULL << 20, ansi_quotes = 1ULL << 2;
	size_t p = sizeof(prefix) - 1;
	unsigned long long v = 0;

	if (n <= p || n - p > 20 || strncasecmp(s, prefix, p))
		return false;
	for (size_t i = p; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (!is_digit(s[i]) || v > (~0ULL - d) / 10)
			return false;
		v = v * 10 + d;
	}
	m->nbe = v & nbe;
	m->ansi = v & ansi_quotes;
	return true;
}

static bool cap_is(const struct sqlguard *g, size_t n, const char *text)
{
	return n == strlen(text) && !strncasecmp(g->cap, text, n);
}

static void statement_end(struct sqlguard *g)
{
	size_t n = g->caplen;
	const struct mode plain = {false, false};

	if (g->capturing && !g->capover) {
		while (n && is_space(g->cap[n - 1]))
			n--;
		if (cap_is(g, n, "SET @saved_sql_mode = @@sql_mode"))
			g->saved = g->mode;
		else if (cap_is(g, n, "SET sql_mode = @saved_sql_mode"))
			g->mode = g->saved;
		else if (cap_is(g, n,
				"SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO'") ||
			 cap_is(g, n, "SET SQL_MODE=@OLD_SQL_MODE"))
			g->mode = plain;
		else if (!mode_number(g->cap, n, &g->mode))
			mode_literal(g->cap, n, &g->mode);
	}
	g->capturing = g->capover = false;
	g->caplen = 0;
	g->stmt_empty = g->stmt_ws = true;
	g->dl_mask = 1;
	g->in_word = false;
}

static void capture(struct sqlguard *g, char c)
{
	if (!g->capturing)
		return;
	if (g->caplen < CAP_MAX)
		g->cap[g->caplen++] = c;
	else
		g->capover = true;
}

/* ---- the first word of a statement ---- */

static int word_end(struct sqlguard *g, char term, struct errbuf *err)
{
	const char *name = NULL;

	if (!g->in_word)
		return 0;
	g->in_word = false;
	g->word[g->wlen] = '\0';
	for (size_t i = 0; commands[i] && !name; i++)
		if (!strcasecmp(g->word, commands[i]))
			name = commands[i];
	if (!name)
		return 0;
	if (!strcmp(name, "use")) {
		/* A line without the delimiter goes to the client's `use`
		 * whole, unread by its lexer: not what this file follows. */
		if (g->word_line) {
			g->use_line = true;
			g->line_has_delim = false;
		}
		return 0;
	}
	if (!strcmp(name, "delimiter")) {
		if (!g->word_line || !g->word_col0 || term != ' ')
			return refuse(g, err, "a DELIMITER command that is not a line of its own");
		g->delim_line = true;
		g->dllen = 0;
		return 0;
	}
	return refuse_cmd(g, err, name);
}

static bool word_is_delimiter(const struct sqlguard *g)
{
	return g->wlen == 9 && !strncasecmp(g->word, "delimiter", 9);
}

/* The client (--binary-mode) takes a line or statement whose first name
 * (after spaces, up to a space or tab) starts with 9 bytes equal to
 * "delimiter" in its charset's collation for DELIMITER, whatever follows.
 * After a \C, a byte >= 0x80 may be a space (0xa0 in latin1) or equal a
 * letter (latin1 0xc9 is E): then it matches both ways.  Bit k of
 * dl_mask: a candidate name has matched k bytes; bit 0 stays while only
 * spaces came.  Refuses all but a clean DELIMITER word, which word_end()
 * judges. */
static int dl_byte(struct sqlguard *g, char c, struct errbuf *err)
{
	static const char name[] = "delimiter";
	bool wild = g->allow_charset && (unsigned char)c >= 0x80;
	unsigned next = 0;

	if (!g->dl_mask)
		return 0;
	for (size_t k = 0; k < 9; k++)
		if ((g->dl_mask & (1u << k)) && (wild || (is_alpha(c) && (c | 0x20) == name[k])))
			next |= 1u << (k + 1);
	if ((g->dl_mask & 1) && (is_space(c) || wild))
		next |= 1;
	g->dl_mask = next & ((1u << 9) - 1);
	if (!(next & (1u << 9)))
		return 0;
	g->dl_mask = 0;
	if (g->in_word && word_is_delimiter(g) && g->word_line && g->word_col0)
		return 0;
	return refuse(g, err, "a DELIMITER command that is not a line of its own");
}

/* The statement's first word, for word_end(). */
static int word_first(struct sqlguard *g, char c, struct errbuf *err)
{
	if (g->in_word) {
		if (is_space(c))
			return word_end(g, c, err);
		if (word_is_delimiter(g)) /* "delimiterx" is DELIMITER too */
			return refuse(g, err, "a DELIMITER command that is not a line of its own");
		if ((is_alpha(c) || c == '?') && g->wlen < WORD_MAX) {
			g->word[g->wlen++] = c;
			return 0;
		}
		g->in_word = false; /* "status_x": the client's word runs to a space */
		return 0;
	}
	if (!g->stmt_ws || is_space(c))
		return 0;
	g->stmt_ws = false;
	g->capturing = true;
	if (is_alpha(c) || c == '?') {
		g->in_word = true;
		g->word_line = g->line_level && !g->nonws_line;
		g->word_col0 = g->word_line && g->line_start;
		g->word[0] = c;
		g->wlen = 1;
	}
	return 0;
}

/* A byte of the statement outside comments and strings (before c
 * changes the string state). */
static int word_byte(struct sqlguard *g, char c, struct errbuf *err)
{
	int ret = word_first(g, c, err);

	return ret ? ret : dl_byte(g, c, err);
}

/* ---- the lexer ---- */

/* The byte at j of the line being judged, '\0' past its end. */
static char at(const char *b, size_t len, size_t j)
{
	return j < len && b[j] != '\n' ? b[j] : '\0';
}

static bool delim_at(const struct sqlguard *g, const char *b, size_t len, size_t i)
{
	for (size_t k = 0; k < g->dlen; k++)
		if (at(b, len, i + k) != g->delim[k])
			return false;
	return true;
}

static int delimiter_line(struct sqlguard *g, struct errbuf *err)
{
	size_t n = g->dllen;

	g->delim_line = false;
	if (!n || n > DELIM_MAX)
		return refuse(g, err, "a DELIMITER line without a plain delimiter");
	for (size_t i = 0; i < n; i++) {
		char c = g->dline[i];

		if (is_space(c) || c == '\'' || c == '"' || c == '`' || c == '\\' ||
		    (unsigned char)c < 0x21 || (unsigned char)c > 0x7e)
			return refuse(g, err, "a DELIMITER line without a plain delimiter");
	}
	/* After a \C euckr, the client reads a letter after a byte >= 0x81 as
	 * part of one character: a delimiter starting with one could hide. */
	if (g->allow_charset && is_alpha(g->dline[0]))
		return refuse(g, err, "a DELIMITER line whose delimiter starts with a letter");
	memcpy(g->delim, g->dline, n);
	g->delim[n] = '\0';
	g->dlen = n;
	set_special(g);
	/* The client ran it as a command: its statement stays empty. */
	g->capturing = g->capover = false;
	g->caplen = 0;
	g->stmt_empty = g->stmt_ws = true;
	g->dl_mask = 1;
	return 0;
}

static int line_end(struct sqlguard *g, struct errbuf *err)
{
	int ret = word_end(g, '\n', err);

	if (ret)
		return ret;
	if (g->delim_line)
		ret = delimiter_line(g, err);
	else if (g->use_line && !g->line_has_delim)
		ret = refuse(g, err, "a USE command without a delimiter on its line");
	if (ret)
		return ret;
	capture(g, '\n');
	g->dl_mask &= 1; /* a name ends at a newline, spaces before one do not */
	g->use_line = g->line_comment = g->ss_comment = g->after_delim = false;
	g->line++;
	g->line_start = true;
	return 0;
}

/* "\C" at i inside an executable comment, with sqlguard_allow_charset():
 * mariadb-binlog writes "\C utf8mb4 " right after a "/" "*!" and before
 * its closing "*" "/".  The client switches its charset, then skips the
 * rest up to (not including) that closing, which ends the comment.
 * Accepts "\C", 1..CS_SPACES spaces or tabs, a name of 1..CS_NAME bytes
 * [A-Za-z0-9_], 0..CS_SPACES spaces or tabs and the closing on this line
 * (LOOK covers it); takes all but the closing. */
static int charset_cmd(struct sqlguard *g, const char *b, size_t len, size_t i, size_t *used,
		       struct errbuf *err)
{
	/* Their multibyte characters can hold a backslash or a quote byte
	 * (or any byte: the UCS ones, which the 10.11 client refuses), so the
	 * client would see strings end where this file does not. */
	static const char *const unsafe[] = {"big5", "cp932", "gbk",	 "gb18030", "sjis",
					     "ucs2", "utf16", "utf16le", "utf32",   NULL};
	size_t j = i + 2, k, name;
	char cs[CS_NAME + 1];

	for (k = 0; k < CS_SPACES && is_blank(at(b, len, j)); k++)
		j++;
	if (!k)
		return refuse(g, err, "the client command '\\C'");
	name = j;
	while (j - name <= CS_NAME &&
	       (is_alpha(at(b, len, j)) || is_digit(at(b, len, j)) || at(b, len, j) == '_'))
		j++;
	if (j == name || j - name > CS_NAME)
		return refuse(g, err, "the client command '\\C'");
	memcpy(cs, b + name, j - name);
	cs[j - name] = '\0';
	for (k = 0; k < CS_SPACES && is_blank(at(b, len, j)); k++)
		j++;
	if (at(b, len, j) != '*' || at(b, len, j + 1) != '/')
		return refuse(g, err, "the client command '\\C'");
	for (k = 0; unsafe[k]; k++)
		if (!strcasecmp(cs, unsafe[k]))
			return error_set(
				err, -EPERM,
				"the SQL at line %llu holds the client command '\\C %s': "
				"the charset '%s' has multibyte characters that can hold a "
				"backslash or a quote byte, so the client could see strings "
				"end where this check does not; refusing it",
				g->line, cs, cs);
	*used = j - i;
	return 0;
}

/* Judges the byte at i; *used is how many bytes it took. */
static int step(struct sqlguard *g, const char *b, size_t len, size_t i, size_t *used,
		struct errbuf *err)
{
	char c = b[i], n1 = at(b, len, i + 1);
	char what[48];
	int ret = 0;

	*used = 1;
	if (c == '\0')
		return refuse(g, err, "a NUL byte");
	if (c == '\n')
		return line_end(g, err);
	if (g->line_start) {
		g->line_level = g->stmt_empty && !g->ml_comment && !g->in_string;
		g->nonws_line = false;
	}
	if (g->use_line && delim_at(g, b, len, i))
		g->line_has_delim = true;
	if (g->delim_line) {
		if (g->dllen < DLINE_MAX)
			g->dline[g->dllen++] = c;
		else
			return refuse(g, err, "a DELIMITER line without a plain delimiter");
		goto done;
	}
	if (g->line_comment) {
		capture(g, c);
		goto done;
	}
	if (g->after_delim) {
		/* Spaces and a comment after a delimiter end its statement. */
		if (is_space(c))
			goto done;
		g->after_delim = false;
		if (c == '#' || (c == '-' && n1 == '-' && is_space(at(b, len, i + 2)))) {
			g->line_comment = true;
			goto done;
		}
	}
	if (!g->ml_comment && c == '\\' && g->in_string != '`' &&
	    !(g->in_string == '"' && g->mode.ansi) && !(g->in_string && g->mode.nbe)) {
		if (g->in_string) {
			capture(g, c);
			if (n1) {
				capture(g, n1);
				*used = 2;
			}
			goto done;
		}
		if (n1 == 'N') { /* NULL, not a command */
			ret = word_byte(g, '\\', err);
			capture(g, c);
			capture(g, n1);
			g->stmt_empty = false;
			*used = 2;
			goto done;
		}
		if (n1 == 'C' && g->allow_charset && g->ss_comment) {
			ret = charset_cmd(g, b, len, i, used, err);
			goto done;
		}
		if (!n1)
			return refuse(g, err, "a backslash at the end of a line outside a string");
		snprintf(what, sizeof(what), "the client command '\\%c'", n1);
		return refuse(g, err, what);
	}
	if (!g->ml_comment && !g->in_string && delim_at(g, b, len, i)) {
		ret = word_end(g, g->delim[0], err);
		if (ret)
			return ret;
		if (g->use_line)
			g->line_has_delim = true;
		statement_end(g);
		g->after_delim = true;
		*used = g->dlen;
		goto done;
	}
	if (!g->ml_comment && !g->in_string &&
	    (c == '#' || (c == '-' && n1 == '-' &&
			  (is_space(at(b, len, i + 2)) || !at(b, len, i + 2) || g->stmt_empty)))) {
		ret = word_end(g, c, err);
		g->line_comment = true;
		capture(g, c);
		goto done;
	}
	if (!g->in_string && c == '/' && n1 == '*' &&
	    !(at(b, len, i + 2) == '!' || (at(b, len, i + 2) == 'M' && at(b, len, i + 3) == '!'))) {
		ret = word_end(g, c, err);
		g->ml_comment = true;
		g->stmt_empty = false;
		capture(g, c);
		capture(g, n1);
		*used = 2;
		goto done;
	}
	if (g->ml_comment && !g->ss_comment && c == '*' && n1 == '/') {
		g->ml_comment = false;
		capture(g, c);
		capture(g, n1);
		*used = 2;
		goto done;
	}
	if (!g->in_string && c == '/' && n1 == '*' && at(b, len, i + 2) == '!')
		g->ss_comment = true;
	else if (!g->in_string && g->ss_comment && c == '*' && n1 == '/')
		g->ss_comment = false;
	if (!g->ml_comment && !g->in_string)
		ret = word_byte(g, c, err);
	if (c == g->in_string)
		g->in_string = 0;
	else if (!g->ml_comment && !g->in_string && (c == '\'' || c == '"' || c == '`'))
		g->in_string = c;
	g->stmt_empty = false;
	capture(g, c);
done:
	if (!is_space(c))
		g->nonws_line = true;
	g->line_start = false;
	return ret;
}

/* Fast path: the bytes from i that change nothing but the capture: in a
 * string, all but its quote, a backslash, a newline or NUL; in the body
 * of a statement outside strings and comments, all but special[].  How
 * many.  Most of a dump is row data. */
static size_t fast_run(struct sqlguard *g, const char *b, size_t i, size_t limit)
{
	const char q = g->in_string;
	size_t j = i, room;

	if (g->ml_comment || g->line_comment || g->delim_line || g->use_line)
		return 0;
	if (q) {
		while (j < limit && b[j] != q && b[j] != '\\' && b[j] != '\n' && b[j] != '\0')
			j++;
	} else {
		if (g->stmt_ws || g->in_word || g->after_delim || g->dl_mask)
			return 0;
		while (j < limit && !g->special[(unsigned char)b[j]])
			j++;
	}
	if (j == i)
		return 0;
	if (g->capturing && !g->capover) {
		room = CAP_MAX - g->caplen;
		if (j - i > room) {
			g->capover = true;
		} else {
			memcpy(g->cap + g->caplen, b + i, j - i);
			g->caplen += j - i;
		}
	}
	/* What step() does for these bytes.  The statement is not empty (a
	 * quote or a first word came before), so this line is not at line
	 * level: nonws_line no longer matters. */
	if (g->line_start)
		g->line_level = false;
	g->nonws_line = true;
	g->line_start = false;
	return j - i;
}

/* Judges pend up to where lookahead is known (all of it when final). */
static int run(struct sqlguard *g, bool final, struct errbuf *err)
{
	const char *b = g->pend.buf;
	size_t len = g->pend.len, i = 0, limit = 0;
	const char *nl = len ? memrchr(b, '\n', len) : NULL;
	int ret = 0;

	if (final)
		limit = len;
	else if (nl)
		limit = (size_t)(nl - b) + 1;
	if (!final && len > LOOK && len - LOOK > limit)
		limit = len - LOOK;
	/* The client skips a UTF-8 byte order mark on its first line. */
	if (g->at_start && limit) {
		g->at_start = false;
		if ((unsigned char)at(b, len, 0) == 0xef && (unsigned char)at(b, len, 1) == 0xbb &&
		    (unsigned char)at(b, len, 2) == 0xbf)
			i = 3;
	}
	while (i < limit && !ret) {
		size_t used = fast_run(g, b, i, limit);

		if (!used)
			ret = step(g, b, len, i, &used, err);
		i += used;
	}
	if (i > len)
		i = len;
	if (len) {
		memmove(g->pend.buf, b + i, len - i);
		g->pend.len = len - i;
		g->pend.buf[g->pend.len] = '\0';
	}
	return ret;
}

int sqlguard_feed(struct sqlguard *g, const char *p, size_t n, struct errbuf *err)
{
	strbuf_add(&g->pend, p, n);
	if (strbuf_error(&g->pend))
		return error_set(err, -ENOMEM, "restore: out of memory");
	return run(g, false, err);
}

bool sqlguard_at_fresh_start(const struct sqlguard *g)
{
	return !g->pend.len && g->line_start && !g->in_string && !g->ml_comment && g->stmt_empty &&
	       !g->delim_line && g->dlen == 1 && g->delim[0] == ';' && !g->mode.nbe &&
	       !g->mode.ansi;
}

int sqlguard_end(struct sqlguard *g, struct errbuf *err)
{
	int ret = run(g, true, err);

	/* The client runs an unterminated last line too. */
	return ret || g->line_start ? ret : line_end(g, err);
}
