/* SPDX-License-Identifier: MIT */
/* The audit rules of `vmpilot audit` over libvirt domain XML (see audit.h). */
#include "host/audit.h"
#include "util/cpulist.h"
#include "util/fileio.h"
#include "util/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#define META_NS "https://vmpilot.org/xmlns/libvirt/1" /* = VMP_LIBVIRT_METADATA_NS */

/* One row per rule, in output order. doc/audit.md explains each. */
const struct vmp_audit_rule vmp_audit_rules[] = {
	{ "domain.type", VMP_AUDIT_WARN, "no hardware acceleration",
	  "type='qemu' runs the guest under TCG, a CPU emulator: every instruction is translated, 5-20 times slower than KVM" },
	{ "cpu.mode", VMP_AUDIT_WARN, "CPU model hides host features",
	  "a named or default CPU model masks AVX, AES-NI and other host instructions, and the guest cannot use the host's own mitigations" },
	{ "cpu.topology", VMP_AUDIT_WARN, "vCPU topology does not match the host",
	  "the guest scheduler trusts the topology: threads that are not real siblings, or a count that does not add up, make it balance and share caches wrongly" },
	{ "vcpu.overcommit", VMP_AUDIT_WARN, "more vCPUs than host CPUs",
	  "vCPUs of one guest wait for each other on the same CPUs (lock holders preempted): the guest gets slower than with fewer vCPUs" },
	{ "pin.housekeeping", VMP_AUDIT_WARN, "vCPUs pinned onto housekeeping CPUs",
	  "the housekeeping CPUs run host interrupts, kernel threads and QEMU's own threads: a vCPU pinned there is preempted by all of them" },
	{ "memory.hugepages", VMP_AUDIT_WARN, "large VM without hugepages",
	  "a large guest's working set misses the TLB constantly; with 4 KiB host pages each miss walks two page tables of four levels" },
	{ "numa.numatune", VMP_AUDIT_WARN, "VM spans NUMA nodes without numatune",
	  "without a memory policy the guest's memory lands wherever it is first touched, and its vCPUs read it across the interconnect" },
	{ "disk.bus", VMP_AUDIT_WARN, "emulated disk controller",
	  "IDE, SATA, USB and emulated SCSI trap on every register access; virtio-blk or virtio-scsi take one notification per batch of requests" },
	{ "net.model", VMP_AUDIT_WARN, "emulated network card",
	  "e1000 and rtl8139 trap on every register access and cannot use vhost-net; virtio-net moves packets in rings served by the host kernel" },
	{ "disk.cache", VMP_AUDIT_WARN, "disk cache mode flushes or risks data",
	  "writethrough and directsync flush every write to the medium; unsafe ignores the guest's flushes and loses data when the host crashes" },
	{ "disk.cache.host", VMP_AUDIT_INFO, "disk cached twice",
	  "writeback (the default) caches the guest's disk in the host page cache as well as in the guest's: memory spent twice, and no native AIO" },
	{ "disk.io", VMP_AUDIT_INFO, "disk AIO runs in a thread pool",
	  "with cache='none', io='native' (or io_uring) submits requests from one thread without a pool and its context switches" },
	{ "disk.iothread", VMP_AUDIT_INFO, "disk without an I/O thread",
	  "the disk's requests are served by QEMU's main loop, which also runs device emulation and the monitor: a busy disk stalls them and they stall it" },
	{ "disk.discard", VMP_AUDIT_INFO, "thin disk without discard",
	  "blocks the guest frees stay allocated in the image: thin storage only grows, and the host cannot reclaim the space" },
	{ "balloon.missing", VMP_AUDIT_WARN, "no memory balloon",
	  "without a balloon the guest's memory can neither be reclaimed under host pressure nor right-sized by vmpilot" },
	{ "balloon.stats", VMP_AUDIT_WARN, "balloon statistics off",
	  "without a stats period the guest reports no free or available memory and no swap or faults: right-sizing and diagnosis are blind" },
	{ "clock.kvmclock", VMP_AUDIT_WARN, "kvmclock disabled",
	  "without the paravirtual clock the guest reads time from emulated timers, each read a VM exit, and time drifts under load" },
	{ "clock.timers", VMP_AUDIT_INFO, "emulated timers on",
	  "the HPET is emulated (every access exits) and Linux guests use kvmclock anyway; rtc without catchup and pit without delay drift after steal" },
	{ "profile.recommend", VMP_AUDIT_INFO, "a workload profile fits what the VM does",
	  "the workload profile sets pinning, shares, disk limits and the right-sizer's margin: one that matches the VM's behaviour serves it better than the default" },
	{ "ksm.tenants", VMP_AUDIT_WARN, "KSM may merge pages across tenants",
	  "KSM merges identical pages of different VMs: a tenant can time copy-on-write faults to learn another tenant's memory (a side channel)" },
};
const size_t vmp_audit_rules_count = VMP_ARRAY_SIZE(vmp_audit_rules);

