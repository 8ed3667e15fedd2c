/* SPDX-License-Identifier: MIT */
/*
 * What the libvirt backend reads from libvirt's replies: a domain's XML (libxml2 XPath:
 * sizes, balloon, vmpilot's metadata, disks) and the typed parameters of domain
 * statistics; and the flags a migration needs from them. Kept apart from the API calls so the
 * unit tests and a fuzz target can feed them malformed replies.
 */
#include "backend/libvirt-parse.h"
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

bool
vmp_libvirt_param_u64(const virTypedParameter *p, uint64_t *ret)
{
	switch (p->type) {
	case VIR_TYPED_PARAM_ULLONG:
		*ret = p->value.ul;
		return true;
	case VIR_TYPED_PARAM_LLONG:
		if (p->value.l < 0)
			return false;
		*ret = (uint64_t)p->value.l;
		return true;
	case VIR_TYPED_PARAM_UINT:
		*ret = p->value.ui;
		return true;
	case VIR_TYPED_PARAM_INT:
		if (p->value.i < 0)
			return false;
		*ret = (uint64_t)p->value.i;
		return true;
	default:
		return false;
	}
}

/* The string value of an XPath expression, or NULL (caller frees with xmlFree). */
static char *
xpath_str(xmlXPathContextPtr ctx, const char *expr)
{
	xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
	char *s = NULL;

	if (o && o->type == XPATH_STRING && o->stringval && o->stringval[0])
		s = (char *)xmlStrdup(o->stringval);
	xmlXPathFreeObject(o);
	return s;
}

/* Whether the element named by a relative XPath exists below the context node. */
static bool
xpath_str_present(xmlXPathContextPtr ctx, const char *expr)
{
	xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
	bool r = o && o->type == XPATH_NODESET && o->nodesetval && o->nodesetval->nodeNr > 0;

	xmlXPathFreeObject(o);
	return r;
}

/*
 * Reads a number (with an optional unit attribute, KiB when absent) from the domain
 * XML. Returns 1 when found, 0 when absent, -EPROTO when malformed.
 */
static int
xpath_u64(xmlXPathContextPtr ctx, const char *expr, const char *unit_expr, uint64_t *ret)
{
	char *s = xpath_str(ctx, expr), *unit = unit_expr ? xpath_str(ctx, unit_expr) : NULL;
	uint64_t v;
	int r = 1;

	if (!s) {
		r = 0;
	} else if (vmp_parse_u64(s, &v) < 0) {
		r = -EPROTO;
	} else if (unit && strcmp(unit, "KiB") != 0 && strcmp(unit, "k") != 0) {
		if (strcmp(unit, "MiB") == 0 && v <= UINT64_MAX / 1024)
			v *= 1024;
		else if (strcmp(unit, "GiB") == 0 && v <= UINT64_MAX / (1024 * 1024))
			v *= 1024 * 1024;
		else
			r = -EPROTO;
	}
	if (r == 1)
		*ret = v;
	xmlFree(s);
	xmlFree(unit);
	return r;
}

int
vmp_libvirt_parse_domain_xml(const char *xml, struct vmp_vm_info *vi)
{
	xmlDocPtr doc;
	xmlXPathContextPtr ctx = NULL;
	uint64_t vmax = 0, vcur = 0, mem = 0, cur = 0, period = 0;
	char *model = NULL, *mode = NULL, *profile = NULL;
	int r = -EPROTO, have_cur, have_period;

	doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		return -EPROTO;
	ctx = xmlXPathNewContext(doc);
	if (!ctx)
		goto out;
	if (xpath_u64(ctx, "string(/domain/vcpu)", NULL, &vmax) != 1 || vmax == 0 ||
	    vmax > VMP_VCPU_MAX)
		goto out;
	have_cur = xpath_u64(ctx, "string(/domain/vcpu/@current)", NULL, &vcur);
	if (have_cur < 0 || vcur > vmax)
		goto out;
	if (xpath_u64(ctx, "string(/domain/memory)", "string(/domain/memory/@unit)", &mem) != 1)
		goto out;
	if (xpath_u64(ctx, "string(/domain/currentMemory)",
		      "string(/domain/currentMemory/@unit)", &cur) < 0)
		goto out;
	have_period = xpath_u64(ctx, "string(/domain/devices/memballoon/stats/@period)", NULL,
				&period);
	if (have_period < 0 || period > INT32_MAX)
		goto out;
	model = xpath_str(ctx, "string(/domain/devices/memballoon/@model)");
	if (xmlXPathRegisterNs(ctx, (const xmlChar *)"vmp",
			       (const xmlChar *)VMP_LIBVIRT_METADATA_NS) == 0) {
		mode = xpath_str(ctx, "normalize-space(/domain/metadata/vmp:mode)");
		profile = xpath_str(ctx, "normalize-space(/domain/metadata/vmp:profile)");
	}
	snprintf(vi->mode, sizeof(vi->mode), "%s", mode ? mode : "");
	snprintf(vi->profile, sizeof(vi->profile), "%s", profile ? profile : "");
	vi->vcpus_max = (unsigned)vmax;
	vi->vcpus_current = have_cur == 1 ? (unsigned)vcur : (unsigned)vmax;
	vi->memory_max_kib = mem;
	vi->memory_current_kib = cur ? cur : mem;
	vi->has_balloon = model && strcmp(model, "none") != 0;
	vi->stats_period_s = vi->has_balloon ? (int)period : 0;
	r = 0;
out:
	xmlFree(model);
	xmlFree(mode);
	xmlFree(profile);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return r;
}

