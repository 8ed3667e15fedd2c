/* SPDX-License-Identifier: MIT */
/*
 * The "knob.owners" check of `vmpilot check`: which services write the knobs vmpilot
 * tunes (owner.h), and a WARN when two writers (two services, or a service and an
 * applied `vmpilot tune` profile) share one knob.
 */
#include "host/check-probe.h"
#include "host/owner.h"
#include "host/tune.h"

#include <stdlib.h>
#include <string.h>

void
vmp_probe_knob_owners(struct vmp_check_ctx *ctx, struct vmp_check_result *r)
{
	struct vmp_tune_roots roots = { ctx->root, ctx->root };
	bool tuned_by_us[VMP_KNOB_MAX] = { false };
	struct vmp_owner_scan s;
	char *profile, *conflicts = NULL, *fix = NULL, *active = NULL, *enabled = NULL;
	size_t i;
	int k;

	vmp_owner_scan(ctx->root, &s);
	profile = vmp_tune_applied_profile(&roots, tuned_by_us);
	for (k = 0; k < VMP_KNOB_MAX; k++) {
		char *writers = NULL;
		const struct vmp_owner *second = NULL;
		unsigned n = 0;

		if (profile && tuned_by_us[k]) {
			ck_append(&writers, " and ", "vmpilot tune (profile '%s')", profile);
			n++;
		}
		for (i = 0; i < s.n; i++) {
			const struct vmp_owner *o = &s.owners[i];

			if (!o->active || !o->knobs[k])
				continue;
			ck_append(&writers, " and ", "%s (%s)", vmp_owner_name(o), o->evidence);
			if (n++ >= 1 && !second)
				second = o;
		}
		if (n >= 2) {
			ck_append(&conflicts, "; ", "%s has %u writers: %s", vmp_knob_id((enum vmp_knob)k), n, writers);
			if (second)
				ck_append(&fix, "; ", "%s", vmp_owner_handover(second));
			else
				ck_append(&fix, "; ", "vmpilot tune rollback");
		}
		free(writers);
	}
	for (i = 0; i < s.n; i++) {
		const struct vmp_owner *o = &s.owners[i];
		char *list = NULL;

		for (k = 0; k < VMP_KNOB_MAX; k++)
			if (o->knobs[k])
				ck_append(&list, ",", "%s", vmp_knob_id((enum vmp_knob)k));
		if (o->active)
			ck_append(&active, "; ", "%s%s%s%s owns %s [%s]", vmp_owner_name(o), o->detail ? " (" : "",
				  o->detail ? o->detail : "", o->detail ? ")" : "", list ? list : "nothing", o->evidence);
		else
			ck_append(&enabled, "; ", "%s (%s)", vmp_owner_name(o), o->evidence);
		free(list);
	}
	if (conflicts)
		ck_set(r, VMP_CHECK_WARN, fix, "two writers on one knob: %s", conflicts);
	else if (active || enabled || profile)
		ck_set(r, VMP_CHECK_INFO, NULL, "%s%s%s%s%s%s", active ? active : "", active && enabled ? "; " : "",
		       enabled ? "present but not running: " : "", enabled ? enabled : "",
		       profile && (active || enabled) ? "; " : "",
		       profile ? "vmpilot tune profile applied" : "");
	else
		ck_set(r, VMP_CHECK_PASS, NULL, "no other service writes the knobs vmpilot tunes");
	free(conflicts);
	free(fix);
	free(active);
	free(enabled);
	free(profile);
	vmp_owner_scan_clear(&s);
}
