/* SPDX-License-Identifier: MIT */
/*
 * The simulator backend: the core simulator's cluster behind the backend ops table,
 * so code written against backends (status, the daemon's loop, external policies) can
 * run on a replayed trace, either as one backend for the whole cluster or as one
 * backend per simulated host ("host=N" views sharing one simulation). See sim.h for
 * the URI and the naming of hosts.
 */
#include "backend/sim.h"
#include "core/sim.h"
#include "trace/trace.h"
#include "util/util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_SCHEME "sim://"

/* One simulation, shared by every backend opened with the same URI but for host=. */
struct cluster {
	char *key;              /* the URI without its host= parameter */
	unsigned refs;
	struct vmp_trace *trace;
	struct vmp_sim *sim;
	struct vmp_sim_config cfg;
	struct vmp_sim_policy policy;
	uint8_t *started;       /* per VM: a migration was started through the backend */
	uint32_t *by_name;      /* VM indices sorted by name, for find_vm() */
	/* the VMs of each host, rebuilt when the clock moved (index_time) */
	double index_time;
	uint32_t *host_first, *host_n, *host_vms;
	/* views: each VM's CPU demand integrated (ns of one host core) and when */
	uint64_t *demand_ns;
	int64_t *demand_us;
	struct cluster *next;
};

/*
 * The open simulations. A process-wide list (the backends of one process share a
 * simulation); the daemon's loop is single-threaded, and so is this list's use.
 */
static struct cluster *clusters;

struct sim_priv {
	struct cluster *c;
	long host;              /* the host this backend serves, -1 = the whole cluster */
	/* the same as c's, for the whole-cluster code below */
	struct vmp_trace *trace;
	struct vmp_sim *sim;
	struct vmp_sim_config cfg;
	uint8_t *started;
};

static struct sim_priv *
priv(struct vmp_backend *b)
{
	return vmp_backend_priv(b);
}

static bool
sim_accepts(const char *uri)
{
	return vmp_str_starts_with(uri, SIM_SCHEME);
}

/* Applies one "key=value" of the URI query to c (or p: host=). */
static int
apply_param(struct vmp_backend *b, struct cluster *p, struct sim_priv *sp, const char *uri,
	    char *kv)
{
	char *eq = strchr(kv, '=');
	uint64_t n;

	if (!eq)
		return vmp_backend_fail(b, EINVAL, "cannot open '%s': parameter '%s' has no value",
					uri, kv);
	*eq = '\0';
	if (strcmp(kv, "hosts") == 0) {
		if (vmp_parse_u64(eq + 1, &n) < 0 || n == 0 || n > 10000000)
			return vmp_backend_fail(b, EINVAL, "cannot open '%s': invalid host count "
						"'%s'", uri, eq + 1);
		p->cfg.nhosts = (size_t)n;
	} else if (strcmp(kv, "host") == 0) {
		if (vmp_parse_u64(eq + 1, &n) < 0 || n > 10000000)
			return vmp_backend_fail(b, EINVAL, "cannot open '%s': invalid host '%s'",
						uri, eq + 1);
		sp->host = (long)n;
	} else if (strcmp(kv, "compat") == 0 && strcmp(eq + 1, "cloudsim") == 0) {
		p->cfg.cloudsim_compat = true;
	} else if (strcmp(kv, "policy") == 0) {
		const struct vmp_sim_policy *pol = vmp_sim_policy_find(eq + 1);

		if (!pol)
			return vmp_backend_fail(b, EINVAL, "cannot open '%s': unknown policy '%s'",
						uri, eq + 1);
		p->policy = *pol;
	} else {
		return vmp_backend_fail(b, EINVAL, "cannot open '%s': unknown parameter '%s'",
					uri, kv);
	}
	return 0;
}

static void
cluster_free(struct cluster *c)
{
	if (!c)
		return;
	vmp_sim_free(c->sim);
	vmp_trace_free(c->trace);
	free(c->started);
	free(c->by_name);
	free(c->host_first);
	free(c->host_n);
	free(c->host_vms);
	free(c->demand_ns);
	free(c->demand_us);
	free(c->key);
	free(c);
}

static void
sim_close(struct vmp_backend *b)
{
	struct sim_priv *p = priv(b);
	struct cluster **pp;

	if (!p)
		return;
	if (p->c && --p->c->refs == 0) {
		for (pp = &clusters; *pp; pp = &(*pp)->next)
			if (*pp == p->c) {
				*pp = p->c->next;
				break;
			}
		cluster_free(p->c);
	}
	free(p);
	vmp_backend_set_priv(b, NULL);
}

