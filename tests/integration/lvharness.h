/* SPDX-License-Identifier: MIT */
/*
 * Private libvirtd daemons for integration tests (libvirtd-harness.sh does the work).
 * Every daemon started here is stopped — libvirtd, virtlogd and every QEMU it started,
 * killed by PID — by vmp_lvd_stop() in the test's teardown, by an atexit handler, by
 * handlers of fatal signals, and by a guardian process that outlives the test: the
 * daemon's parent (a child subreaper that reaps its zombies at once), which stops it
 * when the test dies in any way, even by SIGKILL (EOF on its command pipe), or after
 * its lifetime.
 *
 * Test code: failures print "lvharness: ..." on stderr and return a negative errno.
 */
#ifndef VMP_TEST_LVHARNESS_H
#define VMP_TEST_LVHARNESS_H

struct vmp_lvd;

/*
 * Starts a daemon with its state in dir (created), hostname host and a free TCP port
 * on 127.0.0.1; lifetime_s bounds it (0 = 300). Returns 0 and *ret.
 */
int vmp_lvd_start(const char *dir, const char *host, unsigned lifetime_s, struct vmp_lvd **ret);

/* qemu+unix:///system?socket=DIR/run/libvirt/libvirt-sock */
const char *vmp_lvd_uri(const struct vmp_lvd *d);
/* qemu+tcp://127.0.0.1:PORT/system */
const char *vmp_lvd_tcp_uri(const struct vmp_lvd *d);
/* The host path of /run inside the daemon's namespace (DIR/run). */
const char *vmp_lvd_run_dir(const struct vmp_lvd *d);

/*
 * The libvirt XML of a test guest: type='qemu' (TCG), the tests/guest image in img_dir
 * booted directly, mem_mib of RAM, 1 of 4 vCPUs, a balloon with 1-s stats, the serial
 * log at /run/vmp/serial.log and the agent channel at /run/vmp/agent.sock (paths inside
 * the daemon's namespace, so a migrated guest gets its own on the destination).
 * Returns a new string (caller frees).
 */
char *vmp_lvd_guest_xml(const char *name, unsigned mem_mib, const char *img_dir);

struct vmp_guest;

/*
 * Creates the test guest (the XML above) as a transient domain name on d, with a serial
 * log and agent socket of its own (/run/vmp/NAME.serial.log and NAME.agent.sock, so that
 * several guests share a daemon and a migrated guest finds its files on the
 * destination), and attaches *ret_guest (tests/guest/guest.h) to them. Returns 0, or -1
 * after printing why.
 */
int vmp_lvd_guest_create(struct vmp_lvd *d, const char *name, unsigned mem_mib,
			 const char *img_dir, struct vmp_guest **ret_guest);

/* Restarts libvirtd (its QEMUs keep running). */
int vmp_lvd_restart(struct vmp_lvd *d);

/* Stops the daemon and everything it started; frees d. Accepts NULL. */
void vmp_lvd_stop(struct vmp_lvd *d);

/*
 * For a test's main(): returns if private daemons can run here (root, libvirtd,
 * unshare); otherwise prints a loud message and exits 77 (SKIP), or 1 when CI or
 * VMP_REQUIRE_VMS is set.
 */
void vmp_lvd_require(void);

#endif
