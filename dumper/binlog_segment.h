/* One binlog segment being written: gzip -> OpenPGP -> sha256 -> a hidden
 * temporary, renamed into place with its sidecar on commit.  See binlog.h
 * for the name and contents.  Used by binlog_stream.c only. */
#ifndef DUMPER_BINLOG_SEGMENT_H
#define DUMPER_BINLOG_SEGMENT_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "archive.h"
#include "binlog.h"

struct binlog_segment;

/* Opens the temporary for a segment starting at `start` whose first event
 * is dated `first`.  o->dir, o->prefix and o->key are borrowed for the
 * segment's life.  On success *out is owned by the caller. */
int binlog_segment_open(struct binlog_segment **out, const struct binlog_stream_opts *o,
			const struct binlog_pos *start, time_t first, struct errbuf *err);
int binlog_segment_write(struct binlog_segment *s, const void *buf, size_t len, struct errbuf *err);
/* Finishes the chain, renames the segment into place (replacing one of
 * the same name), then writes its sidecar; `name` (ARCHIVE_NAME_MAX) gets
 * the segment's name. */
int binlog_segment_commit(struct binlog_segment *s, char *name, struct errbuf *err);
/* Frees; an uncommitted segment's temporary is removed.  NULL is fine. */
void binlog_segment_free(struct binlog_segment *s);

#endif
