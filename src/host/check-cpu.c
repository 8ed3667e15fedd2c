/* SPDX-License-Identifier: MIT */
/*
 * Probes of the CPU and of KVM: hardware virtualization flags, /dev/kvm and its
 * capabilities, the KVM vendor module and its parameters (EPT/NPT, VPID, APICv/AVIC,
 * nested, halt polling), secure guests, cpufreq, cpuidle, vulnerability mitigations.
 */
#include "host/check-probe.h"
#include "host/kvm.h"
#include "host/parse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* On the outer host of a nested setup: what gives this VM hardware virtualization. */
#define FIX_NESTED_OUTER "on the outer host: modprobe kvm_intel nested=1 (or kvm_amd nested=1) " \
	"and give this VM <cpu mode='host-passthrough'/>"
#define FIX_TCG "run guests under TCG: libvirt <domain type='qemu'> (QEMU: -accel tcg)"

enum kvm_vendor {
	KVM_VENDOR_NONE,  /* no vendor module loaded */
	KVM_VENDOR_INTEL, /* kvm_intel */
	KVM_VENDOR_AMD,   /* kvm_amd */
	KVM_VENDOR_PVM,   /* kvm_pvm: software nested virtualization */
};

static enum kvm_vendor
kvm_vendor(struct vmp_check_ctx *ctx)
{
	if (ck_exists(ctx, "/sys/module/kvm_intel"))
		return KVM_VENDOR_INTEL;
	if (ck_exists(ctx, "/sys/module/kvm_amd"))
		return KVM_VENDOR_AMD;
	if (ck_exists(ctx, "/sys/module/kvm_pvm"))
		return KVM_VENDOR_PVM;
	return KVM_VENDOR_NONE;
}

void
vmp_probe_cpu_virt(struct vmp_check_ctx *ctx, struct vmp_check_result *r)
{
	char *flags = NULL;
	bool vmx, svm, guest;
	int err;

	err = ck_cpu_flags(ctx, &flags);
	if (err < 0) {
		if (err == -EINVAL)
			ck_set(r, VMP_CHECK_UNKNOWN, NULL, "'/proc/cpuinfo' has no x86 'flags' line");
		else
			ck_unknown(r, "/proc/cpuinfo", err);
		return;
	}
	vmx = vmp_parse_has_word(flags, "vmx");
	svm = vmp_parse_has_word(flags, "svm");
	guest = vmp_parse_has_word(flags, "hypervisor");
	free(flags);
	if ((vmx || svm) && !guest)
		ck_set(r, VMP_CHECK_PASS, NULL, "%s present; bare metal",
		       vmx ? "vmx (Intel VT-x)" : "svm (AMD-V)");
	else if (vmx || svm)
		ck_set(r, VMP_CHECK_INFO, NULL,
		       "%s present, and this host is itself a guest (hypervisor flag): nested "
		       "virtualization, VM exits cost more than on bare metal",
		       vmx ? "vmx (Intel VT-x)" : "svm (AMD-V)");
	else if (guest)
		ck_set(r, VMP_CHECK_FAIL, FIX_NESTED_OUTER,
		       "no vmx/svm: this host is itself a guest (hypervisor flag) and its "
		       "hypervisor passes no hardware virtualization through (nested without "
		       "hardware extensions)");
	else
		ck_set(r, VMP_CHECK_FAIL,
		       "in the BIOS/UEFI setup enable Intel Virtualization Technology (VT-x) or SVM Mode (AMD-V)",
		       "no vmx/svm flag: hardware virtualization is disabled in the firmware or absent");
}

