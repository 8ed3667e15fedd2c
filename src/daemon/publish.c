/* SPDX-License-Identifier: MIT */
/* The status and /metrics the loop publishes after each cycle (see publish.h). */
#include "daemon/publish.h"
#include "util/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const budget_kinds[VMP_BUDGET_KIND_MAX] = {
	[VMP_BUDGET_BALLOON] = "balloon", [VMP_BUDGET_HOTPLUG] = "hotplug",
	[VMP_BUDGET_MIGRATION] = "migration",
};

static const char *const fault_kinds[VMP_FAULT_MAX] = {
	[VMP_FAULT_VM_GONE] = "vm_gone", [VMP_FAULT_SOCKET_GONE] = "socket_gone",
	[VMP_FAULT_HOST_UNREACHABLE] = "host_unreachable",
	[VMP_FAULT_BACKEND_ERROR] = "backend_error", [VMP_FAULT_JOURNAL] = "journal",
	[VMP_FAULT_OTHER] = "other",
};

json_t *
vmp_publish_decision(const struct vmp_decision *d, const char *policy, bool acted)
{
	json_t *checks = json_array(), *rejected = json_array();
	unsigned i;

	for (i = 0; i < d->n_checks && i < VMP_DECISION_CHECKS; i++)
		json_array_append_new(checks, json_pack("{s:s,s:o,s:o,s:b}",
			"name", d->checks[i].name,
			"value", isfinite(d->checks[i].value) ? json_real(d->checks[i].value) : json_null(),
			"limit", isfinite(d->checks[i].limit) ? json_real(d->checks[i].limit) : json_null(),
			"crossed", d->checks[i].crossed));
	for (i = 0; i < d->n_rejected && i < VMP_DECISION_REJECTED; i++)
		json_array_append_new(rejected, json_pack("{s:s,s:f,s:s}",
			"alternative", d->rejected[i].alternative,
			"value", isfinite(d->rejected[i].value) ? d->rejected[i].value : 0.0,
			"why", d->rejected[i].why));
	return json_pack("{s:s,s:s,s:s,s:s,s:f,s:f,s:b,s:o,s:o}", "policy", policy,
			 "resource", d->resource ? d->resource : "", "action",
			 vmp_action_name(d->action), "reason", vmp_reason_name(d->reason),
			 "from", d->from, "to", d->to, "acted", acted, "checks", checks,
			 "rejected", rejected);
}

struct status_ctx {
	json_t *hosts;     /* array; each host's "vms" array is filled by add_vm */
};

static void
add_vm(void *opaque, const struct vmp_loop_vm_view *v)
{
	struct status_ctx *c = opaque;
	json_t *vms = json_object_get(json_array_get(c->hosts, v->host), "vms");
	json_t *decisions = json_array();
	size_t i;

	for (i = 0; i < v->n_decisions; i++)
		json_array_append_new(decisions,
				      vmp_publish_decision(v->decision[i], v->policy[i], v->acted[i]));
	json_array_append_new(vms, json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:i,s:i,s:b,s:s,s:s,s:b,s:o}",
		"name", v->name, "state", vmp_vm_state_name(v->state),
		"mem_alloc_kib", v->mem_alloc_kib ? json_integer((json_int_t)v->mem_alloc_kib)
						  : json_null(),
		"mem_max_kib", v->mem_max_kib ? json_integer((json_int_t)v->mem_max_kib) : json_null(),
		"mem_demand_kib", v->mem_demand_kib ? json_integer((json_int_t)v->mem_demand_kib)
						    : json_null(),
		"cpu_used_cores", v->have_cpu ? json_real(v->cpu_cores) : json_null(),
		"vcpus", (int)v->vcpus, "vcpus_max", (int)v->vcpus_max,
		"migrating", v->migrating, "fault", v->fault,
		"mode", v->mode ? v->mode : "", "pinned", v->pinned, "decisions", decisions));
	json_object_set_new(json_array_get(vms, json_array_size(vms) - 1), "mode_source",
			    json_string(v->mode_source ? v->mode_source : ""));
	/* Its bottleneck (core/diagnose.h), null until two samples were diagnosed. */
	json_object_set_new(json_array_get(vms, json_array_size(vms) - 1), "diagnosis",
			    !v->diagnosed ? json_null() :
			    json_pack("{s:o,s:i,s:s,s:s}", "bottleneck",
				      v->bottleneck ? json_string(v->bottleneck) : json_null(),
				      "health", (int)v->health, "evidence",
				      v->diag_evidence ? v->diag_evidence : "", "fix",
				      v->diag_fix ? v->diag_fix : ""));
}

