/* SPDX-License-Identifier: MIT */
/*
 * The host tuning profiles of `vmpilot tune`: one table per profile, one row per knob,
 * each with its value and the reason for it. doc/tune.md explains the same rows; a
 * profile's rows are applied in table order (and rolled back in reverse).
 */
#include "host/tune.h"
#include "util/util.h"

#include <string.h>

#define SYSCTL(id, file, cls, v, why) { id, VMP_TUNE_SYSCTL, file, cls, VMP_TUNE_DEV_ANY, v, false, NULL, false, why }
#define SYSCTL_NUMA(id, file, v, why) { id, VMP_TUNE_SYSCTL, file, VMP_KNOB_NUMA_BALANCING, VMP_TUNE_DEV_ANY, v, false, NULL, true, why }
#define SYSFS(id, file, cls, v, ch, why) { id, VMP_TUNE_SYSFS, file, cls, VMP_TUNE_DEV_ANY, v, ch, NULL, false, why }
#define BLOCK(id, file, cls, dev, v, ch, why) { id, VMP_TUNE_BLOCK, file, cls, dev, v, ch, NULL, false, why }
#define GOVERNOR(v, why) { "cpu.governor", VMP_TUNE_CPU, "cpufreq/scaling_governor", VMP_KNOB_CPU_GOVERNOR, \
			   VMP_TUNE_DEV_ANY, v, false, "cpufreq/scaling_available_governors", false, why }
#define CMDLINE(param, why) { "cmdline", VMP_TUNE_CMDLINE, param, VMP_KNOB_MAX, VMP_TUNE_DEV_ANY, param, false, NULL, false, why }

#define THP_ENABLED "/sys/kernel/mm/transparent_hugepage/enabled"
#define THP_DEFRAG "/sys/kernel/mm/transparent_hugepage/defrag"
#define SCHED "queue/scheduler"
#define READAHEAD "queue/read_ahead_kb"

/* Rows shared by several profiles. */
#define NVME_NONE BLOCK("block.scheduler", SCHED, VMP_KNOB_BLOCK_SCHEDULER, VMP_TUNE_DEV_NVME, "none", true, \
	"NVMe has deep hardware queues per CPU: a software scheduler only adds a lock and latency")
#define VIRTUAL_NONE BLOCK("block.scheduler", SCHED, VMP_KNOB_BLOCK_SCHEDULER, VMP_TUNE_DEV_VIRTUAL, "none", true, \
	"a virtual disk is scheduled again by the hypervisor below: scheduling twice only reorders twice")
#define HDD_DEADLINE BLOCK("block.scheduler", SCHED, VMP_KNOB_BLOCK_SCHEDULER, VMP_TUNE_DEV_HDD, "mq-deadline", true, \
	"a disk head serves many guests' streams: deadlines bound each request's wait and merge seeks, at little CPU cost")
#define PERFORMANCE GOVERNOR("performance", \
	"a vCPU waking on an idle, slowed-down core runs slow until the governor notices; guests cannot ask for speed")

static const struct vmp_tune_knob virtual_host[] = {
	SYSCTL("vm.swappiness", "/proc/sys/vm/swappiness", VMP_KNOB_SYSCTL_VM, "10",
	       "guest RAM is anonymous memory: reclaim host page cache first and swap guest pages only under real pressure"),
	SYSCTL("vm.dirty_background_ratio", "/proc/sys/vm/dirty_background_ratio", VMP_KNOB_SYSCTL_VM, "5",
	       "start writeback of guests' cached writes early, in small batches, instead of one long flush that stalls every VM's I/O"),
	SYSCTL("vm.dirty_ratio", "/proc/sys/vm/dirty_ratio", VMP_KNOB_SYSCTL_VM, "30",
	       "room for write bursts of cache=writeback images before writers are throttled"),
	SYSCTL_NUMA("kernel.numa_balancing", "/proc/sys/kernel/numa_balancing", "1",
		    "unpinned guests' memory follows their vCPUs to the local node; pinned guests are left alone"),
	SYSFS("thp.enabled", THP_ENABLED, VMP_KNOB_THP, "always", true,
	      "2 MiB host pages behind guest RAM halve the page-walk cost of two-dimensional paging on every TLB miss"),
	SYSFS("thp.defrag", THP_DEFRAG, VMP_KNOB_THP, "madvise", true,
	      "QEMU madvises guest RAM, so guests still get compacted huge pages; other host processes never stall in compaction"),
	HDD_DEADLINE,
	BLOCK("block.scheduler", SCHED, VMP_KNOB_BLOCK_SCHEDULER, VMP_TUNE_DEV_SSD, "mq-deadline", true,
	      "SATA/SAS SSDs have one shallow queue: deadlines keep guests' reads from starving behind writeback"),
	NVME_NONE,
	VIRTUAL_NONE,
	PERFORMANCE,
	CMDLINE("iommu=pt", "identity-mapped host DMA keeps the host's own devices on the fast path while VFIO can still assign devices to guests"),
};

