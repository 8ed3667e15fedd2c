/* SPDX-License-Identifier: MIT */
/*
 * Probes of devices and kernel services: IOMMU, block I/O schedulers, cgroups,
 * vhost-net, vhost-vsock, /dev/net/tun, pressure stall information.
 */
#include "host/check-probe.h"
#include "host/parse.h"
#include "util/fileio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIX_GRUB "(GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub and reboot)"

void
vmp_probe_iommu(struct vmp_check_ctx *ctx, struct vmp_check_result *r)
{
	char **tables = NULL, **groups = NULL, *cmdline = NULL;
	bool dmar = false, ivrs = false, pt;
	int nt, ng, i, err;

	err = ck_read(ctx, "/proc/cmdline", &cmdline);
	if (err < 0) {
		ck_unknown(r, "/proc/cmdline", err);
		return;
	}
	nt = ck_list(ctx, "/sys/firmware/acpi/tables", &tables);
	ng = ck_list(ctx, "/sys/kernel/iommu_groups", &groups);
	if (nt < 0 && ng < 0) {
		ck_unknown(r, "/sys/kernel/iommu_groups", ng);
		goto out;
	}
	for (i = 0; i < nt; i++) {
		dmar |= strcmp(tables[i], "DMAR") == 0;
		ivrs |= strcmp(tables[i], "IVRS") == 0;
	}
	pt = vmp_parse_has_word(cmdline, "iommu=pt");
	if (ng > 0)
		ck_set(r, VMP_CHECK_PASS, NULL, "%s%d IOMMU groups%s", dmar ? "ACPI DMAR table, " :
		       ivrs ? "ACPI IVRS table, " : "", ng,
		       pt ? ", iommu=pt (host DMA not translated)" : "");
	else if (dmar)
		ck_set(r, VMP_CHECK_WARN,
		       vmp_parse_has_word(cmdline, "intel_iommu=off")
		       ? "replace intel_iommu=off by intel_iommu=on iommu=pt on the kernel command line " FIX_GRUB
		       : "add intel_iommu=on iommu=pt to the kernel command line " FIX_GRUB,
		       "ACPI DMAR table present but the kernel enabled no IOMMU (0 groups%s): no VFIO "
		       "device assignment", vmp_parse_has_word(cmdline, "intel_iommu=off") ?
		       ", intel_iommu=off on the command line" : "");
	else if (ivrs)
		ck_set(r, VMP_CHECK_WARN,
		       vmp_parse_has_word(cmdline, "amd_iommu=off")
		       ? "replace amd_iommu=off by amd_iommu=on iommu=pt on the kernel command line " FIX_GRUB
		       : "add amd_iommu=on iommu=pt to the kernel command line " FIX_GRUB,
		       "ACPI IVRS table present but the kernel enabled no IOMMU (0 groups%s): no VFIO "
		       "device assignment", vmp_parse_has_word(cmdline, "amd_iommu=off") ?
		       ", amd_iommu=off on the command line" : "");
	else
		ck_set(r, VMP_CHECK_WARN,
		       "in the BIOS/UEFI setup enable VT-d (Intel) or AMD-Vi/IOMMU (AMD); on a nested host add <iommu model='intel'/> to this VM",
		       "no ACPI DMAR/IVRS table and no IOMMU groups: the IOMMU is absent or disabled in "
		       "the firmware, no VFIO device assignment");
out:
	free(cmdline);
	ck_names_free(tables, nt < 0 ? 0 : nt);
	ck_names_free(groups, ng < 0 ? 0 : ng);
}

enum disk_kind { DISK_HDD, DISK_SSD, DISK_NVME, DISK_VIRTIO };

static const char *const disk_kind_names[] = { "rotational", "ssd", "nvme", "virtio" };

/* The scheduler a device of this kind should use, or NULL when sched is fine. */
static const char *
better_scheduler(enum disk_kind kind, const char *sched)
{
	switch (kind) {
	case DISK_NVME:
		return strcmp(sched, "none") == 0 ? NULL : "none";
	case DISK_VIRTIO:
		return strcmp(sched, "none") == 0 || strcmp(sched, "mq-deadline") == 0 ? NULL : "none";
	case DISK_SSD:
		return strcmp(sched, "bfq") == 0 ? "mq-deadline" : NULL;
	case DISK_HDD:
		return strcmp(sched, "mq-deadline") == 0 || strcmp(sched, "bfq") == 0 ? NULL : "mq-deadline";
	}
	return NULL;
}

