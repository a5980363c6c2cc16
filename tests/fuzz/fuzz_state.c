/* The run state file parser (dumper/state.c, state_load) on any bytes: a
 * file that loads must save and load back to the same state. */
#include <string.h>

#include "../../dumper/state.h"
#include "../../dumper/strbuf.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run_state st, again;
	struct strbuf sb;
	struct errbuf err;
	char path[64];
	int fd, rc;

	fd = fuzz_memfile(data, size, path);
	rc = state_load(&st, path, &err);
	close(fd);
	if (rc)
		return 0;
	/* the state written from it loads back the same */
	strbuf_init(&sb);
	state_format(&st, &sb);
	fd = fuzz_memfile((const uint8_t *)sb.buf, sb.len, path);
	rc = state_load(&again, path, &err);
	close(fd);
	if (rc)
		fprintf(stderr, "%s\nreloading:\n%s\n", err.msg, sb.buf);
	FUZZ_ASSERT(!rc);
	strbuf_release(&sb);
	FUZZ_ASSERT(again.last_success == st.last_success);
	FUZZ_ASSERT(!strcmp(again.last_file, st.last_file));
	FUZZ_ASSERT(again.last_size == st.last_size);
	FUZZ_ASSERT(again.last_error_at == st.last_error_at);
	FUZZ_ASSERT(!strcmp(again.last_error, st.last_error));
	FUZZ_ASSERT(again.successes == st.successes && again.failures == st.failures);
	FUZZ_ASSERT(again.started == st.started && again.started_pid == st.started_pid);
	FUZZ_ASSERT(again.stale_notified == st.stale_notified);
	FUZZ_ASSERT(again.expiry_warned_day == st.expiry_warned_day);
	return 0;
}