const char *
vmp_audit_severity_name(enum vmp_audit_severity s)
{
	static const char *const names[] = { "INFO", "WARN", "FAIL" };

	return s < VMP_AUDIT_SEVERITY_MAX ? names[s] : "?";
}

static const struct vmp_audit_rule *
rule(const char *id)
{
	size_t i;

	for (i = 0; i < vmp_audit_rules_count; i++)
		if (strcmp(vmp_audit_rules[i].id, id) == 0)
			return &vmp_audit_rules[i];
	abort(); /* a rule id not in the table is a bug here */
}

static void
add(struct vmp_audit_report *rep, const char *vm, const char *id, char *fix, const char *fmt, ...)
	VMP_PRINTF(5, 6);

/* Adds a finding; takes fix. */
static void
add(struct vmp_audit_report *rep, const char *vm, const char *id, char *fix, const char *fmt, ...)
{
	struct vmp_audit_finding *f;
	size_t alloc = rep->n_findings;
	va_list ap;

	xgrow((void **)&rep->findings, &alloc, rep->n_findings + 1, sizeof(*rep->findings));
	f = &rep->findings[rep->n_findings++];
	f->rule = rule(id);
	f->vm = xstrdup(vm);
	va_start(ap, fmt);
	f->finding = xvasprintf(fmt, ap);
	va_end(ap);
	f->fix = fix;
	rep->counts[f->rule->severity]++;
}

/* ---- host facts ---- */

static unsigned
list_count(const char *root, const char *path)
{
	char *line = NULL;
	unsigned n = 0;

	if (vmp_read_line(root, path, &line) == 0 && vmp_cpulist_count(line, &n) < 0)
		n = 0;
	free(line);
	return n;
}

void
vmp_audit_host_read(const char *root, struct vmp_audit_host *ret)
{
	struct vmp_audit_host h = { 0 };
	char *line = NULL, *buf = NULL, *p;
	unsigned node;

	h.cpus = list_count(root, "/sys/devices/system/cpu/online");
	h.threads_per_core = list_count(root, "/sys/devices/system/cpu/cpu0/topology/thread_siblings_list");
	h.numa_nodes = list_count(root, "/sys/devices/system/node/online");
	for (node = 0; node < h.numa_nodes && node < 64; node++) {
		char *path = xasprintf("/sys/devices/system/node/node%u/meminfo", node);
		unsigned long long kib;

		if (vmp_read_file(root, path, &buf, NULL) == 0 && (p = strstr(buf, "MemTotal:")) &&
		    sscanf(p, "MemTotal: %llu", &kib) == 1 && (!h.node_mem_kib || kib < h.node_mem_kib))
			h.node_mem_kib = kib;
		free(buf);
		buf = NULL;
		free(path);
	}
	if (vmp_read_line(root, "/sys/kernel/mm/ksm/run", &line) == 0) {
		h.ksm_known = true;
		h.ksm_on = strcmp(line, "1") == 0;
	}
	free(line);
	snprintf(h.housekeeping, sizeof(h.housekeeping), "0");
	h.large_vm_kib = 16ull << 20;
	*ret = h;
}

/* ---- XPath helpers ---- */

/* The string value of expr (relative to node, or the document), or NULL when empty. */
static char *
xstr(xmlXPathContextPtr ctx, xmlNodePtr node, const char *expr)
{
	xmlXPathObjectPtr o;
	char *s = NULL;

	ctx->node = node ? node : xmlDocGetRootElement(ctx->doc);
	o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
	if (o && o->type == XPATH_STRING && o->stringval && o->stringval[0])
		s = xstrdup((const char *)o->stringval);
	xmlXPathFreeObject(o);
	return s;
}

