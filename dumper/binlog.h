/* Archiving the binary log (docs/pitr.md): the server's binlog read over
 * the replication protocol and kept as encrypted segments.
 *
 * A segment is "<prefix>_YYYY-MM-DD_HHMMSS_<binlog file>_<start>.binlog.gz.gpg"
 * (local time of its first event; the binlog file and the offset in it of
 * its first event) with a ".sha256" sidecar, in the segment directory.
 * Its plaintext is a binlog file `mariadb-binlog` reads: the magic, the
 * server's format description event, then the events as the server sent
 * them (positions in their headers are those of the server's file).
 *
 * Invariants:
 * - a segment holds whole event groups (transactions, DDL); it closes at
 *   the first group boundary once segment_seconds have passed since its
 *   first event, and after the server's rotate event ending a binlog file;
 * - the segments follow each other without gap or overlap: the next one
 *   starts where the last committed one ended; that end is kept in the
 *   position file (BINLOG_POSITION_NAME, plaintext coordinates only) and
 *   written after the segment and its sidecar are in place, so after a
 *   crash in between the stream resumes at that segment's start and
 *   writes it again under the same name (same first event), replacing it;
 * - nothing is written in plaintext: an unfinished segment is a hidden
 *   temporary holding OpenPGP data, removed when abandoned;
 * - while it runs, the stream keeps its status file (binlog_status.h)
 *   no more than BINLOG_STATUS_REFRESH seconds old.
 */
#ifndef DUMPER_BINLOG_H
#define DUMPER_BINLOG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "dbconn.h"
#include "errbuf.h"
#include "gpgstage.h"
#include "binlogpos.h"
#include "log.h"

#define BINLOG_POSITION_NAME ".binlog-position"
/* The segment directory, under [archive] dir. */
#define BINLOG_DIR_NAME "binlog"

struct binlog_stream_opts {
	struct dbconn_opts conn; /* strings borrowed */
	uint32_t server_id;	 /* the replica id to use, never 0 */
	unsigned segment_seconds;
	const char *dir; /* segment directory (borrowed); must exist */
	/* the backups' directory (borrowed; NULL: none): without a position
	 * file the stream starts at the newest backup's recorded position */
	const char *backups_dir;
	const char *prefix;  /* borrowed; archive_prefix_valid() */
	struct gpg_key *key; /* borrowed */
	int compression_level;
	gid_t group;		/* of the files; (gid_t)-1 = leave as created */
	unsigned retry_seconds; /* first wait before reconnecting; 0 = 5; doubled
				 * after each failure up to 60, reset once a
				 * segment is written */
	struct logger *log;	/* borrowed; may be NULL */
	/* Called in run()'s thread when the stream has been broken for 30 s
	 * or for good (`broken`, with the reason), and when it follows the
	 * server again after that: once each, also across restarts (the
	 * status file remembers).  NULL: no alerts.
	 * Must not block long (a notifier with its thread started). */
	void (*alert)(void *arg, bool broken, const char *error);
	void *alert_arg;
};

/* A stream, made once, run once, freed.  binlog_stream_cancel() may be
 * called from any thread (a signal handler thread) while run() runs.
 * From new() to free() the stream holds the segment directory's lock
 * (lock.h): -EBUSY, naming the holder, while another streamer has it. */
struct binlog_stream;

int binlog_stream_new(struct binlog_stream **out, const struct binlog_stream_opts *opts,
		      struct errbuf *err);
/* Streams until cancelled, reconnecting after failures (each logged as
 * "binlog_stream_failed" with the reason); returns 0 when cancelled, or a
 * negative errno when retrying cannot help: the position file is
 * corrupt, the directory unusable, the server has no binlog, server_id
 * is the server's own, or the server no longer has the binlog from
 * where the archive ends (purged). */
int binlog_stream_run(struct binlog_stream *s, struct errbuf *err);
void binlog_stream_cancel(struct binlog_stream *s);
void binlog_stream_free(struct binlog_stream *s);

/* Retention (docs/pitr.md): deletes, with their sidecars, the segments
 * of `prefix` in "<archive_dir>/binlog" that end before the oldest backup's
 * recorded position (binlogpos.h), i.e. whose successor (of the same
 * binlog name) starts at or before it.  Keeps everything, logged, unless
 * every backup has a record and the records go forward in one binlog
 * history.  *deleted counts them.  A missing directory is no error. */
int binlog_prune_segments(const char *archive_dir, const char *prefix, struct logger *lg,
			  unsigned *deleted, struct errbuf *err);

/* The position file of `dir`: -ENOENT when there is none; -EINVAL with
 * the file and reason when it is not exactly "file=<name>\npos=<n>\n". */
int binlog_position_read(const char *dir, struct binlog_pos *p, struct errbuf *err);

#endif