static const struct vmp_tune_knob density[] = {
	SYSCTL("vm.swappiness", "/proc/sys/vm/swappiness", VMP_KNOB_SYSCTL_VM, "40",
	       "an overcommitted host must be able to swap cold guest pages before the OOM killer picks a whole VM"),
	SYSCTL("vm.dirty_background_ratio", "/proc/sys/vm/dirty_background_ratio", VMP_KNOB_SYSCTL_VM, "5",
	       "many small guests write at once: early background writeback keeps dirty memory (not available to VMs) small"),
	SYSCTL("vm.dirty_ratio", "/proc/sys/vm/dirty_ratio", VMP_KNOB_SYSCTL_VM, "15",
	       "caps dirty page cache so memory stays available to guests on a host sized for overcommit"),
	SYSCTL_NUMA("kernel.numa_balancing", "/proc/sys/kernel/numa_balancing", "1",
		    "with many unpinned guests, the kernel keeps each guest's memory near where it runs"),
	SYSFS("thp.enabled", THP_ENABLED, VMP_KNOB_THP, "madvise", true,
	      "only guest RAM (madvised by QEMU) gets huge pages; host daemons' sparse heaps do not bloat into 2 MiB pages"),
	SYSFS("thp.defrag", THP_DEFRAG, VMP_KNOB_THP, "defer", true,
	      "a faulting guest never waits for compaction; khugepaged collapses pages later, in the background"),
	SYSFS("ksm.run", "/sys/kernel/mm/ksm/run", VMP_KNOB_KSM, "1", false,
	      "guests running the same OS share identical pages: the memory that makes overcommit affordable"),
	SYSFS("ksm.pages_to_scan", "/sys/kernel/mm/ksm/pages_to_scan", VMP_KNOB_KSM, "300", false,
	      "a moderate scan rate (about 1.2 MiB per pass) that finds shared pages within minutes at a few % of one CPU"),
	SYSFS("ksm.sleep_millisecs", "/sys/kernel/mm/ksm/sleep_millisecs", VMP_KNOB_KSM, "50", false,
	      "20 passes a second at most, so ksmd never holds a CPU for long; vmpilotd's KSM loop adapts both to pressure"),
	HDD_DEADLINE,
	BLOCK("block.scheduler", SCHED, VMP_KNOB_BLOCK_SCHEDULER, VMP_TUNE_DEV_SSD, "mq-deadline", true,
	      "many guests share one shallow queue: deadlines keep each guest's reads from starving"),
	NVME_NONE,
	VIRTUAL_NONE,
	GOVERNOR("schedutil", "an overcommitted host idles in parts: the scheduler's own utilisation drives frequency, saving energy without the lag of ondemand"),
	CMDLINE("zswap.enabled=1", "compressed swap in RAM absorbs overcommit spikes at memory speed before anything reaches the swap device"),
};

static const struct vmp_tune_knob latency[] = {
	SYSCTL("vm.swappiness", "/proc/sys/vm/swappiness", VMP_KNOB_SYSCTL_VM, "10",
	       "a swapped-out guest page costs a disk read on the next touch: keep guest memory resident"),
	SYSCTL("vm.dirty_background_ratio", "/proc/sys/vm/dirty_background_ratio", VMP_KNOB_SYSCTL_VM, "3",
	       "tiny, frequent writeback batches: no long flush ever blocks a guest's synchronous write"),
	SYSCTL("vm.dirty_ratio", "/proc/sys/vm/dirty_ratio", VMP_KNOB_SYSCTL_VM, "10",
	       "writers are throttled early and briefly instead of late and for long"),
	SYSCTL_NUMA("kernel.numa_balancing", "/proc/sys/kernel/numa_balancing", "0",
		    "balancing unmaps pages to sample them: each hinting fault is a guest stall; pin latency VMs with <numatune> instead"),
	SYSFS("thp.enabled", THP_ENABLED, VMP_KNOB_THP, "always", true,
	      "fewer TLB misses means fewer and shorter guest memory stalls"),
	SYSFS("thp.defrag", THP_DEFRAG, VMP_KNOB_THP, "never", true,
	      "a page fault never waits for compaction: a 4 KiB page now beats a 2 MiB page after a stall"),
	SYSFS("ksm.run", "/sys/kernel/mm/ksm/run", VMP_KNOB_KSM, "0", false,
	      "merged pages break with a copy on the next write (a stall), and ksmd competes for CPUs"),
	SYSFS("irq.default_smp_affinity", "/proc/irq/default_smp_affinity", VMP_KNOB_IRQ_AFFINITY, "1", false,
	      "new interrupts go to CPU 0 (housekeeping), away from the CPUs that run pinned vCPUs"),
	HDD_DEADLINE,
	BLOCK("block.scheduler", SCHED, VMP_KNOB_BLOCK_SCHEDULER, VMP_TUNE_DEV_SSD, "none", true,
	      "no scheduler queueing: each request goes straight to the device"),
	NVME_NONE,
	VIRTUAL_NONE,
	PERFORMANCE,
	CMDLINE("skew_tick=1", "offsets the timer ticks of CPUs so they do not contend for the same jiffies lock at once"),
};

