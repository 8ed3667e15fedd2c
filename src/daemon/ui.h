/* SPDX-License-Identifier: MIT */
/*
 * The dashboard's files (src/daemon/ui/: index.html, dashboard.js, dashboard.css and the
 * vendored uPlot), compiled into the binary by src/daemon/ui/embed.py: the API serves
 * them from memory, so the page needs no file at run time and nothing from the network.
 * doc/dashboard.md says what the page shows and where its numbers come from.
 */
#ifndef VMP_DAEMON_UI_H
#define VMP_DAEMON_UI_H

#include <stddef.h>

struct vmp_ui_file {
	const char *path;             /* the URL path: "/" for index.html, else "/NAME" */
	const char *type;             /* its Content-Type */
	const unsigned char *data;    /* len bytes (and a NUL after them) */
	size_t len;
};

/* Every file, in the order embed.py was given them (the generated ui_files.c). */
extern const struct vmp_ui_file vmp_ui_files[];
extern const size_t vmp_ui_n_files;

/* The file served at path, or NULL. */
const struct vmp_ui_file *vmp_ui_find(const char *path);

/*
 * The Content-Security-Policy of every API answer: scripts, styles and requests only
 * from the daemon itself, no inline script or style, no frames, and Trusted Types
 * required, so no string can reach innerHTML or another HTML sink (the page builds
 * its DOM with textContent: VM names are untrusted).
 */
#define VMP_UI_CSP \
	"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " \
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'; " \
	"require-trusted-types-for 'script'; trusted-types 'none'"

#endif
