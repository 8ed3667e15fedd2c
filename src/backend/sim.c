/* SPDX-License-Identifier: MIT */
/*
 * The simulator backend: the core simulator's cluster behind the backend ops table,
 * so code written against backends (status, the daemon's loop, external policies) can
 * run on a replayed trace. See sim.h for the URI and the naming of hosts.
 */
#include "backend/sim.h"
#include "core/sim.h"
#include "trace/trace.h"
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_SCHEME "sim://"

struct sim_priv {
	struct vmp_trace *trace;
	struct vmp_sim *sim;
	struct vmp_sim_config cfg;
	struct vmp_sim_policy policy;
	uint8_t *started;       /* per VM: a migration was started through the backend */
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

/* Applies one "key=value" of the URI query to p. */
static int
apply_param(struct vmp_backend *b, struct sim_priv *p, const char *uri, char *kv)
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
sim_close(struct vmp_backend *b)
{
	struct sim_priv *p = priv(b);

	if (!p)
		return;
	vmp_sim_free(p->sim);
	vmp_trace_free(p->trace);
	free(p->started);
	free(p);
	vmp_backend_set_priv(b, NULL);
}

static int
sim_open(struct vmp_backend *b, const char *uri)
{
	struct sim_priv *p = xcalloc(1, sizeof(*p));
	char *dir = xstrdup(uri + strlen(SIM_SCHEME)), *q, *kv, *save = NULL, *err = NULL;
	struct vmp_sim_input in;
	int r = 0;

	vmp_sim_config_default(&p->cfg);
	p->policy = (struct vmp_sim_policy){ "external", "the caller migrates",
					     VMP_SIM_EXTERNAL, VMP_OVERLOAD_NONE, 0, VMP_SEL_MMT };
	vmp_backend_set_priv(b, p);
	q = strchr(dir, '?');
	if (q) {
		*q++ = '\0';
		for (kv = strtok_r(q, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
			r = apply_param(b, p, uri, kv);
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
	p->started = xcalloc(p->trace->nvms, 1);
	r = vmp_sim_new(&p->cfg, &p->policy, &in, &p->sim);
	if (r < 0)
		vmp_backend_fail(b, r, "cannot open '%s': invalid cluster: %s", uri, strerror(-r));
out:
	if (r < 0)
		sim_close(b);
	free(err);
	free(dir);
	return r;
}

static int
sim_host_info(struct vmp_backend *b, struct vmp_host_info *ret)
{
	struct sim_priv *p = priv(b);
	size_t i;

	memset(ret, 0, sizeof(*ret));
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
	struct vmp_vm_info *v = xcalloc(n ? n : 1, sizeof(*v));

	for (i = 0; i < n; i++) {
		struct vmp_sim_vm_state st;

		vmp_sim_vm(p->sim, i, &st);
		snprintf(v[i].name, sizeof(v[i].name), "%s", p->trace->names[i]);
		v[i].state = st.migrating_to >= 0 ? VMP_VM_MIGRATING
			     : st.host >= 0       ? VMP_VM_RUNNING
						  : VMP_VM_SHUTOFF;
		v[i].vcpus_current = v[i].vcpus_max = 1;
		v[i].memory_current_kib = v[i].memory_max_kib = (uint64_t)(st.ram_mb * 1024);
		v[i].stats_period_s = -1;
	}
	*ret_vms = v;
	return (int)n;
}

static int
find_vm(struct vmp_backend *b, const char *vm, size_t *ret)
{
	struct sim_priv *p = priv(b);
	size_t i;

	for (i = 0; i < p->trace->nvms; i++)
		if (strcmp(p->trace->names[i], vm) == 0) {
			*ret = i;
			return 0;
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
	/* CPU seconds: the MIPS it was given, integrated, over its own MIPS */
	ret->cpu_time_ns = (uint64_t)(st.cpu_mips_s / st.mips * 1e9);
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

const struct vmp_backend_ops vmp_backend_sim = {
	.name = "sim",
	.accepts = sim_accepts,
	.open = sim_open,
	.close = sim_close,
	.host_info = sim_host_info,
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
