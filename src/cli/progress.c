/* SPDX-License-Identifier: MIT */
/*
 * The terminal progress bar of progress.h.
 */
#include "cli/progress.h"

#include <string.h>
#include <unistd.h>

#define BAR_WIDTH 30

void
vmp_progress_format(char *buf, size_t size, const char *label, int pct)
{
	char bar[BAR_WIDTH + 1];
	int fill, i;

	if (pct < 0)
		pct = 0;
	if (pct > 100)
		pct = 100;
	fill = pct * BAR_WIDTH / 100;
	for (i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[BAR_WIDTH] = '\0';
	snprintf(buf, size, "%-14s [%s] %3d %%", label, bar, pct);
}

void
vmp_progress_start(struct vmp_progress *p, FILE *out, const char *label)
{
	memset(p, 0, sizeof(*p));
	p->out = out;
	p->label = label;
	p->tty = isatty(fileno(out)) == 1;
	p->last_pct = -1;
}

void
vmp_progress_update(void *ctx, size_t done, size_t total)
{
	struct vmp_progress *p = ctx;
	char line[128];
	int pct;

	if (!p->tty || total == 0)
		return;
	pct = (int)(done * 100 / total);
	if (pct == p->last_pct)
		return;
	p->last_pct = pct;
	vmp_progress_format(line, sizeof(line), p->label, pct);
	fprintf(p->out, "\r%s", line);
	fflush(p->out);
	p->drawn = true;
}

void
vmp_progress_end(struct vmp_progress *p)
{
	if (!p->drawn)
		return;
	/* blank the line, so the table starts clean */
	fprintf(p->out, "\r%*s\r", 60, "");
	fflush(p->out);
	p->drawn = false;
}
