/* The config reader (fs/config*.c, config_load) on any file and
 * environment: the input up to its first NUL byte is the file (from a
 * memfd), what follows are NUL-separated "DUMPFS_..." entries. */
#include <string.h>

#include "../../fs/config/config.h"
#include "fuzz.h"

#define MAX_ENV 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t ini_len = nul ? (size_t)(nul - data) : size;
	const char *envp[MAX_ENV + 1];
	char *env = NULL, path[64];
	struct config cfg;
	struct errbuf err;
	size_t n = 0;
	int fd = fuzz_memfile(data, ini_len, path);

	if (nul) {
		/* a NUL-terminated copy: the last entry ends too */
		size_t len = size - ini_len - 1;

		env = malloc(len + 1);
		FUZZ_ASSERT(env);
		memcpy(env, nul + 1, len);
		env[len] = '\0';
		for (char *p = env; p < env + len && n < MAX_ENV; p += strlen(p) + 1)
			envp[n++] = p;
	}
	envp[n] = NULL;
	if (config_load(&cfg, path, envp, &err) == 0)
		config_release(&cfg);
	close(fd);
	free(env);
	return 0;
}
