/* SPDX-License-Identifier: MIT */
/* The knob and service tables and the detection of each service below a root (see owner.h). */
#include "host/owner.h"
#include "util/cpulist.h"
#include "util/fileio.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BIT(k) (1u << (k))

struct knob_info {
	const char *id, *title, *vmpilot;
};

static const struct knob_info knob_table[VMP_KNOB_MAX] = {
	[VMP_KNOB_KSM] = { "ksm", "KSM (/sys/kernel/mm/ksm)", "vmpilot tune (density) and vmpilotd's KSM loop" },
	[VMP_KNOB_THP] = { "thp", "transparent hugepages", "vmpilot tune" },
	[VMP_KNOB_SYSCTL_VM] = { "sysctl.vm", "vm.* sysctls (swappiness, dirty writeback)", "vmpilot tune" },
	[VMP_KNOB_SCHED] = { "sched", "kernel.sched_* sysctls", "vmpilot tune" },
	[VMP_KNOB_NUMA_BALANCING] = { "numa.balancing", "kernel.numa_balancing", "vmpilot tune" },
	[VMP_KNOB_NUMA_PLACEMENT] = { "numa.placement", "where guest vCPUs and memory live", "vmpilot profile apply (vCPU pinning)" },
	[VMP_KNOB_BLOCK_SCHEDULER] = { "block.scheduler", "block I/O schedulers", "vmpilot tune" },
	[VMP_KNOB_BLOCK_READAHEAD] = { "block.readahead", "block read-ahead", "vmpilot tune" },
	[VMP_KNOB_CPU_GOVERNOR] = { "cpu.governor", "cpufreq governors", "vmpilot tune" },
	[VMP_KNOB_IRQ_AFFINITY] = { "irq.affinity", "interrupt affinity (/proc/irq)", "vmpilot tune (latency)" },
	[VMP_KNOB_BALLOON] = { "balloon", "balloon targets of running VMs", "vmpilotd's right-sizer and pressure relief" },
};

const char *
vmp_knob_id(enum vmp_knob k)
{
	return k < VMP_KNOB_MAX ? knob_table[k].id : "?";
}

const char *
vmp_knob_title(enum vmp_knob k)
{
	return k < VMP_KNOB_MAX ? knob_table[k].title : "?";
}

const char *
vmp_knob_vmpilot_writer(enum vmp_knob k)
{
	return k < VMP_KNOB_MAX ? knob_table[k].vmpilot : "?";
}

/*
 * One row per service. A service is active when one of its processes runs (comm, or an
 * argv[0..1] basename for interpreters), its unit was started by systemd
 * (/run/systemd/units/invocation:UNIT), its pid file names a live process, or (the
 * kernel) its sysctl is on where it has something to do.
 */
struct vmp_service {
	const char *id, *name;
	const char *comm[3];
	const char *argv[3];
	const char *units[3];
	const char *pidfiles[3];
	unsigned knobs;
	const char *handover;
};

#define TUNED_KNOBS (BIT(VMP_KNOB_SYSCTL_VM) | BIT(VMP_KNOB_SCHED) | BIT(VMP_KNOB_NUMA_BALANCING) | \
		     BIT(VMP_KNOB_THP) | BIT(VMP_KNOB_BLOCK_SCHEDULER) | BIT(VMP_KNOB_BLOCK_READAHEAD) | \
		     BIT(VMP_KNOB_CPU_GOVERNOR) | BIT(VMP_KNOB_IRQ_AFFINITY) | BIT(VMP_KNOB_KSM))

