/* The binlog status file parser (dumper/binlog_status.c) on any bytes:
 * what it accepts has times in range and a one-line message, and the
 * lag it gives is never negative. */
#include <stdlib.h>
#include <string.h>

#include "../../dumper/binlog_status.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct binlog_status st;
	unsigned line;
	/* an exact-size copy, so ASan sees any read past it */
	char *text = malloc(size ? size : 1);

	FUZZ_ASSERT(text);
	memcpy(text, data, size);
	if (!binlog_status_parse(text, size, &st, &line)) {
		FUZZ_ASSERT(st.updated_at >= 0 && st.behind_since >= 0 && st.last_event_at >= 0);
		FUZZ_ASSERT(strlen(st.last_error) < sizeof(st.last_error));
		FUZZ_ASSERT(!strchr(st.last_error, '\n'));
		FUZZ_ASSERT(binlog_status_lag(&st, st.updated_at) >= 0);
		FUZZ_ASSERT(binlog_status_lag(&st, 0) >= 0);
	}
	free(text);
	return 0;
}
