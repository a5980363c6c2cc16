/* The bounded buffer between a snapshot dump and its FUSE reader.
 *
 * One producer (the dump's worker thread) writes through the embedded
 * writer; write() blocks while the buffer is full, so a reader that
 * pauses just stops the dump (backpressure, memory stays bounded).
 * One reader drains it with snapbuf_read_at(), which FUSE may call from
 * several threads at once with reordered offsets (async direct I/O, a
 * program reading one fd from two threads).  Reads are therefore served
 * strictly in offset order, one at a time:
 *
 * - a read at the current position is served, and always filled
 *   completely unless the dump ended: the kernel drops whatever follows
 *   a short read in a split direct I/O request, so a short read in the
 *   middle would lose bytes;
 * - a read at a later offset waits for its turn while an earlier read is
 *   being served, and otherwise at most `order_wait_ms` for the read
 *   that should come first; then it fails with -EIO;
 * - a read at an earlier offset (those bytes are gone) fails with -EIO;
 * - past a successful end every read returns 0 (EOF).  After a failed
 *   dump every read fails with -EIO, so a partial dump never ends in a
 *   clean EOF.
 *
 * snapbuf_abort() (reader closed early, unmount) wakes both sides: the
 * producer's write() fails with -ECANCELED and so do pending reads.
 */
#ifndef FS_SNAPBUF_H
#define FS_SNAPBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../../dumper/errbuf.h"
#include "../../dumper/writer.h"

#define SNAPBUF_DEFAULT_SIZE  (4u << 20)
#define SNAPBUF_ORDER_WAIT_MS 10000

struct snapbuf;

/* capacity > 0 bytes.  On success *out is owned by the caller. */
int snapbuf_new(struct snapbuf **out, size_t capacity, unsigned order_wait_ms, struct errbuf *err);
/* The producer side; owned by sb: never writer_free() it.  Its close()
 * does nothing; the producer calls snapbuf_finish() instead. */
struct writer *snapbuf_writer(struct snapbuf *sb);
/* The producer is done: status 0 = the dump is complete, < 0 = it
 * failed.  Only the first call counts. */
void snapbuf_finish(struct snapbuf *sb, int status);
/* Stops both sides for good.  Any thread, any time, idempotent. */
void snapbuf_abort(struct snapbuf *sb);
/* `gave_up` (NULL: none) is asked, from the reading thread, every 100 ms
 * while a read waits for data: true makes that read fail with -EINTR (the
 * reader was killed).  If it had taken bytes already, every later read
 * fails with -EIO: a stream with a hole never reads as complete. */
void snapbuf_set_gave_up(struct snapbuf *sb, bool (*gave_up)(void));

/* Copies up to `size` bytes of the stream at `off` into dst.  Returns
 * the number of bytes (size, or less only at the end), 0 at EOF, -EIO
 * (see above) or -ECANCELED after snapbuf_abort(). */
ssize_t snapbuf_read_at(struct snapbuf *sb, void *dst, size_t size, off_t off);
/* Bytes handed to the reader so far. */
uint64_t snapbuf_position(struct snapbuf *sb);

/* Both sides must be finished (no thread inside any call). */
void snapbuf_free(struct snapbuf *sb);

#endif
