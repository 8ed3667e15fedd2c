/* SPDX-License-Identifier: MIT */
/*
 * Scale benchmark of the simulator: synthetic PlanetLab-like days of N VMs on N/10 hosts
 * (half G4, half G5 cores and power models, 16 cores and 32 GiB each; the reference VM
 * types; the bench fails unless every VM is placed), each VM one of a real day's traces with a
 * random circular time shift and +-3 % noise, so the mix of load keeps the real
 * distribution while the VMs do not move in lock-step. For each size and policy a child
 * process builds the day and runs it; the table gives the simulation's wall time, the
 * child's CPU time (user + sys of the whole child: building the day and simulating it)
 * and the simulation's wall time, the child's peak RSS (including the N x 288 input
 * samples), migrations and how the CPU time grows from one size to the next (ratio of
 * times over ratio of sizes = 1: linear). The CPU time is the measure: on a shared
 * machine wall time grows with the load of others. Target (issues 3 and 8): 100,000 VMs
 * on 10,000 hosts in under 30 s of CPU time, for every policy; exit status 1 if not.
 * usage: sim-scale SEED_DAY_DIR [POLICY[,POLICY...]] [N[,N...]]
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/simrun.h"
#include "trace/trace.h"
#include "synthday.h"

struct row {
	double wall_s, energy_kwh, ratio;
	double cpu_s;           /* user + sys CPU time of the whole child (build + run) */
	double rss_mib;
	uint64_t migrations;
	uint64_t vms_created;   /* every VM of the day must be placed: checked */
	int ok;
};


static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs one size and policy in a child; the row comes back through a pipe. */
static int
measure(const struct vmp_trace *seed, size_t nvms, const char *policy, struct row *ret)
{
	int fd[2];
	pid_t pid;
	struct rusage ru;
	int status;
	ssize_t n;

	if (pipe(fd) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		struct vmp_sim_config cfg;
		struct vmp_simrun_result r;
		struct row row = { 0 };
		float *pct = vmp_bench_synth_day(seed, nvms, 42);
		struct vmp_sim_input in = { nvms, seed->nsteps, pct, NULL };
		double t0;

		close(fd[0]);
		vmp_sim_config_default(&cfg);
		cfg.nhosts = nvms / 10 ? nvms / 10 : 1;
		vmp_bench_big_hosts(&cfg);
		t0 = now_s();
		if (vmp_simrun(&cfg, vmp_sim_policy_find(policy), NULL, &in, NULL, NULL, &r) == 0) {
			row.wall_s = now_s() - t0;
			row.energy_kwh = r.sim.energy_kwh;
			row.ratio = r.energy_ratio;
			row.migrations = r.sim.migrations;
			row.vms_created = r.sim.vms_created;
			row.ok = 1;
		}
		n = write(fd[1], &row, sizeof(row));
		_exit(n == (ssize_t)sizeof(row) ? 0 : 1);
	}
	close(fd[1]);
	n = read(fd[0], ret, sizeof(*ret));
	close(fd[0]);
	if (wait4(pid, &status, 0, &ru) < 0)
		return -errno;
	if (n != (ssize_t)sizeof(*ret) || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -EIO;
	ret->rss_mib = (double)ru.ru_maxrss / 1024.0;
	ret->cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	return 0;
}

int
main(int argc, char **argv)
{
	const char *policies = argc > 2 ? argv[2] : "vmpilot,lr-mmt-1.2";
	const char *sizes = argc > 3 ? argv[3] : "1000,10000,100000";
	struct vmp_trace *seed = NULL;
	char *err = NULL, *plist, *pol, *psave;
	int rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: sim-scale SEED_DAY_DIR [POLICY,...] [N,...]\n");
		return 2;
	}
	if (vmp_trace_read_planetlab(argv[1], &seed, &err) < 0) {
		fprintf(stderr, "sim-scale: %s\n", err);
		return 2;
	}
	printf("synthetic days from %s (%zu seed VMs), hosts = VMs / 10 (G4/G5 cores, %d per "
	       "host, %.0f GiB), %zu steps; every VM placed\n", argv[1], seed->nvms, VMP_BENCH_HOST_PES,
	       VMP_BENCH_HOST_RAM_MB / 1024, seed->nsteps);
	printf("%-12s %8s %7s %9s %9s %9s %11s %8s %10s\n", "policy", "VMs", "hosts", "cpu_s",
	       "wall_s", "rss_MiB", "migrations", "E/bound", "growth");
	plist = strdup(policies);
	for (pol = strtok_r(plist, ",", &psave); pol; pol = strtok_r(NULL, ",", &psave)) {
		char *slist = strdup(sizes), *sz, *ssave;
		double prev_t = 0, prev_n = 0;

		if (!vmp_sim_policy_find(pol)) {
			fprintf(stderr, "sim-scale: unknown policy '%s'\n", pol);
			rc = 2;
			free(slist);
			continue;
		}
		for (sz = strtok_r(slist, ",", &ssave); sz; sz = strtok_r(NULL, ",", &ssave)) {
			size_t nvms = strtoul(sz, NULL, 10);
			struct row row;
			char growth[32] = "-";

			if (measure(seed, nvms, pol, &row) < 0 || !row.ok) {
				printf("%-12s %8zu %7zu   failed\n", pol, nvms, nvms / 10);
				rc = 1;
				continue;
			}
			if (row.vms_created != nvms) {
				printf("%-12s %8zu %7zu   only %llu VMs placed: not a day of %zu VMs\n",
				       pol, nvms, nvms / 10, (unsigned long long)row.vms_created, nvms);
				rc = 1;
				continue;
			}
			/* time ratio / size ratio: 1.0 = linear, 10 = quadratic over a 10x step */
			if (prev_t > 0)
				snprintf(growth, sizeof(growth), "%.2fx/%.0fx",
					 row.cpu_s / prev_t, (double)nvms / prev_n);
			printf("%-12s %8zu %7zu %9.3f %9.3f %9.1f %11llu %8.3f %10s\n", pol, nvms,
			       nvms / 10, row.cpu_s, row.wall_s, row.rss_mib,
			       (unsigned long long)row.migrations, row.ratio, growth);
			fflush(stdout);
			if (nvms >= 100000 && row.cpu_s >= 30)
				rc = 1;
			prev_t = row.cpu_s;
			prev_n = (double)nvms;
		}
		free(slist);
	}
	printf("target: 100000 VMs / 10000 hosts in < 30 s of CPU time (cpu_s: user + sys of\n"
	       "the child that builds and runs the day; wall_s: the simulation alone, which on\n"
	       "a shared machine grows with the load and is not the measure)\n");
	free(plist);
	vmp_trace_free(seed);
	free(err);
	return rc;
}
