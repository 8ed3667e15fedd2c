/* SPDX-License-Identifier: MIT */
/* The backend registry and the wrappers that make a NULL slot mean "unsupported". */
#include "build-config.h"
#include "backend/backend.h"
#include "core/diagnose.h"
#include "util/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct vmp_backend {
	const struct vmp_backend_ops *ops;
	char *uri;
	unsigned timeout_ms;
	int64_t deadline_ms;       /* CLOCK_MONOTONIC; 0 = none */
	char *peer_uids;           /* NULL = root and our own uid */
	void *priv;
	char error[1024];
};

/* Add a backend: declare its ops in backend-impl.h-style extern here and list it. */
#if VMP_HAVE_LIBVIRT
extern const struct vmp_backend_ops vmp_backend_libvirt;
#endif
extern const struct vmp_backend_ops vmp_backend_qmp;
extern const struct vmp_backend_ops vmp_backend_sim;
const struct vmp_backend_ops *const vmp_backends[] = {
#if VMP_HAVE_LIBVIRT
	&vmp_backend_libvirt,
#endif
	&vmp_backend_qmp,
	&vmp_backend_sim,
	NULL,
};

const char *
vmp_vm_state_name(enum vmp_vm_state s)
{
	static const char *const names[VMP_VM_STATE_MAX] = {
		[VMP_VM_UNKNOWN] = "unknown",
		[VMP_VM_RUNNING] = "running",
		[VMP_VM_PAUSED] = "paused",
		[VMP_VM_SHUTOFF] = "shutoff",
		[VMP_VM_CRASHED] = "crashed",
		[VMP_VM_MIGRATING] = "migrating",
	};

	return (unsigned)s < VMP_VM_STATE_MAX ? names[s] : "unknown";
}

int
vmp_backend_open(const char *uri, unsigned timeout_ms, struct vmp_backend **ret_b,
		 char **ret_err)
{
	struct vmp_backend *b;
	size_t i;
	int r;

	for (i = 0; vmp_backends[i]; i++)
		if (vmp_backends[i]->accepts(uri))
			break;
	if (!vmp_backends[i]) {
		*ret_err = xasprintf("cannot open '%s': no backend handles this URI", uri);
		return -EPROTONOSUPPORT;
	}
	b = xcalloc(1, sizeof(*b));
	b->ops = vmp_backends[i];
	b->uri = xstrdup(uri);
	b->timeout_ms = timeout_ms ? timeout_ms : 10000;
	r = b->ops->open(b, uri);
	if (r < 0) {
		*ret_err = xstrdup(b->error[0] ? b->error : strerror(-r));
		free(b->uri);
		free(b);
		return r;
	}
	*ret_b = b;
	return 0;
}

void
vmp_backend_close(struct vmp_backend *b)
{
	if (!b)
		return;
	if (b->ops->close)
		b->ops->close(b);
	free(b->uri);
	free(b->peer_uids);
	free(b);
}

const char *
vmp_backend_error(const struct vmp_backend *b)
{
	return b->error;
}

const char *
vmp_backend_name(const struct vmp_backend *b)
{
	return b->ops->name;
}

const char *
vmp_backend_uri(const struct vmp_backend *b)
{
	return b->uri;
}

void
vmp_backend_set_peer_uids(struct vmp_backend *b, const char *uids)
{
	free(b->peer_uids);
	b->peer_uids = uids && *uids ? xstrdup(uids) : NULL;
}

bool
vmp_backend_peer_uid_allowed(const struct vmp_backend *b, long uid)
{
	const char *p;

	if (uid < 0)
		return false;
	if (uid == 0 || uid == (long)getuid())
		return true;
	for (p = b->peer_uids; p && *p;) {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		if (v == uid)
			return true;
		p = end;
		while (*p == ',' || *p == ' ')
			p++;
	}
	return false;
}

void
vmp_backend_set_deadline(struct vmp_backend *b, int64_t deadline_ms)
{
	b->deadline_ms = deadline_ms;
}

unsigned
vmp_backend_timeout_ms(const struct vmp_backend *b)
{
	struct timespec ts;
	int64_t left;

	if (!b->deadline_ms)
		return b->timeout_ms;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	left = b->deadline_ms - ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	if (left < 1)
		return 1;
	return left < (int64_t)b->timeout_ms ? (unsigned)left : b->timeout_ms;
}

void
vmp_backend_set_priv(struct vmp_backend *b, void *priv)
{
	b->priv = priv;
}

void *
vmp_backend_priv(const struct vmp_backend *b)
{
	return b->priv;
}

int
vmp_backend_fail(struct vmp_backend *b, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->error, sizeof(b->error), fmt, ap);
	va_end(ap);
	return err > 0 ? -err : err;
}

