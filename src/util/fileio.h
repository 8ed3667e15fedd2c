/* SPDX-License-Identifier: MIT */
/*
 * Reading small files (procfs, sysfs, fixtures) below an optional root prefix, so every
 * probe can run on a fixture tree checked into tests/. A root of NULL or "" or "/" means
 * the real file system.
 */
#ifndef VMP_FILEIO_H
#define VMP_FILEIO_H

#include <stddef.h>

/* Files larger than this are refused with -EFBIG (a corrupt or hostile input). */
#define VMP_READ_MAX_BYTES (16u * 1024 * 1024)

/* Returns root + path as a new string (caller frees). path must start with '/'. */
char *vmp_root_path(const char *root, const char *path);

/*
 * Reads the whole file root+path into a NUL-terminated buffer. Returns 0 and sets
 * *ret_buf (caller frees) and *ret_len (may be NULL), or a negative errno. Does not log.
 */
int vmp_read_file(const char *root, const char *path, char **ret_buf, size_t *ret_len);

/* Like vmp_read_file, but returns the first line without its newline, stripped. */
int vmp_read_line(const char *root, const char *path, char **ret_line);

#endif