static const struct {
	const char *name;
	uint32_t bit;
	size_t offset;
} stat_fields[] = {
	{ "cpu.time", VMP_STAT_CPU_TIME, offsetof(struct vmp_vm_stats, cpu_time_ns) },
	{ "balloon.current", VMP_STAT_BALLOON_ACTUAL,
	  offsetof(struct vmp_vm_stats, balloon_actual_kib) },
	{ "balloon.unused", VMP_STAT_MEM_UNUSED, offsetof(struct vmp_vm_stats, mem_unused_kib) },
	{ "balloon.available", VMP_STAT_MEM_AVAILABLE,
	  offsetof(struct vmp_vm_stats, mem_available_kib) },
	{ "balloon.usable", VMP_STAT_MEM_USABLE, offsetof(struct vmp_vm_stats, mem_usable_kib) },
	{ "balloon.disk_caches", VMP_STAT_MEM_DISK_CACHES,
	  offsetof(struct vmp_vm_stats, mem_disk_caches_kib) },
	{ "balloon.swap_in", VMP_STAT_SWAP, offsetof(struct vmp_vm_stats, swap_in_kib) },
	{ "balloon.swap_out", VMP_STAT_SWAP, offsetof(struct vmp_vm_stats, swap_out_kib) },
	{ "balloon.major_fault", VMP_STAT_FAULTS, offsetof(struct vmp_vm_stats, major_faults) },
	{ "balloon.minor_fault", VMP_STAT_FAULTS, offsetof(struct vmp_vm_stats, minor_faults) },
};

/* Matches "PREFIX.<n>.SUFFIX"; returns n or -1. */
static long
indexed(const char *field, const char *prefix, const char *suffix)
{
	size_t plen = strlen(prefix);
	char *end;
	long n;

	if (strncmp(field, prefix, plen) != 0 || field[plen] < '0' || field[plen] > '9')
		return -1;
	n = strtol(field + plen, &end, 10);
	if (*end != '.' || strcmp(end + 1, suffix) != 0 || n < 0 || n > 1000000)
		return -1;
	return n;
}