static int
unsupported(struct vmp_backend *b, const char *what, const char *vm)
{
	if (vm)
		return vmp_backend_fail(b, ENOTSUP, "cannot %s of vm '%s': not supported by the %s backend",
					what, vm, b->ops->name);
	return vmp_backend_fail(b, ENOTSUP, "cannot %s: not supported by the %s backend", what,
				b->ops->name);
}

#define CALL(slot, what, vm, ...) \
	(b->error[0] = '\0', b->ops->slot ? b->ops->slot(b, __VA_ARGS__) : unsupported(b, what, vm))

int
vmp_backend_host_info(struct vmp_backend *b, struct vmp_host_info *ret)
{
	return CALL(host_info, "get host info", NULL, ret);
}

int
vmp_backend_host_stats(struct vmp_backend *b, struct vmp_host_stats *ret)
{
	return CALL(host_stats, "get host stats", NULL, ret);
}

int
vmp_backend_list_vms(struct vmp_backend *b, struct vmp_vm_info **ret_vms)
{
	return CALL(list_vms, "list vms", NULL, ret_vms);
}

int
vmp_backend_vm_stats(struct vmp_backend *b, const char *vm, struct vmp_vm_stats *ret)
{
	return CALL(vm_stats, "get stats", vm, vm, ret);
}

int
vmp_backend_set_balloon(struct vmp_backend *b, const char *vm, uint64_t target_kib)
{
	return CALL(set_balloon, "set balloon", vm, vm, target_kib);
}

int
vmp_backend_set_stats_period(struct vmp_backend *b, const char *vm, unsigned period_s)
{
	return CALL(set_stats_period, "set the stats period", vm, vm, period_s);
}

int
vmp_backend_set_vcpus(struct vmp_backend *b, const char *vm, unsigned count)
{
	return CALL(set_vcpus, "set vcpus", vm, vm, count);
}

int
vmp_backend_pin_vcpu(struct vmp_backend *b, const char *vm, unsigned vcpu, const char *cpulist)
{
	return CALL(pin_vcpu, "pin vcpu", vm, vm, vcpu, cpulist);
}

int
vmp_backend_set_cpu_quota(struct vmp_backend *b, const char *vm, int64_t quota_us,
			  uint64_t period_us, uint64_t shares)
{
	return CALL(set_cpu_quota, "set cpu quota", vm, vm, quota_us, period_us, shares);
}

int
vmp_backend_vm_config(struct vmp_backend *b, const char *vm, char **ret_xml)
{
	return CALL(vm_config, "get configuration", vm, vm, ret_xml);
}

int
vmp_backend_set_block_iotune(struct vmp_backend *b, const char *vm, const char *disk,
			     const struct vmp_block_iotune *t)
{
	return CALL(set_block_iotune, "set disk limits", vm, vm, disk, t);
}

int
vmp_backend_migrate_start(struct vmp_backend *b, const char *vm,
			  const struct vmp_migrate_params *params)
{
	return CALL(migrate_start, "migrate", vm, vm, params);
}

int
vmp_backend_migrate_poll(struct vmp_backend *b, const char *vm, struct vmp_migrate_progress *ret)
{
	return CALL(migrate_poll, "poll migration", vm, vm, ret);
}

int
vmp_backend_migrate_cancel(struct vmp_backend *b, const char *vm)
{
	return CALL(migrate_cancel, "cancel migration", vm, vm);
}

int
vmp_backend_dirty_rate(struct vmp_backend *b, const char *vm, unsigned calc_ms,
		       uint64_t *ret_mib_per_s)
{
	return CALL(dirty_rate, "measure dirty rate", vm, vm, calc_ms, ret_mib_per_s);
}

void
vmp_backend_diag_sample(const struct vmp_vm_stats *s, struct vmp_diag_sample *d)
{
	memset(d, 0, sizeof(*d));
	d->time_us = s->sample_time_us;
	d->have_cpu = s->valid & VMP_STAT_CPU_TIME;
	d->have_delay = s->valid & VMP_STAT_VCPU_DELAY;
	d->have_balloon = (s->valid & VMP_STAT_MEM_AVAILABLE) && (s->valid & VMP_STAT_MEM_USABLE);
	d->have_swap = s->valid & VMP_STAT_SWAP;
	d->have_faults = s->valid & VMP_STAT_FAULTS;
	d->have_block = s->valid & VMP_STAT_BLOCK;
	d->cpu_time_ns = s->cpu_time_ns;
	d->vcpu_delay_ns = s->vcpu_delay_ns;
	d->balloon_actual_kib = s->balloon_actual_kib;
	d->mem_total_kib = s->mem_available_kib;
	d->mem_available_kib = s->mem_usable_kib;
	d->swap_in_kib = s->swap_in_kib;
	d->major_faults = s->major_faults;
	d->io_ops = s->block_rd_ops + s->block_wr_ops;
	d->io_bytes = s->block_rd_bytes + s->block_wr_bytes;
	d->io_time_ns = s->block_rd_time_ns + s->block_wr_time_ns;
}
