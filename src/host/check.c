/* SPDX-License-Identifier: MIT */
/*
 * The check table of `vmpilot check`, the runner, the JSON report, and the small file
 * helpers every probe uses. The probes themselves live in check-cpu.c, check-mem.c and
 * check-sys.c. See check.h.
 */
#include "host/check-probe.h"
#include "host/parse.h"
#include "util/cpulist.h"
#include "util/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One row per check, in output order: id, title, probe. */
const struct vmp_check vmp_checks[] = {
	{ "cpu.virt", "CPU virtualization extensions", vmp_probe_cpu_virt },
	{ "kvm.dev", "/dev/kvm", vmp_probe_kvm_dev },
	{ "kvm.module", "KVM module", vmp_probe_kvm_module },
	{ "kvm.caps", "KVM capabilities", vmp_probe_kvm_caps },
	{ "kvm.paging", "second-level paging (EPT/NPT)", vmp_probe_kvm_paging },
	{ "kvm.vpid", "TLB tagging (VPID/ASID)", vmp_probe_kvm_vpid },
	{ "kvm.apicv", "APIC virtualization (APICv/AVIC)", vmp_probe_kvm_apicv },
	{ "kvm.nested", "nested virtualization", vmp_probe_kvm_nested },
	{ "kvm.halt_poll", "KVM halt polling", vmp_probe_kvm_halt_poll },
	{ "secure.guests", "secure guests (SEV/TDX)", vmp_probe_secure_guests },
	{ "iommu", "IOMMU (device assignment)", vmp_probe_iommu },
	{ "hugepages", "hugepages", vmp_probe_hugepages },
	{ "thp", "transparent hugepages", vmp_probe_thp },
	{ "ksm", "KSM (same-page merging)", vmp_probe_ksm },
	{ "cpufreq", "CPU frequency governor and boost", vmp_probe_cpufreq },
	{ "cpuidle", "CPU idle states", vmp_probe_cpuidle },
	{ "numa", "NUMA topology", vmp_probe_numa },
	{ "numa.balancing", "NUMA balancing vs numad", vmp_probe_numa_balancing },
	{ "swap", "swap, zswap, swappiness", vmp_probe_swap },
	{ "vm.dirty", "dirty page writeback", vmp_probe_dirty },
	{ "block.scheduler", "block I/O schedulers", vmp_probe_block },
	{ "cgroups", "cgroup controllers", vmp_probe_cgroups },
	{ "vhost.net", "vhost-net", vmp_probe_vhost_net },
	{ "vhost.vsock", "vhost-vsock", vmp_probe_vhost_vsock },
	{ "tun", "/dev/net/tun", vmp_probe_tun },
	{ "psi", "pressure stall information", vmp_probe_psi },
	{ "cpu.mitigations", "CPU vulnerability mitigations", vmp_probe_mitigations },
	{ "knob.owners", "services writing the knobs vmpilot tunes", vmp_probe_knob_owners },
};
const size_t vmp_checks_count = VMP_ARRAY_SIZE(vmp_checks);

static const char *const status_names[VMP_CHECK_STATUS_MAX] = {
	[VMP_CHECK_PASS] = "PASS",
	[VMP_CHECK_INFO] = "INFO",
	[VMP_CHECK_SKIP] = "SKIP",
	[VMP_CHECK_WARN] = "WARN",
	[VMP_CHECK_FAIL] = "FAIL",
	[VMP_CHECK_UNKNOWN] = "UNKNOWN",
};

const char *
vmp_check_status_name(enum vmp_check_status s)
{
	return s < VMP_CHECK_STATUS_MAX ? status_names[s] : "?";
}

const struct vmp_check *
vmp_check_find(const char *id)
{
	size_t i;

	for (i = 0; i < vmp_checks_count; i++)
		if (strcmp(vmp_checks[i].id, id) == 0)
			return &vmp_checks[i];
	return NULL;
}

void
vmp_check_ctx_init(struct vmp_check_ctx *ctx, const char *root)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->live = !root || !*root || strcmp(root, "/") == 0;
	ctx->root = ctx->live ? "/" : root;
}

void
vmp_check_ctx_clear(struct vmp_check_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->n_paths; i++)
		free(ctx->paths[i]);
	free(ctx->paths);
	ctx->paths = NULL;
	ctx->n_paths = ctx->alloc_paths = 0;
}

static void
record(struct vmp_check_ctx *ctx, const char *path)
{
	size_t i;