void
vmp_probe_block(struct vmp_check_ctx *ctx, struct vmp_check_result *r)
{
	char **devs = NULL, *list = NULL, *bad = NULL, *fix = NULL;
	int n, i, err;

	n = ck_list(ctx, "/sys/block", &devs);
	if (n < 0) {
		ck_unknown(r, "/sys/block", n);
		return;
	}
	for (i = 0; i < n; i++) {
		char *path, *sched = NULL, *modalias = NULL;
		uint64_t rotational = 0;
		enum disk_kind kind;
		const char *want;

		/* RAM-backed and stacked devices do not schedule I/O themselves. */
		if (vmp_str_starts_with(devs[i], "loop") || vmp_str_starts_with(devs[i], "ram") ||
		    vmp_str_starts_with(devs[i], "zram") || vmp_str_starts_with(devs[i], "dm-") ||
		    vmp_str_starts_with(devs[i], "md") || vmp_str_starts_with(devs[i], "nbd"))
			continue;
		path = xasprintf("/sys/block/%s/queue/scheduler", devs[i]);
		err = ck_read_choice(ctx, path, &sched);
		if (err == -ENOENT) {
			free(path);
			continue;
		}
		if (err == 0) {
			free(path);
			path = xasprintf("/sys/block/%s/queue/rotational", devs[i]);
			err = ck_read_u64(ctx, path, &rotational);
			if (err == 0 && rotational > 1)
				err = -EINVAL;
		}
		if (err < 0) {
			ck_unknown(r, path, err);
			free(path);
			free(sched);
			goto out;
		}
		free(path);
		path = xasprintf("/sys/block/%s/device/modalias", devs[i]);
		err = ck_read_line(ctx, path, &modalias);
		if (err < 0 && err != -ENOENT) {
			ck_unknown(r, path, err);
			free(path);
			free(sched);
			goto out;
		}
		free(path);
		if (vmp_str_starts_with(devs[i], "nvme"))
			kind = DISK_NVME;
		else if (modalias && vmp_str_starts_with(modalias, "virtio:"))
			kind = DISK_VIRTIO;
		else
			kind = rotational ? DISK_HDD : DISK_SSD;
		free(modalias);
		want = better_scheduler(kind, sched);
		ck_append(&list, ", ", "%s (%s) %s", devs[i], disk_kind_names[kind], sched);
		if (want) {
			ck_append(&bad, ", ", "%s (%s) uses %s", devs[i], disk_kind_names[kind], sched);
			ck_append(&fix, "; ", "echo %s > /sys/block/%s/queue/scheduler", want, devs[i]);
		}
		free(sched);
	}
	if (!list)
		ck_set(r, VMP_CHECK_SKIP, NULL, "no block device with an I/O scheduler");
	else if (bad)
		ck_set(r, VMP_CHECK_WARN, fix, "%s; want none on NVMe/virtio, mq-deadline or bfq on "
		       "rotational disks, not bfq on SSDs", bad);
	else
		ck_set(r, VMP_CHECK_PASS, NULL, "%s", list);
out:
	free(list);
	free(bad);
	free(fix);
	ck_names_free(devs, n);
}

/* The controllers a VM manager uses; v1 names (blkio is v2's io). */
static const char *const v1_wanted[] = { "cpu", "cpuacct", "cpuset", "memory", "devices", "blkio" };
static const char *const v2_wanted[] = { "cpu", "cpuset", "memory", "io" };

static const struct vmp_mount *
find_mount(const struct vmp_mount *m, size_t n, const char *dir)
{
	size_t i;
	const struct vmp_mount *found = NULL;

	for (i = 0; i < n; i++)
		if (strcmp(m[i].dir, dir) == 0)
			found = &m[i]; /* the last mount on a directory wins */
	return found;
}

static void
cgroups_v2(struct vmp_check_ctx *ctx, struct vmp_check_result *r, const char *dir, bool hybrid,
	   const char *v1_list)
{
	char *path = xasprintf("%s/cgroup.controllers", dir), *buf = NULL, *missing = NULL;
	size_t i;
	int err;

	err = ck_read(ctx, path, &buf);
	if (err == -ENODATA) {
		buf = xstrdup("");
		err = 0;
	}
	if (err < 0) {
		ck_unknown(r, path, err);
		free(path);
		return;
	}
	free(path);
	vmp_strstrip(buf);
	if (hybrid) {
		ck_set(r, VMP_CHECK_PASS, NULL,
		       "hybrid: v1 controllers %s; v2 at %s with %s (libvirt uses v1 here)",
		       v1_list, dir, *buf ? buf : "no controllers");
		free(buf);
		return;
	}
	for (i = 0; i < VMP_ARRAY_SIZE(v2_wanted); i++)
		if (!vmp_parse_has_word(buf, v2_wanted[i]))
			ck_append(&missing, ", ", "%s", v2_wanted[i]);
	if (missing)
		ck_set(r, VMP_CHECK_WARN,
		       "boot with systemd.unified_cgroup_hierarchy=1 and without cgroup_disable=/cgroup_no_v1= for those controllers " FIX_GRUB,
		       "v2 (unified); missing controllers: %s (have: %s); devices is eBPF on v2, no controller needed",
		       missing, *buf ? buf : "none");
	else
		ck_set(r, VMP_CHECK_PASS, NULL,
		       "v2 (unified): cpu, cpuset, memory, io available; devices is eBPF on v2, no controller needed");
	free(missing);
	free(buf);
}

