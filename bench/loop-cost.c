/* SPDX-License-Identifier: MIT */
/*
 * The autopilot loop's own cost with 1,000 simulated VMs: every cycle each VM gets a
 * full synthetic sample (balloon and guest memory stats, vCPU times) whose demand and
 * CPU load wander, and the real decision path runs (right-sizing, overcommit plan,
 * budget, journal lines to a real file), in dry-run mode on libvirt's test:///default
 * host (no actuator is called). Prints CPU time per cycle per VM, peak RSS, and the
 * ratio against a baseline measured in the same run: the same cycles without a journal.
 * usage: build/bench/loop-cost [VMS] [CYCLES]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "daemon/loop.h"

static double
cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Cycle c's observation of n VMs (deterministic pseudo-random walk). */
static void
observe(struct vmp_loop_host_obs *h, size_t n, unsigned c)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct vmp_loop_vm_obs *v = &h->vms[i];
		uint64_t size = 4194304, used = 262144 + (uint64_t)((i * 7919 + c * 104729) % 2097152);

		memset(v, 0, sizeof(*v));
		snprintf(v->info.name, sizeof(v->info.name), "vm%05zu", i);
		v->info.state = VMP_VM_RUNNING;
		v->info.vcpus_current = 2;
		v->info.vcpus_max = 8;
		v->info.memory_current_kib = size;
		v->info.memory_max_kib = 8388608;
		v->info.has_balloon = true;
		v->info.stats_period_s = 10;
		v->stats.valid = VMP_STAT_BALLOON_ACTUAL | VMP_STAT_MEM_UNUSED | VMP_STAT_MEM_USABLE |
				 VMP_STAT_MEM_AVAILABLE | VMP_STAT_VCPU_TIME | VMP_STAT_SWAP |
				 VMP_STAT_FAULTS | VMP_STAT_VCPU_DELAY;
		v->stats.sample_time_us = (int64_t)c * 60 * 1000000;
		v->stats.balloon_actual_kib = size;
		v->stats.mem_available_kib = size - 65536;
		v->stats.mem_usable_kib = size - used;
		v->stats.mem_unused_kib = size - used - 1024;
		v->stats.minor_faults = c * 1000 + i;
		v->stats.nvcpus = 2;
		v->stats.vcpu_time_ns[0] = (uint64_t)c * 60 * 1000000000ull * ((i + c) % 10) / 10;
		v->stats.vcpu_time_ns[1] = v->stats.vcpu_time_ns[0] / 2;
	}
	h->list_ret = (int)n;
	h->n_vms = n;
	h->stats.mem_total_kib = 1024ull * 1024 * 1024;
	h->stats.mem_available_kib = 512ull * 1024 * 1024;
}

/* CPU seconds for `cycles` cycles of n VMs, journal to path (NULL = none). */
static double
run(size_t n, unsigned cycles, const char *path)
{
	const char *uris[] = { "test:///default" };
	struct vmp_loop_host_obs h = { 0 };
	struct vmp_loop_options o = { .uris = uris, .n_uris = 1, .dry_run = true };
	struct vmp_config cfg;
	struct vmp_loop *l = NULL;
	char *err = NULL;
	double t0, t = 0;
	unsigned c;

	vmp_config_init(&cfg);
	o.cfg = &cfg;
	if (path && (unlink(path), vmp_journal_open(path, NULL, &o.journal, &err)) < 0) {
		fprintf(stderr, "loop-cost: %s\n", err);
		exit(1);
	}
	if (vmp_loop_new(&o, &l, &err) < 0) {
		fprintf(stderr, "loop-cost: %s\n", err);
		exit(1);
	}
	h.vms = calloc(n, sizeof(*h.vms));
	for (c = 1; c <= cycles; c++) {
		observe(&h, n, c);
		t0 = cpu_s();
		vmp_loop_cycle_observed(l, &h, (int64_t)c * 60000, 1795000000000 + (int64_t)c * 60000,
					NULL);
		t += cpu_s() - t0;
	}
	vmp_loop_free(l);
	vmp_journal_close(o.journal);
	free(h.vms);
	vmp_config_release(&cfg);
	return t;
}

int
main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
	unsigned cycles = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 60;
	char path[] = "/tmp/vmp-loop-cost-XXXXXX";
	struct rusage ru;
	double base, full;
	FILE *j;
	long lines = 0;
	int fd = mkstemp(path), ch;

	if (fd < 0 || n == 0 || cycles == 0)
		return 1;
	base = run(n, cycles, NULL);
	full = run(n, cycles, path);
	j = fopen(path, "r");
	while (j && (ch = fgetc(j)) != EOF)
		lines += ch == '\n';
	if (j)
		fclose(j);
	unlink(path);
	getrusage(RUSAGE_SELF, &ru);
	printf("loop cost, %zu VMs x %u cycles (dry run, synthetic samples):\n", n, cycles);
	printf("  with journal:    %.2f us CPU per VM per cycle (%ld journal lines)\n",
	       full / cycles / (double)n * 1e6, lines);
	printf("  baseline (no journal, same run): %.2f us CPU per VM per cycle\n",
	       base / cycles / (double)n * 1e6);
	printf("  ratio journal/baseline: %.2f\n", base > 0 ? full / base : 0);
	printf("  one cycle of %zu VMs: %.1f ms CPU; peak RSS %ld KiB\n", n, full / cycles * 1e3,
	       ru.ru_maxrss);
	return 0;
}