static const struct vmp_tune_knob throughput[] = {
	SYSCTL("vm.swappiness", "/proc/sys/vm/swappiness", VMP_KNOB_SYSCTL_VM, "10",
	       "keep guests resident; reclaim page cache first"),
	SYSCTL("vm.dirty_background_ratio", "/proc/sys/vm/dirty_background_ratio", VMP_KNOB_SYSCTL_VM, "10",
	       "larger writeback batches merge guests' sequential writes into big device requests"),
	SYSCTL("vm.dirty_ratio", "/proc/sys/vm/dirty_ratio", VMP_KNOB_SYSCTL_VM, "40",
	       "streaming writers fill the cache instead of being throttled; writeback catches up in large requests"),
	SYSCTL_NUMA("kernel.numa_balancing", "/proc/sys/kernel/numa_balancing", "1",
		    "memory bandwidth is local bandwidth: move guests' memory to their node"),
	SYSFS("thp.enabled", THP_ENABLED, VMP_KNOB_THP, "always", true,
	      "huge pages behind all guest RAM: fewer TLB misses for memory-bound guests"),
	SYSFS("thp.defrag", THP_DEFRAG, VMP_KNOB_THP, "madvise", true,
	      "compaction only for guest RAM (madvised by QEMU), not for every host process"),
	HDD_DEADLINE,
	BLOCK("block.scheduler", SCHED, VMP_KNOB_BLOCK_SCHEDULER, VMP_TUNE_DEV_SSD, "mq-deadline", true,
	      "merging and sorting raise the throughput of a shallow SATA/SAS queue"),
	NVME_NONE,
	VIRTUAL_NONE,
	BLOCK("block.readahead", READAHEAD, VMP_KNOB_BLOCK_READAHEAD, VMP_TUNE_DEV_HDD, "4096", false,
	      "4 MiB read-ahead turns guests' sequential reads into few large requests on a spinning disk"),
	BLOCK("block.readahead", READAHEAD, VMP_KNOB_BLOCK_READAHEAD, VMP_TUNE_DEV_SSD, "4096", false,
	      "large read-ahead for sequential guest reads through the host cache"),
	BLOCK("block.readahead", READAHEAD, VMP_KNOB_BLOCK_READAHEAD, VMP_TUNE_DEV_VIRTUAL, "4096", false,
	      "large read-ahead for sequential guest reads; the hypervisor below merges them further"),
	PERFORMANCE,
	CMDLINE("iommu=pt", "identity-mapped host DMA: no IOMMU translation cost for the host's own I/O"),
};

const struct vmp_tune_profile vmp_tune_profiles[] = {
	{ "virtual-host", "a KVM host with a mixed set of guests (the default)", virtual_host, VMP_ARRAY_SIZE(virtual_host) },
	{ "density", "as many guests as possible: memory overcommit, KSM, energy", density, VMP_ARRAY_SIZE(density) },
	{ "latency", "latency-sensitive guests: no stalls from compaction, KSM, NUMA hinting or frequency ramps", latency, VMP_ARRAY_SIZE(latency) },
	{ "throughput", "throughput-bound guests: large I/O batches, read-ahead, huge pages", throughput, VMP_ARRAY_SIZE(throughput) },
};
const size_t vmp_tune_profiles_count = VMP_ARRAY_SIZE(vmp_tune_profiles);

const struct vmp_tune_profile *
vmp_tune_profile_find(const char *name)
{
	size_t i;

	for (i = 0; i < vmp_tune_profiles_count; i++)
		if (strcmp(vmp_tune_profiles[i].name, name) == 0)
			return &vmp_tune_profiles[i];
	return NULL;
}

const char *
vmp_tune_dev_name(enum vmp_tune_dev d)
{
	static const char *const names[VMP_TUNE_DEV_MAX] = { "any", "hdd", "ssd", "nvme", "virtual" };

	return d < VMP_TUNE_DEV_MAX ? names[d] : "?";
}
