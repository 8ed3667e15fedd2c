/* SPDX-License-Identifier: MIT */
/*
 * Probes of host memory management: hugepages (per size and NUMA node), transparent
 * hugepages and khugepaged, KSM, NUMA topology and balancing, swap/zswap/swappiness,
 * dirty page writeback.
 */
#include "host/check-probe.h"
#include "host/parse.h"
#include "util/cpulist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define KIB_PER_GIB (1024.0 * 1024.0)

/* "hugepages-2048kB" -> 2048; -EINVAL otherwise. */
static int
hugepage_dir_kib(const char *name, uint64_t *ret)
{
	char buf[32];
	size_t len;

	if (!vmp_str_starts_with(name, "hugepages-"))
		return -EINVAL;
	name += strlen("hugepages-");
	len = strlen(name);
	if (len < 3 || len >= sizeof(buf) || strcmp(name + len - 2, "kB") != 0)
		return -EINVAL;
	memcpy(buf, name, len - 2);
	buf[len - 2] = '\0';
	return vmp_parse_u64(buf, ret) < 0 || *ret == 0 ? -EINVAL : 0;
}

/* Orders hugepage directories by page size, smallest first (names sort 1 GiB first). */
static int
cmp_hugepage_dirs(const void *a, const void *b)
{
	uint64_t ka = 0, kb = 0;

	hugepage_dir_kib(*(char *const *)a, &ka);
	hugepage_dir_kib(*(char *const *)b, &kb);
	return ka < kb ? -1 : ka > kb;
}

static char *
size_name(uint64_t kib)
{
	if (kib >= 1024 * 1024 && kib % (1024 * 1024) == 0)
		return xasprintf("%llu GiB", (unsigned long long)(kib / (1024 * 1024)));
	if (kib >= 1024 && kib % 1024 == 0)
		return xasprintf("%llu MiB", (unsigned long long)(kib / 1024));
	return xasprintf("%llu KiB", (unsigned long long)kib);
}

/* Per-node "nodeN a/b" list for one page size; returns 0 or a negative errno (r set). */
static int
hugepages_per_node(struct vmp_check_ctx *ctx, struct vmp_check_result *r, const char *dirname,
		   char **nodes_list)
{
	char **nodes = NULL;
	int n, i, err = 0;

	n = ck_list(ctx, "/sys/devices/system/node", &nodes);
	if (n < 0)
		return 0; /* no NUMA directory: numa reports it */
	for (i = 0; i < n && err == 0; i++) {
		char *base, *path;
		uint64_t nr = 0, fr = 0;

		if (!vmp_str_starts_with(nodes[i], "node") || !nodes[i][4] ||
		    strspn(nodes[i] + 4, "0123456789") != strlen(nodes[i] + 4))
			continue;
		base = xasprintf("/sys/devices/system/node/%s/hugepages/%s", nodes[i], dirname);
		path = xasprintf("%s/nr_hugepages", base);
		err = ck_read_u64(ctx, path, &nr);
		if (err == 0) {
			free(path);
			path = xasprintf("%s/free_hugepages", base);
			err = ck_read_u64(ctx, path, &fr);
		}
		if (err < 0)
			ck_unknown(r, path, err);
		else
			ck_append(nodes_list, " ", "%s %llu/%llu", nodes[i], (unsigned long long)fr,
				  (unsigned long long)nr);
		free(path);
		free(base);
	}
	ck_names_free(nodes, n);
	return err;
}