static double
xnum(xmlXPathContextPtr ctx, xmlNodePtr node, const char *expr)
{
	xmlXPathObjectPtr o;
	double v = 0;

	ctx->node = node ? node : xmlDocGetRootElement(ctx->doc);
	o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
	if (o && o->type == XPATH_NUMBER && o->floatval == o->floatval)
		v = o->floatval;
	xmlXPathFreeObject(o);
	return v;
}

static bool
xexists(xmlXPathContextPtr ctx, xmlNodePtr node, const char *expr)
{
	xmlXPathObjectPtr o;
	bool yes;

	ctx->node = node ? node : xmlDocGetRootElement(ctx->doc);
	o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
	yes = o && o->type == XPATH_BOOLEAN && o->boolval;
	xmlXPathFreeObject(o);
	return yes;
}

/* The nodes of expr (absolute); free with xmlXPathFreeObject. */
static xmlXPathObjectPtr
xnodes(xmlXPathContextPtr ctx, const char *expr)
{
	ctx->node = xmlDocGetRootElement(ctx->doc);
	return xmlXPathEvalExpression((const xmlChar *)expr, ctx);
}

static int
nodes_count(xmlXPathObjectPtr o)
{
	return o && o->nodesetval ? o->nodesetval->nodeNr : 0;
}

static bool
eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/*
 * A number from the XML as a count: negative or NaN is 0, more than max is max (a
 * conversion of a double out of range is undefined behaviour; fuzz-audit found 3.3e82).
 */
static uint64_t
clamp_u64(double v, double max)
{
	if (!(v > 0))
		return 0;
	return v > max ? (uint64_t)max : (uint64_t)v;
}

/* Memory in KiB from <memory unit=...>N</memory> (at most 2^50 KiB, 1 EiB). */
static uint64_t
memory_kib(xmlXPathContextPtr ctx)
{
	double v = xnum(ctx, NULL, "number(/domain/memory)");
	char *unit = xstr(ctx, NULL, "string(/domain/memory/@unit)");

	if (!unit || eq(unit, "KiB") || eq(unit, "k"))
		;
	else if (eq(unit, "MiB") || eq(unit, "M"))
		v *= 1024;
	else if (eq(unit, "GiB") || eq(unit, "G"))
		v *= 1024.0 * 1024;
	else if (eq(unit, "b") || eq(unit, "bytes"))
		v /= 1024;
	free(unit);
	return clamp_u64(v, 1125899906842624.0);
}

/* ---- CPU sets ---- */

#define MAP_CPUS 4096

/* The list of CPUs in a and (in b, or not in b when !in_b); NULL for a bad list. */
static char *
cpus_filter(const char *a, const char *b, bool in_b)
{
	static uint8_t ma[MAP_CPUS / 8], mb[MAP_CPUS / 8];
	char *out = NULL;
	unsigned c;

	if (vmp_cpulist_parse(a, MAP_CPUS, ma, sizeof(ma)) < 0 || vmp_cpulist_parse(b, MAP_CPUS, mb, sizeof(mb)) < 0)
		return NULL;
	for (c = 0; c < MAP_CPUS; c++) {
		bool ia = ma[c / 8] & (1u << (c % 8)), ib = mb[c / 8] & (1u << (c % 8));
		char *n;

		if (!ia || ib != in_b)
			continue;
		n = xasprintf("%s%s%u", out ? out : "", out ? "," : "", c);
		free(out);
		out = n;
	}
	return out ? out : xstrdup("");
}

/* ---- the rules of one domain ---- */