json_t *
vmp_publish_status(struct vmp_loop *l, const struct vmp_publish_info *in)
{
	const struct vmp_loop_decision_counts *dc = vmp_loop_decision_counts(l);
	struct status_ctx c = { json_array() };
	size_t i;
	int k;

	for (i = 0; i < vmp_loop_hosts(l); i++) {
		struct vmp_loop_host_view hv;
		json_t *budget = json_object(), *per_hour = json_object();

		vmp_loop_host_view(l, i, &hv);
		for (k = 0; k < VMP_BUDGET_KIND_MAX; k++) {
			json_object_set_new(budget, budget_kinds[k], json_integer(hv.budget_left[k]));
			json_object_set_new(per_hour, budget_kinds[k],
					    json_integer(hv.budget_per_hour[k]));
		}
		json_array_append_new(c.hosts, json_pack("{s:s,s:b,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:[]}",
			"uri", hv.uri, "ok", hv.ok, "fault", hv.fault,
			"mode", hv.mode,
			"mem_total_kib", hv.mem_total_kib ? json_integer((json_int_t)hv.mem_total_kib)
							  : json_null(),
			"mem_available_kib", hv.mem_total_kib ?
					     json_integer((json_int_t)hv.mem_available_kib) : json_null(),
			"cpu_used_cores", hv.cpu_capacity > 0 ? json_real(hv.cpu_used) : json_null(),
			"cpu_capacity_cores", hv.cpu_capacity > 0 ? json_real(hv.cpu_capacity)
								  : json_null(),
			"budget_left", budget, "vms"));
		json_object_set_new(json_array_get(c.hosts, i), "budget_per_hour", per_hour);
	}
	vmp_loop_foreach_vm(l, add_vm, &c);
	return json_pack("{s:I,s:I,s:b,s:b,s:b,s:I,s:o,s:o}", "time_ms", (json_int_t)in->time_ms,
			 "cycle", (json_int_t)dc->cycles, "paused", in->paused, "dry_run",
			 in->dry_run, "journal_failing", vmp_loop_counters(l)->journal_failing,
			 "cycle_duration_ms", (json_int_t)in->cycle_duration_ms, "hosts", c.hosts,
			 "cluster", vmp_agent_status(in->agent, in->time_ms));
}

/* ---- Prometheus text ---- */

struct out {
	FILE *f;
	struct vmp_loop *l;
};

/* A label value: backslash, double quote and newline escaped. */
static void
label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void
family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One VM gauge family, written by walking the VMs once per family. */
struct vm_family {
	const char *name, *help;
	int which;
};

enum { VM_DEMAND, VM_ALLOC, VM_MAX, VM_CPU, VM_VCPUS, VM_MIGRATING };

struct vm_ctx {
	struct out *o;
	const char *name;
	int which;
};

static void
vm_sample(void *opaque, const struct vmp_loop_vm_view *v)
{
	struct vm_ctx *c = opaque;
	FILE *f = c->o->f;
	double x;

	switch (c->which) {
	case VM_DEMAND:
		if (!v->mem_demand_kib)
			return;
		x = (double)v->mem_demand_kib * 1024;
		break;
	case VM_ALLOC:
		if (!v->mem_alloc_kib)
			return;
		x = (double)v->mem_alloc_kib * 1024;
		break;
	case VM_MAX:
		if (!v->mem_max_kib)
			return;
		x = (double)v->mem_max_kib * 1024;
		break;
	case VM_CPU:
		if (!v->have_cpu)
			return;
		x = v->cpu_cores;
		break;
	case VM_VCPUS:
		if (!v->vcpus)
			return;
		x = v->vcpus;
		break;
	default:
		x = v->migrating;
		break;
	}
	fprintf(f, "%s{host=\"", c->name);
	label(f, vmp_loop_host_uri(c->o->l, v->host));
	fputs("\",vm=\"", f);
	label(f, v->name);
	fprintf(f, "\"} %.17g\n", x);
}

static void
vm_bottleneck(void *opaque, const struct vmp_loop_vm_view *v)
{
	struct out *o = opaque;

	if (!v->diagnosed || !v->bottleneck)
		return;
	fputs("vmpilot_vm_bottleneck{host=\"", o->f);
	label(o->f, vmp_loop_host_uri(o->l, v->host));
	fputs("\",vm=\"", o->f);
	label(o->f, v->name);
	fprintf(o->f, "\",kind=\"%s\"} 1\n", v->bottleneck);
}

