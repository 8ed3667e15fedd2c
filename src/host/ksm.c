/* SPDX-License-Identifier: MIT */
/* Reading, writing and restoring the KSM sysfs knobs (see ksm.h). */
#include "host/ksm.h"
#include "util/fileio.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KSM_DIR "/sys/kernel/mm/ksm/"

static int
read_uint(const char *root, const char *name, unsigned *ret)
{
	char *path = xasprintf(KSM_DIR "%s", name), *line = NULL;
	uint64_t v;
	int r;

	r = vmp_read_line(root, path, &line);
	free(path);
	if (r < 0)
		return r;
	r = vmp_parse_u64(line, &v);
	free(line);
	if (r < 0 || v > 0xffffffffu)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

static int
write_str(const char *root, const char *name, const char *value, char **ret_path)
{
	char *rel = xasprintf(KSM_DIR "%s", name), *path = vmp_root_path(root, rel);
	size_t len = strlen(value);
	int fd, r = 0;

	free(rel);
	fd = vmp_open_regular(path, O_WRONLY | O_TRUNC, 0);
	if (fd < 0)
		r = fd;
	else if (write(fd, value, len) != (ssize_t)len)
		r = -errno;
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0 && ret_path)
		*ret_path = path;
	else
		free(path);
	return r;
}

static int
write_uint(const char *root, const char *name, unsigned v, char **ret_path)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%u", v);
	return write_str(root, name, buf, ret_path);
}

int
vmp_ksm_read(const char *root, struct vmp_ksm_knobs *ret)
{
	struct vmp_ksm_knobs k = { 0 };
	char *line = NULL;
	int r;

	r = read_uint(root, "run", &k.run);
	if (r == 0)
		r = read_uint(root, "pages_to_scan", &k.pages_to_scan);
	if (r == 0)
		r = read_uint(root, "sleep_millisecs", &k.sleep_millisecs);
	if (r < 0)
		return r;
	if (vmp_read_line(root, KSM_DIR "advisor_mode", &line) == 0) {
		k.have_advisor = true;
		/* "[none] scan-time" or "none [scan-time]" */
		k.advisor_on = strstr(line, "[scan-time]") != NULL;
		free(line);
		if (read_uint(root, "advisor_max_cpu", &k.advisor_max_cpu) < 0 ||
		    read_uint(root, "advisor_target_scan_time", &k.advisor_target_scan_time) < 0)
			return -EINVAL;
	}
	*ret = k;
	return 0;
}

int
vmp_ksm_apply(const char *root, const struct vmp_ksm_knobs *now,
	      const struct vmp_ksm_setting *s, char **ret_path)
{
	bool advisor = s->use_advisor && now->have_advisor;
	int r = 0;

	if (now->have_advisor && now->advisor_on && !advisor)
		r = write_str(root, "advisor_mode", "none", ret_path);
	if (r == 0 && !advisor && s->pages_to_scan && s->pages_to_scan != now->pages_to_scan)
		r = write_uint(root, "pages_to_scan", s->pages_to_scan, ret_path);
	if (r == 0 && s->sleep_millisecs && s->sleep_millisecs != now->sleep_millisecs)
		r = write_uint(root, "sleep_millisecs", s->sleep_millisecs, ret_path);
	if (r == 0 && advisor) {
		if (s->advisor_max_cpu_pct && s->advisor_max_cpu_pct != now->advisor_max_cpu)
			r = write_uint(root, "advisor_max_cpu", s->advisor_max_cpu_pct, ret_path);
		if (r == 0 && s->advisor_target_scan_time_s &&
		    s->advisor_target_scan_time_s != now->advisor_target_scan_time)
			r = write_uint(root, "advisor_target_scan_time",
				       s->advisor_target_scan_time_s, ret_path);
		if (r == 0 && !now->advisor_on)
			r = write_str(root, "advisor_mode", "scan-time", ret_path);
	}
	if (r == 0 && (unsigned)s->run != now->run)
		r = write_uint(root, "run", s->run ? 1 : 0, ret_path);
	return r;
}

int
vmp_ksm_restore(const char *root, const struct vmp_ksm_knobs *saved)
{
	struct vmp_ksm_knobs now;
	int r, first = 0;

	r = vmp_ksm_read(root, &now);
	if (r < 0)
		return r;
	if (now.have_advisor && now.advisor_on != saved->advisor_on && !saved->advisor_on)
		first = write_str(root, "advisor_mode", "none", NULL);
	if (!saved->advisor_on && now.pages_to_scan != saved->pages_to_scan) {
		r = write_uint(root, "pages_to_scan", saved->pages_to_scan, NULL);
		first = first ? first : r;
	}
	if (now.sleep_millisecs != saved->sleep_millisecs) {
		r = write_uint(root, "sleep_millisecs", saved->sleep_millisecs, NULL);
		first = first ? first : r;
	}
	if (saved->have_advisor) {
		if (now.advisor_max_cpu != saved->advisor_max_cpu) {
			r = write_uint(root, "advisor_max_cpu", saved->advisor_max_cpu, NULL);
			first = first ? first : r;
		}
		if (now.advisor_target_scan_time != saved->advisor_target_scan_time) {
			r = write_uint(root, "advisor_target_scan_time",
				       saved->advisor_target_scan_time, NULL);
			first = first ? first : r;
		}
		if (saved->advisor_on && !now.advisor_on) {
			r = write_str(root, "advisor_mode", "scan-time", NULL);
			first = first ? first : r;
		}
	}
	if (now.run != saved->run) {
		r = write_uint(root, "run", saved->run, NULL);
		first = first ? first : r;
	}
	return first;
}