void
vmp_probe_cgroups(struct vmp_check_ctx *ctx, struct vmp_check_result *r)
{
	struct vmp_mount *m = NULL;
	struct vmp_cgroup_subsys *subsys = NULL;
	size_t nm = 0, ns = 0, bad = 0, i, j;
	const struct vmp_mount *top;
	const char *v2_dir = NULL;
	char *buf = NULL, *have = NULL, *missing = NULL, *fix = NULL;
	int err;

	err = ck_read(ctx, "/proc/mounts", &buf);
	if (err < 0) {
		ck_unknown(r, "/proc/mounts", err);
		return;
	}
	err = vmp_parse_mounts(buf, &m, &nm, &bad);
	free(buf);
	buf = NULL;
	if (err < 0) {
		ck_set(r, VMP_CHECK_UNKNOWN, NULL, "/proc/mounts:%zu: not a mount table line", bad);
		return;
	}
	top = find_mount(m, nm, "/sys/fs/cgroup");
	if (top && strcmp(top->type, "cgroup2") == 0) {
		cgroups_v2(ctx, r, "/sys/fs/cgroup", false, NULL);
		goto out;
	}
	for (i = 0; i < nm; i++)
		if (strcmp(m[i].type, "cgroup2") == 0 && vmp_str_starts_with(m[i].dir, "/sys/fs/cgroup/"))
			v2_dir = m[i].dir;
	/* v1 (or hybrid): each wanted controller must be enabled and mounted. */
	err = ck_read(ctx, "/proc/cgroups", &buf);
	if (err < 0) {
		ck_unknown(r, "/proc/cgroups", err);
		goto out;
	}
	err = vmp_parse_proc_cgroups(buf, &subsys, &ns, &bad);
	if (err < 0) {
		ck_set(r, VMP_CHECK_UNKNOWN, NULL, "/proc/cgroups:%zu: not a cgroup table line", bad);
		goto out;
	}
	for (j = 0; j < VMP_ARRAY_SIZE(v1_wanted); j++) {
		bool enabled = false, mounted = false;

		for (i = 0; i < ns; i++)
			if (strcmp(subsys[i].name, v1_wanted[j]) == 0)
				enabled = subsys[i].enabled;
		for (i = 0; i < nm; i++)
			if (strcmp(m[i].type, "cgroup") == 0 && vmp_mount_has_option(&m[i], v1_wanted[j]))
				mounted = true;
		if (enabled && mounted) {
			ck_append(&have, ", ", "%s", v1_wanted[j]);
		} else if (!enabled) {
			ck_append(&missing, ", ", "%s (not in the kernel or disabled)", v1_wanted[j]);
			ck_append(&fix, " ", "cgroup_enable=%s", v1_wanted[j]);
		} else {
			ck_append(&missing, ", ", "%s (not mounted)", v1_wanted[j]);
			ck_append(&fix, "; ", "mkdir -p /sys/fs/cgroup/%s && mount -t cgroup -o %s cgroup /sys/fs/cgroup/%s",
				  v1_wanted[j], v1_wanted[j], v1_wanted[j]);
		}
	}
	if (!have && !v2_dir) {
		ck_set(r, VMP_CHECK_WARN, "mount -t cgroup2 none /sys/fs/cgroup",
		       "no cgroup hierarchy is mounted: VMs cannot be given CPU, memory or I/O limits");
	} else if (missing) {
		char *full_fix = vmp_str_starts_with(fix, "cgroup_enable=")
			? xasprintf("add %s to the kernel command line " FIX_GRUB, fix) : xstrdup(fix);

		ck_set(r, VMP_CHECK_WARN, full_fix, "%s: controllers missing: %s (have: %s)",
		       v2_dir ? "hybrid" : "v1", missing, have ? have : "none");
		free(full_fix);
	} else if (v2_dir) {
		cgroups_v2(ctx, r, v2_dir, true, have);
	} else {
		ck_set(r, VMP_CHECK_PASS, NULL, "v1: controllers %s mounted", have);
	}
out:
	free(have);
	free(missing);
	free(fix);
	free(buf);
	free(subsys);
	vmp_mounts_free(m, nm);
}