void
vmp_probe_kvm_dev(struct vmp_check_ctx *ctx, struct vmp_check_result *r)
{
	struct vmp_kvm_facts f;
	int err;

	ck_exists(ctx, "/dev/kvm");
	if (!ctx->live)
		ck_exists(ctx, "/dev/kvm.ioctl");
	err = vmp_kvm_facts_get(ctx->live ? NULL : ctx->root, &f);
	if (err < 0) {
		ck_unknown(r, "/dev/kvm.ioctl", err);
		return;
	}
	if (!f.present)
		ck_set(r, VMP_CHECK_FAIL, "modprobe kvm_intel (Intel) or modprobe kvm_amd (AMD)",
		       "/dev/kvm does not exist: no KVM module is loaded");
	else if (f.open_errno == EACCES || f.open_errno == EPERM)
		ck_set(r, VMP_CHECK_FAIL, "usermod -aG kvm \"$USER\" (then log in again), or run as root",
		       "cannot open '/dev/kvm': %s", strerror(f.open_errno));
	else if (f.open_errno != 0)
		ck_set(r, VMP_CHECK_FAIL, "modprobe -r kvm_intel kvm_amd; modprobe kvm_intel (or kvm_amd); dmesg | grep -i kvm",
		       "cannot open '/dev/kvm': %s", strerror(f.open_errno));
	else if (f.api_version != 12)
		ck_set(r, VMP_CHECK_FAIL, "apt-get install linux-image-amd64 (a kernel whose KVM speaks API 12)",
		       "KVM_GET_API_VERSION returned %d, expected 12", f.api_version);
	else
		ck_set(r, VMP_CHECK_PASS, NULL, "present, opens read-write, API version 12%s",
		       f.recorded ? " (recorded)" : "");
}

void
vmp_probe_kvm_module(struct vmp_check_ctx *ctx, struct vmp_check_result *r)
{
	char **names = NULL;
	int n;

	n = ck_list(ctx, "/sys/module", &names);
	if (n < 0) {
		ck_unknown(r, "/sys/module", n);
		return;
	}
	ck_names_free(names, n);
	switch (kvm_vendor(ctx)) {
	case KVM_VENDOR_INTEL:
		ck_set(r, VMP_CHECK_PASS, NULL, "kvm_intel (hardware VT-x)");
		break;
	case KVM_VENDOR_AMD:
		ck_set(r, VMP_CHECK_PASS, NULL, "kvm_amd (hardware AMD-V)");
		break;
	case KVM_VENDOR_PVM:
		ck_set(r, VMP_CHECK_WARN, FIX_TCG,
		       "kvm_pvm: KVM is provided by PVM, a software nested virtualization without "
		       "vmx/svm; KVM guests may not boot (stock kernels hang), use TCG or a PVM guest kernel");
		break;
	case KVM_VENDOR_NONE:
		if (ck_exists(ctx, "/sys/module/kvm"))
			ck_set(r, VMP_CHECK_FAIL, "modprobe kvm_intel (Intel) or modprobe kvm_amd (AMD)",
			       "kvm is loaded without a vendor module (kvm_intel, kvm_amd)");
		else
			ck_set(r, VMP_CHECK_FAIL, "modprobe kvm_intel (Intel) or modprobe kvm_amd (AMD)",
			       "no KVM module is loaded");
		break;
	}
}

