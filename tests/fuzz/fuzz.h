/* Helpers shared by the libFuzzer targets (tests/fuzz/fuzz_*.c, built by
 * `make fuzz`, run by tests/fuzz/run.sh). */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../dumper/writer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stops the run (libFuzzer saves the input as a crash): for a property
 * the target checks itself. */
#define FUZZ_ASSERT(cond)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: fuzz assertion failed: %s\n", __FILE__, __LINE__,  \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* The next chunk length (1..64) for feeding a push parser in pieces: a
 * small generator seeded from the input, so a crash replays. */
static inline size_t fuzz_chunk(uint32_t *seed, size_t left)
{
	size_t n;

	*seed = *seed * 1103515245u + 12345u;
	n = 1 + ((*seed >> 16) % 64);
	return n < left ? n : left;
}

static inline uint32_t fuzz_seed(const uint8_t *data, size_t size);

/* Writes data into a writer stage at once, or in fuzz_chunk() pieces;
 * the first error. */
static inline int fuzz_write(struct writer *w, const uint8_t *data, size_t size, bool pieces,
			     struct errbuf *err)
{
	uint32_t seed = fuzz_seed(data, size);
	int rc = 0;

	for (size_t off = 0, n; off < size && !rc; off += n) {
		n = pieces ? fuzz_chunk(&seed, size - off) : size - off;
		rc = writer_write(w, data + off, n, err);
	}
	return rc;
}

static inline uint32_t fuzz_seed(const uint8_t *data, size_t size)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < size && i < 64; i++)
		h = (h ^ data[i]) * 16777619u;
	return h;
}

/* The input as a file, for parsers that read a path: a memfd (no disk),
 * named by "/proc/self/fd/N" in path (64 bytes).  Returns the fd to close
 * afterwards. */
static inline int fuzz_memfile(const uint8_t *data, size_t size, char path[64])
{
	int fd = memfd_create("fuzz-input", MFD_CLOEXEC);

	FUZZ_ASSERT(fd >= 0);
	for (size_t off = 0; off < size;) {
		ssize_t n = write(fd, data + off, size - off);

		FUZZ_ASSERT(n > 0);
		off += (size_t)n;
	}
	snprintf(path, 64, "/proc/self/fd/%d", fd);
	return fd;
}

#endif