void
vmp_probe_hugepages(struct vmp_check_ctx *ctx, struct vmp_check_result *r)
{
	const char *dir = "/sys/kernel/mm/hugepages";
	char **sizes = NULL, *flags = NULL, *list = NULL;
	bool pdpe1gb, has_1g = false;
	uint64_t reserved_total = 0;
	int n, i, err;

	err = ck_cpu_flags(ctx, &flags);
	if (err < 0) {
		ck_unknown(r, "/proc/cpuinfo", err);
		return;
	}
	pdpe1gb = vmp_parse_has_word(flags, "pdpe1gb");
	free(flags);
	n = ck_list(ctx, dir, &sizes);
	if (n == -ENOENT) {
		ck_set(r, VMP_CHECK_SKIP, NULL, "the kernel has no hugetlbfs (no %s)", dir);
		return;
	}
	if (n < 0) {
		ck_unknown(r, dir, n);
		return;
	}
	if (n > 1)
		qsort(sizes, (size_t)n, sizeof(char *), cmp_hugepage_dirs);
	for (i = 0; i < n; i++) {
		char *path, *sz, *per_node = NULL;
		uint64_t kib, nr, fr;

		if (hugepage_dir_kib(sizes[i], &kib) < 0) {
			ck_set(r, VMP_CHECK_UNKNOWN, NULL, "'%s/%s' is not a hugepage size directory",
			       dir, sizes[i]);
			goto out;
		}
		if (kib == 1024 * 1024)
			has_1g = true;
		path = xasprintf("%s/%s/nr_hugepages", dir, sizes[i]);
		err = ck_read_u64(ctx, path, &nr);
		if (err == 0) {
			free(path);
			path = xasprintf("%s/%s/free_hugepages", dir, sizes[i]);
			err = ck_read_u64(ctx, path, &fr);
		}
		if (err == 0 && fr > nr)
			err = -ERANGE;
		if (err < 0) {
			ck_unknown(r, path, err);
			free(path);
			goto out;
		}
		free(path);
		if (hugepages_per_node(ctx, r, sizes[i], &per_node) < 0) {
			free(per_node);
			goto out;
		}
		sz = size_name(kib);
		if (nr == 0)
			ck_append(&list, ", ", "%s: none reserved", sz);
		else
			ck_append(&list, ", ", "%s: %llu reserved, %llu free%s%s%s", sz,
				  (unsigned long long)nr, (unsigned long long)fr,
				  per_node ? " (free/reserved " : "", per_node ? per_node : "",
				  per_node ? ")" : "");
		reserved_total += nr * kib;
		free(sz);
		free(per_node);
	}
	if (reserved_total > 0)
		ck_set(r, VMP_CHECK_PASS, NULL, "%s; 1 GiB pages %s", list ? list : "no sizes",
		       has_1g ? "supported (pdpe1gb)" : pdpe1gb ? "not offered by the kernel" : "not supported (no pdpe1gb)");
	else
		ck_set(r, VMP_CHECK_INFO,
		       has_1g ? "add 'hugepagesz=1G hugepages=N' to the kernel command line, or sysctl -w vm.nr_hugepages=N (2 MiB pages)"
			      : "sysctl -w vm.nr_hugepages=N (2 MiB pages; N x 2 MiB = guest RAM to back)",
		       "%s: VMs rely on THP; 1 GiB pages %s", list ? list : "no sizes",
		       has_1g ? "supported (pdpe1gb)" : pdpe1gb ? "not offered by the kernel" : "not supported (no pdpe1gb)");
out:
	free(list);
	ck_names_free(sizes, n);
}

void
vmp_probe_thp(struct vmp_check_ctx *ctx, struct vmp_check_result *r)
{
	const char *dir = "/sys/kernel/mm/transparent_hugepage";
	char *enabled = NULL, *defrag = NULL, *path = NULL, *fix = NULL;
	uint64_t kh_defrag = 1, kh_pages = 0;
	int err;

	if (!ck_exists(ctx, dir)) {
		ck_set(r, VMP_CHECK_SKIP, NULL, "the kernel has no transparent hugepages (no %s)", dir);
		return;
	}
	path = xasprintf("%s/enabled", dir);
	err = ck_read_choice(ctx, path, &enabled);
	if (err == 0) {
		free(path);
		path = xasprintf("%s/defrag", dir);
		err = ck_read_choice(ctx, path, &defrag);
	}
	if (err == 0) {
		free(path);
		path = xasprintf("%s/khugepaged/defrag", dir);
		err = ck_read_u64(ctx, path, &kh_defrag);
		if (err == 0 && kh_defrag > 1)
			err = -EINVAL;
	}
	if (err == 0) {
		free(path);
		path = xasprintf("%s/khugepaged/pages_to_scan", dir);
		err = ck_read_u64(ctx, path, &kh_pages);
	}
	if (err < 0) {
		ck_unknown(r, path, err);
		goto out;
	}
	if (strcmp(enabled, "never") == 0)
		ck_append(&fix, "; ", "echo madvise > %s/enabled", dir);
	if (kh_defrag == 0)
		ck_append(&fix, "; ", "echo 1 > %s/khugepaged/defrag", dir);
	if (fix)
		ck_set(r, VMP_CHECK_WARN, fix,
		       "enabled=%s, defrag=%s, khugepaged defrag=%llu: %s", enabled, defrag,
		       (unsigned long long)kh_defrag,
		       strcmp(enabled, "never") == 0 ? "guest RAM gets no huge pages, every TLB miss walks 4 KiB pages"
						     : "khugepaged never collapses guest RAM into huge pages");
	else
		ck_set(r, VMP_CHECK_PASS, NULL,
		       "enabled=%s (QEMU madvises guest RAM), defrag=%s, khugepaged defrag=%llu, pages_to_scan=%llu",
		       enabled, defrag, (unsigned long long)kh_defrag, (unsigned long long)kh_pages);
out:
	free(fix);
	free(path);
	free(enabled);
	free(defrag);
}