void
vmp_probe_kvm_caps(struct vmp_check_ctx *ctx, struct vmp_check_result *r)
{
	struct vmp_kvm_facts f;
	char *have = NULL, *missing = NULL;
	int err;

	if (!ctx->live)
		ck_exists(ctx, "/dev/kvm.ioctl");
	err = vmp_kvm_facts_get(ctx->live ? NULL : ctx->root, &f);
	if (err < 0) {
		ck_unknown(r, "/dev/kvm.ioctl", err);
		return;
	}
	if (!f.present || f.open_errno != 0 || f.api_version != 12) {
		ck_set(r, VMP_CHECK_SKIP, NULL, "/dev/kvm is not usable (see kvm.dev)");
		return;
	}
	if (f.caps[VMP_KVM_CAP_MAX_VCPUS] > 0)
		ck_append(&have, ", ", "max %lld vCPUs/VM (recommended %lld)",
			  (long long)f.caps[VMP_KVM_CAP_MAX_VCPUS],
			  (long long)f.caps[VMP_KVM_CAP_NR_VCPUS]);
	if (f.caps[VMP_KVM_CAP_IRQFD] > 0)
		ck_append(&have, ", ", "irqfd");
	else
		ck_append(&missing, ", ", "irqfd");
	if (f.caps[VMP_KVM_CAP_IOEVENTFD] > 0)
		ck_append(&have, ", ", "ioeventfd");
	else
		ck_append(&missing, ", ", "ioeventfd");
	if (f.caps[VMP_KVM_CAP_DIRTY_LOG_RING] > 0)
		ck_append(&have, ", ", "dirty ring %lld B", (long long)f.caps[VMP_KVM_CAP_DIRTY_LOG_RING]);
	else
		ck_append(&missing, ", ", "dirty ring");
	if (f.caps[VMP_KVM_CAP_HALT_POLL] > 0)
		ck_append(&have, ", ", "per-VM halt polling");
	else
		ck_append(&missing, ", ", "per-VM halt polling");
	if (f.caps[VMP_KVM_CAP_X86_DISABLE_EXITS] > 0)
		ck_append(&have, ", ", "disable-exits 0x%llx", (long long)f.caps[VMP_KVM_CAP_X86_DISABLE_EXITS]);
	if (f.cpuid_steal_time > 0 || f.caps[VMP_KVM_CAP_STEAL_TIME] > 0)
		ck_append(&have, ", ", "steal time");
	else
		ck_append(&missing, ", ", "steal time");
	if (f.caps[VMP_KVM_CAP_IRQFD] <= 0 || f.caps[VMP_KVM_CAP_IOEVENTFD] <= 0)
		ck_set(r, VMP_CHECK_WARN,
		       "apt-get install linux-image-amd64 (a current kernel: vhost needs irqfd and ioeventfd)",
		       "%s; missing: %s", have ? have : "none", missing);
	else
		ck_set(r, VMP_CHECK_PASS, NULL, "%s%s%s%s", have,
		       missing ? "; missing: " : "", missing ? missing : "",
		       f.recorded ? " (recorded)" : "");
	free(have);
	free(missing);
}

/*
 * Reads a vendor module boolean parameter; on failure sets r to UNKNOWN and returns
 * the negative errno.
 */
static int
module_bool(struct vmp_check_ctx *ctx, struct vmp_check_result *r, const char *module,
	    const char *param, bool *ret)
{
	char *path = xasprintf("/sys/module/%s/parameters/%s", module, param);
	int err;

	err = ck_read_bool(ctx, path, ret);
	if (err < 0)
		ck_unknown(r, path, err);
	free(path);
	return err;
}

/* The fix that turns module parameter param on at the next load of module. */
static char *
modprobe_fix(const char *module, const char *param, const char *conf)
{
	return xasprintf("echo 'options %s %s=1' > /etc/modprobe.d/%s.conf; modprobe -r %s; modprobe %s",
			 module, param, conf, module, module);
}

/*
 * Reads the boolean parameter param of a KVM vendor module and sets r: PASS with on_msg
 * when it is on, else off_status with off_msg and a fix that turns it on through
 * /etc/modprobe.d/CONF.conf. Returns 0, or the negative errno with r UNKNOWN.
 */
static int
module_param_check(struct vmp_check_ctx *ctx, struct vmp_check_result *r, const char *module,
		   const char *param, const char *conf, enum vmp_check_status off_status,
		   const char *on_msg, const char *off_msg)
{
	char *fix;
	bool on;
	int err;

	err = module_bool(ctx, r, module, param, &on);
	if (err < 0)
		return err;
	if (on) {
		ck_set(r, VMP_CHECK_PASS, NULL, "%s", on_msg);
		return 0;
	}
	fix = modprobe_fix(module, param, conf);
	ck_set(r, off_status, fix, "%s", off_msg);
	free(fix);
	return 0;
}

/* Sets r to SKIP when no KVM vendor module is loaded. */
static void
skip_no_vendor(struct vmp_check_result *r)
{
	ck_set(r, VMP_CHECK_SKIP, NULL, "no KVM vendor module loaded (see kvm.module)");
}

