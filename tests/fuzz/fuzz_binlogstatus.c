/* The binlog status file parser (dumper/binlog_status.c) on any bytes:
 * what it accepts has times in range and a one-line message, gives a
 * lag that is never negative, and is written back to text that parses
 * to the same. */
#include <stdlib.h>
#include <string.h>

#include "../../dumper/binlog_status.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct binlog_status st, again;
	struct strbuf sb = STRBUF_INIT;
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
		/* what it accepts, written again, reads back the same */
		binlog_status_format(&st, &sb);
		FUZZ_ASSERT(!strbuf_error(&sb));
		FUZZ_ASSERT(!binlog_status_parse(sb.buf, sb.len, &again, &line));
		FUZZ_ASSERT(st.updated_at == again.updated_at &&
			    st.last_event_at == again.last_event_at &&
			    st.behind_since == again.behind_since &&
			    st.last_error_at == again.last_error_at &&
			    st.failing_since == again.failing_since &&
			    st.broken_notified == again.broken_notified &&
			    !strcmp(st.last_error, again.last_error));
		strbuf_release(&sb);
	}
	free(text);
	return 0;
}
