/* SPDX-License-Identifier: MIT */
/*
 * A one-line progress bar on a terminal ("lr-mmt-1.2 [#####.....]  52 %"), redrawn in
 * place with a carriage return; silent when the stream is not a tty, so pipes and
 * files get clean output.
 */
#ifndef VMP_CLI_PROGRESS_H
#define VMP_CLI_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct vmp_progress {
	FILE *out;
	const char *label;
	bool tty;         /* draw only on a terminal */
	int last_pct;     /* redraw only when the percentage changes */
	bool drawn;
};

/* Starts a bar labelled label on out (drawn only if out is a tty). */
void vmp_progress_start(struct vmp_progress *p, FILE *out, const char *label);
/* Progress callback (ctx is a struct vmp_progress): done of total steps. */
void vmp_progress_update(void *ctx, size_t done, size_t total);
/* Erases the bar. */
void vmp_progress_end(struct vmp_progress *p);

/* Formats the bar for pct (0..100) into buf (used by the tests). */
void vmp_progress_format(char *buf, size_t size, const char *label, int pct);

#endif