static void
rules_cpu(xmlXPathContextPtr ctx, const char *vm, const struct vmp_audit_host *h, struct vmp_audit_report *rep,
	  unsigned vcpus)
{
	char *type = xstr(ctx, NULL, "string(/domain/@type)");
	char *mode = xstr(ctx, NULL, "string(/domain/cpu/@mode)");
	char *cpuset;
	double s = xnum(ctx, NULL, "number(/domain/cpu/topology/@sockets)");
	double d = xnum(ctx, NULL, "number(/domain/cpu/topology/@dies)");
	double c = xnum(ctx, NULL, "number(/domain/cpu/topology/@cores)");
	double t = xnum(ctx, NULL, "number(/domain/cpu/topology/@threads)");
	xmlXPathObjectPtr pins;
	int i;

	if (eq(type, "qemu"))
		add(rep, vm, "domain.type", xstrdup("<domain type='kvm'>"),
		    "domain type 'qemu': TCG emulation, no KVM");
	if (!mode || eq(mode, "custom"))
		add(rep, vm, "cpu.mode", xstrdup("<cpu mode='host-passthrough' check='none' migratable='on'/>"),
		    "CPU mode '%s'%s", mode ? mode : "custom (default)",
		    eq(type, "qemu") ? " (host-passthrough needs type='kvm')" : "");
	if (t > 0) {
		unsigned want_t = h->threads_per_core ? h->threads_per_core : 1;
		unsigned total = (unsigned)clamp_u64(s * (d > 0 ? d : 1) * c * t, 1048576);

		if ((h->threads_per_core && t > h->threads_per_core) || total != vcpus) {
			unsigned th = vcpus % want_t == 0 ? want_t : 1;

			add(rep, vm, "cpu.topology",
			    xasprintf("<topology sockets='1' dies='1' cores='%u' threads='%u'/>", vcpus / th, th),
			    "topology %g socket(s) x %g core(s) x %g thread(s) = %u for %u vCPUs; the host has %u thread(s) per core",
			    s, c, t, total, vcpus, h->threads_per_core);
		}
	}
	if (h->cpus && vcpus > h->cpus)
		add(rep, vm, "vcpu.overcommit", xasprintf("<vcpu placement='static'>%u</vcpu>", h->cpus),
		    "%u vCPUs on a host with %u CPUs", vcpus, h->cpus);
	/* pinning onto housekeeping CPUs: <vcpu cpuset>, <vcpupin cpuset> */
	cpuset = xstr(ctx, NULL, "string(/domain/vcpu/@cpuset)");
	pins = xnodes(ctx, "/domain/cputune/vcpupin");
	for (i = -1; i < nodes_count(pins); i++) {
		char *set = i < 0 ? (cpuset ? xstrdup(cpuset) : NULL) :
				    xstr(ctx, pins->nodesetval->nodeTab[i], "string(@cpuset)");
		char *vcpu = i < 0 ? NULL : xstr(ctx, pins->nodesetval->nodeTab[i], "string(@vcpu)");
		char *overlap = set ? cpus_filter(set, h->housekeeping, true) : NULL;

		if (overlap && *overlap) {
			char *rest = cpus_filter(set, h->housekeeping, false);

			if (!rest || !*rest) {
				free(rest);
				rest = xstrdup("CPUS-OUTSIDE-HOUSEKEEPING");
			}
			if (i < 0)
				add(rep, vm, "pin.housekeeping", xasprintf("<vcpu placement='static' cpuset='%s'>%u</vcpu>", rest, vcpus),
				    "<vcpu cpuset='%s'> includes housekeeping CPU(s) %s", set, overlap);
			else
				add(rep, vm, "pin.housekeeping", xasprintf("<vcpupin vcpu='%s' cpuset='%s'/>", vcpu ? vcpu : "?", rest),
				    "vCPU %s pinned to '%s', which includes housekeeping CPU(s) %s", vcpu ? vcpu : "?", set, overlap);
			free(rest);
		}
		free(overlap);
		free(set);
		free(vcpu);
	}
	xmlXPathFreeObject(pins);
	free(cpuset);
	free(type);
	free(mode);
}

static void
rules_memory(xmlXPathContextPtr ctx, const char *vm, const struct vmp_audit_host *h,
	     struct vmp_audit_report *rep, unsigned vcpus, uint64_t mem_kib)
{
	char *model = xstr(ctx, NULL, "string(/domain/devices/memballoon/@model)");
	double period = xnum(ctx, NULL, "number(/domain/devices/memballoon/stats/@period)");
	unsigned cells = (unsigned)xnum(ctx, NULL, "count(/domain/cpu/numa/cell)");

