/* Reading an archived binlog segment back (docs/pitr.md): a writer stage
 * that takes a segment's plaintext (binlog.h: magic, format description,
 * optional padding, events at their server offsets), checks it event by
 * event and passes on what a point-in-time replay needs.
 *
 * The input is untrusted (an archive file, even if it decrypts): every
 * length is checked before it is used, every event's CRC32 when the
 * format description announces them, and every event must start where
 * the previous one ended.  Memory is bounded: events pass through in
 * pieces; only the bytes that decide an event's fate are held (its header
 * and at most ~64 KiB of a statement's header, a whole format description
 * or rotate event, context events waiting for their statement).
 *
 * What is passed on (`next` may be NULL: check only):
 * - the magic when opts.magic, the format description unless it equals
 *   opts.prev_fde (a replay reads one continuous stream);
 * - the events that start at or after opts.from and come before the
 *   first event stamped at or after opts.until (when has_until); from
 *   that event on nothing more (the rest is still checked);
 * - with opts.keep_db: row events of tables in kept databases, statements
 *   whose default database is kept (as `mariadb-binlog --database` does),
 *   transaction control statements always, and context events (INSERT_ID,
 *   RAND, user variables) with their statement.
 * The padding event (binlog.h) is never passed on.  Statement-based
 * LOAD DATA events are refused: replaying them needs files on disk.
 * Not a public header: restore_pitr.c, tests and the fuzz target. */
#ifndef DUMPER_BINLOG_FILTER_H
#define DUMPER_BINLOG_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "binlog.h"
#include "errbuf.h"
#include "writer.h"

#define BINLOG_FDE_MAX 4096 /* a longer format description is refused */

struct binlog_filter_opts {
	const char *name;	       /* the segment, for messages (borrowed) */
	bool magic;		       /* pass the magic on */
	const unsigned char *prev_fde; /* borrowed; NULL = pass the FDE on */
	size_t prev_fde_len;
	uint64_t from; /* events starting before this offset are dropped */
	bool has_until;
	time_t until;
	/* NULL = every database; else true when db (len bytes, no NUL) is
	 * one to replay.  Called from the writing thread. */
	bool (*keep_db)(void *arg, const char *db, size_t len);
	void *keep_db_arg;
};

/* What the segment held; filled as it is read, complete after close(). */
struct binlog_seginfo {
	unsigned char fde[BINLOG_FDE_MAX]; /* its format description */
	size_t fde_len;
	uint64_t first;		      /* offset of its first event after the header */
	uint64_t end;		      /* offset where its last event ends */
	bool padded;		      /* a padding event precedes `first` */
	uint64_t padding;	      /* its length */
	uint64_t events;	      /* after the header and padding */
	uint64_t passed;	      /* of those, passed on */
	uint64_t skipped;	      /* statements and row events of other databases */
	time_t first_time, last_time; /* of the events after the header */
	bool reached_until;	      /* an event at or after `until` was seen */
	bool rotated;		      /* it ends with a rotate event to... */
	struct binlog_pos rotate_to;
};

/* opts (and what it points to) and info are borrowed and must outlive
 * the stage.  close() fails unless the input ended after a whole event. */
int binlog_filter_new(struct writer **out, struct writer *next,
		      const struct binlog_filter_opts *opts, struct binlog_seginfo *info,
		      struct errbuf *err);

#endif
