/* SPDX-License-Identifier: MIT */
/* The diagnosis maths of one VM (see diagnose.h and doc/diagnose.md). */
#include "core/diagnose.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void
vmp_diag_params_default(struct vmp_diag_params *p)
{
	p->cpu_steal_frac = 0.10;
	p->mem_avail_frac = 0.10;
	p->mem_swapin_kib_s = 1024;
	p->mem_majflt_s = 200;
	p->mem_stall = 0.5;
	p->io_util = 0.85;
	p->io_held = 0.8;
}

const char *
vmp_diag_name(int resource)
{
	static const char *const names[VMP_DIAG_RESOURCE_MAX] = {
		"cpu-contention", "memory-pressure", "io-throttling",
	};

	return resource >= 0 && resource < VMP_DIAG_RESOURCE_MAX ? names[resource] : "none";
}

static double
clamp01(double v)
{
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

/* Counter delta, 0 when it went backwards (a reset or a migration). */
static double
delta(uint64_t b, uint64_t a)
{
	return b >= a ? (double)(b - a) : 0;
}

static double
maxd(double a, double b)
{
	return a > b ? a : b;
}

int
vmp_diag_run(const struct vmp_diag_params *p, const struct vmp_diag_input *in,
	     struct vmp_diag_result *ret)
{
	const struct vmp_diag_sample *a = &in->a, *b = &in->b;
	struct vmp_diag_result r;
	double dt, vcpu_s, worst = 0, threshold[VMP_DIAG_RESOURCE_MAX];
	int k;

	if (b->time_us <= a->time_us)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	r.bottleneck = -1;
	dt = (double)(b->time_us - a->time_us) / 1e6;
	vcpu_s = dt * (in->vcpus ? in->vcpus : 1);

	/* CPU: steal = vCPU time spent runnable but not running, per vCPU second. */
	if (a->have_delay && b->have_delay) {
		r.measured[VMP_DIAG_CPU] = true;
		r.steal_frac = clamp01(delta(b->vcpu_delay_ns, a->vcpu_delay_ns) / 1e9 / vcpu_s);
		if (a->have_cpu && b->have_cpu)
			r.cpu_busy_frac = clamp01(delta(b->cpu_time_ns, a->cpu_time_ns) / 1e9 / vcpu_s);
		r.stall[VMP_DIAG_CPU] = r.steal_frac;
		if (b->have_psi)
			r.stall[VMP_DIAG_CPU] = maxd(r.stall[VMP_DIAG_CPU], clamp01(b->psi_cpu_some / 100));
		snprintf(r.evidence[VMP_DIAG_CPU], sizeof(r.evidence[0]),
			 "steal %.0f%%: the vCPUs waited %.2f s of %.2f vCPU-s for a host CPU, ran %.0f%%%s",
			 100 * r.steal_frac, delta(b->vcpu_delay_ns, a->vcpu_delay_ns) / 1e9, vcpu_s,
			 100 * r.cpu_busy_frac, b->have_psi ? "; cgroup cpu PSI counted" : "");
	}
	/* Memory: the worst of available memory, swap-in and major faults. */
	if (b->have_balloon || b->have_swap || b->have_faults) {
		double squeeze = 0, swap = 0, faults = 0;

		r.measured[VMP_DIAG_MEMORY] = true;
		if (b->have_balloon && b->mem_total_kib) {
			r.avail_frac = (double)b->mem_available_kib / (double)b->mem_total_kib;
			squeeze = clamp01((p->mem_avail_frac - r.avail_frac) / p->mem_avail_frac);
			r.balloon_stuck = in->balloon_target_kib &&
					  b->balloon_actual_kib > in->balloon_target_kib + in->balloon_target_kib / 20;
		}
		if (a->have_swap && b->have_swap) {
			r.swapin_kib_s = delta(b->swap_in_kib, a->swap_in_kib) / dt;
			swap = clamp01(r.swapin_kib_s / p->mem_swapin_kib_s);
		}
		if (a->have_faults && b->have_faults) {
			r.majflt_s = delta(b->major_faults, a->major_faults) / dt;
			faults = clamp01(r.majflt_s / p->mem_majflt_s);
		}
		r.stall[VMP_DIAG_MEMORY] = maxd(squeeze, maxd(swap, faults));
		if (b->have_psi)
			r.stall[VMP_DIAG_MEMORY] = maxd(r.stall[VMP_DIAG_MEMORY], clamp01(b->psi_mem_full / 100));
		snprintf(r.evidence[VMP_DIAG_MEMORY], sizeof(r.evidence[0]),
			 "%.1f%% of guest memory available (%llu of %llu KiB), swap-in %.0f KiB/s, "
			 "%.0f major faults/s%s",
			 100 * r.avail_frac, (unsigned long long)b->mem_available_kib,
			 (unsigned long long)b->mem_total_kib, r.swapin_kib_s, r.majflt_s,
			 r.balloon_stuck ? "; the balloon cannot reach its target (guest memory in use)" : "");
	}
	/*
	 * I/O: the used fraction of the configured limit, and how long each request was
	 * held against what the limit implies for it. A writer with one request in flight
	 * under TCG gets 50-70 % of its limit, but each of its requests waits the limit's
	 * time (size / bytes limit, or 1 / IOPS limit): that wait is the throttling.
	 */
	if (a->have_block && b->have_block) {
		double util = 0, ops, implied_ms = 0, held = 0;
		bool throttled;

		r.measured[VMP_DIAG_IO] = true;
		ops = delta(b->io_ops, a->io_ops);
		r.iops = ops / dt;
		r.bytes_s = delta(b->io_bytes, a->io_bytes) / dt;
		r.io_busy = delta(b->io_time_ns, a->io_time_ns) / 1e9 / dt;
		r.io_latency_ms = ops > 0 ? delta(b->io_time_ns, a->io_time_ns) / 1e6 / ops : 0;
		if (in->limit_iops) {
			util = maxd(util, r.iops / (double)in->limit_iops);
			implied_ms = maxd(implied_ms, 1000.0 / (double)in->limit_iops);
		}
		if (in->limit_bytes_s) {
			util = maxd(util, r.bytes_s / (double)in->limit_bytes_s);
			if (ops > 0)
				implied_ms = maxd(implied_ms, 1000.0 * delta(b->io_bytes, a->io_bytes) / ops /
								 (double)in->limit_bytes_s);
		}
		if (implied_ms > 0)
			held = r.io_latency_ms / implied_ms;
		throttled = util >= p->io_util || (ops > 0 && held >= p->io_held);
		r.stall[VMP_DIAG_IO] = throttled ? clamp01(maxd(util, held)) : 0;
		if (b->have_psi)
			r.stall[VMP_DIAG_IO] = maxd(r.stall[VMP_DIAG_IO], clamp01(b->psi_io_full / 100));
		if (in->limit_iops || in->limit_bytes_s)
			snprintf(r.evidence[VMP_DIAG_IO], sizeof(r.evidence[0]),
				 "%.0f IOPS and %.0f KiB/s against limits of %llu IOPS and %llu KiB/s (%.0f%% used); "
				 "each request took %.0f ms, the limit holds one for %.0f ms",
				 r.iops, r.bytes_s / 1024, (unsigned long long)in->limit_iops,
				 (unsigned long long)(in->limit_bytes_s / 1024), 100 * util, r.io_latency_ms,
				 implied_ms);
		else
			snprintf(r.evidence[VMP_DIAG_IO], sizeof(r.evidence[0]),
				 "%.0f IOPS and %.0f KiB/s, no I/O limit; %.0f ms per request",
				 r.iops, r.bytes_s / 1024, r.io_latency_ms);
	}
	threshold[VMP_DIAG_CPU] = p->cpu_steal_frac;
	threshold[VMP_DIAG_MEMORY] = p->mem_stall;
	threshold[VMP_DIAG_IO] = p->io_util;
	for (k = 0; k < VMP_DIAG_RESOURCE_MAX; k++) {
		if (r.stall[k] > worst)
			worst = r.stall[k];
		if (r.measured[k] && r.stall[k] >= threshold[k] &&
		    (r.bottleneck < 0 || r.stall[k] / threshold[k] > r.stall[r.bottleneck] / threshold[r.bottleneck]))
			r.bottleneck = k;
	}
	r.score = (unsigned)(100 * (1 - worst) + 0.5);
	switch (r.bottleneck) {
	case VMP_DIAG_CPU:
		snprintf(r.fix, sizeof(r.fix), "the host's CPUs are oversubscribed where this VM runs: move it "
			 "or a neighbour (vmpilot's planner), pin it to idle CPUs (workload profile 'latency'), "
			 "or raise its CPU shares");
		break;
	case VMP_DIAG_MEMORY:
		snprintf(r.fix, sizeof(r.fix), "give the guest memory: raise its balloon target%s (vmpilot's "
			 "right-sizer grows it) or its memory floor (mem_min_kib)",
			 r.balloon_stuck ? " above what it uses" : "");
		break;
	case VMP_DIAG_IO:
		snprintf(r.fix, sizeof(r.fix), "the disk runs at its I/O limit: raise it (virsh blkdeviotune VM DISK "
			 "--total-bytes-sec/--total-iops-sec, or the workload profile's limits) or move the writer");
		break;
	default:
		snprintf(r.fix, sizeof(r.fix), "nothing to fix");
	}
	*ret = r;
	return 0;
}
