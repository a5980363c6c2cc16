/* Restoring a dump file (docs/commands.md, `dumpfs restore`): the DPO side.
 *
 *   FILE --(sha256 sidecar, OpenPGP shape)--> checked first
 *   FILE --gpgme decrypt--> gunzip --> SQL filter --> mariadb client | fd
 *
 * - The sidecar "<FILE>.sha256", when present, must match before
 *   anything is decrypted; the file must be one complete OpenPGP
 *   encrypted message (pgpverify.h).  Without a sidecar the whole chain
 *   is run once into nothing first (decryption's integrity check, gzip
 *   CRCs, the completion line), so a corrupt or truncated file is refused
 *   before the server is touched.
 * - Decryption uses the private key in the user's keyring (GNUPGHOME or
 *   ~/.gnupg) through gpgme; gpg-agent asks for a passphrase (pinentry;
 *   set GPG_TTY on a terminal).  Plaintext only ever exists in memory
 *   and in the pipe to the client.
 * - The SQL must end with SQLDUMP_COMPLETION_LINE, else the restore fails
 *   ("the dump is truncated").
 * - The file is untrusted even with the right key and sidecar: a client
 *   command in it (`\!`, `system`, `source`, ...) fails the restore,
 *   naming its line, before the line is passed on (sqlguard.h); the
 *   client also runs with --binary-mode and --sandbox.
 * - Into a server: the stock `mariadb --comments --max-allowed-packet=1G`
 *   client reads the SQL on its stdin.  Its connection settings (with the
 *   password) go in a [client] option file in an anonymous memfd (never
 *   on disk, never on a command line or in an environment), mode 0600,
 *   sealed, passed as --defaults-file=/dev/fd/3: only our settings count,
 *   not a ~/.my.cnf that might point elsewhere.  When the stream fails
 *   (corrupt data, truncation, cancel) the client is killed before it
 *   sees end-of-file, so it never runs a cut statement; a failure is
 *   never reported as success.  A statement the server rejects is
 *   reported with the client's message and its line number in the SQL
 *   (the same numbering as `gpg -d FILE | gunzip`, also with --database).
 * - `jobs` > 1 (0: the number of online CPUs): the data of the tables
 *   is loaded on `jobs` more clients (restore_jobs.c): everything else
 *   runs on one client in the dump's order, never at the same time as
 *   data, so the result is the one-client restore's.  Same checks, guard,
 *   sandbox and error reporting; with out_fd, or jobs 1, one client.
 * - `database`: only that database's sections (from its CREATE DATABASE /
 *   USE to the next one, views included; the header and footer session
 *   settings always), by the structure of our dump format (sqldump.c).
 */
#ifndef DUMPER_RESTORE_H
#define DUMPER_RESTORE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "errbuf.h"
#include "log.h"
#include "writer.h"

struct restore_target {
	const char *host; /* used when socket is NULL; NULL = 127.0.0.1 */
	unsigned port;	  /* 0 = 3306 */
	const char *socket;
	const char *user;     /* NULL = the client's default */
	const char *password; /* secret; NULL = none */
	const char *ssl_ca;   /* TLS with verification when set */
};

struct restore_opts {
	const char *file;
	const char *database;	      /* NULL = every database in the dump */
	int out_fd;		      /* >= 0: write the SQL there, no server */
	struct restore_target target; /* when out_fd < 0 */
	const char *client;	      /* NULL = "mariadb" from PATH */
	bool progress;		      /* progress line on stderr */
	bool no_precheck;	      /* skip the dry run without a sidecar */
	unsigned jobs;		      /* data connections; 0 = online CPUs */
	struct logger *log;	      /* may be NULL */
	/* NULL, or called (in the restoring thread) with each line of the
	 * dump's trailer (rowdigest.h: "-- dumpfs: " comment lines after the
	 * footer), without its newline, as the pass that restores it reads
	 * it.  For `rehearse`; the lines are untrusted. */
	void (*trailer_line)(void *arg, const char *line, size_t len);
	void *trailer_arg;
	/* Point-in-time recovery (docs/pitr.md): after the dump, the
	 * archived binlog from the dump's position up to `until` (not
	 * included; latest when !has_until), through mariadb-binlog, with the
	 * same checks, guard and client.  Every segment needed is checked
	 * (sidecar, decryption, each event, no gap) before anything is
	 * loaded.  Events of databases the restore did not load are
	 * skipped (binlog_filter.h). */
	bool pitr;
	bool has_until;
	time_t until;
	const char *binlog_dir;	 /* NULL = "<directory of file>/binlog" */
	const char *binlog_tool; /* NULL = "mariadb-binlog" from PATH */
};

struct restore_stats {
	uint64_t file_bytes; /* encrypted bytes read */
	uint64_t sql_bytes;  /* SQL bytes decompressed */
	uint64_t out_bytes;  /* SQL bytes passed on (after --database) */
	uint64_t statements; /* passed on */
	uint64_t lines;	     /* of the whole SQL */
	bool sidecar_checked;
	unsigned jobs; /* data connections used (1: the one client) */
	double seconds;
	/* pitr */
	unsigned segments;	  /* replayed (in part or whole) */
	uint64_t binlog_events;	  /* passed to mariadb-binlog */
	uint64_t binlog_skipped;  /* statements and row events of other databases */
	time_t binlog_last_event; /* the last one replayed; 0 = none */
};

struct restore;

/* opts (and what it points to) is borrowed and must outlive *out. */
int restore_new(struct restore **out, const struct restore_opts *opts, struct errbuf *err);
/* Runs once.  Errors say what failed and what to do. */
int restore_run(struct restore *r, struct restore_stats *st, struct errbuf *err);
/* Any thread: the run stops soon with -ECANCELED (the client is killed). */
void restore_cancel(struct restore *r);
void restore_free(struct restore *r);

/* ---- stages, exposed for tests ---- */

/* gunzip of one or more concatenated gzip members into `next`; close()
 * fails when the data ends inside a member or there is none.  *sql_bytes
 * (may be NULL) counts the output. */
int gunzipstage_new(struct writer **out, struct writer *next, uint64_t *sql_bytes,
		    struct errbuf *err);

/* The SQL filter: passes lines through, keeping only `database` (NULL =
 * all); dropped lines become "\n" when keep_line_numbers (so line N
 * stays line N), else vanish.  close() fails with -EPROTO when the text
 * does not end with the completion line, or -ENOENT when `database`
 * never appeared.  `stats` (may be NULL) counts lines, passed bytes and
 * statements. */
int sqlfilter_new(struct writer **out, struct writer *next, const char *database,
		  bool keep_line_numbers, struct restore_stats *stats, struct errbuf *err);
/* Sets the filter's trailer_line callback (restore_opts). */
void sqlfilter_on_trailer(struct writer *filter,
			  void (*fn)(void *arg, const char *line, size_t len), void *arg);
/* fn(arg, name) for each database section the filter keeps, as it
 * enters it (a name may come more than once). */
void sqlfilter_on_database(struct writer *filter, void (*fn)(void *arg, const char *name),
			   void *arg);

#endif
