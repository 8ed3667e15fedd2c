/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the inputs of `vmpilot tune` and the ownership scan
 * (src/host/tune.c, src/host/owner.c): the same bytes as the tune state file (verify
 * either reports or fails with a "path:line:" or "path: ..." message, never crashes)
 * and as the tuned.conf of TuneD's active profile (the scan never crashes, and TuneD
 * owns only knobs of the table). Files go to a private temporary root.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/owner.h"
#include "host/tune.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[64];

static void
put(const char *rel, const uint8_t *data, size_t size)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	f = fopen(path, "w");
	if (!f)
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
}

static void
cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz-tune: cannot remove %s\n", root);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmp_tune_roots roots = { root, root };
	struct vmp_owner_scan s;
	char *err = NULL;
	FILE *out;
	int r;

	if (!root[0]) {
		char cmd[1024];

		snprintf(root, sizeof(root), "/tmp/vmp-fuzz-tune-XXXXXX");
		if (!mkdtemp(root))
			abort();
		snprintf(cmd, sizeof(cmd), "mkdir -p %s/var/lib/vmpilot %s/etc/tuned %s/usr/lib/tuned/p "
			 "%s/proc/7 && echo tuned > %s/proc/7/comm && echo p > %s/etc/tuned/active_profile",
			 root, root, root, root, root, root);
		if (system(cmd) != 0)
			abort();
		atexit(cleanup);
	}
	put(VMP_TUNE_STATE_PATH, data, size);
	out = fopen("/dev/null", "w");
	r = vmp_tune_verify(&roots, out, &err);
	fclose(out);
	if (r < 0 && r != -ENOENT && (!err || strncmp(err, VMP_TUNE_STATE_PATH, strlen(VMP_TUNE_STATE_PATH)) != 0))
		abort();
	free(err);
	put("/usr/lib/tuned/p/tuned.conf", data, size);
	vmp_owner_scan(root, &s);
	if (s.n != 1 || !s.owners[0].active || strcmp(vmp_owner_service_id(&s.owners[0]), "tuned") != 0)
		abort();
	vmp_owner_scan_clear(&s);
	return 0;
}
