/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the decision journal's line parser and its explanation
 * (src/daemon/journal.c): any line is either a journal object that can be explained,
 * or refused with a message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *msg = NULL, *out = NULL;
	size_t len = 0;
	json_t *o;
	FILE *f;

	o = vmp_journal_parse_line((const char *)data, size, &msg);
	if (!o) {
		if (!msg)
			abort();
		free(msg);
		return 0;
	}
	f = open_memstream(&out, &len);
	if (!f)
		abort();
	vmp_journal_explain(o, f);
	fclose(f);
	free(out);
	json_decref(o);
	return 0;
}