void
vmp_probe_kvm_paging(struct vmp_check_ctx *ctx, struct vmp_check_result *r)
{
	switch (kvm_vendor(ctx)) {
	case KVM_VENDOR_INTEL:
		module_param_check(ctx, r, "kvm_intel", "ept", "kvm-ept", VMP_CHECK_FAIL,
				   "EPT on (kvm_intel ept=Y)",
				   "EPT off (kvm_intel ept=N): guest page tables are shadowed, every guest page fault exits");
		break;
	case KVM_VENDOR_AMD:
		module_param_check(ctx, r, "kvm_amd", "npt", "kvm-npt", VMP_CHECK_FAIL,
				   "NPT on (kvm_amd npt=1)",
				   "NPT off (kvm_amd npt=0): guest page tables are shadowed, every guest page fault exits");
		break;
	case KVM_VENDOR_PVM:
		ck_set(r, VMP_CHECK_WARN, FIX_NESTED_OUTER,
		       "kvm_pvm has no hardware second-level paging: guest page tables are shadowed in software");
		break;
	case KVM_VENDOR_NONE:
		skip_no_vendor(r);
		break;
	}
}

void
vmp_probe_kvm_vpid(struct vmp_check_ctx *ctx, struct vmp_check_result *r)
{
	switch (kvm_vendor(ctx)) {
	case KVM_VENDOR_INTEL:
		module_param_check(ctx, r, "kvm_intel", "vpid", "kvm-vpid", VMP_CHECK_WARN,
				   "VPID on: the TLB survives VM entries and exits",
				   "VPID off (kvm_intel vpid=N): the TLB is flushed on every VM entry and exit");
		break;
	case KVM_VENDOR_AMD:
		ck_set(r, VMP_CHECK_PASS, NULL, "AMD tags the TLB with ASIDs (always on)");
		break;
	case KVM_VENDOR_PVM:
		ck_set(r, VMP_CHECK_SKIP, NULL, "kvm_pvm: no hardware TLB tagging to configure");
		break;
	case KVM_VENDOR_NONE:
		skip_no_vendor(r);
		break;
	}
}

void
vmp_probe_kvm_apicv(struct vmp_check_ctx *ctx, struct vmp_check_result *r)
{
	char *flags = NULL, *fix;
	bool on, cpu_avic;
	int err;

	switch (kvm_vendor(ctx)) {
	case KVM_VENDOR_INTEL:
		module_param_check(ctx, r, "kvm_intel", "enable_apicv", "kvm-apicv", VMP_CHECK_WARN,
				   "APICv on: interrupts and EOIs without VM exits",
				   "APICv off (kvm_intel enable_apicv=N): every guest interrupt and EOI exits");
		break;
	case KVM_VENDOR_AMD:
		if (module_bool(ctx, r, "kvm_amd", "avic", &on) < 0)
			return;
		err = ck_cpu_flags(ctx, &flags);
		if (err < 0) {
			ck_unknown(r, "/proc/cpuinfo", err);
			return;
		}
		cpu_avic = vmp_parse_has_word(flags, "avic");
		free(flags);
		if (on)
			ck_set(r, VMP_CHECK_PASS, NULL, "AVIC on: interrupts without VM exits");
		else if (!cpu_avic)
			ck_set(r, VMP_CHECK_INFO, NULL, "the CPU has no AVIC (no 'avic' flag)");
		else {
			fix = modprobe_fix("kvm_amd", "avic", "kvm-avic");
			ck_set(r, VMP_CHECK_WARN, fix,
			       "AVIC off (kvm_amd avic=0) although the CPU has it: every guest interrupt exits");
			free(fix);
		}
		break;
	case KVM_VENDOR_PVM:
		ck_set(r, VMP_CHECK_SKIP, NULL, "kvm_pvm: no hardware APIC virtualization");
		break;
	case KVM_VENDOR_NONE:
		skip_no_vendor(r);
		break;
	}
}