/* For qsort_r-free sorting of VM indices by name. */
static const struct vmp_trace *sort_trace;

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(sort_trace->names[*(const uint32_t *)a],
		      sort_trace->names[*(const uint32_t *)b]);
}

/* Opens the simulation of URI key (dir and query without host=) for b. */
static int
cluster_open(struct vmp_backend *b, const char *uri, const char *key, struct sim_priv *sp,
	     struct cluster **ret)
{
	struct cluster *p;
	char *dir = xstrdup(key + strlen(SIM_SCHEME)), *q, *kv, *save = NULL, *err = NULL;
	struct vmp_sim_input in;
	size_t i;
	int r = 0;

	for (p = clusters; p; p = p->next)
		if (strcmp(p->key, key) == 0) {
			p->refs++;
			*ret = p;
			free(dir);
			return 0;
		}
	p = xcalloc(1, sizeof(*p));
	p->key = xstrdup(key);
	p->refs = 1;
	p->index_time = -1;
	vmp_sim_config_default(&p->cfg);
	p->policy = (struct vmp_sim_policy){ "external", "the caller migrates",
					     VMP_SIM_EXTERNAL, VMP_OVERLOAD_NONE, 0, VMP_SEL_MMT };
	q = strchr(dir, '?');
	if (q) {
		*q++ = '\0';
		for (kv = strtok_r(q, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
			r = apply_param(b, p, sp, uri, kv);
			if (r < 0)
				goto out;
		}
	}
	if (!*dir) {
		r = vmp_backend_fail(b, EINVAL, "cannot open '%s': expected sim://DIR (a trace "
				     "directory)", uri);
		goto out;
	}
	r = vmp_trace_dir_has_csv(dir) ? vmp_trace_read_csv_dir(dir, &p->trace, &err)
			 : vmp_trace_read_planetlab(dir, &p->trace, &err);
	if (r < 0) {
		vmp_backend_fail(b, r, "cannot open '%s': %s", uri, err);
		goto out;
	}
	in = (struct vmp_sim_input){ p->trace->nvms, p->trace->nsteps, p->trace->cpu_usage_pct, NULL };
	p->started = xcalloc(p->trace->nvms + 1, 1);
	p->by_name = xcalloc(p->trace->nvms + 1, sizeof(*p->by_name));
	p->demand_ns = xcalloc(p->trace->nvms + 1, sizeof(*p->demand_ns));
	p->demand_us = xcalloc(p->trace->nvms + 1, sizeof(*p->demand_us));
	p->host_vms = xcalloc(p->trace->nvms + 1, sizeof(*p->host_vms));
	p->host_first = xcalloc(p->cfg.nhosts + 1, sizeof(*p->host_first));
	p->host_n = xcalloc(p->cfg.nhosts + 1, sizeof(*p->host_n));
	for (i = 0; i < p->trace->nvms; i++)
		p->by_name[i] = (uint32_t)i;
	sort_trace = p->trace;
	qsort(p->by_name, p->trace->nvms, sizeof(*p->by_name), cmp_name);
	sort_trace = NULL;
	r = vmp_sim_new(&p->cfg, &p->policy, &in, &p->sim);
	if (r < 0)
		vmp_backend_fail(b, r, "cannot open '%s': invalid cluster: %s", uri, strerror(-r));
out:
	free(err);
	free(dir);
	if (r < 0) {
		cluster_free(p);
		return r;
	}
	p->next = clusters;
	clusters = p;
	*ret = p;
	return 0;
}

/* uri without its host=N parameter (a new string). */
static char *
uri_key(const char *uri)
{
	char *k = xstrdup(uri), *q = strchr(k, '?'), *out, *kv, *save = NULL;
	bool first = true;

	if (!q)
		return k;
	*q++ = '\0';
	out = xstrdup(k);
	for (kv = strtok_r(q, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
		char *n;

		if (vmp_str_starts_with(kv, "host="))
			continue;
		n = xasprintf("%s%s%s", out, first ? "?" : "&", kv);
		free(out);
		out = n;
		first = false;
	}
	free(k);
	return out;
}

static int
sim_open(struct vmp_backend *b, const char *uri)
{
	struct sim_priv *p = xcalloc(1, sizeof(*p));
	char *key = uri_key(uri);
	int r;

	p->host = -1;
	vmp_backend_set_priv(b, p);
	r = cluster_open(b, uri, key, p, &p->c);
	free(key);
	if (r < 0) {
		sim_close(b);
		return r;
	}
	/* host= is read again for a shared simulation (its parameters were parsed once) */
	if (p->host < 0 && strstr(uri, "host=")) {
		const char *h = strstr(uri, "host=") + 5;
		uint64_t n;
		char num[32];
		size_t len = strcspn(h, "&");

		snprintf(num, sizeof(num), "%.*s", (int)(len < 31 ? len : 31), h);
		if (vmp_parse_u64(num, &n) < 0) {
			r = vmp_backend_fail(b, EINVAL, "cannot open '%s': invalid host '%s'", uri,
					     num);
			sim_close(b);
			return r;
		}
		p->host = (long)n;
	}
	if (p->host >= 0 && (size_t)p->host >= p->c->cfg.nhosts) {
		r = vmp_backend_fail(b, EINVAL, "cannot open '%s': host %ld: the cluster has %zu "
				     "hosts", uri, p->host, p->c->cfg.nhosts);
		sim_close(b);
		return r;
	}
	p->trace = p->c->trace;
	p->sim = p->c->sim;
	p->cfg = p->c->cfg;
	p->started = p->c->started;
	return 0;
}

/* Groups the VMs by host, once per clock value. */
static void
index_hosts(struct cluster *c)
{
	double t = vmp_sim_time_s(c->sim);
	size_t i, nvms = c->trace->nvms, pos = 0;

	if (t == c->index_time)
		return;
	c->index_time = t;
	memset(c->host_n, 0, c->cfg.nhosts * sizeof(*c->host_n));
	for (i = 0; i < nvms; i++) {
		struct vmp_sim_vm_state st;

		vmp_sim_vm(c->sim, i, &st);
		if (st.host >= 0)
			c->host_n[st.host]++;
	}
	for (i = 0; i < c->cfg.nhosts; i++) {
		c->host_first[i] = (uint32_t)pos;
		pos += c->host_n[i];
		c->host_n[i] = 0;
	}
	for (i = 0; i < nvms; i++) {
		struct vmp_sim_vm_state st;

		vmp_sim_vm(c->sim, i, &st);
		if (st.host >= 0)
			c->host_vms[c->host_first[st.host] + c->host_n[st.host]++] = (uint32_t)i;
	}
}

static int
sim_host_info(struct vmp_backend *b, struct vmp_host_info *ret)
{
	struct sim_priv *p = priv(b);
	size_t i;

	memset(ret, 0, sizeof(*ret));
	if (p->host >= 0) {
		const struct vmp_sim_host_type *t = &p->cfg.host_types[(size_t)p->host %
								       p->cfg.nhost_types];

		snprintf(ret->hostname, sizeof(ret->hostname), "host-%ld", p->host);
		ret->cpus = t->pes;
		ret->memory_kib = (uint64_t)(t->ram_mb * 1024);
		ret->numa_nodes = 1;
		ret->core_mips = t->pe_mips;
		/* the simulator migrates over half the link: kbit/s -> KiB/s */
		ret->migrate_bw_kib_s = t->bw_kbit / 2 / 8 * 1000 / 1024;
		ret->full_watts = t->power->watts[10];
		snprintf(ret->hypervisor, sizeof(ret->hypervisor), "vmpilot simulator");
		return 0;
	}
	snprintf(ret->hostname, sizeof(ret->hostname), "sim-%zu-hosts", p->cfg.nhosts);
	for (i = 0; i < p->cfg.nhosts; i++) {
		const struct vmp_sim_host_type *t = &p->cfg.host_types[i % p->cfg.nhost_types];

		ret->cpus += t->pes;
		ret->memory_kib += (uint64_t)(t->ram_mb * 1024);
	}
	ret->numa_nodes = 1;
	snprintf(ret->hypervisor, sizeof(ret->hypervisor), "vmpilot simulator");
	return 0;
}

static int
sim_list_vms(struct vmp_backend *b, struct vmp_vm_info **ret_vms)
{
	struct sim_priv *p = priv(b);
	size_t i, n = vmp_sim_nvms(p->sim);
	const uint32_t *which = NULL;
	struct vmp_vm_info *v;

	if (p->host >= 0) {
		/* a view: the VMs placed on its host (a migrating one until it arrived) */
		index_hosts(p->c);
		which = p->c->host_vms + p->c->host_first[p->host];
		n = p->c->host_n[p->host];
	}
	v = xcalloc(n ? n : 1, sizeof(*v));
	for (i = 0; i < n; i++) {
		struct vmp_sim_vm_state st;
		size_t k = which ? which[i] : i;

		vmp_sim_vm(p->sim, k, &st);
		snprintf(v[i].name, sizeof(v[i].name), "%s", p->trace->names[k]);
		v[i].max_mips = st.mips;
		v[i].state = st.migrating_to >= 0 ? VMP_VM_MIGRATING
			     : st.host >= 0       ? VMP_VM_RUNNING
						  : VMP_VM_SHUTOFF;
		v[i].vcpus_current = v[i].vcpus_max = 1;
		v[i].memory_current_kib = v[i].memory_max_kib = (uint64_t)(st.ram_mb * 1024);
		v[i].stats_period_s = -1;
		/* a balloon without guest statistics: what the simulator models (CPU only) */
		v[i].has_balloon = true;
	}
	*ret_vms = v;
	return (int)n;
}

static int
find_vm(struct vmp_backend *b, const char *vm, size_t *ret)
{
	struct sim_priv *p = priv(b);
	size_t lo = 0, hi = p->trace->nvms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(p->trace->names[p->c->by_name[mid]], vm);

		if (c == 0) {
			*ret = p->c->by_name[mid];
			return 0;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return vmp_backend_fail(b, ENOENT, "cannot find vm '%s': no such VM in the trace", vm);
}

static int
sim_vm_stats(struct vmp_backend *b, const char *vm, struct vmp_vm_stats *ret)
{
	struct sim_priv *p = priv(b);
	struct vmp_sim_vm_state st;
	size_t i;
	int r;

	r = find_vm(b, vm, &i);
	if (r < 0)
		return r;
	vmp_sim_vm(p->sim, i, &st);
	memset(ret, 0, sizeof(*ret));
	ret->valid = VMP_STAT_CPU_TIME | VMP_STAT_VCPU_TIME;
	ret->sample_time_us = (int64_t)(vmp_sim_time_s(p->sim) * 1e6);
	if (p->host >= 0 && st.host >= 0) {
		/*
		 * A view: the CPU time of its demand (what it asks, as the simulator's own
		 * policies and `vmpilot simulate --policy vmpilot` see it), in seconds of
		 * one core of its host (host_info's core_mips), summed up to now at the
		 * demand of each sample: the loop's usage times core_mips is the demand.
		 */
		const struct vmp_sim_host_type *t = &p->cfg.host_types[(size_t)st.host %
								       p->cfg.nhost_types];
		int64_t dus = ret->sample_time_us - p->c->demand_us[i];

		if (dus > 0) {
			p->c->demand_ns[i] += (uint64_t)llround(st.requested_mips / t->pe_mips *
							       (double)dus * 1000.0);
			p->c->demand_us[i] = ret->sample_time_us;
		}
		ret->cpu_time_ns = p->c->demand_ns[i];
		ret->valid |= VMP_STAT_CPU_DEMAND;
		ret->cpu_demand_mips = st.requested_mips;
	} else {
		/* CPU seconds: the MIPS it was given, integrated, over its own MIPS */
		ret->cpu_time_ns = (uint64_t)(st.cpu_mips_s / st.mips * 1e9);
	}
	ret->nvcpus = 1;
	ret->vcpu_time_ns[0] = ret->cpu_time_ns;
	ret->balloon_actual_kib = (uint64_t)(st.ram_mb * 1024);
	return 0;
}

/* "host-N" -> N */
static int
parse_host(struct vmp_backend *b, const struct vmp_migrate_params *params, size_t *ret)
{
	struct sim_priv *p = priv(b);
	const char *name = params->dest_name ? params->dest_name : params->dest_uri;
	uint64_t n;

	if (name && vmp_str_starts_with(name, SIM_SCHEME) && strstr(name, "host=")) {
		/* a view's URI: its host= parameter */
		const char *h = strstr(name, "host=") + 5;
		char num[32];

		snprintf(num, sizeof(num), "%.*s", (int)strcspn(h, "&") % 31, h);
		if (vmp_parse_u64(num, &n) == 0 && n < vmp_sim_nhosts(p->sim)) {
			*ret = (size_t)n;
			return 0;
		}
	}
	if (name && vmp_str_starts_with(name, "sim:"))
		name += 4;
	if (!name || !vmp_str_starts_with(name, "host-") || vmp_parse_u64(name + 5, &n) < 0 ||
	    n >= vmp_sim_nhosts(p->sim))
		return vmp_backend_fail(b, EINVAL, "cannot migrate to '%s': expected host-N with "
					"N below %zu", name ? name : "(none)",
					vmp_sim_nhosts(p->sim));
	*ret = (size_t)n;
	return 0;
}

static int
sim_migrate_start(struct vmp_backend *b, const char *vm, const struct vmp_migrate_params *params)
{
	struct sim_priv *p = priv(b);
	size_t i, h = 0;
	int r;

	r = find_vm(b, vm, &i);
	if (r < 0)
		return r;
	r = parse_host(b, params, &h);
	if (r < 0)
		return r;
	r = vmp_sim_migrate(p->sim, i, h);
	if (r < 0)
		return vmp_backend_fail(b, r, "cannot migrate vm '%s' to host-%zu: %s", vm, h,
					strerror(-r));
	p->started[i] = 1;
	return 0;
}

static int
sim_migrate_poll(struct vmp_backend *b, const char *vm, struct vmp_migrate_progress *ret)
{
	struct sim_priv *p = priv(b);
	struct vmp_sim_vm_state st;
	size_t i;
	int r;

	r = find_vm(b, vm, &i);
	if (r < 0)
		return r;
	vmp_sim_vm(p->sim, i, &st);
	memset(ret, 0, sizeof(*ret));
	ret->state = st.migrating_to >= 0 ? VMP_MIGRATE_ACTIVE
		     : p->started[i]      ? VMP_MIGRATE_COMPLETED
					  : VMP_MIGRATE_NONE;
	ret->remaining_bytes = st.migrating_to >= 0 ? (uint64_t)(st.ram_mb * 1048576) : 0;
	return 0;
}

static int
sim_host_stats(struct vmp_backend *b, struct vmp_host_stats *ret)
{
	struct sim_priv *p = priv(b);
	struct vmp_sim_host_state hs;

	memset(ret, 0, sizeof(*ret));
	ret->sample_time_us = (int64_t)(vmp_sim_time_s(p->sim) * 1e6);
	if (p->host < 0)
		return 0;
	/* no memory figures: the simulator's hosts are planned on CPU */
	vmp_sim_host(p->sim, (size_t)p->host, &hs);
	ret->powered_off = !hs.active && hs.nvms == 0;
	return 0;
}

const struct vmp_backend_ops vmp_backend_sim = {
	.name = "sim",
	.accepts = sim_accepts,
	.open = sim_open,
	.close = sim_close,
	.host_info = sim_host_info,
	.host_stats = sim_host_stats,
	.list_vms = sim_list_vms,
	.vm_stats = sim_vm_stats,
	.migrate_start = sim_migrate_start,
	.migrate_poll = sim_migrate_poll,
};

int
vmp_backend_sim_advance(struct vmp_backend *b)
{
	if (strcmp(vmp_backend_name(b), "sim") != 0 || !priv(b))
		return -EINVAL;
	return vmp_sim_step(priv(b)->sim);
}

double
vmp_backend_sim_time_s(struct vmp_backend *b)
{
	if (strcmp(vmp_backend_name(b), "sim") != 0 || !priv(b))
		return -1;
	return vmp_sim_time_s(priv(b)->sim);
}

struct vmp_sim *
vmp_backend_sim_sim(struct vmp_backend *b)
{
	if (strcmp(vmp_backend_name(b), "sim") != 0 || !priv(b))
		return NULL;
	return priv(b)->sim;
}

bool
vmp_backend_sim_trace_has_memory(struct vmp_backend *b)
{
	if (strcmp(vmp_backend_name(b), "sim") != 0 || !priv(b))
		return false;
	return (priv(b)->trace->fields & VMP_TRACE_MEM) != 0;
}

int
vmp_backend_sim_setup(struct vmp_backend *b, struct vmp_sim_config *ret_cfg,
		      struct vmp_sim_input *ret_input)
{
	struct sim_priv *p;

	if (strcmp(vmp_backend_name(b), "sim") != 0 || !priv(b))
		return -EINVAL;
	p = priv(b);
	*ret_cfg = p->c->cfg;
	*ret_input = (struct vmp_sim_input){ p->trace->nvms, p->trace->nsteps,
					     p->trace->cpu_usage_pct, NULL };
	return 0;
}
