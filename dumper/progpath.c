/* Programs in PATH.  See progpath.h. */
#include "progpath.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool executable(const char *path)
{
	struct stat sb;

	return !stat(path, &sb) && S_ISREG(sb.st_mode) && !access(path, X_OK);
}

bool progpath_find(const char *name, const char *extra, char *out, size_t len)
{
	const char *lists[] = {getenv("PATH"), extra};

	if (strchr(name, '/'))
		return (size_t)snprintf(out, len, "%s", name) < len && executable(out);
	for (size_t l = 0; l < 2; l++) {
		for (const char *p = lists[l]; p && *p;) {
			const char *colon = strchr(p, ':');
			size_t n = colon ? (size_t)(colon - p) : strlen(p);

			if (n && (size_t)snprintf(out, len, "%.*s/%s", (int)n, p, name) < len &&
			    executable(out))
				return true;
			p += n + (colon ? 1 : 0);
		}
	}
	return false;
}
