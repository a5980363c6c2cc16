/* The config reader (fs/config*.c, config_load) on any file, with an
 * empty environment. */
#include "../../fs/config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const envp[] = {NULL};
	struct config cfg;
	struct errbuf err;
	char path[64];
	int fd = fuzz_memfile(data, size, path);

	if (config_load(&cfg, path, envp, &err) == 0)
		config_release(&cfg);
	close(fd);
	return 0;
}