void
vmp_probe_kvm_nested(struct vmp_check_ctx *ctx, struct vmp_check_result *r)
{
	const char *module = NULL;
	char *cmdline = NULL;
	bool on;
	int err;

	switch (kvm_vendor(ctx)) {
	case KVM_VENDOR_INTEL:
		module = "kvm_intel";
		break;
	case KVM_VENDOR_AMD:
		module = "kvm_amd";
		break;
	case KVM_VENDOR_PVM:
		err = ck_read(ctx, "/proc/cmdline", &cmdline);
		if (err < 0) {
			ck_unknown(r, "/proc/cmdline", err);
			return;
		}
		on = vmp_parse_has_word(cmdline, "nested_pvm=1");
		free(cmdline);
		ck_set(r, VMP_CHECK_INFO, NULL,
		       "kvm_pvm: this host runs KVM as a PVM guest (software nested virtualization)%s",
		       on ? "; nested_pvm=1 on the kernel command line" : "");
		return;
	case KVM_VENDOR_NONE:
		skip_no_vendor(r);
		return;
	}
	if (module_bool(ctx, r, module, "nested", &on) < 0)
		return;
	if (on) {
		ck_set(r, VMP_CHECK_INFO, NULL, "nested on (%s nested=1): guests may run KVM themselves", module);
	} else {
		char *fix = modprobe_fix(module, "nested", "kvm-nested");

		ck_set(r, VMP_CHECK_INFO, fix, "nested off (%s nested=0): guests cannot run KVM", module);
		free(fix);
	}
}

/*
 * Reads path into *ret when it exists (else leaves *ret alone); on a read failure sets r
 * to UNKNOWN and returns the negative errno.
 */
static int
read_optional_u64(struct vmp_check_ctx *ctx, struct vmp_check_result *r, const char *path,
		  uint64_t *ret)
{
	int err;

	if (!ck_exists(ctx, path))
		return 0;
	err = ck_read_u64(ctx, path, ret);
	if (err < 0)
		ck_unknown(r, path, err);
	return err;
}

void
vmp_probe_kvm_halt_poll(struct vmp_check_ctx *ctx, struct vmp_check_result *r)
{
	const char *path = "/sys/module/kvm/parameters/halt_poll_ns";
	uint64_t ns, grow = 0, shrink = 0;
	int err;

	if (!ck_exists(ctx, "/sys/module/kvm")) {
		ck_set(r, VMP_CHECK_SKIP, NULL, "kvm is not loaded");
		return;
	}
	err = ck_read_u64(ctx, path, &ns);
	if (err < 0) {
		ck_unknown(r, path, err);
		return;
	}
	if (read_optional_u64(ctx, r, "/sys/module/kvm/parameters/halt_poll_ns_grow", &grow) < 0 ||
	    read_optional_u64(ctx, r, "/sys/module/kvm/parameters/halt_poll_ns_shrink", &shrink) < 0)
		return;
	if (ns == 0)
		ck_set(r, VMP_CHECK_INFO, "echo 200000 > /sys/module/kvm/parameters/halt_poll_ns",
		       "halt polling off (halt_poll_ns=0): idle vCPUs sleep at once, lower CPU use but "
		       "slower wake-ups");
	else
		ck_set(r, VMP_CHECK_PASS, NULL,
		       "halt_poll_ns=%llu (grow x%llu, shrink /%llu): idle vCPUs poll before sleeping",
		       (unsigned long long)ns, (unsigned long long)grow, (unsigned long long)shrink);
}