void
vmp_probe_ksm(struct vmp_check_ctx *ctx, struct vmp_check_result *r)
{
	static const char *const keys[] = { "run", "pages_shared", "pages_sharing", "full_scans",
					    "merge_across_nodes" };
	const char *dir = "/sys/kernel/mm/ksm";
	uint64_t v[VMP_ARRAY_SIZE(keys)];
	unsigned nodes = 1;
	size_t i;
	int err;

	if (!ck_exists(ctx, dir)) {
		ck_set(r, VMP_CHECK_SKIP, NULL, "the kernel has no KSM (no %s)", dir);
		return;
	}
	for (i = 0; i < VMP_ARRAY_SIZE(keys); i++) {
		char *path = xasprintf("%s/%s", dir, keys[i]);

		err = ck_read_u64(ctx, path, &v[i]);
		if (err == 0 && (i == 0 || i == 4) && v[i] > (i == 0 ? 2u : 1u))
			err = -EINVAL;
		if (err < 0) {
			ck_unknown(r, path, err);
			free(path);
			return;
		}
		free(path);
	}
	err = ck_numa_nodes(ctx, &nodes);
	if (err < 0) {
		ck_unknown(r, "/sys/devices/system/node/online", err);
		return;
	}
	if (v[0] == 1 && nodes > 1 && v[4] == 1) {
		ck_set(r, VMP_CHECK_WARN,
		       "echo 2 > /sys/kernel/mm/ksm/run; echo 0 > /sys/kernel/mm/ksm/merge_across_nodes; echo 1 > /sys/kernel/mm/ksm/run",
		       "running on %u NUMA nodes with merge_across_nodes=1: merged pages make guests read "
		       "remote memory (pages_sharing %llu)", nodes, (unsigned long long)v[2]);
		return;
	}
	if (v[0] == 1)
		ck_set(r, VMP_CHECK_PASS, NULL,
		       "running: pages_shared %llu, pages_sharing %llu (%.1f MiB saved), full_scans %llu%s",
		       (unsigned long long)v[1], (unsigned long long)v[2],
		       (double)(v[2] > v[1] ? v[2] - v[1] : 0) * 4.0 / 1024.0, (unsigned long long)v[3],
		       nodes > 1 ? ", merge_across_nodes=0" : "");
	else
		ck_set(r, VMP_CHECK_INFO, "echo 1 > /sys/kernel/mm/ksm/run (or start ksmtuned) to overcommit memory",
		       "%s (run=%llu): identical guest pages are not merged%s",
		       v[0] == 0 ? "off" : "stopped, merged pages unmerged", (unsigned long long)v[0],
		       nodes > 1 && v[4] == 1 ? "; set merge_across_nodes=0 before starting it" : "");
}