	for (i = 0; i < ctx->n_paths; i++)
		if (strcmp(ctx->paths[i], path) == 0)
			return;
	xgrow((void **)&ctx->paths, &ctx->alloc_paths, ctx->n_paths + 1, sizeof(char *));
	ctx->paths[ctx->n_paths++] = xstrdup(path);
}

void
vmp_check_result_clear(struct vmp_check_result *r)
{
	free(r->finding);
	free(r->fix);
	r->finding = NULL;
	r->fix = NULL;
}

/* Findings quote file contents: keep them printable ASCII (valid JSON strings, safe on a terminal). */
static void
sanitize(char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

void
vmp_check_run(const struct vmp_check *check, struct vmp_check_ctx *ctx,
	      struct vmp_check_result *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->status = VMP_CHECK_UNKNOWN;
	check->probe(ctx, ret);
	sanitize(ret->finding);
	sanitize(ret->fix);
	if (!ret->finding)
		ret->finding = xstrdup("the probe gave no finding");
	/* A WARN or FAIL without its fix is a bug of the probe: say so instead of hiding it. */
	if ((ret->status == VMP_CHECK_WARN || ret->status == VMP_CHECK_FAIL) && !ret->fix)
		ret->fix = xstrdup("(no fix known: please report this)");
}

int
vmp_check_report_run(struct vmp_check_ctx *ctx, const char *const *only, size_t n_only,
		     struct vmp_check_report *ret)
{
	struct vmp_check_report rep;
	size_t i, j;

	for (j = 0; j < n_only; j++)
		if (!vmp_check_find(only[j]))
			return -ENOENT;
	memset(&rep, 0, sizeof(rep));
	rep.live = ctx->live;
	rep.rows = xcalloc(vmp_checks_count, sizeof(*rep.rows));
	for (i = 0; i < vmp_checks_count; i++) {
		bool wanted = n_only == 0;

		for (j = 0; j < n_only && !wanted; j++)
			wanted = strcmp(only[j], vmp_checks[i].id) == 0;
		if (!wanted)
			continue;
		rep.rows[rep.n_rows].check = &vmp_checks[i];
		vmp_check_run(&vmp_checks[i], ctx, &rep.rows[rep.n_rows].result);
		rep.counts[rep.rows[rep.n_rows].result.status]++;
		rep.n_rows++;
	}
	*ret = rep;
	return 0;
}

void
vmp_check_report_clear(struct vmp_check_report *report)
{
	size_t i;

	for (i = 0; i < report->n_rows; i++)
		vmp_check_result_clear(&report->rows[i].result);
	free(report->rows);
	memset(report, 0, sizeof(*report));
}

json_t *
vmp_check_report_json(const struct vmp_check_report *report)
{
	json_t *root = json_object(), *summary = json_object(), *checks = json_array();
	size_t i;

	json_object_set_new(root, "schema", json_string("vmpilot-check/1"));
	json_object_set_new(root, "live", json_boolean(report->live));
	for (i = 0; i < VMP_CHECK_STATUS_MAX; i++)
		json_object_set_new(summary, status_names[i], json_integer(report->counts[i]));
	json_object_set_new(root, "summary", summary);
	for (i = 0; i < report->n_rows; i++) {
		const struct vmp_check_row *row = &report->rows[i];
		json_t *c = json_object();

		json_object_set_new(c, "id", json_string(row->check->id));
		json_object_set_new(c, "title", json_string(row->check->title));
		json_object_set_new(c, "status", json_string(status_names[row->result.status]));
		json_object_set_new(c, "finding", json_string(row->result.finding));
		json_object_set_new(c, "fix", row->result.fix ? json_string(row->result.fix) : json_null());
		json_array_append_new(checks, c);
	}
	json_object_set_new(root, "checks", checks);
	return root;
}

/* ---- helpers for the probes (check-probe.h) ---- */

int
ck_read(struct vmp_check_ctx *ctx, const char *path, char **ret_buf)
{
	char *buf = NULL;
	int r;

	record(ctx, path);
	r = vmp_read_file(ctx->root, path, &buf, NULL);
	if (r < 0)
		return r;
	if (buf[strspn(buf, " \t\r\n")] == '\0') {
		free(buf);
		return -ENODATA;
	}
	*ret_buf = buf;
	return 0;
}

int
ck_read_line(struct vmp_check_ctx *ctx, const char *path, char **ret_line)
{
	char *buf, *nl;
	int r;

	r = ck_read(ctx, path, &buf);
	if (r < 0)
		return r;
	vmp_strstrip(buf);
	nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	vmp_strstrip(buf);
	*ret_line = buf;
	return 0;
}

int
ck_read_u64(struct vmp_check_ctx *ctx, const char *path, uint64_t *ret)
{
	char *line;
	uint64_t v;
	int r;

	r = ck_read_line(ctx, path, &line);
	if (r < 0)
		return r;
	r = vmp_parse_u64(line, &v);
	free(line);
	if (r < 0)
		return -EINVAL;
	*ret = v;
	return 0;
}

int
ck_read_bool(struct vmp_check_ctx *ctx, const char *path, bool *ret)
{
	char *line;
	int r;

	r = ck_read_line(ctx, path, &line);
	if (r < 0)
		return r;
	r = vmp_parse_bool(line, ret);
	free(line);
	return r;
}

int
ck_read_choice(struct vmp_check_ctx *ctx, const char *path, char **ret_selected)
{
	char *line;
	int r;

	r = ck_read_line(ctx, path, &line);
	if (r < 0)
		return r;
	r = vmp_parse_choice(line, ret_selected);
	free(line);
	return r;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
ck_list(struct vmp_check_ctx *ctx, const char *path, char ***ret_names)
{
	char *full = vmp_root_path(ctx->root, path), *listed;
	char **names = NULL;
	size_t n = 0, alloc = 0;
	struct dirent *de;
	DIR *d;

	listed = xasprintf("%s/", path); /* a trailing '/' marks a directory listing */
	record(ctx, listed);
	free(listed);
	d = opendir(full);
	free(full);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		/* ".vmp-keep" keeps an empty fixture directory in git (doc/design/check.md). */
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, ".vmp-keep") == 0)
			continue;
		xgrow((void **)&names, &alloc, n + 1, sizeof(char *));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(char *), cmp_names);
	*ret_names = names;
	return (int)n;
}

