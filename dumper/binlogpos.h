/* Binlog coordinates kept in plaintext files (docs/pitr.md): the stream's
 * position file, and each backup's snapshot position next to it, which
 * the streamer starts from when it has none of its own.  Both are
 * exactly "file=<binlog file>\npos=<offset>\n", read back strictly (the
 * archive is untrusted). */
#ifndef DUMPER_BINLOGPOS_H
#define DUMPER_BINLOGPOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "errbuf.h"

#define BINLOG_FILE_MAX	      128 /* longest binlog file name accepted from a server */
#define BINLOG_SEGMENT_SUFFIX ".binlog.gz.gpg"
/* A backup's position: ".<backup name>" BACKUP_POSITION_SUFFIX, in the
 * archive directory. */
#define BACKUP_POSITION_SUFFIX ".binlog-position"

/* A binlog file and an offset in it. */
struct binlog_pos {
	char file[BINLOG_FILE_MAX + 1];
	uint64_t pos;
};

/* True for a binlog file name dumpfs accepts from a server: 1 to
 * BINLOG_FILE_MAX bytes of [A-Za-z0-9._-], not starting with '.'. */
bool binlog_file_name_valid(const char *name);

/* Parses position file text (untrusted: not NUL-terminated, any bytes):
 * 0, or -EINVAL unless it is exactly "file=<valid name>\npos=<4..>\n". */
int binlog_position_parse(const char *text, size_t len, struct binlog_pos *p);

/* Reads the position file `path`: -ENOENT (no message) when there is
 * none; -EINVAL naming the file when it is not exactly that text. */
int binlog_position_load(const char *path, struct binlog_pos *p, struct errbuf *err);
/* Writes it atomically (hidden temporary, fsync, rename), `mode`; the
 * group `group` unless (gid_t)-1. */
int binlog_position_store(const char *path, const struct binlog_pos *p, mode_t mode, gid_t group,
			  struct errbuf *err);

/* "<prefix>_YYYY-MM-DD_HHMMSS_<binlog file>_<offset>" BINLOG_SEGMENT_SUFFIX
 * (binlog.h): true with the file and offset of its first event, and the
 * length of the prefix; false for any other name (hidden, temporary). */
bool binlog_segment_name_parse(const char *name, struct binlog_pos *start, size_t *prefix_len);
/* Orders positions: binlog files by their sequence ("b.000999" <
 * "b.001000" < "b.1000000"), then offsets. */
int binlog_pos_cmp(const struct binlog_pos *a, const struct binlog_pos *b);

/* ".<backup>.binlog-position" into buf; -ENAMETOOLONG. */
int backup_position_name(char *buf, size_t size, const char *backup);

#endif
