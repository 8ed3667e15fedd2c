/* SPDX-License-Identifier: MIT */
/*
 * The host half of the real-VM test harness: starts the test guest (build-guest.sh) in a
 * QEMU process under TCG (KVM only where it really boots guests), waits for it to boot,
 * sends it commands over its virtio-serial agent and reads what it reports, and ALWAYS
 * kills it by PID: vmp_guest_kill() in the test's teardown, an atexit handler and signal
 * handlers for the test process, PR_SET_PDEATHSIG on QEMU (dies with the test, even on
 * SIGKILL), and a watchdog process that kills QEMU after its lifetime. See README.md.
 *
 * This is test code: on failure the functions print a message on stderr (prefixed
 * "guest: ") and return a negative errno.
 */
#ifndef VMP_TEST_GUEST_H
#define VMP_TEST_GUEST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct vmp_guest_config {
	const char *name;       /* VM name; its QMP socket is qmp_dir/name.sock */
	const char *qmp_dir;    /* directory of QMP sockets (the qmp:// backend URI's path) */
	unsigned mem_mib;       /* boot memory; 0 = 512 */
	unsigned maxmem_mib;    /* for memory hotplug; 0 = 2048 */
	unsigned vcpus;         /* boot vCPUs; 0 = 1 */
	unsigned max_vcpus;     /* hotpluggable up to; 0 = 4 */
	const char *incoming;   /* NULL, or QEMU's -incoming value ("defer", "tcp:127.0.0.1:PORT") */
	const char *netns;      /* NULL, or a network namespace (/run/netns/NAME) to run QEMU in */
	const char *const *extra_args;  /* NULL-terminated extra QEMU arguments, or NULL */
	unsigned lifetime_s;    /* the watchdog kills QEMU after this; 0 = 300 */
};

/* What the guest reports about itself (its VMP-STATS line). */
struct vmp_guest_stats {
	double uptime_s;
	unsigned cpus_online;
	uint64_t memtotal_kib;
	uint64_t memfree_kib;
	uint64_t memavail_kib;
};

struct vmp_guest;

/*
 * Checks that guests can run here (qemu-system-x86_64 present, image builds). Returns 0,
 * or -ENOENT with a loud message. Tests call vmp_guest_require() instead.
 */
int vmp_guest_available(void);

/*
 * For a test's main(): returns normally if guests can run; otherwise prints a loud
 * message and exits 77 (meson's SKIP) — or exits 1 when VMP_REQUIRE_VMS or CI is set in
 * the environment, so CI never skips silently.
 */
void vmp_guest_require(void);

/* Builds (or finds in the cache) the guest image; *ret_dir is a new string. */
int vmp_guest_image(char **ret_dir);

/* "tcg", or "kvm" where KVM really boots guests; VMP_GUEST_ACCEL overrides. */
const char *vmp_guest_accel(void);

/* Starts QEMU (does not wait for the boot). Returns 0 and *ret_g. */
int vmp_guest_start(const struct vmp_guest_config *cfg, struct vmp_guest **ret_g);

/*
 * Attaches to a guest somebody else started (e.g. libvirtd) from its serial log file
 * and its agent socket (a listening unix socket). vmp_guest_kill() on it only frees it.
 */
int vmp_guest_attach(const char *name, const char *serial_log, const char *agent_socket,
		     struct vmp_guest **ret_g);

/*
 * Waits until QEMU listens on its QMP socket (before the guest boots; it connects once
 * and hangs up). -ECHILD if QEMU died.
 */
int vmp_guest_wait_qmp(struct vmp_guest *g, unsigned timeout_ms);

/* Waits until the guest printed its first stats line. -ETIMEDOUT, or -ECHILD if QEMU died. */
int vmp_guest_wait_boot(struct vmp_guest *g, unsigned timeout_ms);

/*
 * Sends one command line (see vmpguest.c) and returns the guest's reply line without
 * "ok " in *ret_reply (caller frees; may be NULL). A reply "err ..." gives -EIO.
 */
int vmp_guest_cmd(struct vmp_guest *g, const char *cmd, char **ret_reply, unsigned timeout_ms);

/* Asks the guest for its stats now (over the agent). */
int vmp_guest_stats(struct vmp_guest *g, struct vmp_guest_stats *ret, unsigned timeout_ms);

/* Parses one VMP-STATS line. Returns 0 or -EINVAL. */
int vmp_guest_parse_stats(const char *line, struct vmp_guest_stats *ret);

/*
 * Polls the guest's stats (every 200 ms) until pred returns true. The last stats seen are
 * left in *ret (may be NULL) also on -ETIMEDOUT.
 */
int vmp_guest_wait_until(struct vmp_guest *g, bool (*pred)(const struct vmp_guest_stats *s,
							   void *arg),
			 void *arg, unsigned timeout_ms, struct vmp_guest_stats *ret);

/* Kills QEMU by PID (SIGKILL, then waits), removes its files, frees g. Accepts NULL. */
void vmp_guest_kill(struct vmp_guest *g);

/* Kills every guest still running (also called at exit and on fatal signals). */
void vmp_guest_kill_all(void);

/* True while QEMU has not exited. */
bool vmp_guest_alive(struct vmp_guest *g);
pid_t vmp_guest_pid(const struct vmp_guest *g);
const char *vmp_guest_name(const struct vmp_guest *g);
const char *vmp_guest_qmp_socket(const struct vmp_guest *g);
const char *vmp_guest_run_dir(const struct vmp_guest *g);   /* serial.log, agent.sock, qemu.log */

/* Milliseconds of CLOCK_MONOTONIC, for deadlines in tests. */
int64_t vmp_guest_now_ms(void);

#endif