void
vmp_probe_secure_guests(struct vmp_check_ctx *ctx, struct vmp_check_result *r)
{
	char *flags = NULL;
	bool sev, sev_es, sev_snp, tdx, on = false;
	int err;

	err = ck_cpu_flags(ctx, &flags);
	if (err < 0) {
		ck_unknown(r, "/proc/cpuinfo", err);
		return;
	}
	sev = vmp_parse_has_word(flags, "sev");
	sev_es = vmp_parse_has_word(flags, "sev_es");
	sev_snp = vmp_parse_has_word(flags, "sev_snp");
	tdx = vmp_parse_has_word(flags, "tdx_host_platform");
	free(flags);
	if (sev) {
		if (!ck_exists(ctx, "/sys/module/kvm_amd")) {
			ck_set(r, VMP_CHECK_INFO, "modprobe kvm_amd sev=1",
			       "the CPU has SEV%s%s but kvm_amd is not loaded",
			       sev_es ? ", SEV-ES" : "", sev_snp ? ", SEV-SNP" : "");
			return;
		}
		if (module_bool(ctx, r, "kvm_amd", "sev", &on) < 0)
			return;
		if (on && ck_exists(ctx, "/dev/sev"))
			ck_set(r, VMP_CHECK_PASS, NULL, "AMD SEV%s%s enabled (kvm_amd sev=1, /dev/sev)",
			       sev_es ? ", SEV-ES" : "", sev_snp ? ", SEV-SNP" : "");
		else
			ck_set(r, VMP_CHECK_INFO,
			       "echo 'options kvm_amd sev=1' > /etc/modprobe.d/kvm-sev.conf; modprobe -r kvm_amd; modprobe kvm_amd",
			       "the CPU has SEV but KVM does not offer it (kvm_amd sev=%s%s)", on ? "1" : "0",
			       on ? ", no /dev/sev" : "");
		return;
	}
	if (tdx) {
		if (ck_exists(ctx, "/sys/module/kvm_intel/parameters/tdx") &&
		    module_bool(ctx, r, "kvm_intel", "tdx", &on) < 0)
			return;
		if (on)
			ck_set(r, VMP_CHECK_PASS, NULL, "Intel TDX enabled (kvm_intel tdx=Y)");
		else
			ck_set(r, VMP_CHECK_INFO, "add kvm_intel.tdx=1 to the kernel command line",
			       "the platform has TDX but KVM does not offer it");
		return;
	}
	ck_set(r, VMP_CHECK_SKIP, NULL, "the CPU has no secure guest technology (SEV, TDX)");
}

void
vmp_probe_cpufreq(struct vmp_check_ctx *ctx, struct vmp_check_result *r)
{
	char **cpus = NULL, *first_gov = NULL, *driver = NULL, *fix = NULL, *slow = NULL;
	unsigned counted = 0, not_perf = 0;
	bool boost;
	uint64_t no_turbo;
	int n, i, err;

	if (!ck_exists(ctx, "/sys/devices/system/cpu/cpu0/cpufreq")) {
		ck_set(r, VMP_CHECK_SKIP, NULL,
		       "no cpufreq: the firmware or the outer hypervisor controls the CPU frequency");
		return;
	}
	n = ck_list(ctx, "/sys/devices/system/cpu", &cpus);
	if (n < 0) {
		ck_unknown(r, "/sys/devices/system/cpu", n);
		return;
	}
	for (i = 0; i < n; i++) {
		char *path, *gov = NULL;
		const char *p = cpus[i] + 3;

		if (!vmp_str_starts_with(cpus[i], "cpu") || !*p || strspn(p, "0123456789") != strlen(p))
			continue;
		path = xasprintf("/sys/devices/system/cpu/%s/cpufreq/scaling_governor", cpus[i]);
		err = ck_read_line(ctx, path, &gov);
		if (err == -ENOENT && counted > 0) {
			free(path); /* an offline CPU has no cpufreq directory */
			continue;
		}
		if (err < 0 || strspn(gov, "abcdefghijklmnopqrstuvwxyz_-") != strlen(gov)) {
			ck_unknown(r, path, err < 0 ? err : -EINVAL);
			free(path);
			free(gov);
			goto out;
		}
		free(path);
		counted++;
		if (!first_gov)
			first_gov = xstrdup(gov);
		if (strcmp(gov, "performance") != 0) {
			not_perf++;
			if (!slow)
				slow = xasprintf("%s (%s)", cpus[i], gov);
		}
		free(gov);
	}
	err = ck_read_line(ctx, "/sys/devices/system/cpu/cpu0/cpufreq/scaling_driver", &driver);
	if (err < 0) {
		ck_unknown(r, "/sys/devices/system/cpu/cpu0/cpufreq/scaling_driver", err);
		goto out;
	}
	if (not_perf > 0)
		ck_append(&fix, "; ", "cpupower frequency-set -g performance");
	if (ck_exists(ctx, "/sys/devices/system/cpu/cpufreq/boost")) {
		err = ck_read_bool(ctx, "/sys/devices/system/cpu/cpufreq/boost", &boost);
		if (err < 0) {
			ck_unknown(r, "/sys/devices/system/cpu/cpufreq/boost", err);
			goto out;
		}
		if (!boost)
			ck_append(&fix, "; ", "echo 1 > /sys/devices/system/cpu/cpufreq/boost");
	}
	if (ck_exists(ctx, "/sys/devices/system/cpu/intel_pstate/no_turbo")) {
		err = ck_read_u64(ctx, "/sys/devices/system/cpu/intel_pstate/no_turbo", &no_turbo);
		if (err == 0 && no_turbo > 1)
			err = -EINVAL;
		if (err < 0) {
			ck_unknown(r, "/sys/devices/system/cpu/intel_pstate/no_turbo", err);
			goto out;
		}
		if (no_turbo == 1)
			ck_append(&fix, "; ", "echo 0 > /sys/devices/system/cpu/intel_pstate/no_turbo");
	}
	if (!fix)
		ck_set(r, VMP_CHECK_PASS, NULL, "%s: governor performance on %u CPUs, boost on", driver, counted);
	else if (not_perf > 0)
		ck_set(r, VMP_CHECK_WARN, fix,
		       "%s: %u of %u CPUs not on the performance governor, e.g. %s: vCPUs wake to low clocks",
		       driver, not_perf, counted, slow);
	else
		ck_set(r, VMP_CHECK_WARN, fix, "%s: governor performance on %u CPUs, but turbo/boost is off",
		       driver, counted);
out:
	free(fix);
	free(slow);
	free(first_gov);
	free(driver);
	ck_names_free(cpus, n);
}

