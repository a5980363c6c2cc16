/* The restore's guard against client commands: it reads the SQL the way
 * the stock mariadb client (10.11, --comments) splits it and refuses any
 * client command (`\!`, `system`, `source`, `tee`, `connect`, `quit`, ...)
 * but the DELIMITER lines and USE statements a dump needs (and, on
 * request, the charset command of mariadb-binlog output).  Used by the
 * SQL filter (restore_stages.c).  Not a public header. */
#ifndef DUMPER_SQLGUARD_H
#define DUMPER_SQLGUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "errbuf.h"

struct sqlguard;

/* NULL when out of memory.  Free with sqlguard_free(). */
struct sqlguard *sqlguard_new(void);
/* For mariadb-binlog output (10.11; a point-in-time recovery replay):
 * also accepts the client's charset command the way that tool writes it,
 * inside an executable comment: "\C", spaces or tabs, a name of 1..32
 * bytes [A-Za-z0-9_], spaces or tabs (at most 4 on each side), then the
 * comment's closing on the same line.  Still refused: any other shape,
 * the charsets whose multibyte characters can hold a backslash or a quote
 * byte (big5, cp932, gbk, gb18030, sjis; the UCS ones), and a DELIMITER
 * starting with a letter (a euckr character can end with one).  Call it
 * before the first sqlguard_feed(). */
void sqlguard_allow_charset(struct sqlguard *g);
/* The next bytes of the SQL.  Bytes of a line are judged before its end
 * is: a refused line fails here, before its newline could be passed on.
 * -EPERM names the line and the command. */
int sqlguard_feed(struct sqlguard *g, const char *p, size_t n, struct errbuf *err);
/* True between two statements as a fresh client sees them: every byte
 * fed was judged, at a line start, no statement, string or comment open,
 * delimiter ";", and neither NO_BACKSLASH_ESCAPES nor ANSI_QUOTES in the
 * followed sql_mode.  `restore --jobs` splits the SQL only there. */
bool sqlguard_at_fresh_start(const struct sqlguard *g);
/* The end of the SQL (judges an unterminated last line). */
int sqlguard_end(struct sqlguard *g, struct errbuf *err);
void sqlguard_free(struct sqlguard *g);

#endif
