#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes the synthetic host fixture trees of tests/data/hosts/ (intel-ept-1g,
# amd-npt-2numa, no-kvm, cgroup-v2): hand-made hosts that exercise the branches the
# captured tree (pvm-nested-v1, from tools/capture-host-fixture.sh) cannot. Each tree
# holds only the files the probes read; device nodes are empty regular files and
# dev/kvm.ioctl holds the ioctl results (doc/design/check.md). The trees are checked
# in; run this again only to change them, then review the diff and regenerate the
# goldens (VMP_REGEN_GOLDEN=1 meson test -C build check).
import os
import shutil
import sys

HOSTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'data', 'hosts')

BASE_FLAGS = ('fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush '
              'mmx fxsr sse sse2 ht syscall nx lm constant_tsc rep_good nopl xtopology cpuid pni '
              'pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c '
              'rdrand lahf_lm abm 3dnowprefetch fsgsbase bmi1 avx2 smep bmi2 erms invpcid rdseed '
              'adx smap clflushopt clwb sha_ni xsaveopt xsavec xgetbv1 xsaves')

MOUNTS_HEAD = ('sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\n'
               'proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n'
               '/dev/sda1 / ext4 rw,relatime 0 0\n')

MOUNTS_V1 = ('tmpfs /sys/fs/cgroup tmpfs ro,nosuid,nodev,noexec,mode=755 0 0\n'
             'cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,nodev,noexec,relatime,cpu,cpuacct 0 0\n'
             'cgroup /sys/fs/cgroup/cpuset cgroup rw,nosuid,nodev,noexec,relatime,cpuset 0 0\n'
             'cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,nodev,noexec,relatime,memory 0 0\n'
             'cgroup /sys/fs/cgroup/devices cgroup rw,nosuid,nodev,noexec,relatime,devices 0 0\n'
             'cgroup /sys/fs/cgroup/blkio cgroup rw,nosuid,nodev,noexec,relatime,blkio 0 0\n'
             'cgroup /sys/fs/cgroup/pids cgroup rw,nosuid,nodev,noexec,relatime,pids 0 0\n')

PROC_CGROUPS_V1 = ('#subsys_name\thierarchy\tnum_cgroups\tenabled\n'
                   'cpuset\t3\t5\t1\ncpu\t2\t60\t1\ncpuacct\t2\t60\t1\nblkio\t5\t60\t1\n'
                   'memory\t4\t80\t1\ndevices\t6\t60\t1\nfreezer\t0\t1\t1\nnet_cls\t0\t1\t1\n'
                   'perf_event\t0\t1\t1\nhugetlb\t0\t1\t1\npids\t7\t60\t1\n')

PROC_CGROUPS_V2 = ('#subsys_name\thierarchy\tnum_cgroups\tenabled\n'
                   'cpuset\t0\t90\t1\ncpu\t0\t90\t1\ncpuacct\t0\t90\t1\nblkio\t0\t90\t1\n'
                   'memory\t0\t90\t1\ndevices\t0\t90\t1\nfreezer\t0\t90\t1\nnet_cls\t0\t1\t1\n'
                   'perf_event\t0\t1\t1\nhugetlb\t0\t90\t1\npids\t0\t90\t1\nmisc\t0\t90\t1\n')


class Tree:
    def __init__(self, name):
        self.root = os.path.join(HOSTS, name)
        if os.path.exists(self.root):
            shutil.rmtree(self.root)
        os.makedirs(self.root)

    def file(self, path, text=''):
        full = self.root + path
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, 'w') as f:
            f.write(text)

    def dir(self, path):
        os.makedirs(self.root + path, exist_ok=True)

    def finish(self):
        for dirpath, dirnames, filenames in os.walk(self.root):
            if not dirnames and not filenames:
                self.file(dirpath[len(self.root):] + '/.vmp-keep')


def cpuinfo(vendor, model, flags, cpus):
    out = ''
    for i in range(cpus):
        out += (f'processor\t: {i}\nvendor_id\t: {vendor}\nmodel name\t: {model}\n'
                f'flags\t\t: {flags}\n\n')
    return out


def kvm_ioctl(max_vcpus, dirty_ring):
    return ('# /dev/kvm ioctl results (vmpilot check --kvm-facts); see doc/design/check.md\n'
            f'open_errno 0\napi_version 12\ncap.nr_vcpus 16\ncap.max_vcpus {max_vcpus}\n'
            f'cap.irqfd 1\ncap.ioeventfd 1\ncap.dirty_log_ring {dirty_ring}\ncap.halt_poll 1\n'
            'cap.x86_disable_exits 15\ncap.steal_time 0\ncpuid.steal_time 1\n')


