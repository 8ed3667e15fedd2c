/* SPDX-License-Identifier: MIT */
/*
 * Opening files the program reads or writes (regular files only: a FIFO, a device or a
 * socket is refused at once instead of blocking), and reading small files (procfs,
 * sysfs, fixtures) below an optional root prefix, so every probe can run on a fixture
 * tree checked into tests/. A root of NULL or "" or "/" means the real file system.
 */
#ifndef VMP_FILEIO_H
#define VMP_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/* The error vmp_open_regular() returns for a FIFO, socket, device or directory. */
#define VMP_ENOTREG EMEDIUMTYPE

/* Files larger than this are refused with -EFBIG (a corrupt or hostile input). */
#define VMP_READ_MAX_BYTES (16u * 1024 * 1024)

/*
 * Opens path with flags (O_RDONLY, or O_WRONLY/O_RDWR with O_APPEND, O_CREAT, ...) and
 * mode (for O_CREAT), adding O_CLOEXEC and O_NOCTTY, and O_NOFOLLOW whenever the file is
 * opened for writing (a symlink at a path we write is refused with -ELOOP). The open
 * itself is non-blocking, so a FIFO cannot hang it; then anything but a regular file is
 * refused with -VMP_ENOTREG, and O_NONBLOCK is cleared again. Returns the fd or a
 * negative errno. Does not log. Every reader and writer of files goes through it.
 */
int vmp_open_regular(const char *path, int flags, mode_t mode);

/* strerror(-r), except "not a regular file" for -VMP_ENOTREG. */
const char *vmp_file_strerror(int r);

/* Returns root + path as a new string (caller frees). path must start with '/'. */
char *vmp_root_path(const char *root, const char *path);

/*
 * Reads the whole file root+path into a NUL-terminated buffer. Returns 0 and sets
 * *ret_buf (caller frees) and *ret_len (may be NULL), or a negative errno. Does not log.
 */
int vmp_read_file(const char *root, const char *path, char **ret_buf, size_t *ret_len);

/* Like vmp_read_file, but returns the first line without its newline, stripped. */
int vmp_read_line(const char *root, const char *path, char **ret_line);

/*
 * Replaces the regular file at path with len bytes of data, atomically: written to
 * "path.tmp" (created with O_EXCL | O_NOFOLLOW, so never through a symlink), given
 * mode, fsynced and renamed over path. Returns 0 or a negative errno (the temporary file
 * is removed). Does not log.
 */
int vmp_write_file_replace(const char *path, const char *data, size_t len, mode_t mode);

#endif