void
vmp_libvirt_parse_stats(const virTypedParameter *params, int nparams, struct vmp_vm_stats *st)
{
	int i;
	size_t j;

	for (i = 0; i < nparams; i++) {
		const virTypedParameter *tp = &params[i];
		const char *f = tp->field;
		uint64_t v;
		long n;

		if (!vmp_libvirt_param_u64(tp, &v))
			continue;
		for (j = 0; j < VMP_ARRAY_SIZE(stat_fields); j++) {
			if (strcmp(f, stat_fields[j].name) == 0) {
				*(uint64_t *)((char *)st + stat_fields[j].offset) = v;
				st->valid |= stat_fields[j].bit;
				break;
			}
		}
		if (j < VMP_ARRAY_SIZE(stat_fields))
			continue;
		n = indexed(f, "vcpu.", "time");
		if (n >= 0 && n < VMP_VCPU_MAX) {
			st->vcpu_time_ns[n] = v;
			if ((unsigned)n + 1 > st->nvcpus)
				st->nvcpus = (unsigned)n + 1;
			st->valid |= VMP_STAT_VCPU_TIME;
		} else if (indexed(f, "vcpu.", "wait") >= 0) {
			st->vcpu_wait_ns += v;
			st->valid |= VMP_STAT_VCPU_WAIT;
		} else if (indexed(f, "vcpu.", "delay") >= 0) {
			st->vcpu_delay_ns += v;
			st->valid |= VMP_STAT_VCPU_DELAY;
		} else if (indexed(f, "block.", "rd.bytes") >= 0) {
			st->block_rd_bytes += v;
			st->valid |= VMP_STAT_BLOCK;
		} else if (indexed(f, "block.", "wr.bytes") >= 0) {
			st->block_wr_bytes += v;
			st->valid |= VMP_STAT_BLOCK;
		} else if (indexed(f, "block.", "rd.reqs") >= 0) {
			st->block_rd_ops += v;
			st->valid |= VMP_STAT_BLOCK;
		} else if (indexed(f, "block.", "wr.reqs") >= 0) {
			st->block_wr_ops += v;
			st->valid |= VMP_STAT_BLOCK;
		} else if (indexed(f, "block.", "rd.times") >= 0) {
			st->block_rd_time_ns += v;
		} else if (indexed(f, "block.", "wr.times") >= 0) {
			st->block_wr_time_ns += v;
		} else if (indexed(f, "net.", "rx.bytes") >= 0) {
			st->net_rx_bytes += v;
			st->valid |= VMP_STAT_NET;
		} else if (indexed(f, "net.", "tx.bytes") >= 0) {
			st->net_tx_bytes += v;
			st->valid |= VMP_STAT_NET;
		}
	}
}

int
vmp_libvirt_parse_disks(const char *xml, struct vmp_libvirt_disk **ret_disks, size_t *ret_n)
{
	xmlDocPtr doc;
	xmlXPathContextPtr ctx = NULL;
	xmlXPathObjectPtr set = NULL;
	struct vmp_libvirt_disk *disks = NULL;
	size_t n = 0;
	int i, r = -EPROTO;

	doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		return -EPROTO;
	ctx = xmlXPathNewContext(doc);
	if (!ctx)
		goto out;
	set = xmlXPathEvalExpression((const xmlChar *)"/domain/devices/disk", ctx);
	if (!set || set->type != XPATH_NODESET)
		goto out;
	n = set->nodesetval ? (size_t)set->nodesetval->nodeNr : 0;
	disks = xcalloc(n + 1, sizeof(*disks));
	for (i = 0; i < (int)n; i++) {
		struct vmp_libvirt_disk *d = &disks[i];
		char *type, *device, *target, *src;

		ctx->node = set->nodesetval->nodeTab[i];
		type = xpath_str(ctx, "string(@type)");
		device = xpath_str(ctx, "string(@device)");
		target = xpath_str(ctx, "string(target/@dev)");
		/* file=, dev=, dir=, or name= for network disks (pool/image, iqn/lun). */
		src = xpath_str(ctx, "string(source/@file | source/@dev | source/@dir | "
				     "source/@name | source/@volume)");
		snprintf(d->target, sizeof(d->target), "%s", target ? target : "?");
		snprintf(d->source, sizeof(d->source), "%s", src ? src : "");
		d->network = type && !strcmp(type, "network");
		/* libvirt gives a cdrom read-only whatever the XML says. */
		d->readonly = xpath_str_present(ctx, "readonly") ||
			      (device && !strcmp(device, "cdrom"));
		d->shareable = xpath_str_present(ctx, "shareable");
		xmlFree(type);
		xmlFree(device);
		xmlFree(target);
		xmlFree(src);
	}
	*ret_disks = disks;
	*ret_n = n;
	disks = NULL;
	r = 0;
out:
	free(disks);
	xmlXPathFreeObject(set);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return r;
}

bool
vmp_libvirt_disk_needs_copy(const struct vmp_libvirt_disk *d)
{
	return !d->readonly && !d->shareable && !d->network && d->source[0];
}

unsigned long
vmp_libvirt_migrate_flags(bool persistent, bool copy_disks, const struct vmp_migrate_params *mp)
{
	unsigned long f = VIR_MIGRATE_LIVE;

	if (persistent)
		f |= VIR_MIGRATE_PERSIST_DEST | VIR_MIGRATE_UNDEFINE_SOURCE;
	if (copy_disks)
		f |= VIR_MIGRATE_NON_SHARED_DISK;
	if (mp->auto_converge)
		f |= VIR_MIGRATE_AUTO_CONVERGE;
	if (mp->postcopy)
		f |= VIR_MIGRATE_POSTCOPY;
	if (mp->tls)
		f |= VIR_MIGRATE_TLS;
	return f;
}
