/* SPDX-License-Identifier: MIT */
/* /dev/kvm facts from ioctls (live host) or from a fixture's recorded file. See kvm.h. */
#include "host/kvm.h"
#include "host/parse.h"
#include "util/fileio.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define KVM_API_KEY "api_version"
#define KVM_OPEN_KEY "open_errno"
#define KVM_CPUID_STEAL_KEY "cpuid.steal_time"

#define KVM_CPUID_FEATURES_LEAF 0x40000001u
#define KVM_FEATURE_STEAL_TIME_BIT 5

static const struct {
	const char *key;
	unsigned long nr;
} kvm_caps[VMP_KVM_CAP_MAX] = {
	[VMP_KVM_CAP_NR_VCPUS] = { "cap.nr_vcpus", KVM_CAP_NR_VCPUS },
	[VMP_KVM_CAP_MAX_VCPUS] = { "cap.max_vcpus", KVM_CAP_MAX_VCPUS },
	[VMP_KVM_CAP_IRQFD] = { "cap.irqfd", KVM_CAP_IRQFD },
	[VMP_KVM_CAP_IOEVENTFD] = { "cap.ioeventfd", KVM_CAP_IOEVENTFD },
	[VMP_KVM_CAP_DIRTY_LOG_RING] = { "cap.dirty_log_ring", KVM_CAP_DIRTY_LOG_RING },
	[VMP_KVM_CAP_HALT_POLL] = { "cap.halt_poll", KVM_CAP_HALT_POLL },
	[VMP_KVM_CAP_X86_DISABLE_EXITS] = { "cap.x86_disable_exits", KVM_CAP_X86_DISABLE_EXITS },
	[VMP_KVM_CAP_STEAL_TIME] = { "cap.steal_time", KVM_CAP_STEAL_TIME },
};

const char *
vmp_kvm_cap_key(enum vmp_kvm_cap cap)
{
	return cap < VMP_KVM_CAP_MAX ? kvm_caps[cap].key : "?";
}

static void
facts_init(struct vmp_kvm_facts *f)
{
	size_t i;

	memset(f, 0, sizeof(*f));
	f->api_version = -1;
	for (i = 0; i < VMP_KVM_CAP_MAX; i++)
		f->caps[i] = -1;
	f->cpuid_steal_time = -1;
}

/* KVM_FEATURE_STEAL_TIME from KVM_GET_SUPPORTED_CPUID: 1, 0, or -1 when the ioctl fails. */
static int
live_cpuid_steal_time(int fd)
{
	struct kvm_cpuid2 *cpuid = NULL;
	unsigned nent = 64;
	int result = -1;
	unsigned i;

	while (nent <= 4096) {
		cpuid = xcalloc(1, sizeof(*cpuid) + nent * sizeof(cpuid->entries[0]));
		cpuid->nent = nent;
		if (ioctl(fd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
			break;
		free(cpuid);
		cpuid = NULL;
		if (errno != E2BIG)
			return -1;
		nent *= 2;
	}
	if (!cpuid)
		return -1;
	result = 0;
	for (i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == KVM_CPUID_FEATURES_LEAF &&
		    (cpuid->entries[i].eax & (1u << KVM_FEATURE_STEAL_TIME_BIT)))
			result = 1;
	free(cpuid);
	return result;
}

static int
live_facts(struct vmp_kvm_facts *f)
{
	int fd;
	size_t i;

	if (access("/dev/kvm", F_OK) < 0)
		return 0;
	f->present = true;
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		f->open_errno = errno;
		return 0;
	}
	f->api_version = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (f->api_version < 0)
		f->api_version = -1;
	for (i = 0; i < VMP_KVM_CAP_MAX; i++) {
		int r = ioctl(fd, KVM_CHECK_EXTENSION, kvm_caps[i].nr);

		f->caps[i] = r < 0 ? -1 : r;
	}
	f->cpuid_steal_time = live_cpuid_steal_time(fd);
	close(fd);
	return 0;
}

/* Every line must be a comment, blank, or "key integer". */
static int
check_lines(const char *buf)
{
	const char *p = buf;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = xstrndup(p, len), *sp;
		int64_t v;
		int r = 0;

		vmp_strstrip(line);
		if (line[0] != '\0' && line[0] != '#') {
			sp = line + strcspn(line, " \t");
			if (*sp == '\0' || vmp_parse_i64(sp, &v) < 0)
				r = -EINVAL;
		}
		free(line);
		if (r < 0)
			return r;
		p += len;
		if (*p == '\n')
			p++;
	}
	return 0;
}

