/* SPDX-License-Identifier: MIT */
/* ksmtuned's algorithm and the kernel advisor switch (see ksm.h, doc/policies.md). */
#include "core/ksm.h"

#include <errno.h>
#include <string.h>

void
vmp_ksm_params_default(struct vmp_ksm_params *p)
{
	memset(p, 0, sizeof(*p));
	p->npages_boost = 300;
	p->npages_decay = -50;
	p->npages_min = 64;
	p->npages_max = 1250;
	p->thres_coef_pct = 20;
	p->thres_const_kib = 2048;
	p->sleep_msec = 10;
	p->prefer_advisor = true;
	p->advisor_max_cpu_pct = 70;
	p->advisor_target_scan_time_s = 200;
}

int
vmp_ksm_decide(const struct vmp_ksm_params *p, const struct vmp_ksm_input *in,
	       struct vmp_ksm_setting *ret, struct vmp_decision *d)
{
	uint64_t thres, sleep;
	int64_t npages;
	struct vmp_ksm_setting s;

	vmp_decision_init(d, "ksm_pages_to_scan", in->npages_now);
	if (in->total_kib == 0)
		return -EINVAL;
	memset(&s, 0, sizeof(s));
	thres = in->total_kib * p->thres_coef_pct / 100;
	if (thres < p->thres_const_kib)
		thres = p->thres_const_kib;
	sleep = (uint64_t)p->sleep_msec * 16 * 1024 * 1024 / in->total_kib;
	s.sleep_millisecs = sleep < 10 ? 10 : (unsigned)sleep;
	s.advisor_max_cpu_pct = p->advisor_max_cpu_pct;
	s.advisor_target_scan_time_s = p->advisor_target_scan_time_s;
	s.pages_to_scan = in->npages_now;

	/* No overcommit in sight: merging would only burn CPU. */
	if (!vmp_decision_check(d, "committed_plus_thres_kib", (double)(in->committed_kib + thres),
				(double)in->total_kib, in->committed_kib + thres >= in->total_kib)) {
		s.run = false;
		vmp_decision_reject(d, "run ksm", in->npages_now, "committed memory fits the host");
		vmp_decision_set(d, VMP_ACT_SET, VMP_WHY_KSM_TUNE, in->npages_now);
		*ret = s;
		return 0;
	}
	s.run = true;
	if (p->prefer_advisor && in->advisor_available) {
		/* The kernel sizes pages_to_scan itself to reach the target scan time. */
		s.use_advisor = true;
		vmp_decision_check(d, "advisor_available", 1, 1, true);
		vmp_decision_reject(d, "ksmtuned boost/decay", in->npages_now,
				    "kernel scan-time advisor available");
		vmp_decision_set(d, VMP_ACT_SET, VMP_WHY_KSM_TUNE, in->npages_now);
		*ret = s;
		return 0;
	}
	npages = in->npages_now;
	if (vmp_decision_check(d, "free_kib", (double)in->free_kib, (double)thres,
			       in->free_kib < thres))
		npages += p->npages_boost;
	else
		npages += p->npages_decay;
	if (npages > p->npages_max)
		npages = p->npages_max;
	if (npages < p->npages_min)
		npages = p->npages_min;
	s.pages_to_scan = (unsigned)npages;
	vmp_decision_set(d, npages > in->npages_now ? VMP_ACT_GROW :
			 npages < in->npages_now ? VMP_ACT_SHRINK : VMP_ACT_NONE,
			 VMP_WHY_KSM_TUNE, (double)npages);
	*ret = s;
	return 0;
}
