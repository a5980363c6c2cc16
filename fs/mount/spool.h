/* Spool mode (docs/tree.md, [fs] snapshot_mode = spool): a snapshot is
 * first written whole, encrypted, to a hidden temporary of the archive
 * directory (".snapshot.sql.gz.gpg.tmp-XXXXXX", mode 0600: never listed,
 * never plaintext), so fstat can report its exact size; reads are then
 * served from that file.  The temporary is held (archive_hold_temp) so a
 * concurrent `dumpfs backup` leaves it alone; it is removed by
 * spool_release(), or by the next start's cleanup after a crash.
 */
#ifndef FS_SPOOL_H
#define FS_SPOOL_H

#include <stdint.h>
#include <sys/types.h>

#include "../../dumper/sink.h"
#include "../../dumper/writer.h"

#define SPOOL_NAME "snapshot.sql.gz.gpg" /* the temporary is named after it */

struct spool {
	struct outfile of;   /* of.fd: the temporary, read-write */
	struct writer *sink; /* writes into of.fd; NULL once complete */
	uint64_t size;	     /* valid once complete */
};

/* Creates the temporary in `dir`; sp->sink is where the dump goes. */
int spool_create(struct spool *sp, const char *dir, struct errbuf *err);
/* The dump is complete: closes and drops the sink, takes the file's
 * size. */
int spool_complete(struct spool *sp, struct errbuf *err);
/* pread() of the complete spool: bytes, 0 at the end, or -errno. */
ssize_t spool_read(struct spool *sp, void *buf, size_t size, off_t off);
/* Closes and removes the temporary.  Idempotent; safe after a failed
 * spool_create(). */
void spool_release(struct spool *sp);

#endif