/* Looks up an optional integer key: 0 (set), -ENOENT (absent), -EINVAL. */
static int
kv_i64(const char *buf, const char *key, int64_t *ret)
{
	char *value = NULL;
	int r;

	r = vmp_parse_kv(buf, key, &value);
	if (r < 0)
		return r;
	r = vmp_parse_i64(value, ret);
	free(value);
	return r < 0 ? -EINVAL : 0;
}

int
vmp_kvm_facts_parse(const char *buf, struct vmp_kvm_facts *ret)
{
	struct vmp_kvm_facts f;
	int64_t v;
	size_t i;
	int r;

	facts_init(&f);
	f.present = true;
	f.recorded = true;
	if (check_lines(buf) < 0)
		return -EINVAL;
	r = kv_i64(buf, KVM_OPEN_KEY, &v);
	if (r < 0 || v < 0 || v > 4095)
		return -EINVAL;
	f.open_errno = (int)v;
	r = kv_i64(buf, KVM_API_KEY, &v);
	if (r == -EINVAL || (r == -ENOENT && f.open_errno == 0))
		return -EINVAL;
	if (r == 0) {
		if (v < -1 || v > 1000000)
			return -EINVAL;
		f.api_version = (int)v;
	}
	for (i = 0; i < VMP_KVM_CAP_MAX; i++) {
		r = kv_i64(buf, kvm_caps[i].key, &v);
		if (r == -EINVAL || (r == 0 && v < -1))
			return -EINVAL;
		if (r == 0)
			f.caps[i] = v;
	}
	r = kv_i64(buf, KVM_CPUID_STEAL_KEY, &v);
	if (r == -EINVAL || (r == 0 && (v < -1 || v > 1)))
		return -EINVAL;
	if (r == 0)
		f.cpuid_steal_time = (int)v;
	*ret = f;
	return 0;
}

int
vmp_kvm_facts_get(const char *root, struct vmp_kvm_facts *ret)
{
	struct vmp_kvm_facts f;
	char *node, *buf = NULL;
	int r;

	facts_init(&f);
	if (!root || !*root || strcmp(root, "/") == 0) {
		live_facts(&f);
		*ret = f;
		return 0;
	}
	node = vmp_root_path(root, "/dev/kvm");
	r = access(node, F_OK);
	free(node);
	if (r < 0) {
		*ret = f;
		return 0;
	}
	r = vmp_read_file(root, "/dev/kvm.ioctl", &buf, NULL);
	if (r < 0)
		return r;
	if (buf[strspn(buf, " \t\r\n")] == '\0')
		r = -ENODATA;
	else
		r = vmp_kvm_facts_parse(buf, &f);
	free(buf);
	if (r < 0)
		return r;
	*ret = f;
	return 0;
}

void
vmp_kvm_facts_format(const struct vmp_kvm_facts *f, FILE *out)
{
	size_t i;

	fprintf(out, "# /dev/kvm ioctl results (vmpilot check --kvm-facts); see doc/design/check.md\n");
	fprintf(out, "%s %d\n", KVM_OPEN_KEY, f->open_errno);
	if (f->open_errno != 0)
		return;
	fprintf(out, "%s %d\n", KVM_API_KEY, f->api_version);
	for (i = 0; i < VMP_KVM_CAP_MAX; i++)
		fprintf(out, "%s %lld\n", kvm_caps[i].key, (long long)f->caps[i]);
	fprintf(out, "%s %d\n", KVM_CPUID_STEAL_KEY, f->cpuid_steal_time);
}