/* The vmpilot_cluster_* families (agent mode). */
static void
cluster_metrics(FILE *f, const struct vmp_publish_info *in)
{
	struct vmp_cluster_counters cc;
	int k;

	vmp_agent_counters(in->agent, in->time_ms, &cc);
	family(f, "vmpilot_cluster_leader", "gauge", "1 while this agent is the cluster's leader");
	fprintf(f, "vmpilot_cluster_leader %d\n", cc.leader);
	family(f, "vmpilot_cluster_leader_changes_total", "counter",
	       "times this agent saw the leadership change (a new term)");
	fprintf(f, "vmpilot_cluster_leader_changes_total %llu\n",
		(unsigned long long)cc.leader_changes);
	family(f, "vmpilot_cluster_snapshot_age_seconds", "gauge",
	       "age of the last cluster snapshot this agent read (no sample before the first)");
	if (cc.snapshot_age_s >= 0)
		fprintf(f, "vmpilot_cluster_snapshot_age_seconds %.3f\n", cc.snapshot_age_s);
	family(f, "vmpilot_cluster_intents", "gauge",
	       "intents (planned moves) in the last snapshot, by state");
	for (k = 0; k < VMP_CLUSTER_INTENT_STATE_MAX; k++)
		fprintf(f, "vmpilot_cluster_intents{state=\"%s\"} %zu\n",
			vmp_cluster_intent_state_name((enum vmp_cluster_intent_state)k),
			cc.intents[k]);
	family(f, "vmpilot_cluster_etcd_up", "gauge", "1 when the last request to etcd succeeded");
	fprintf(f, "vmpilot_cluster_etcd_up %d\n", cc.etcd_up);
	family(f, "vmpilot_cluster_members", "gauge", "agents in the last snapshot");
	fprintf(f, "vmpilot_cluster_members %zu\n", cc.members);
}

