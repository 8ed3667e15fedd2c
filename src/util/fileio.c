/* SPDX-License-Identifier: MIT */
/* Opening regular files only, and whole-file reads below a root prefix. See fileio.h. */
#include "util/fileio.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
vmp_open_regular(const char *path, int flags, mode_t mode)
{
	struct stat st;
	int fd, fl;

	if ((flags & O_ACCMODE) != O_RDONLY)
		flags |= O_NOFOLLOW;
	do
		fd = open(path, flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, mode);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return errno == ENXIO ? -VMP_ENOTREG : -errno; /* a FIFO without a reader */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int r = -VMP_ENOTREG;

		if (fstat(fd, &st) < 0)
			r = -errno;
		close(fd);
		return r;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

const char *
vmp_file_strerror(int r)
{
	if (r == -VMP_ENOTREG || r == VMP_ENOTREG)
		return "not a regular file";
	return strerror(r < 0 ? -r : r);
}

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

	fd = vmp_open_regular(full, O_RDONLY, 0);
	if (fd < 0) {
		r = fd;
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

int
vmp_write_file_replace(const char *path, const char *data, size_t len, mode_t mode)
{
	char *tmp = xasprintf("%s.tmp", path);
	size_t off = 0;
	int fd, r = 0;

	(void)unlink(tmp);
	fd = vmp_open_regular(tmp, O_WRONLY | O_CREAT | O_EXCL, mode);
	if (fd < 0) {
		r = fd;
		goto out;
	}
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		(void)unlink(tmp);
out:
	free(tmp);
	return r;
}
