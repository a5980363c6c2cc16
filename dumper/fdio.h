/* Whole reads and writes on blocking file descriptors: the one place that
 * loops over short transfers and EINTR. */
#ifndef DUMPER_FDIO_H
#define DUMPER_FDIO_H

#include <stddef.h>
#include <sys/types.h>

#include "errbuf.h"

/* Writes all `len` bytes to a blocking fd, retrying on EINTR and short
 * writes.  Returns 0 or -errno (-EIO when write returns 0). */
int fd_write_all(int fd, const void *buf, size_t len);
/* Reads until `len` bytes or end of file, retrying on EINTR and short
 * reads: pread at `off` when off >= 0, else read.  Returns the bytes
 * read (less than len only at end of file) or -errno. */
ssize_t fd_read_full(int fd, void *buf, size_t len, off_t off);
/* Reads the first `len` bytes (or all, when shorter) of the small file
 * `path`, never through a symlink, and only a regular file (-EINVAL).  Returns the bytes read, or
 * -errno: -ENOENT (without a message) when there is none, else with one naming the file in `err`.
 */
ssize_t file_read_small(const char *path, void *buf, size_t len, struct errbuf *err);

#endif