char *
vmp_publish_metrics(struct vmp_loop *l, const struct vmp_publish_info *in)
{
	static const struct vm_family vmf[] = {
		{ "vmpilot_vm_memory_demand_bytes", "memory the VM's guest needs, as the memory policy computes it", VM_DEMAND },
		{ "vmpilot_vm_memory_allocation_bytes", "memory the VM has now (balloon target)", VM_ALLOC },
		{ "vmpilot_vm_memory_max_bytes", "the VM's maximum memory", VM_MAX },
		{ "vmpilot_vm_cpu_usage_cores", "vCPU time over wall time in the last cycle", VM_CPU },
		{ "vmpilot_vm_vcpus", "vCPUs the VM has now", VM_VCPUS },
		{ "vmpilot_vm_migrating", "1 while a migration vmpilot started is running", VM_MIGRATING },
	};
	const struct vmp_loop_decision_counts *dc = vmp_loop_decision_counts(l);
	const struct vmp_loop_counters *lc = vmp_loop_counters(l);
	struct out o = { NULL, l };
	char *text = NULL;
	size_t len = 0, i, p;
	int k;

	o.f = open_memstream(&text, &len);
	if (!o.f)
		abort();
	for (i = 0; i < VMP_ARRAY_SIZE(vmf); i++) {
		struct vm_ctx c = { &o, vmf[i].name, vmf[i].which };

		family(o.f, vmf[i].name, "gauge", vmf[i].help);
		vmp_loop_foreach_vm(l, vm_sample, &c);
	}
	family(o.f, "vmpilot_vm_bottleneck", "gauge",
	       "1 for the bottleneck the last cycle's diagnosis named (kind: cpu-contention, "
	       "memory-pressure, io-throttling); no sample when none");
	vmp_loop_foreach_vm(l, vm_bottleneck, &o);
	family(o.f, "vmpilot_host_up", "gauge", "1 when the host listed its VMs in the last cycle");
	for (i = 0; i < vmp_loop_hosts(l); i++) {
		struct vmp_loop_host_view hv;

		vmp_loop_host_view(l, i, &hv);
		fputs("vmpilot_host_up{host=\"", o.f);
		label(o.f, hv.uri);
		fprintf(o.f, "\"} %d\n", hv.ok);
	}
	{
		static const struct {
			const char *name, *help;
		} hf[] = {
			{ "vmpilot_host_memory_total_bytes",
			  "memory the host's VMs may use (its limit, else MemTotal)" },
			{ "vmpilot_host_memory_available_bytes",
			  "memory left on the host after the last cycle's plan" },
			{ "vmpilot_host_cpu_used_cores", "cores the host's VMs use" },
			{ "vmpilot_host_cpu_capacity_cores", "cores the host's VMs may use" },
		};
		size_t n = vmp_loop_hosts(l), f;
		struct vmp_loop_host_view *hv = xcalloc(n + 1, sizeof(*hv));

		for (i = 0; i < n; i++)
			vmp_loop_host_view(l, i, &hv[i]);
		for (f = 0; f < VMP_ARRAY_SIZE(hf); f++) {
			family(o.f, hf[f].name, "gauge", hf[f].help);
			for (i = 0; i < n; i++) {
				double x = f == 0 ? (double)hv[i].mem_total_kib * 1024 :
					   f == 1 ? (double)hv[i].mem_available_kib * 1024 :
					   f == 2 ? hv[i].cpu_used : hv[i].cpu_capacity;

				if ((f < 2 && !hv[i].mem_total_kib) || (f >= 2 && hv[i].cpu_capacity <= 0))
					continue;
				fprintf(o.f, "%s{host=\"", hf[f].name);
				label(o.f, hv[i].uri);
				fprintf(o.f, "\"} %.17g\n", x);
			}
		}
		family(o.f, "vmpilot_budget_left", "gauge",
		       "actions of each kind left in the host's sliding hour");
		for (i = 0; i < n; i++)
			for (k = 0; k < VMP_BUDGET_KIND_MAX; k++) {
				fputs("vmpilot_budget_left{host=\"", o.f);
				label(o.f, hv[i].uri);
				fprintf(o.f, "\",kind=\"%s\"} %u\n", budget_kinds[k],
					hv[i].budget_left[k]);
			}
		free(hv);
	}
	family(o.f, "vmpilot_decisions_total", "counter",
	       "decisions by policy and outcome (none, acted, failed, held)");
	for (p = 0; p < dc->n_policies; p++)
		for (k = 0; k < VMP_LOOP_OUTCOME_MAX; k++)
			fprintf(o.f, "vmpilot_decisions_total{policy=\"%s\",outcome=\"%s\"} %llu\n",
				dc->policy[p], vmp_loop_outcome_name((enum vmp_loop_outcome)k),
				(unsigned long long)dc->decisions[p][k]);
	family(o.f, "vmpilot_actions_total", "counter", "actions carried out, by policy");
	for (p = 0; p < dc->n_policies; p++)
		fprintf(o.f, "vmpilot_actions_total{policy=\"%s\"} %llu\n", dc->policy[p],
			(unsigned long long)dc->decisions[p][VMP_LOOP_ACTED]);
	family(o.f, "vmpilot_faults_total", "counter", "new faults, by kind");
	for (k = 0; k < VMP_FAULT_MAX; k++)
		fprintf(o.f, "vmpilot_faults_total{kind=\"%s\"} %llu\n", fault_kinds[k],
			(unsigned long long)lc->faults[k]);
	family(o.f, "vmpilot_backend_errors_total", "counter",
	       "failed hypervisor calls, counted once per fault until it recovers");
	fprintf(o.f, "vmpilot_backend_errors_total %llu\n",
		(unsigned long long)lc->faults[VMP_FAULT_BACKEND_ERROR]);
	family(o.f, "vmpilot_journal_failing", "gauge",
	       "1 while the journal cannot be written (the loop acts as dry run)");
	fprintf(o.f, "vmpilot_journal_failing %d\n", lc->journal_failing);
	family(o.f, "vmpilot_cycles_total", "counter", "cycles run");
	fprintf(o.f, "vmpilot_cycles_total %llu\n", (unsigned long long)dc->cycles);
	family(o.f, "vmpilot_cycle_duration_seconds", "gauge", "duration of the last cycle");
	fprintf(o.f, "vmpilot_cycle_duration_seconds %.3f\n", (double)in->cycle_duration_ms / 1000);
	family(o.f, "vmpilot_loop_paused", "gauge", "1 while an operator paused the loop");
	fprintf(o.f, "vmpilot_loop_paused %d\n", in->paused);
	family(o.f, "vmpilot_dry_run", "gauge", "1 when the loop never acts");
	fprintf(o.f, "vmpilot_dry_run %d\n", in->dry_run);
	if (in->agent)
		cluster_metrics(o.f, in);
	fclose(o.f);
	return text;
}
