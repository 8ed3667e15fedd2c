/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the journal reader with its index (src/daemon/journal.c,
 * vmp_journal_query): the input is split into a journal file and its index file
 * (first byte: how the bytes are split), then one VM and every VM are read back with
 * and without the intents. Any journal and index must give entries or a clear error,
 * never a crash, a hang or an entry that is not a journal object.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/journal.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/vmp-fuzz-jidx-XXXXXX";

static void
put(const char *path, const uint8_t *data, size_t len)
{
	FILE *f = fopen(path, "w");

	if (!f)
		abort();
	if (len && fwrite(data, 1, len, f) != len)
		abort();
	fclose(f);
}

/* The scratch directory goes when the fuzzer exits. */
static void
cleanup(void)
{
	char p[64];

	snprintf(p, sizeof(p), "%s/j", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/j.idx", dir);
	unlink(p);
	rmdir(dir);
}

static void
ignore(void *opaque, const char *msg)
{
	(void)opaque;
	if (!msg || !*msg)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	char jpath[64], ipath[64];
	size_t split;
	int k;

	if (!ready) {
		if (!mkdtemp(dir))
			abort();
		atexit(cleanup);
		ready = true;
	}
	if (size < 1)
		return 0;
	split = (size - 1) * data[0] / 255;
	snprintf(jpath, sizeof(jpath), "%s/j", dir);
	snprintf(ipath, sizeof(ipath), "%s/j.idx", dir);
	put(jpath, data + 1, split);
	/* An index needs its magic to be looked at: give it one half of the time. */
	if (data[0] & 1) {
		uint8_t *idx = xmalloc(size - 1 - split + 16);

		memcpy(idx, "VMPJIDX1\0\0\0\0\0\0\0\0", 16);
		memcpy(idx + 16, data + 1 + split, size - 1 - split);
		put(ipath, idx, size - 1 - split + 16);
		free(idx);
	} else {
		put(ipath, data + 1 + split, size - 1 - split);
	}
	for (k = 0; k < 4; k++) {
		struct vmp_journal_query q = { .vm = k & 1 ? NULL : "a", .max = k & 2 ? 3 : 0,
					       .all = k & 1, .warn = ignore };
		json_t *entries = NULL, *e;
		char *err = NULL;
		size_t i;

		if (vmp_journal_query(jpath, &q, &entries, &err) < 0) {
			if (!err)
				abort();
			free(err);
			continue;
		}
		json_array_foreach(entries, i, e)
			if (!json_is_object(e) || !json_is_string(json_object_get(e, "vm")))
				abort();
		json_decref(entries);
	}
	return 0;
}