	if (h->large_vm_kib && mem_kib >= h->large_vm_kib &&
	    !xexists(ctx, NULL, "boolean(/domain/memoryBacking/hugepages)"))
		add(rep, vm, "memory.hugepages", xstrdup("<memoryBacking><hugepages/></memoryBacking>"),
		    "%llu MiB of guest memory on 4 KiB host pages", (unsigned long long)(mem_kib / 1024));
	if (h->numa_nodes > 1 && !xexists(ctx, NULL, "boolean(/domain/numatune)") &&
	    (cells > 1 || (h->node_mem_kib && mem_kib > h->node_mem_kib) ||
	     (h->cpus && vcpus > h->cpus / h->numa_nodes)))
		add(rep, vm, "numa.numatune", xstrdup("<numatune><memory mode='strict' placement='auto'/></numatune>"),
		    "%u vCPUs and %llu MiB (%u guest NUMA cell(s)) span more than one of %u host nodes, no <numatune>",
		    vcpus, (unsigned long long)(mem_kib / 1024), cells, h->numa_nodes);
	if (!model || eq(model, "none"))
		add(rep, vm, "balloon.missing",
		    xstrdup("<memballoon model='virtio'><stats period='5'/></memballoon>"),
		    "%s", model ? "<memballoon model='none'/>" : "no <memballoon>");
	else if (period <= 0)
		add(rep, vm, "balloon.stats", xasprintf("<memballoon model='%s'><stats period='5'/></memballoon>", model),
		    "<memballoon model='%s'> without <stats period>", model);
	free(model);
}

static bool
virtio_scsi(xmlXPathContextPtr ctx)
{
	return xexists(ctx, NULL, "boolean(/domain/devices/controller[@type='scsi' and @model='virtio-scsi'])");
}

static void
rules_disks(xmlXPathContextPtr ctx, const char *vm, struct vmp_audit_report *rep)
{
	xmlXPathObjectPtr disks = xnodes(ctx, "/domain/devices/disk[@device='disk' or not(@device)]");
	bool iothreads = xnum(ctx, NULL, "number(/domain/iothreads)") > 0;
	int i;

	for (i = 0; i < nodes_count(disks); i++) {
		xmlNodePtr n = disks->nodesetval->nodeTab[i];
		char *dev = xstr(ctx, n, "string(target/@dev)");
		char *bus = xstr(ctx, n, "string(target/@bus)");
		char *cache = xstr(ctx, n, "string(driver/@cache)");
		char *io = xstr(ctx, n, "string(driver/@io)");
		char *fmt = xstr(ctx, n, "string(driver/@type)");
		char *discard = xstr(ctx, n, "string(driver/@discard)");
		const char *d = dev ? dev : "?";
		bool virtio = eq(bus, "virtio") || (eq(bus, "scsi") && virtio_scsi(ctx));

		if (!virtio)
			add(rep, vm, "disk.bus", xasprintf("<target dev='vd%s' bus='virtio'/>", dev && strlen(dev) > 2 ? dev + 2 : "a"),
			    "disk '%s' on bus '%s'%s", d, bus ? bus : "(default)",
			    eq(bus, "scsi") ? " without a virtio-scsi controller" : "");
		if (eq(cache, "writethrough") || eq(cache, "directsync") || eq(cache, "unsafe"))
			add(rep, vm, "disk.cache",
			    xasprintf("<driver name='qemu' type='%s' cache='none' io='native'/>", fmt ? fmt : "raw"),
			    "disk '%s' cache='%s'", d, cache);
		else if (!cache || eq(cache, "writeback") || eq(cache, "default"))
			add(rep, vm, "disk.cache.host",
			    xasprintf("<driver name='qemu' type='%s' cache='none' io='native'/>", fmt ? fmt : "raw"),
			    "disk '%s' cache='%s'", d, cache ? cache : "default (writeback)");
		else if (!io || eq(io, "threads"))
			add(rep, vm, "disk.io",
			    xasprintf("<driver name='qemu' type='%s' cache='%s' io='native'/>", fmt ? fmt : "raw", cache),
			    "disk '%s' io='%s'", d, io ? io : "threads (default)");
		if (virtio && (!iothreads || !xexists(ctx, n, "boolean(driver/@iothread)")))
			add(rep, vm, "disk.iothread",
			    xstrdup(iothreads ? "<driver name='qemu' iothread='1'/>" :
					       "<iothreads>1</iothreads> and <driver name='qemu' iothread='1'/>"),
			    "disk '%s' has no I/O thread", d);
		if (eq(fmt, "qcow2") && !eq(discard, "unmap"))
			add(rep, vm, "disk.discard",
			    xasprintf("<driver name='qemu' type='qcow2' discard='unmap' detect_zeroes='unmap'/>"),
			    "qcow2 disk '%s' with discard='%s'", d, discard ? discard : "ignore (default)");
		free(dev);
		free(bus);
		free(cache);
		free(io);
		free(fmt);
		free(discard);
	}
	xmlXPathFreeObject(disks);
}