def common(t, cmdline, cpus):
    t.file('/proc/cmdline', cmdline + '\n')
    t.file('/proc/sys/vm/dirty_ratio', '20\n')
    t.file('/proc/sys/vm/dirty_background_ratio', '10\n')
    t.file('/proc/sys/vm/dirty_bytes', '0\n')
    t.file('/proc/sys/vm/dirty_background_bytes', '0\n')
    t.dir('/sys/module/kernel')
    for i in range(cpus):
        t.dir(f'/sys/devices/system/cpu/cpu{i}')
    t.file('/sys/devices/system/cpu/online', f'0-{cpus - 1}\n')


def node(t, n, cpulist, mem_kib, huge):
    t.file(f'/sys/devices/system/node/node{n}/cpulist', cpulist + '\n')
    t.file(f'/sys/devices/system/node/node{n}/meminfo',
           f'Node {n} MemTotal:       {mem_kib} kB\nNode {n} MemFree:        {mem_kib // 2} kB\n')
    for kib, (nr, fr) in huge.items():
        base = f'/sys/devices/system/node/node{n}/hugepages/hugepages-{kib}kB'
        t.file(base + '/nr_hugepages', f'{nr}\n')
        t.file(base + '/free_hugepages', f'{fr}\n')


def hugepages(t, huge):
    for kib, (nr, fr) in huge.items():
        base = f'/sys/kernel/mm/hugepages/hugepages-{kib}kB'
        t.file(base + '/nr_hugepages', f'{nr}\n')
        t.file(base + '/free_hugepages', f'{fr}\n')


def thp(t, enabled, defrag):
    base = '/sys/kernel/mm/transparent_hugepage'
    t.file(base + '/enabled', enabled + '\n')
    t.file(base + '/defrag', defrag + '\n')
    t.file(base + '/khugepaged/defrag', '1\n')
    t.file(base + '/khugepaged/pages_to_scan', '4096\n')


def ksm(t, run, shared, sharing, scans, across):
    base = '/sys/kernel/mm/ksm'
    for k, v in (('run', run), ('pages_shared', shared), ('pages_sharing', sharing),
                 ('full_scans', scans), ('merge_across_nodes', across)):
        t.file(f'{base}/{k}', f'{v}\n')


def psi(t):
    for kind, some in (('cpu', '1.50'), ('memory', '0.20'), ('io', '3.10')):
        t.file(f'/proc/pressure/{kind}',
               f'some avg10={some} avg60=1.00 avg300=0.50 total=123456\n'
               'full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n')


def disk(t, name, sched, rotational, modalias=None):
    t.file(f'/sys/block/{name}/queue/scheduler', sched + '\n')
    t.file(f'/sys/block/{name}/queue/rotational', f'{rotational}\n')
    if modalias:
        t.file(f'/sys/block/{name}/device/modalias', modalias + '\n')


def vulns(t, entries):
    for name, text in entries.items():
        t.file(f'/sys/devices/system/cpu/vulnerabilities/{name}', text + '\n')


def cpufreq(t, cpus, driver, governor, boost=None, no_turbo=None):
    for i in range(cpus):
        t.file(f'/sys/devices/system/cpu/cpu{i}/cpufreq/scaling_governor', governor + '\n')
        t.file(f'/sys/devices/system/cpu/cpu{i}/cpufreq/scaling_driver', driver + '\n')
    if boost is not None:
        t.file('/sys/devices/system/cpu/cpufreq/boost', f'{boost}\n')
    if no_turbo is not None:
        t.file('/sys/devices/system/cpu/intel_pstate/no_turbo', f'{no_turbo}\n')


def cpuidle(t, driver, governor, states):
    t.file('/sys/devices/system/cpu/cpuidle/current_driver', driver + '\n')
    t.file('/sys/devices/system/cpu/cpuidle/current_governor_ro', governor + '\n')
    for i, (name, latency, disable) in enumerate(states):
        base = f'/sys/devices/system/cpu/cpu0/cpuidle/state{i}'
        t.file(base + '/name', name + '\n')
        t.file(base + '/latency', f'{latency}\n')
        t.file(base + '/disable', f'{disable}\n')