void
vmp_probe_cpuidle(struct vmp_check_ctx *ctx, struct vmp_check_result *r)
{
	char *driver = NULL, *governor = NULL, *list = NULL, **states = NULL;
	uint64_t max_latency_us = 0;
	int n = 0, i, err;

	if (!ck_exists(ctx, "/sys/devices/system/cpu/cpuidle")) {
		ck_set(r, VMP_CHECK_SKIP, NULL, "no cpuidle: the kernel idles with plain HLT");
		return;
	}
	err = ck_read_line(ctx, "/sys/devices/system/cpu/cpuidle/current_driver", &driver);
	if (err < 0) {
		ck_unknown(r, "/sys/devices/system/cpu/cpuidle/current_driver", err);
		return;
	}
	{
		const char *gpath = ck_exists(ctx, "/sys/devices/system/cpu/cpuidle/current_governor_ro")
			? "/sys/devices/system/cpu/cpuidle/current_governor_ro"
			: "/sys/devices/system/cpu/cpuidle/current_governor";

		err = ck_read_line(ctx, gpath, &governor);
		if (err < 0) {
			ck_unknown(r, gpath, err);
			goto out;
		}
	}
	if (strcmp(driver, "none") == 0) {
		ck_set(r, VMP_CHECK_INFO, NULL, "no cpuidle driver: idle CPUs use HLT");
		goto out;
	}
	n = ck_list(ctx, "/sys/devices/system/cpu/cpu0/cpuidle", &states);
	if (n < 0) {
		ck_unknown(r, "/sys/devices/system/cpu/cpu0/cpuidle", n);
		n = 0;
		goto out;
	}
	for (i = 0; i < n; i++) {
		char *path, *name = NULL;
		uint64_t latency_us = 0, disabled = 0;

		if (!vmp_str_starts_with(states[i], "state"))
			continue;
		path = xasprintf("/sys/devices/system/cpu/cpu0/cpuidle/%s/name", states[i]);
		err = ck_read_line(ctx, path, &name);
		if (err == 0) {
			free(path);
			path = xasprintf("/sys/devices/system/cpu/cpu0/cpuidle/%s/latency", states[i]);
			err = ck_read_u64(ctx, path, &latency_us);
		}
		if (err == 0) {
			free(path);
			path = xasprintf("/sys/devices/system/cpu/cpu0/cpuidle/%s/disable", states[i]);
			err = ck_read_u64(ctx, path, &disabled);
		}
		if (err < 0) {
			ck_unknown(r, path, err);
			free(path);
			free(name);
			goto out;
		}
		free(path);
		ck_append(&list, ", ", "%s %lluus%s", name, (unsigned long long)latency_us,
			  disabled ? " (disabled)" : "");
		if (!disabled && latency_us > max_latency_us)
			max_latency_us = latency_us;
		free(name);
	}
	if (max_latency_us >= 100)
		ck_set(r, VMP_CHECK_INFO, "cpupower idle-set -D 20 (disables idle states with exit latency above 20 us)",
		       "driver %s, governor %s; cpu0 states: %s; the deepest enabled state takes %llu us "
		       "to wake (latency-sensitive VMs notice)",
		       driver, governor, list ? list : "none", (unsigned long long)max_latency_us);
	else
		ck_set(r, VMP_CHECK_INFO, NULL, "driver %s, governor %s; cpu0 states: %s", driver,
		       governor, list ? list : "none");
out:
	ck_names_free(states, n);
	free(list);
	free(driver);
	free(governor);
}

