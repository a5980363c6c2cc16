/* The binlog position file parser (dumper/binlog_stream.c,
 * binlog_position_parse) on any bytes: what it accepts has a valid file
 * name and a position of at least 4, and prints back to the same text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../dumper/binlog.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct binlog_pos p;
	char again[BINLOG_FILE_MAX + 64];
	/* an exact-size copy, so ASan sees any read past it */
	char *text = malloc(size ? size : 1);
	int n;

	FUZZ_ASSERT(text);
	memcpy(text, data, size);
	if (binlog_position_parse(text, size, &p)) {
		free(text);
		return 0;
	}
	FUZZ_ASSERT(binlog_file_name_valid(p.file) && p.pos >= 4);
	n = snprintf(again, sizeof(again), "file=%s\npos=%llu\n", p.file,
		     (unsigned long long)p.pos);
	FUZZ_ASSERT(n > 0 && (size_t)n == size && !memcmp(again, text, size));
	free(text);
	return 0;
}