void
ck_names_free(char **names, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

bool
ck_exists(struct vmp_check_ctx *ctx, const char *path)
{
	char *full = vmp_root_path(ctx->root, path);
	bool ok;

	record(ctx, path);
	ok = access(full, F_OK) == 0;
	free(full);
	return ok;
}

int
ck_numa_nodes(struct vmp_check_ctx *ctx, unsigned *ret)
{
	char *line;
	unsigned n;
	int r;

	r = ck_read_line(ctx, "/sys/devices/system/node/online", &line);
	if (r < 0)
		return r;
	r = vmp_cpulist_count(line, &n);
	free(line);
	if (r < 0 || n == 0)
		return -EINVAL;
	*ret = n;
	return 0;
}

int
ck_cpu_flags(struct vmp_check_ctx *ctx, char **ret_flags)
{
	char *buf;
	int r;

	r = ck_read(ctx, "/proc/cpuinfo", &buf);
	if (r < 0)
		return r;
	r = vmp_parse_cpuinfo_flags(buf, ret_flags);
	free(buf);
	return r == -ENOENT ? -EINVAL : r; /* no flags line: not x86 cpuinfo */
}

void
ck_set(struct vmp_check_result *r, enum vmp_check_status status, const char *fix,
       const char *fmt, ...)
{
	va_list ap;

	vmp_check_result_clear(r);
	r->status = status;
	va_start(ap, fmt);
	r->finding = xvasprintf(fmt, ap);
	va_end(ap);
	r->fix = fix ? xstrdup(fix) : NULL;
}

void
ck_unknown(struct vmp_check_result *r, const char *path, int err)
{
	switch (err) {
	case -ENODATA:
		ck_set(r, VMP_CHECK_UNKNOWN, NULL, "'%s' is empty", path);
		break;
	case -EINVAL:
		ck_set(r, VMP_CHECK_UNKNOWN, NULL, "'%s' is not in the expected format", path);
		break;
	case -ERANGE:
		ck_set(r, VMP_CHECK_UNKNOWN, NULL, "'%s' holds a value out of range", path);
		break;
	default:
		ck_set(r, VMP_CHECK_UNKNOWN, NULL, "cannot read '%s': %s", path, vmp_file_strerror(err));
		break;
	}
}

void
ck_append(char **list, const char *sep, const char *fmt, ...)
{
	va_list ap;
	char *item, *joined;

	va_start(ap, fmt);
	item = xvasprintf(fmt, ap);
	va_end(ap);
	if (!*list) {
		*list = item;
		return;
	}
	joined = xasprintf("%s%s%s", *list, sep, item);
	free(*list);
	free(item);
	*list = joined;
}
