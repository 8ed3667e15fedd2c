/* SPDX-License-Identifier: MIT */
/* Loading per-VM CSV traces into replay series (see replay_data.h). */
#include "cli/replay_data.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "trace/trace.h"
#include "util/fileio.h"
#include "util/util.h"

/* The longest gap between two rows that is filled with "off" steps (a week of 5 min). */
#define MAX_GAP_STEPS 2016

void
vmp_replay_set_free(struct vmp_replay_set *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nvms; i++) {
		free((void *)s->vms[i].samples);
		free(s->names[i]);
	}
	free(s->vms);
	free(s->names);
	free(s->start_s);
	free(s);
}

static int
csv_filter(const struct dirent *e)
{
	size_t len = strlen(e->d_name);

	return e->d_name[0] != '.' && len > 4 && strcmp(e->d_name + len - 4, ".csv") == 0;
}

static double
field(const double *col, size_t r)
{
	return col && isfinite(col[r]) ? col[r] : NAN;
}

/* Turns one parsed file into rows on a step grid. */
static int
to_series(const char *path, const struct vmp_trace_csv *c, long step_s, struct vmp_replay_vm *ret,
	  long long *ret_start_s, char **ret_err)
{
	struct vmp_replay_sample *s = NULL;
	size_t r, n = 0, alloc = 0;
	int64_t t0;

	if (!c->mem_usage_kib || !c->mem_provisioned_kib || !c->cpu_usage_mhz ||
	    !c->cpu_provisioned_mhz) {
		*ret_err = xasprintf("%s: needs memory and CPU MHz columns, used and provisioned",
				     path);
		return -EINVAL;
	}
	if (c->nrows == 0) {
		*ret_err = xasprintf("%s: no rows", path);
		return -EINVAL;
	}
	t0 = c->timestamp_s[0];
	for (r = 0; r < c->nrows; r++) {
		int64_t dt = c->timestamp_s[r] - t0;
		size_t k, j;
		struct vmp_replay_sample *x;

		if (r > 0 && c->timestamp_s[r] < c->timestamp_s[r - 1]) {
			*ret_err = xasprintf("%s:%zu: timestamps go backwards", path, r + 2);
			free(s);
			return -EINVAL;
		}
		k = (size_t)((dt + step_s / 2) / step_s);
		if (n > 0 && k > n - 1 + MAX_GAP_STEPS) {
			*ret_err = xasprintf("%s:%zu: gap of more than %d steps", path, r + 2,
					     MAX_GAP_STEPS);
			free(s);
			return -EINVAL;
		}
		xgrow((void **)&s, &alloc, k + 1, sizeof(*s));
		/* Steps without a row: the VM was off (prov 0 marks that). */
		for (j = n; j < k; j++)
			memset(&s[j], 0, sizeof(s[j]));
		x = &s[k];
		x->mem_used_kib = field(c->mem_usage_kib, r);
		x->mem_prov_kib = field(c->mem_provisioned_kib, r);
		x->cpu_used_mhz = field(c->cpu_usage_mhz, r);
		x->cpu_prov_mhz = field(c->cpu_provisioned_mhz, r);
		x->cpu_cores = c->cpu_cores ? field(c->cpu_cores, r) : 1;
		/* Disk columns are optional; an empty one counts as no I/O. */
		x->disk_rd_kibps = c->disk_read_kbs ? field(c->disk_read_kbs, r) : 0;
		x->disk_wr_kibps = c->disk_write_kbs ? field(c->disk_write_kbs, r) : 0;
		if (!(x->disk_rd_kibps >= 0))
			x->disk_rd_kibps = 0;
		if (!(x->disk_wr_kibps >= 0))
			x->disk_wr_kibps = 0;
		/* A row with an empty or negative field is treated as a missing sample. */
		if (!(x->mem_used_kib >= 0) || !(x->mem_prov_kib >= 0) || !(x->cpu_used_mhz >= 0) ||
		    !(x->cpu_prov_mhz >= 0) || !(x->cpu_cores >= 0))
			memset(x, 0, sizeof(*x));
		if (k + 1 > n)
			n = k + 1;
	}
	ret->samples = s;
	ret->nsamples = n;
	*ret_start_s = t0;
	return 0;
}

int
vmp_replay_load_dir(const char *dir, size_t max_vms, long step_s,
		    struct vmp_replay_set **ret_set, char **ret_err)
{
	struct dirent **list = NULL;
	struct vmp_replay_set *set;
	int nent, i, rc = 0;
	size_t n;

	if (step_s <= 0)
		return -EINVAL;
	nent = scandir(dir, &list, csv_filter, alphasort);
	if (nent < 0) {
		rc = -errno;
		*ret_err = xasprintf("cannot read trace directory '%s': %s", dir, strerror(errno));
		return rc;
	}
	if (nent == 0) {
		free(list);
		*ret_err = xasprintf("no *.csv files in '%s'", dir);
		return -ENOENT;
	}
	n = max_vms && max_vms < (size_t)nent ? max_vms : (size_t)nent;
	set = xcalloc(1, sizeof(*set));
	set->vms = xcalloc(n, sizeof(*set->vms));
	set->names = xcalloc(n, sizeof(*set->names));
	set->start_s = xcalloc(n, sizeof(*set->start_s));
	for (i = 0; i < (int)n && rc == 0; i++) {
		struct vmp_trace_csv *c = NULL;
		char *path = xasprintf("%s/%s", dir, list[i]->d_name), *buf = NULL;
		size_t len = 0;

		rc = vmp_read_file(NULL, path, &buf, &len);
		if (rc < 0) {
			*ret_err = xasprintf("cannot read '%s': %s", path, vmp_file_strerror(rc));
		} else {
			rc = vmp_trace_parse_csv(path, buf, len, &c, ret_err);
			if (rc == 0)
				rc = to_series(path, c, step_s, &set->vms[i], &set->start_s[i], ret_err);
			if (rc == 0) {
				set->names[i] = xstrdup(list[i]->d_name);
				set->nvms++;
			}
		}
		vmp_trace_csv_free(c);
		free(buf);
		free(path);
	}
	for (i = 0; i < nent; i++)
		free(list[i]);
	free(list);
	if (rc < 0) {
		vmp_replay_set_free(set);
		return rc;
	}
	*ret_set = set;
	return 0;
}
