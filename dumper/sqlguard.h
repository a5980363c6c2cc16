/* The restore's guard against client commands: it reads the SQL the way
 * the stock mariadb client (10.11, --comments) splits it and refuses any
 * client command (`\!`, `system`, `source`, `tee`, `connect`, `quit`, ...)
 * but the DELIMITER lines and USE statements a dump needs.  Used by the
 * SQL filter (restore_stages.c).  Not a public header. */
#ifndef DUMPER_SQLGUARD_H
#define DUMPER_SQLGUARD_H

#include <stddef.h>

#include "errbuf.h"

struct sqlguard;

/* NULL when out of memory.  Free with sqlguard_free(). */
struct sqlguard *sqlguard_new(void);
/* The next bytes of the SQL.  Bytes of a line are judged before its end
 * is: a refused line fails here, before its newline could be passed on.
 * -EPERM names the line and the command. */
int sqlguard_feed(struct sqlguard *g, const char *p, size_t n, struct errbuf *err);
/* The end of the SQL (judges an unterminated last line). */
int sqlguard_end(struct sqlguard *g, struct errbuf *err);
void sqlguard_free(struct sqlguard *g);

#endif