static const struct vmp_service services[] = {
	{ "tuned", "TuneD", { "tuned" }, { "tuned" }, { "tuned.service" }, { "/run/tuned/tuned.pid" },
	  TUNED_KNOBS, "tuned-adm off && systemctl disable --now tuned" },
	{ "ksmtuned", "ksmtuned", { "ksmtuned" }, { "ksmtuned" }, { "ksmtuned.service" },
	  { "/run/ksmtune.pid", "/var/run/ksmtune.pid" },
	  BIT(VMP_KNOB_KSM), "systemctl disable --now ksmtuned" },
	{ "numad", "numad", { "numad" }, { "numad" }, { "numad.service" }, { "/run/numad.pid", "/var/run/numad.pid" },
	  BIT(VMP_KNOB_NUMA_PLACEMENT) | BIT(VMP_KNOB_NUMA_BALANCING), "systemctl disable --now numad" },
	{ "irqbalance", "irqbalance", { "irqbalance" }, { "irqbalance" }, { "irqbalance.service" },
	  { "/run/irqbalance.pid" },
	  BIT(VMP_KNOB_IRQ_AFFINITY), "systemctl disable --now irqbalance (or IRQBALANCE_BANNED_CPULIST in /etc/default/irqbalance)" },
	{ "kernel-numa-balancing", "kernel NUMA balancing", { NULL }, { NULL }, { NULL }, { NULL },
	  BIT(VMP_KNOB_NUMA_PLACEMENT), "sysctl -w kernel.numa_balancing=0 (and 'kernel.numa_balancing = 0' in /etc/sysctl.d/)" },
	{ "mom", "oVirt MOM (vdsm)", { "momd", "vdsmd" }, { "momd", "vdsmd", "vdsm" },
	  { "mom-vdsm.service", "vdsmd.service", "momd.service" }, { "/run/vdsm/vdsmd.pid", "/run/vdsm/mom-vdsm.pid" },
	  BIT(VMP_KNOB_BALLOON) | BIT(VMP_KNOB_KSM),
	  "set the cluster's memory-balloon and KSM optimisation off in oVirt (MOM policy), or systemctl disable --now mom-vdsm" },
	{ "pvestatd", "Proxmox pvestatd (auto-ballooning)", { "pvestatd" }, { "pvestatd" }, { "pvestatd.service" },
	  { "/run/pvestatd.pid", "/var/run/pvestatd.pid" },
	  BIT(VMP_KNOB_BALLOON),
	  "set 'balloon: 0' (or a fixed memory with no shares) on the VMs vmpilot manages, so pvestatd leaves their balloons alone" },
};

#define N_SERVICES VMP_ARRAY_SIZE(services)
#define KERNEL_NUMA 4 /* index of "kernel-numa-balancing" */

size_t
vmp_owner_services_count(void)
{
	return N_SERVICES;
}

const char *
vmp_owner_service_id_at(size_t i)
{
	return i < N_SERVICES ? services[i].id : NULL;
}

const char *
vmp_owner_name(const struct vmp_owner *o)
{
	return o->svc->name;
}

const char *
vmp_owner_service_id(const struct vmp_owner *o)
{
	return o->svc->id;
}

const char *
vmp_owner_handover(const struct vmp_owner *o)
{
	return o->svc->handover;
}