def intel_host(name, cgroup_v2):
    """Bare-metal Intel: VT-x with EPT, 1 GiB pages reserved, NVMe + HDD, well tuned."""
    t = Tree(name)
    cpus = 8
    flags = BASE_FLAGS + ' vmx ept vpid ept_ad flexpriority tpr_shadow pdpe1gb'
    t.file('/proc/cpuinfo', cpuinfo('GenuineIntel', 'Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz',
                                    flags, cpus))
    common(t, 'BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro intel_iommu=on iommu=pt '
              'default_hugepagesz=1G hugepagesz=1G hugepages=8 psi=1' +
           (' systemd.unified_cgroup_hierarchy=1' if cgroup_v2 else ''), cpus)
    t.file('/dev/kvm')
    t.file('/dev/kvm.ioctl', kvm_ioctl(4096, 65536))
    t.file('/dev/vhost-net')
    t.file('/dev/vhost-vsock')
    t.file('/dev/net/tun')
    for p, v in (('ept', 'Y'), ('vpid', 'Y'), ('enable_apicv', 'Y'), ('nested', 'N')):
        t.file(f'/sys/module/kvm_intel/parameters/{p}', v + '\n')
    t.file('/sys/module/kvm/parameters/halt_poll_ns', '200000\n')
    t.file('/sys/module/kvm/parameters/halt_poll_ns_grow', '2\n')
    t.file('/sys/module/kvm/parameters/halt_poll_ns_shrink', '0\n')
    t.file('/sys/module/kvm/parameters/nx_huge_pages', 'auto\n')
    t.file('/sys/module/zswap/parameters/enabled', 'Y\n')
    t.file('/sys/module/zswap/parameters/compressor', 'zstd\n')
    for table in ('APIC', 'DMAR', 'DSDT', 'FACP', 'MCFG'):
        t.file(f'/sys/firmware/acpi/tables/{table}')
    for g in range(12):
        t.dir(f'/sys/kernel/iommu_groups/{g}')
    huge = {2048: (0, 0), 1048576: (8, 6)}
    hugepages(t, huge)
    t.file('/sys/devices/system/node/online', '0\n')
    node(t, 0, '0-7', 263852000, huge)
    thp(t, 'always [madvise] never', 'always defer defer+madvise [madvise] never')
    ksm(t, 1, 1200, 9800, 31, 1)
    t.file('/proc/sys/kernel/numa_balancing', '0\n')
    t.file('/proc/swaps', 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n'
                          '/dev/sda2                               partition\t8388604\t\t0\t\t-2\n')
    t.file('/proc/sys/vm/swappiness', '10\n')
    disk(t, 'nvme0n1', '[none] mq-deadline kyber bfq', 0)
    disk(t, 'sda', '[mq-deadline] kyber bfq none', 1)
    t.dir('/sys/block/loop0/queue')
    cpufreq(t, cpus, 'intel_pstate', 'performance', no_turbo=0)
    cpuidle(t, 'intel_idle', 'menu', [('POLL', 0, 0), ('C1', 2, 0), ('C1E', 10, 0), ('C6', 170, 1)])
    psi(t)
    vulns(t, {'itlb_multihit': 'KVM: Mitigation: VMX disabled', 'l1tf': 'Not affected',
              'mds': 'Not affected', 'meltdown': 'Not affected',
              'mmio_stale_data': 'Mitigation: Clear CPU buffers; SMT vulnerable',
              'retbleed': 'Not affected', 'spec_store_bypass': 'Mitigation: Speculative Store Bypass disabled via prctl',
              'spectre_v1': 'Mitigation: usercopy/swapgs barriers and __user pointer sanitization',
              'spectre_v2': 'Mitigation: Enhanced / Automatic IBRS; IBPB: conditional; RSB filling; PBRSB-eIBRS: SW sequence; BHI: SW loop, KVM: SW loop',
              'gather_data_sampling': 'Mitigation: Microcode'})
    if cgroup_v2:
        t.file('/proc/mounts', MOUNTS_HEAD +
               'cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate,memory_recursiveprot 0 0\n')
        t.file('/proc/cgroups', PROC_CGROUPS_V2)
        t.file('/sys/fs/cgroup/cgroup.controllers', 'cpuset cpu io memory hugetlb pids rdma misc\n')
    else:
        t.file('/proc/mounts', MOUNTS_HEAD + MOUNTS_V1)
        t.file('/proc/cgroups', PROC_CGROUPS_V1)
    t.finish()


