#include "spool.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../dumper/fdio.h"
#include "../../dumper/archive.h"

int spool_create(struct spool *sp, const char *dir, struct errbuf *err)
{
	char path[PATH_MAX];
	int ret;

	sp->sink = NULL;
	sp->size = 0;
	sp->of = (struct outfile){NULL, NULL, -1};
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, SPOOL_NAME) >= sizeof(path))
		return error_set(err, -ENAMETOOLONG, "archive directory name '%s' is too long",
				 dir);
	ret = outfile_open(&sp->of, path, 0600, err);
	if (!ret)
		ret = archive_hold_temp(sp->of.fd, err);
	if (!ret)
		ret = fdsink_new(&sp->sink, sp->of.fd, sp->of.tmp, err);
	if (ret) {
		spool_release(sp);
		return error_prefix(err, ret, "cannot spool the snapshot");
	}
	return 0;
}

int spool_complete(struct spool *sp, struct errbuf *err)
{
	struct stat st;
	/* The sink is ours (writer.h): the pipeline closed only its stages. */
	int ret = writer_close(sp->sink, err);

	writer_free(sp->sink);
	sp->sink = NULL;
	if (ret)
		return ret;
	if (fstat(sp->of.fd, &st) < 0)
		return error_set(err, -errno, "cannot stat spool file '%s': %s", sp->of.tmp,
				 strerror(errno));
	sp->size = (uint64_t)st.st_size;
	return 0;
}

ssize_t spool_read(struct spool *sp, void *buf, size_t size, off_t off)
{
	/* Fill the request: a short read mid-file would read as EOF. */
	return fd_read_full(sp->of.fd, buf, size, off);
}

void spool_release(struct spool *sp)
{
	writer_free(sp->sink);
	sp->sink = NULL;
	outfile_release(&sp->of);
}