/*
 * A device node: present (any file type: a fixture holds a regular file for it) and,
 * on the live host, readable and writable. Returns 0, -ENOENT or -EACCES.
 */
static int
device_usable(struct vmp_check_ctx *ctx, const char *path)
{
	char *full;
	int r = 0;

	if (!ck_exists(ctx, path))
		return -ENOENT;
	if (!ctx->live)
		return 0;
	full = vmp_root_path(ctx->root, path);
	if (access(full, R_OK | W_OK) < 0)
		r = -errno;
	free(full);
	return r;
}

void
vmp_probe_vhost_net(struct vmp_check_ctx *ctx, struct vmp_check_result *r)
{
	int err = device_usable(ctx, "/dev/vhost-net");

	if (err == -ENOENT)
		ck_set(r, VMP_CHECK_WARN,
		       "modprobe vhost_net; echo vhost_net > /etc/modules-load.d/vhost-net.conf",
		       "/dev/vhost-net does not exist: virtio-net packets go through QEMU's userspace "
		       "instead of the in-kernel vhost worker");
	else if (err < 0)
		ck_set(r, VMP_CHECK_WARN, "run the VMM as root or in group kvm (chmod 0660 /dev/vhost-net; chgrp kvm /dev/vhost-net)",
		       "cannot open '/dev/vhost-net': %s", strerror(-err));
	else
		ck_set(r, VMP_CHECK_PASS, NULL, "/dev/vhost-net present: in-kernel virtio-net datapath");
}

void
vmp_probe_vhost_vsock(struct vmp_check_ctx *ctx, struct vmp_check_result *r)
{
	int err = device_usable(ctx, "/dev/vhost-vsock");

	if (err == -ENOENT)
		ck_set(r, VMP_CHECK_INFO,
		       "modprobe vhost_vsock; echo vhost_vsock > /etc/modules-load.d/vhost-vsock.conf",
		       "/dev/vhost-vsock does not exist: guests get no AF_VSOCK channel (needed only "
		       "for vsock agents)");
	else if (err < 0)
		ck_set(r, VMP_CHECK_INFO, NULL, "cannot open '/dev/vhost-vsock': %s", strerror(-err));
	else
		ck_set(r, VMP_CHECK_PASS, NULL, "/dev/vhost-vsock present: AF_VSOCK host-guest channels");
}

void
vmp_probe_tun(struct vmp_check_ctx *ctx, struct vmp_check_result *r)
{
	int err = device_usable(ctx, "/dev/net/tun");

	if (err == -ENOENT)
		ck_set(r, VMP_CHECK_FAIL, "modprobe tun; echo tun > /etc/modules-load.d/tun.conf",
		       "/dev/net/tun does not exist: guests cannot have tap networking");
	else if (err < 0)
		ck_set(r, VMP_CHECK_FAIL, "chmod 0666 /dev/net/tun",
		       "cannot open '/dev/net/tun': %s", strerror(-err));
	else
		ck_set(r, VMP_CHECK_PASS, NULL, "/dev/net/tun present: tap networking available");
}

void
vmp_probe_psi(struct vmp_check_ctx *ctx, struct vmp_check_result *r)
{
	static const char *const kinds[] = { "cpu", "memory", "io" };
	char *list = NULL;
	size_t i;

	if (!ck_exists(ctx, "/proc/pressure")) {
		ck_set(r, VMP_CHECK_WARN, "add psi=1 to the kernel command line " FIX_GRUB,
		       "no /proc/pressure: the kernel reports no pressure stall information, vmpilot "
		       "cannot see CPU, memory and I/O contention directly");
		return;
	}
	for (i = 0; i < VMP_ARRAY_SIZE(kinds); i++) {
		char *path = xasprintf("/proc/pressure/%s", kinds[i]), *buf = NULL;
		struct vmp_psi_line some;
		int err;

		err = ck_read(ctx, path, &buf);
		if (err == -EOPNOTSUPP) {
			ck_set(r, VMP_CHECK_WARN, "add psi=1 to the kernel command line " FIX_GRUB,
			       "pressure stall information is disabled (CONFIG_PSI_DEFAULT_DISABLED)");
			free(path);
			goto out;
		}
		if (err == 0)
			err = vmp_parse_psi(buf, "some", &some);
		if (err == -ENOENT)
			err = -EINVAL; /* the file was read: no "some" line */
		free(buf);
		if (err < 0) {
			ck_unknown(r, path, err);
			free(path);
			goto out;
		}
		free(path);
		ck_append(&list, ", ", "%s %.2f%%", kinds[i], some.avg10_pct);
	}
	ck_set(r, VMP_CHECK_PASS, NULL, "available; some-stall avg10: %s", list);
out:
	free(list);
}