def amd_host():
    """Bare-metal AMD EPYC, two NUMA nodes: NPT and SEV on, but much left untuned."""
    t = Tree('amd-npt-2numa')
    cpus = 8
    flags = BASE_FLAGS + (' svm npt lbrv svm_lock nrip_save tsc_scale vmcb_clean flushbyasid '
                          'decodeassists pausefilter pfthreshold avic v_vmsave_vmload vgif '
                          'pdpe1gb sme sev sev_es')
    t.file('/proc/cpuinfo', cpuinfo('AuthenticAMD', 'AMD EPYC 7302 16-Core Processor', flags, cpus))
    common(t, 'BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet', cpus)
    t.file('/dev/kvm')
    t.file('/dev/kvm.ioctl', kvm_ioctl(1024, 65536))
    t.file('/dev/sev')
    t.file('/dev/vhost-net')
    t.file('/dev/net/tun')
    for p, v in (('npt', '1'), ('avic', '0'), ('nested', '1'), ('sev', '1'), ('sev_es', '1')):
        t.file(f'/sys/module/kvm_amd/parameters/{p}', v + '\n')
    t.file('/sys/module/kvm/parameters/halt_poll_ns', '0\n')
    t.file('/sys/module/kvm/parameters/halt_poll_ns_grow', '2\n')
    t.file('/sys/module/kvm/parameters/halt_poll_ns_shrink', '0\n')
    t.file('/sys/module/kvm/parameters/nx_huge_pages', 'N\n')
    for table in ('APIC', 'DSDT', 'FACP', 'IVRS', 'MCFG', 'SRAT'):
        t.file(f'/sys/firmware/acpi/tables/{table}')
    t.dir('/sys/kernel/iommu_groups')
    huge = {2048: (1024, 1024), 1048576: (0, 0)}
    hugepages(t, huge)
    t.file('/sys/devices/system/node/online', '0-1\n')
    node(t, 0, '0-3', 131900000, {2048: (512, 512), 1048576: (0, 0)})
    node(t, 1, '4-7', 132000000, {2048: (512, 512), 1048576: (0, 0)})
    thp(t, 'always madvise [never]', 'always defer defer+madvise [madvise] never')
    ksm(t, 1, 52000, 310000, 12, 1)
    t.file('/proc/sys/kernel/numa_balancing', '1\n')
    t.file('/proc/1/comm', 'systemd\n')
    t.file('/proc/873/comm', 'numad\n')
    t.file('/proc/swaps', 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n'
                          '/swap.img                               file\t\t4194300\t\t102400\t\t-2\n'
                          '/dev/zram0                              partition\t2097148\t\t0\t\t100\n')
    t.file('/proc/sys/vm/swappiness', '60\n')
    disk(t, 'nvme0n1', 'none [mq-deadline] kyber bfq', 0)
    disk(t, 'sda', '[none] mq-deadline kyber bfq', 1)
    disk(t, 'sdb', 'none mq-deadline kyber [bfq]', 0)
    cpufreq(t, cpus, 'acpi-cpufreq', 'schedutil', boost=1)
    cpuidle(t, 'acpi_idle', 'menu', [('POLL', 0, 0), ('C1', 1, 0), ('C2', 350, 0)])
    vulns(t, {'l1tf': 'Not affected', 'mds': 'Not affected', 'meltdown': 'Not affected',
              'retbleed': 'Mitigation: untrained return thunk; SMT enabled with STIBP protection',
              'spec_rstack_overflow': 'Mitigation: Safe RET',
              'spec_store_bypass': 'Mitigation: Speculative Store Bypass disabled via prctl',
              'spectre_v1': 'Mitigation: usercopy/swapgs barriers and __user pointer sanitization',
              'spectre_v2': 'Mitigation: Retpolines; IBPB: conditional; STIBP: always-on; RSB filling'})
    # v1 with the devices controller enabled but not mounted.
    t.file('/proc/mounts', MOUNTS_HEAD + MOUNTS_V1.replace(
        'cgroup /sys/fs/cgroup/devices cgroup rw,nosuid,nodev,noexec,relatime,devices 0 0\n', ''))
    t.file('/proc/cgroups', PROC_CGROUPS_V1)
    t.finish()


def no_kvm_host():
    """Bare-metal Intel with VT-x disabled in the firmware: no KVM, no tun, minimal kernel."""
    t = Tree('no-kvm')
    cpus = 4
    t.file('/proc/cpuinfo', cpuinfo('GenuineIntel', 'Intel(R) Core(TM) i5-8500 CPU @ 3.00GHz',
                                    BASE_FLAGS + ' pdpe1gb', cpus))
    common(t, 'BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro', cpus)
    for table in ('APIC', 'DSDT', 'FACP'):
        t.file(f'/sys/firmware/acpi/tables/{table}')
    t.dir('/sys/kernel/iommu_groups')
    huge = {2048: (0, 0)}
    hugepages(t, huge)
    t.file('/sys/devices/system/node/online', '0\n')
    node(t, 0, '0-3', 16300000, huge)
    t.file('/proc/sys/kernel/numa_balancing', '0\n')
    t.file('/proc/swaps', 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n')
    t.file('/proc/sys/vm/swappiness', '60\n')
    t.file('/proc/sys/vm/dirty_ratio', '50\n')
    disk(t, 'sda', '[mq-deadline] kyber bfq none', 0)
    cpufreq(t, cpus, 'intel_pstate', 'powersave', no_turbo=1)
    t.file('/proc/mounts', MOUNTS_HEAD)
    t.file('/proc/cgroups', PROC_CGROUPS_V1)
    t.finish()


def main():
    intel_host('intel-ept-1g', cgroup_v2=False)
    intel_host('cgroup-v2', cgroup_v2=True)
    amd_host()
    no_kvm_host()
    return 0


if __name__ == '__main__':
    sys.exit(main())
