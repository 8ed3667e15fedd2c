/* SPDX-License-Identifier: MIT */
/* Looks up the dashboard's embedded files (see ui.h). */
#include "daemon/ui.h"

#include <string.h>

const struct vmp_ui_file *
vmp_ui_find(const char *path)
{
	size_t i;

	for (i = 0; path && i < vmp_ui_n_files; i++)
		if (!strcmp(vmp_ui_files[i].path, path))
			return &vmp_ui_files[i];
	return NULL;
}