static void
rules_net(xmlXPathContextPtr ctx, const char *vm, struct vmp_audit_report *rep)
{
	xmlXPathObjectPtr nics = xnodes(ctx, "/domain/devices/interface");
	int i;

	for (i = 0; i < nodes_count(nics); i++) {
		xmlNodePtr n = nics->nodesetval->nodeTab[i];
		char *model = xstr(ctx, n, "string(model/@type)");
		char *mac = xstr(ctx, n, "string(mac/@address)");
		char *type = xstr(ctx, n, "string(@type)");

		if (!eq(model, "virtio") && !eq(type, "hostdev"))
			add(rep, vm, "net.model", xstrdup("<model type='virtio'/><driver name='vhost'/>"),
			    "interface %s model '%s'", mac ? mac : "?", model ? model : "(default: emulated)");
		free(model);
		free(mac);
		free(type);
	}
	xmlXPathFreeObject(nics);
}

static void
rules_clock(xmlXPathContextPtr ctx, const char *vm, struct vmp_audit_report *rep)
{
	char *kvmclock = xstr(ctx, NULL, "string(/domain/clock/timer[@name='kvmclock']/@present)");
	char *hpet = xstr(ctx, NULL, "string(/domain/clock/timer[@name='hpet']/@present)");
	char *rtc = xstr(ctx, NULL, "string(/domain/clock/timer[@name='rtc']/@tickpolicy)");
	char *pit = xstr(ctx, NULL, "string(/domain/clock/timer[@name='pit']/@tickpolicy)");
	char *what = NULL;

	if (eq(kvmclock, "no"))
		add(rep, vm, "clock.kvmclock", xstrdup("<timer name='kvmclock' present='yes'/>"),
		    "<timer name='kvmclock' present='no'/>");
	if (!eq(hpet, "no"))
		what = xasprintf("hpet %s", hpet ? "present" : "not disabled");
	if (!eq(rtc, "catchup")) {
		char *w = xasprintf("%s%srtc tickpolicy '%s'", what ? what : "", what ? ", " : "", rtc ? rtc : "default");

		free(what);
		what = w;
	}
	if (!eq(pit, "delay")) {
		char *w = xasprintf("%s%spit tickpolicy '%s'", what ? what : "", what ? ", " : "", pit ? pit : "default");

		free(what);
		what = w;
	}
	if (what)
		add(rep, vm, "clock.timers",
		    xstrdup("<clock offset='utc'><timer name='rtc' tickpolicy='catchup'/>"
			    "<timer name='pit' tickpolicy='delay'/><timer name='hpet' present='no'/></clock>"),
		    "%s", what);
	free(what);
	free(kvmclock);
	free(hpet);
	free(rtc);
	free(pit);
}

int
vmp_audit_domain(const char *xml, size_t len, const char *source, const struct vmp_audit_host *h,
		 struct vmp_audit_report *rep, char **ret_err)
{
	xmlXPathContextPtr ctx = NULL;
	xmlParserCtxtPtr pctx;
	xmlDocPtr doc = NULL;
	struct vmp_audit_vm v = { 0 };
	unsigned vcpus;
	uint64_t mem;
	size_t alloc;
	char *name = NULL;
	int r = -EINVAL;