/* Vulnerabilities whose mitigations cost VM entries/exits or guest memory performance. */
static const char *const virt_costly[] = {
	"l1tf", "mds", "tsx_async_abort", "mmio_stale_data", "itlb_multihit", "retbleed",
	"spec_rstack_overflow", "gather_data_sampling", "reg_file_data_sampling", "vmscape",
	"srbds", "spectre_v2", "indirect_target_selection",
};

void
vmp_probe_mitigations(struct vmp_check_ctx *ctx, struct vmp_check_result *r)
{
	const char *dir = "/sys/devices/system/cpu/vulnerabilities";
	char **names = NULL, *mitigated = NULL, *vulnerable = NULL, *cmdline = NULL;
	char *nx = NULL;
	unsigned not_affected = 0;
	int n, i, err;

	if (!ck_exists(ctx, dir)) {
		ck_set(r, VMP_CHECK_SKIP, NULL, "the kernel does not report CPU vulnerabilities");
		return;
	}
	n = ck_list(ctx, dir, &names);
	if (n < 0) {
		ck_unknown(r, dir, n);
		return;
	}
	for (i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]), *line = NULL;
		bool costly = false;
		size_t k;

		err = ck_read_line(ctx, path, &line);
		if (err < 0) {
			ck_unknown(r, path, err);
			free(path);
			goto out;
		}
		free(path);
		for (k = 0; k < VMP_ARRAY_SIZE(virt_costly); k++)
			costly |= strcmp(names[i], virt_costly[k]) == 0;
		if (vmp_str_starts_with(line, "Not affected"))
			not_affected++;
		else if (vmp_str_starts_with(line, "Vulnerable"))
			ck_append(&vulnerable, ", ", "%s", names[i]);
		else if (costly)
			ck_append(&mitigated, ", ", "%s", names[i]);
		free(line);
	}
	err = ck_read(ctx, "/proc/cmdline", &cmdline);
	if (err < 0) {
		ck_unknown(r, "/proc/cmdline", err);
		goto out;
	}
	{
		char *p = strstr(cmdline, "mitigations=");

		if (p && (p == cmdline || p[-1] == ' ')) {
			size_t len = strcspn(p, " \t\n");

			p[len] = '\0';
		} else {
			p = NULL;
		}
		if (p)
			ck_append(&nx, "; ", "%s", p);
	}
	if (ck_exists(ctx, "/sys/module/kvm/parameters/nx_huge_pages")) {
		char *v = NULL;

		err = ck_read_line(ctx, "/sys/module/kvm/parameters/nx_huge_pages", &v);
		if (err < 0) {
			ck_unknown(r, "/sys/module/kvm/parameters/nx_huge_pages", err);
			goto out;
		}
		ck_append(&nx, "; ", "kvm nx_huge_pages=%s", v);
		free(v);
	}
	ck_set(r, VMP_CHECK_INFO, NULL,
	       "%u not affected; mitigations that cost VM speed: %s; vulnerable: %s%s%s",
	       not_affected, mitigated ? mitigated : "none", vulnerable ? vulnerable : "none",
	       nx ? "; " : "", nx ? nx : "");
out:
	free(nx);
	free(cmdline);
	free(mitigated);
	free(vulnerable);
	ck_names_free(names, n);
}