void
vmp_probe_numa(struct vmp_check_ctx *ctx, struct vmp_check_result *r)
{
	char **entries = NULL, *list = NULL;
	unsigned nodes = 0, cpuless = 0;
	int n, i, err;

	err = ck_numa_nodes(ctx, &nodes);
	if (err < 0) {
		ck_unknown(r, "/sys/devices/system/node/online", err);
		return;
	}
	n = ck_list(ctx, "/sys/devices/system/node", &entries);
	if (n < 0) {
		ck_unknown(r, "/sys/devices/system/node", n);
		return;
	}
	for (i = 0; i < n; i++) {
		char *path, *line = NULL, *meminfo = NULL;
		unsigned cpus;
		uint64_t mem_kib = 0;

		if (!vmp_str_starts_with(entries[i], "node") || !entries[i][4] ||
		    strspn(entries[i] + 4, "0123456789") != strlen(entries[i] + 4))
			continue;
		path = xasprintf("/sys/devices/system/node/%s/cpulist", entries[i]);
		err = ck_read(ctx, path, &line);
		if (err == -ENODATA) {
			line = xstrdup(""); /* a node without CPUs has an empty cpulist */
			err = 0;
		}
		if (err == 0 && vmp_cpulist_count(line, &cpus) < 0)
			err = -EINVAL;
		if (err == 0) {
			free(path);
			path = xasprintf("/sys/devices/system/node/%s/meminfo", entries[i]);
			err = ck_read(ctx, path, &meminfo);
			if (err == 0 && vmp_parse_kv_u64(meminfo, "MemTotal:", &mem_kib) < 0 &&
			    vmp_parse_kv_u64(meminfo, "MemTotal", &mem_kib) < 0)
				err = -EINVAL;
		}
		free(line);
		free(meminfo);
		if (err < 0) {
			ck_unknown(r, path, err);
			free(path);
			goto out;
		}
		free(path);
		if (cpus == 0)
			cpuless++;
		ck_append(&list, ", ", "%s %u CPUs %.1f GiB", entries[i], cpus, (double)mem_kib / KIB_PER_GIB);
	}
	ck_set(r, VMP_CHECK_INFO, NULL, "%u node%s online: %s%s", nodes, nodes == 1 ? "" : "s",
	       list ? list : "none listed",
	       cpuless ? " (CPU-less memory nodes: pin VMs with numatune, not just vcpupin)" : "");
out:
	free(list);
	ck_names_free(entries, n);
}

/* true when a process named name runs (scans /proc/PID/comm). */
static bool
process_running(struct vmp_check_ctx *ctx, const char *name)
{
	char **pids = NULL;
	bool found = false;
	int n, i;

	n = ck_list(ctx, "/proc", &pids);
	for (i = 0; i < n && !found; i++) {
		char *path, *comm = NULL;

		if (strspn(pids[i], "0123456789") != strlen(pids[i]))
			continue;
		path = xasprintf("/proc/%s/comm", pids[i]);
		if (ck_read_line(ctx, path, &comm) == 0 && strcmp(comm, name) == 0)
			found = true;
		free(comm);
		free(path);
	}
	ck_names_free(pids, n < 0 ? 0 : n);
	return found;
}

void
vmp_probe_numa_balancing(struct vmp_check_ctx *ctx, struct vmp_check_result *r)
{
	const char *path = "/proc/sys/kernel/numa_balancing";
	uint64_t balancing = 0;
	unsigned nodes;
	bool numad;
	int err;

	err = ck_numa_nodes(ctx, &nodes);
	if (err < 0) {
		ck_unknown(r, "/sys/devices/system/node/online", err);
		return;
	}
	if (nodes == 1) {
		ck_set(r, VMP_CHECK_SKIP, NULL, "one NUMA node: nothing to balance");
		return;
	}
	err = ck_read_u64(ctx, path, &balancing);
	if (err == -ENOENT) {
		balancing = 0; /* kernel without CONFIG_NUMA_BALANCING */
	} else if (err < 0) {
		ck_unknown(r, path, err);
		return;
	}
	numad = process_running(ctx, "numad");
	if (balancing && numad)
		ck_set(r, VMP_CHECK_WARN, "systemctl disable --now numad (or sysctl -w kernel.numa_balancing=0)",
		       "%u nodes: kernel NUMA balancing (%llu) and numad both move guest memory and fight",
		       nodes, (unsigned long long)balancing);
	else if (balancing)
		ck_set(r, VMP_CHECK_PASS, NULL, "%u nodes: kernel NUMA balancing on (mode %llu), numad not running",
		       nodes, (unsigned long long)balancing);
	else if (numad)
		ck_set(r, VMP_CHECK_PASS, NULL, "%u nodes: numad places VMs, kernel NUMA balancing off", nodes);
	else
		ck_set(r, VMP_CHECK_WARN, "sysctl -w kernel.numa_balancing=1 (or pin VMs with <numatune>)",
		       "%u nodes: neither kernel NUMA balancing nor numad: unpinned guests keep remote memory",
		       nodes);
}