	if (len > (size_t)VMP_READ_MAX_BYTES || len > 0x7fffffff) {
		*ret_err = xasprintf("%s: domain XML too large", source);
		return -EINVAL;
	}
	pctx = xmlNewParserCtxt();
	if (!pctx)
		abort();
	doc = xmlCtxtReadMemory(pctx, xml, (int)len, source, NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		const xmlError *e = xmlCtxtGetLastError(pctx);

		*ret_err = xasprintf("%s:%d: %s", source, e ? e->line : 1,
				     e && e->message ? e->message : "empty or malformed XML\n");
		/* libxml2 messages end with a newline: drop it */
		if (**ret_err && (*ret_err)[strlen(*ret_err) - 1] == '\n')
			(*ret_err)[strlen(*ret_err) - 1] = '\0';
		xmlFreeParserCtxt(pctx);
		goto out;
	}
	xmlFreeParserCtxt(pctx);
	if (!xmlDocGetRootElement(doc) || strcmp((const char *)xmlDocGetRootElement(doc)->name, "domain") != 0) {
		*ret_err = xasprintf("%s: not a libvirt domain (the root element is not <domain>)", source);
		goto out;
	}
	ctx = xmlXPathNewContext(doc);
	if (!ctx)
		abort();
	xmlXPathRegisterNs(ctx, (const xmlChar *)"vmp", (const xmlChar *)META_NS);
	name = xstr(ctx, NULL, "normalize-space(/domain/name)");
	if (!name) {
		*ret_err = xasprintf("%s: the domain has no <name>", source);
		goto out;
	}
	vcpus = (unsigned)clamp_u64(xnum(ctx, NULL, "number(/domain/vcpu)"), 1048576);
	mem = memory_kib(ctx);
	rules_cpu(ctx, name, h, rep, vcpus);
	rules_memory(ctx, name, h, rep, vcpus, mem);
	rules_disks(ctx, name, rep);
	rules_net(ctx, name, rep);
	rules_clock(ctx, name, rep);
	v.name = name;
	name = NULL;
	v.tenant = xstr(ctx, NULL, "normalize-space(/domain/metadata/vmp:tenant)");
	v.profile = xstr(ctx, NULL, "normalize-space(/domain/metadata/vmp:profile)");
	v.nosharepages = xexists(ctx, NULL, "boolean(/domain/memoryBacking/nosharepages)");
	alloc = rep->n_vms;
	xgrow((void **)&rep->vms, &alloc, rep->n_vms + 1, sizeof(*rep->vms));
	rep->vms[rep->n_vms++] = v;
	r = 0;
out:
	free(name);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return r;
}

void
vmp_audit_finish(const struct vmp_audit_host *h, struct vmp_audit_report *rep)
{
	size_t i, j;

	if (!h->ksm_known || !h->ksm_on)
		return;
	for (i = 0; i < rep->n_vms; i++) {
		const struct vmp_audit_vm *v = &rep->vms[i];
		const char *other = NULL;

		if (v->nosharepages || !v->tenant)
			continue;
		for (j = 0; j < rep->n_vms && !other; j++)
			if (rep->vms[j].tenant && strcmp(rep->vms[j].tenant, v->tenant) != 0 &&
			    !rep->vms[j].nosharepages)
				other = rep->vms[j].name;
		if (other)
			add(rep, v->name, "ksm.tenants", xstrdup("<memoryBacking><nosharepages/></memoryBacking>"),
			    "tenant '%s' shares KSM (run=1) with '%s' of another tenant", v->tenant, other);
	}
}

void
vmp_audit_report_clear(struct vmp_audit_report *rep)
{
	size_t i;

	for (i = 0; i < rep->n_findings; i++) {
		free(rep->findings[i].vm);
		free(rep->findings[i].finding);
		free(rep->findings[i].fix);
	}
	for (i = 0; i < rep->n_vms; i++) {
		free(rep->vms[i].name);
		free(rep->vms[i].tenant);
		free(rep->vms[i].profile);
	}
	free(rep->findings);
	free(rep->vms);
	memset(rep, 0, sizeof(*rep));
}

void
vmp_audit_report_print(const struct vmp_audit_report *rep, FILE *out)
{
	size_t i;

	for (i = 0; i < rep->n_findings; i++) {
		const struct vmp_audit_finding *f = &rep->findings[i];

		fprintf(out, "%s %s %s: %s\n", vmp_audit_severity_name(f->rule->severity), f->vm, f->rule->id,
			f->finding);
		fprintf(out, "    why: %s\n    fix: %s\n", f->rule->reason, f->fix);
	}
	fprintf(out, "%zu VM%s audited: %u WARN, %u INFO, %u FAIL\n", rep->n_vms, rep->n_vms == 1 ? "" : "s",
		rep->counts[VMP_AUDIT_WARN], rep->counts[VMP_AUDIT_INFO], rep->counts[VMP_AUDIT_FAIL]);
}