static bool
is_pid(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

static bool
pid_alive(const char *root, long pid)
{
	char *rel = xasprintf("/proc/%ld", pid), *full = vmp_root_path(root, rel);
	bool ok = access(full, F_OK) == 0;

	free(rel);
	free(full);
	return ok;
}

static const char *
base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static bool
in_list(const char *const *list, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n && list[i]; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* The sorted numeric entries of root/proc. */
static char **
list_pids(const char *root, size_t *ret_n)
{
	char *full = vmp_root_path(root, "/proc");
	char **pids = NULL;
	size_t n = 0, alloc = 0;
	struct dirent *de;
	DIR *d = opendir(full);

	free(full);
	while (d && (de = readdir(d))) {
		if (!is_pid(de->d_name))
			continue;
		xgrow((void **)&pids, &alloc, n + 1, sizeof(char *));
		pids[n++] = xstrdup(de->d_name);
	}
	if (d)
		closedir(d);
	*ret_n = n;
	return pids;
}

/* Matches a process: comm, or argv[0]/argv[1] basename (an interpreter runs the daemon). */
static bool
process_matches(const char *root, const char *pid, const struct vmp_service *svc)
{
	char *path = xasprintf("/proc/%s/comm", pid), *line = NULL, *buf = NULL;
	size_t len = 0, off;
	bool found = false;
	int i;

	if (vmp_read_line(root, path, &line) == 0)
		found = in_list(svc->comm, 3, line);
	free(line);
	free(path);
	if (found)
		return true;
	path = xasprintf("/proc/%s/cmdline", pid);
	if (vmp_read_file(root, path, &buf, &len) == 0) {
		for (off = 0, i = 0; off < len && i < 2 && !found; i++) {
			found = in_list(svc->argv, 3, base_name(buf + off));
			off += strlen(buf + off) + 1;
		}
	}
	free(buf);
	free(path);
	return found;
}

static void
add_evidence(struct vmp_owner *o, const char *fmt, ...) VMP_PRINTF(2, 3);

static void
add_evidence(struct vmp_owner *o, const char *fmt, ...)
{
	va_list ap;
	char *item, *joined;

	va_start(ap, fmt);
	item = xvasprintf(fmt, ap);
	va_end(ap);
	if (!o->evidence) {
		o->evidence = item;
		return;
	}
	joined = xasprintf("%s, %s", o->evidence, item);
	free(o->evidence);
	free(item);
	o->evidence = joined;
}

/* true when root/etc/systemd/system/ANY.wants/unit exists. */
static bool
unit_enabled(const char *root, const char *unit)
{
	char *full = vmp_root_path(root, "/etc/systemd/system");
	struct dirent *de;
	bool found = false;
	DIR *d = opendir(full);

	while (d && !found && (de = readdir(d))) {
		size_t l = strlen(de->d_name);
		char *p;

		if (l < 6 || strcmp(de->d_name + l - 6, ".wants") != 0)
			continue;
		p = xasprintf("%s/%s/%s", full, de->d_name, unit);
		found = faccessat(AT_FDCWD, p, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
		free(p);
	}
	if (d)
		closedir(d);
	free(full);
	return found;
}

static bool
unit_active(const char *root, const char *unit)
{
	char *rel = xasprintf("/run/systemd/units/invocation:%s", unit), *full = vmp_root_path(root, rel);
	bool ok = faccessat(AT_FDCWD, full, F_OK, AT_SYMLINK_NOFOLLOW) == 0;

	free(rel);
	free(full);
	return ok;
}

/* ---- TuneD: which knob classes its active profile writes ---- */

static unsigned
tuned_key_knobs(const char *type, const char *key)
{
	if (strcmp(type, "sysctl") == 0) {
		if (vmp_str_starts_with(key, "vm."))
			return BIT(VMP_KNOB_SYSCTL_VM);
		if (strcmp(key, "kernel.numa_balancing") == 0)
			return BIT(VMP_KNOB_NUMA_BALANCING);
		if (vmp_str_starts_with(key, "kernel.sched"))
			return BIT(VMP_KNOB_SCHED);
		return 0;
	}
	if (strcmp(type, "vm") == 0)
		return vmp_str_starts_with(key, "transparent_huge") ? BIT(VMP_KNOB_THP) :
		       vmp_str_starts_with(key, "dirty") ? BIT(VMP_KNOB_SYSCTL_VM) : 0;
	if (strcmp(type, "disk") == 0)
		return strcmp(key, "elevator") == 0 ? BIT(VMP_KNOB_BLOCK_SCHEDULER) :
		       strcmp(key, "readahead") == 0 ? BIT(VMP_KNOB_BLOCK_READAHEAD) : 0;
	if (strcmp(type, "cpu") == 0)
		return strcmp(key, "governor") == 0 ? BIT(VMP_KNOB_CPU_GOVERNOR) : 0;
	if (strcmp(type, "scheduler") == 0)
		return vmp_str_starts_with(key, "sched_") ? BIT(VMP_KNOB_SCHED) :
		       strcmp(key, "isolated_cores") == 0 ? BIT(VMP_KNOB_IRQ_AFFINITY) : 0;
	if (strcmp(type, "irqbalance") == 0)
		return BIT(VMP_KNOB_IRQ_AFFINITY);
	if (strcmp(type, "sysfs") == 0)
		return strstr(key, "/mm/ksm/") ? BIT(VMP_KNOB_KSM) :
		       strstr(key, "transparent_hugepage") ? BIT(VMP_KNOB_THP) :
		       strstr(key, "/queue/scheduler") ? BIT(VMP_KNOB_BLOCK_SCHEDULER) : 0;
	return 0;
}

static int tuned_profile_knobs(const char *root, const char *name, int depth, unsigned *knobs);

/* Parses one tuned.conf (INI: [section], type=, key=value, include= in [main]). */
static void
tuned_parse(const char *root, char *buf, int depth, unsigned *acc)
{
	char section[64] = "", type[64] = "";
	char *line, *save = NULL;

	/* Two passes would be needed for a type= after the keys; TuneD writes it first. */
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq, *key, *val;

		vmp_strstrip(line);
		if (!*line || *line == '#')
			continue;
		if (*line == '[') {
			char *end = strchr(line, ']');

			if (!end)
				continue;
			*end = '\0';
			snprintf(section, sizeof(section), "%s", line + 1);
			/* The plugin is the section name before any '.' unless type= says otherwise. */
			snprintf(type, sizeof(type), "%.*s", (int)strcspn(section, "."), section);
			continue;
		}
		eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		key = vmp_strstrip(line);
		val = vmp_strstrip(eq + 1);
		if (strcmp(key, "type") == 0) {
			snprintf(type, sizeof(type), "%s", val);
			continue;
		}
		if (strcmp(section, "main") == 0 && strcmp(key, "include") == 0) {
			char *inc = xstrdup(val), *tok, *s2 = NULL;

			for (tok = strtok_r(inc, ", \t", &s2); tok; tok = strtok_r(NULL, ", \t", &s2))
				if (tuned_profile_knobs(root, tok, depth + 1, acc) < 0)
					*acc |= TUNED_KNOBS; /* unknown include: assume the worst */
			free(inc);
			continue;
		}
		*acc |= tuned_key_knobs(type, key);
	}
}

/* ORs the knobs of profile name into *knobs. -ENOENT when its tuned.conf is not found. */
static int
tuned_profile_knobs(const char *root, const char *name, int depth, unsigned *knobs)
{
	static const char *const dirs[] = { "/etc/tuned/", "/usr/lib/tuned/profiles/", "/usr/lib/tuned/" };
	size_t i;

	if (depth > 8 || strchr(name, '/') || strcmp(name, "..") == 0)
		return -ELOOP;
	for (i = 0; i < VMP_ARRAY_SIZE(dirs); i++) {
		char *path = xasprintf("%s%s/tuned.conf", dirs[i], name), *buf = NULL;
		int r = vmp_read_file(root, path, &buf, NULL);

		free(path);
		if (r < 0)
			continue;
		tuned_parse(root, buf, depth, knobs);
		free(buf);
		return 0;
	}
	return -ENOENT;
}

/* Fills o for TuneD: the active profile(s) and their knobs; no profile: writes nothing. */
static void
tuned_profile(const char *root, struct vmp_owner *o)
{
	char *line = NULL, *tok, *save = NULL;
	unsigned acc = 0;
	bool any = false, unknown = false;
	int k;

	if (vmp_read_line(root, "/etc/tuned/active_profile", &line) < 0 || !*line) {
		free(line);
		if (o->active)
			add_evidence(o, "no active profile");
		o->active = false; /* TuneD without a profile writes nothing */
		return;
	}
	o->detail = xasprintf("profile '%s'", line);
	for (tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		any = true;
		if (tuned_profile_knobs(root, tok, 0, &acc) < 0)
			unknown = true;
	}
	free(line);
	if (!any || unknown)
		acc = TUNED_KNOBS; /* a profile we cannot read may write anything TuneD can */
	for (k = 0; k < VMP_KNOB_MAX; k++)
		o->knobs[k] = acc & BIT(k);
}

static void
kernel_numa(const char *root, struct vmp_owner *o)
{
	char *line = NULL;
	unsigned nodes = 0;
	uint64_t v;

	if (vmp_read_line(root, "/proc/sys/kernel/numa_balancing", &line) < 0 ||
	    vmp_parse_u64(line, &v) < 0 || v == 0) {
		free(line);
		return;
	}
	free(line);
	line = NULL;
	if (vmp_read_line(root, "/sys/devices/system/node/online", &line) == 0)
		vmp_cpulist_count(line, &nodes);
	free(line);
	o->enabled = true;
	if (nodes > 1) {
		o->active = true;
		add_evidence(o, "kernel.numa_balancing = %llu on %u NUMA nodes", (unsigned long long)v, nodes);
	} else {
		add_evidence(o, "kernel.numa_balancing = %llu, but one NUMA node: moves nothing",
			     (unsigned long long)v);
	}
}

void
vmp_owner_scan(const char *root, struct vmp_owner_scan *ret)
{
	size_t n_pids = 0, i, j, p;
	char **pids = list_pids(root, &n_pids);
	struct vmp_owner_scan s = { 0 };

	s.owners = xcalloc(N_SERVICES, sizeof(*s.owners));
	for (i = 0; i < N_SERVICES; i++) {
		const struct vmp_service *svc = &services[i];
		struct vmp_owner o = { .svc = svc };
		int k;

		for (k = 0; k < VMP_KNOB_MAX; k++)
			o.knobs[k] = svc->knobs & BIT(k);
		if (i == KERNEL_NUMA)
			kernel_numa(root, &o);
		for (p = 0; p < n_pids && (svc->comm[0] || svc->argv[0]); p++) {
			if (!process_matches(root, pids[p], svc))
				continue;
			o.active = true;
			add_evidence(&o, "process %s pid %s", svc->comm[0], pids[p]);
			break;
		}
		for (j = 0; j < VMP_ARRAY_SIZE(svc->units) && svc->units[j]; j++) {
			if (unit_active(root, svc->units[j])) {
				o.active = o.enabled = true;
				add_evidence(&o, "unit %s active", svc->units[j]);
			} else if (unit_enabled(root, svc->units[j])) {
				o.enabled = true;
				add_evidence(&o, "unit %s enabled", svc->units[j]);
			}
		}
		for (j = 0; j < VMP_ARRAY_SIZE(svc->pidfiles) && svc->pidfiles[j]; j++) {
			char *line = NULL;
			int64_t pid;

			if (vmp_read_line(root, svc->pidfiles[j], &line) < 0) {
				free(line);
				continue;
			}
			if (vmp_parse_i64(line, &pid) == 0 && pid > 0 && pid_alive(root, (long)pid)) {
				o.active = true;
				add_evidence(&o, "pid file %s: pid %lld live", svc->pidfiles[j], (long long)pid);
			} else {
				add_evidence(&o, "stale pid file %s", svc->pidfiles[j]);
			}
			free(line);
		}
		if (i == 0 && (o.active || o.enabled))
			tuned_profile(root, &o);
		if (!o.evidence) {
			free(o.detail);
			continue;
		}
		s.owners[s.n++] = o;
	}
	for (p = 0; p < n_pids; p++)
		free(pids[p]);
	free(pids);
	*ret = s;
}

void
vmp_owner_scan_clear(struct vmp_owner_scan *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->owners[i].evidence);
		free(s->owners[i].detail);
	}
	free(s->owners);
	s->owners = NULL;
	s->n = 0;
}

const struct vmp_owner *
vmp_owner_find(const struct vmp_owner_scan *s, enum vmp_knob k)
{
	size_t i;

	for (i = 0; s && i < s->n; i++)
		if (s->owners[i].active && k < VMP_KNOB_MAX && s->owners[i].knobs[k])
			return &s->owners[i];
	return NULL;
}

char *
vmp_owner_refusal(const struct vmp_owner *o, enum vmp_knob k)
{
	return xasprintf("%s is owned by %s%s%s%s (%s): hand it over with '%s'",
			 vmp_knob_id(k), o->svc->name, o->detail ? " (" : "", o->detail ? o->detail : "",
			 o->detail ? ")" : "", o->evidence, o->svc->handover);
}
