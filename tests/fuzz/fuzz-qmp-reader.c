/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the QMP reader (src/backend/qmp-client.c): arbitrary bytes, fed in
 * chunks whose size the first input byte picks, must give only JSON objects or a clean
 * error — never a crash, a leak, or a message over the size limit.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/qmp-client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmp_qmp_reader r;
	size_t chunk, off;
	bool failed = false;

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] % 17 + 1;
	data++;
	size--;
	vmp_qmp_reader_init(&r, 4096);
	for (off = 0; off < size && !failed; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		json_t *msg = NULL;
		char *err = NULL;
		int ret;

		vmp_qmp_reader_feed(&r, data + off, n);
		while ((ret = vmp_qmp_reader_next(&r, &msg, &err)) == 1) {
			if (!json_is_object(msg))
				abort();
			json_decref(msg);
		}
		if (ret < 0) {
			if ((ret != -EPROTO && ret != -EMSGSIZE) || !err || !err[0])
				abort();
			free(err);
			failed = true;
		}
	}
	vmp_qmp_reader_clear(&r);
	free(r.buf);
	return 0;
}