json_t *
vmp_audit_report_json(const struct vmp_audit_report *rep)
{
	json_t *root = json_object(), *arr = json_array(), *vms = json_array();
	size_t i;

	json_object_set_new(root, "schema", json_string("vmpilot-audit/1"));
	for (i = 0; i < rep->n_vms; i++)
		json_array_append_new(vms, json_pack("{s:s,s:o,s:o,s:b}", "name", rep->vms[i].name,
						     "tenant", rep->vms[i].tenant ? json_string(rep->vms[i].tenant) : json_null(),
						     "profile", rep->vms[i].profile ? json_string(rep->vms[i].profile) : json_null(),
						     "nosharepages", rep->vms[i].nosharepages));
	json_object_set_new(root, "vms", vms);
	for (i = 0; i < rep->n_findings; i++) {
		const struct vmp_audit_finding *f = &rep->findings[i];

		json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "vm", f->vm, "rule", f->rule->id,
						     "severity", vmp_audit_severity_name(f->rule->severity),
						     "finding", f->finding, "reason", f->rule->reason, "fix", f->fix));
	}
	json_object_set_new(root, "findings", arr);
	return root;
}

int
vmp_audit_iotune(const char *xml, size_t len, uint64_t *ret_iops, uint64_t *ret_bytes_s)
{
	xmlDocPtr doc;
	xmlXPathContextPtr ctx;
	xmlXPathObjectPtr disks;
	double iops = 0, bytes = 0;
	int i;

	if (len > 0x7fffffff)
		return -EINVAL;
	doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		return -EINVAL;
	ctx = xmlXPathNewContext(doc);
	if (!ctx)
		abort();
	disks = xnodes(ctx, "/domain/devices/disk[iotune]");
	for (i = 0; i < nodes_count(disks); i++) {
		xmlNodePtr n = disks->nodesetval->nodeTab[i];
		double t = xnum(ctx, n, "number(iotune/total_iops_sec)");

		iops += t > 0 ? t : xnum(ctx, n, "number(iotune/read_iops_sec)") +
				    xnum(ctx, n, "number(iotune/write_iops_sec)");
		t = xnum(ctx, n, "number(iotune/total_bytes_sec)");
		bytes += t > 0 ? t : xnum(ctx, n, "number(iotune/read_bytes_sec)") +
				     xnum(ctx, n, "number(iotune/write_bytes_sec)");
	}
	xmlXPathFreeObject(disks);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	*ret_iops = clamp_u64(iops, 1e18);
	*ret_bytes_s = clamp_u64(bytes, 1e18);
	return 0;
}

int
vmp_audit_disks_profile(const char *xml, size_t len, char ***ret_disks, char **ret_profile)
{
	xmlDocPtr doc;
	xmlXPathContextPtr ctx;
	xmlXPathObjectPtr disks;
	char **out;
	int i, n = 0;

	if (len > 0x7fffffff)
		return -EINVAL;
	doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		return -EINVAL;
	ctx = xmlXPathNewContext(doc);
	if (!ctx)
		abort();
	xmlXPathRegisterNs(ctx, (const xmlChar *)"vmp", (const xmlChar *)META_NS);
	disks = xnodes(ctx, "/domain/devices/disk[@device='disk' or not(@device)]/target/@dev");
	out = xcalloc((size_t)nodes_count(disks) + 1, sizeof(char *));
	for (i = 0; i < nodes_count(disks); i++) {
		xmlChar *v = xmlNodeGetContent(disks->nodesetval->nodeTab[i]);

		if (v && *v)
			out[n++] = xstrdup((const char *)v);
		xmlFree(v);
	}
	*ret_profile = xstr(ctx, NULL, "normalize-space(/domain/metadata/vmp:profile)");
	xmlXPathFreeObject(disks);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	*ret_disks = out;
	return n;
}

void
vmp_audit_profile_advice(struct vmp_audit_report *rep, const char *vm, const char *recommended,
			 const char *observed)
{
	size_t i;
	const char *now = NULL;

	for (i = 0; i < rep->n_vms; i++)
		if (strcmp(rep->vms[i].name, vm) == 0)
			now = rep->vms[i].profile;
	if (eq(now, recommended))
		return;
	add(rep, vm, "profile.recommend",
	    xasprintf("<metadata><vmpilot:profile xmlns:vmpilot='%s'>%s</vmpilot:profile></metadata>", META_NS,
		      recommended),
	    "%s: profile '%s' fits (now '%s')", observed, recommended, now ? now : "default");
}