void
vmp_probe_swap(struct vmp_check_ctx *ctx, struct vmp_check_result *r)
{
	char *buf = NULL, *zswap = NULL;
	uint64_t swappiness, size_kib = 0;
	unsigned count = 0;
	size_t bad_line = 0;
	bool zswap_on = false;
	int err;

	err = ck_read(ctx, "/proc/swaps", &buf);
	if (err < 0) {
		ck_unknown(r, "/proc/swaps", err);
		return;
	}
	err = vmp_parse_swaps(buf, &count, &size_kib, &bad_line);
	free(buf);
	if (err < 0) {
		ck_set(r, VMP_CHECK_UNKNOWN, NULL, "/proc/swaps:%zu: not a swap table line", bad_line);
		return;
	}
	err = ck_read_u64(ctx, "/proc/sys/vm/swappiness", &swappiness);
	if (err == 0 && swappiness > 200)
		err = -ERANGE;
	if (err < 0) {
		ck_unknown(r, "/proc/sys/vm/swappiness", err);
		return;
	}
	if (ck_exists(ctx, "/sys/module/zswap/parameters/enabled")) {
		err = ck_read_bool(ctx, "/sys/module/zswap/parameters/enabled", &zswap_on);
		if (err < 0) {
			ck_unknown(r, "/sys/module/zswap/parameters/enabled", err);
			return;
		}
		if (zswap_on) {
			err = ck_read_line(ctx, "/sys/module/zswap/parameters/compressor", &zswap);
			if (err < 0) {
				ck_unknown(r, "/sys/module/zswap/parameters/compressor", err);
				return;
			}
		}
	}
	if (count == 0)
		ck_set(r, VMP_CHECK_INFO, NULL,
		       "no swap: memory overcommit has no safety net, the OOM killer picks a VM; "
		       "vm.swappiness=%llu, zswap %s", (unsigned long long)swappiness,
		       zswap_on ? "on" : "off");
	else if (swappiness > 10)
		ck_set(r, VMP_CHECK_WARN,
		       "sysctl -w vm.swappiness=10; echo vm.swappiness=10 > /etc/sysctl.d/90-vmpilot-swap.conf",
		       "%u swap area%s, %.1f GiB, with vm.swappiness=%llu: idle guest RAM is swapped out early; zswap %s%s%s",
		       count, count == 1 ? "" : "s", (double)size_kib / KIB_PER_GIB,
		       (unsigned long long)swappiness, zswap_on ? "on (" : "off",
		       zswap_on ? zswap : "", zswap_on ? ")" : "");
	else
		ck_set(r, VMP_CHECK_PASS, NULL, "%u swap area%s, %.1f GiB, vm.swappiness=%llu; zswap %s%s%s",
		       count, count == 1 ? "" : "s", (double)size_kib / KIB_PER_GIB,
		       (unsigned long long)swappiness, zswap_on ? "on (" : "off",
		       zswap_on ? zswap : "", zswap_on ? ")" : "");
	free(zswap);
}

void
vmp_probe_dirty(struct vmp_check_ctx *ctx, struct vmp_check_result *r)
{
	static const char *const keys[] = { "dirty_ratio", "dirty_background_ratio", "dirty_bytes",
					    "dirty_background_bytes" };
	uint64_t v[VMP_ARRAY_SIZE(keys)];
	size_t i;
	int err;

	for (i = 0; i < VMP_ARRAY_SIZE(keys); i++) {
		char *path = xasprintf("/proc/sys/vm/%s", keys[i]);

		err = ck_read_u64(ctx, path, &v[i]);
		if (err == 0 && i < 2 && v[i] > 100)
			err = -ERANGE;
		if (err < 0) {
			ck_unknown(r, path, err);
			free(path);
			return;
		}
		free(path);
	}
	if (v[2] || v[3]) {
		ck_set(r, VMP_CHECK_INFO, NULL, "byte limits set: dirty_bytes=%llu, dirty_background_bytes=%llu",
		       (unsigned long long)v[2], (unsigned long long)v[3]);
		return;
	}
	if (v[1] > 10 || v[0] > 40 || v[1] >= v[0])
		ck_set(r, VMP_CHECK_WARN, "sysctl -w vm.dirty_ratio=20 vm.dirty_background_ratio=5",
		       "dirty_ratio=%llu%%, dirty_background_ratio=%llu%%: large bursts of dirty guest "
		       "page cache stall writers when flushed", (unsigned long long)v[0], (unsigned long long)v[1]);
	else
		ck_set(r, VMP_CHECK_PASS, NULL, "dirty_ratio=%llu%%, dirty_background_ratio=%llu%%",
		       (unsigned long long)v[0], (unsigned long long)v[1]);
}
