/* The .sha256 sidecar parser (dumper/archive.c, archive_sidecar_parse)
 * on any bytes: what it accepts is 64 lower-case hex digits and a
 * one-line name, and formats back to an equivalent sidecar. */
#include <ctype.h>
#include <string.h>

#include "../../dumper/archive.h"
#include "../../dumper/strbuf.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char hex[65], name[ARCHIVE_NAME_MAX], hex2[65], name2[ARCHIVE_NAME_MAX];
	struct strbuf sb;
	struct errbuf err;
	/* the parser's input is not NUL-terminated: an exact-size copy, so
	 * ASan sees any read past it */
	char *text = malloc(size ? size : 1);

	FUZZ_ASSERT(text);
	memcpy(text, data, size);
	if (archive_sidecar_parse(text, size, hex, name, &err)) {
		free(text);
		return 0;
	}
	free(text);
	FUZZ_ASSERT(strlen(hex) == 64);
	for (int i = 0; i < 64; i++)
		FUZZ_ASSERT(isxdigit((unsigned char)hex[i]) && !isupper((unsigned char)hex[i]));
	FUZZ_ASSERT(name[0] && !strchr(name, '\n'));
	strbuf_init(&sb);
	archive_sidecar_format(&sb, hex, name);
	FUZZ_ASSERT(!archive_sidecar_parse(sb.buf, sb.len, hex2, name2, &err));
	FUZZ_ASSERT(!strcmp(hex, hex2) && !strcmp(name, name2));
	strbuf_release(&sb);
	return 0;
}
