/* SPDX-License-Identifier: MIT */
/* Whole-file reads below a root prefix. See fileio.h. */
#include "util/fileio.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *
vmp_root_path(const char *root, const char *path)
{
	if (!root || !*root || strcmp(root, "/") == 0)
		return xstrdup(path);
	return xasprintf("%s%s", root, path);
}

int
vmp_read_file(const char *root, const char *path, char **ret_buf, size_t *ret_len)
{
	char *full = vmp_root_path(root, path);
	char *buf = NULL;
	size_t len = 0, alloc = 0;
	int fd, r = 0;

	fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n;

		xgrow((void **)&buf, &alloc, len + 4096 + 1, 1);
		n = read(fd, buf + len, alloc - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > VMP_READ_MAX_BYTES) {
			r = -EFBIG;
			goto out;
		}
	}
	if (!buf)
		buf = xmalloc(1);
	buf[len] = '\0';
	*ret_buf = buf;
	buf = NULL;
	if (ret_len)
		*ret_len = len;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(full);
	return r;
}

int
vmp_read_line(const char *root, const char *path, char **ret_line)
{
	char *buf, *nl;
	int r;

	r = vmp_read_file(root, path, &buf, NULL);
	if (r < 0)
		return r;
	nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	vmp_strstrip(buf);
	*ret_line = buf;
	return 0;
}
