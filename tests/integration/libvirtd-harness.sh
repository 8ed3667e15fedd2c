#!/bin/sh
# SPDX-License-Identifier: MIT
# Private libvirtd instances for integration tests, without systemd and without touching
# the host's /etc (see ../../doc/design/libvirt-backend.md and the notes on real VMs):
#
#   libvirtd-harness.sh start DIR HOSTNAME TCP_PORT   start one daemon with state in DIR
#   libvirtd-harness.sh restart DIR                   restart libvirtd (QEMUs keep running)
#   libvirtd-harness.sh stop DIR                      kill every process of the daemon
#
# start runs, in a private mount + UTS namespace (unshare -m -u): hostname HOSTNAME, a
# copy of /etc/libvirt with its own host_uuid, TCP port and auth "none", qemu.conf with
# user root and no security driver, copies of /etc/passwd and /etc/group that have the
# libvirt-qemu user, and private directories over /run, /var/lib, /var/log and
# /var/cache; then virtlogd -d and libvirtd -d --listen. Clients connect with
#   qemu+unix:///system?socket=DIR/run/libvirt/libvirt-sock   or
#   qemu+tcp://127.0.0.1:TCP_PORT/system
# A path /run/X in a domain's XML is DIR/run/X on the host, so two daemons on one
# machine give the same domain XML different serial logs and sockets.
#
# stop kills, by PID, every process living in the daemon's mount namespace (libvirtd,
# virtlogd, every QEMU it started), first SIGTERM for libvirtd, then SIGKILL for all,
# and waits until they are gone. It is safe to call twice.
set -eu

die() {
	echo "libvirtd-harness: $*" >&2
	exit 1
}

[ $# -ge 2 ] || die "usage: $0 start DIR HOSTNAME PORT | restart DIR | stop DIR"
cmd=$1
dir=$2

# PIDs of every process whose mount namespace is the daemon's. Namespace inode numbers
# are reused once a namespace dies, so a process must also have this daemon's
# directory mounted on /run (mountinfo's root field ends in PARENT/NAME/run).
ns_pids() {
	[ -f "$dir/mntns" ] || return 0
	ns=$(cat "$dir/mntns")
	suffix="$(basename "$(dirname "$dir")")/$(basename "$dir")/run"
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/mnt" 2>/dev/null || true)" = "$ns" ] || continue
		awk -v want="$suffix" '$5 == "/run" {
			n = length($4); m = length(want)
			if (n >= m && substr($4, n - m + 1) == want) found = 1
		} END { exit !found }' "$p/mountinfo" 2>/dev/null && echo "${p#/proc/}"
	done
	return 0
}

wait_gone() {
	i=0
	while [ -n "$(ns_pids)" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# Waits until the daemon answers on its unix socket.
wait_ready() {
	i=0
	while ! virsh -q -c "qemu+unix:///system?socket=$dir/run/libvirt/libvirt-sock" \
		uri >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 100 ] || die "libvirtd in $dir did not answer within 10 s (see $dir/log)"
		sleep 0.1
	done
}

case "$cmd" in
start)
	[ $# -eq 4 ] || die "usage: $0 start DIR HOSTNAME PORT"
	host=$3
	port=$4
	[ "$(id -u)" = 0 ] || die "needs root (mount namespaces, QEMU as root)"
	command -v libvirtd >/dev/null || die "libvirtd not found (package libvirt-daemon-system)"
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	rm -rf "$dir/etc" "$dir/run" "$dir/lib" "$dir/log" "$dir/cache"
	mkdir -p "$dir/etc" "$dir/run/vmp" "$dir/lib" "$dir/log/libvirt/qemu" "$dir/cache"
	cp -a /etc/libvirt "$dir/etc/libvirt"
	# No autostarted networks or domains from the host's configuration.
	rm -rf "$dir/etc/libvirt/qemu/networks/autostart" "$dir/etc/libvirt/qemu/autostart"
	rm -f "$dir/etc/libvirt/qemu/"*.xml
	uuid=$(cat /proc/sys/kernel/random/uuid)
	cat > "$dir/etc/libvirt/libvirtd.conf" <<EOC
listen_tls = 0
listen_tcp = 1
listen_addr = "127.0.0.1"
tcp_port = "$port"
auth_tcp = "none"
auth_unix_rw = "none"
auth_unix_ro = "none"
unix_sock_group = "root"
unix_sock_rw_perms = "0700"
host_uuid = "$uuid"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
keepalive_interval = 2
EOC
	cat > "$dir/etc/libvirt/qemu.conf" <<EOC
user = "root"
group = "root"
security_driver = "none"
dynamic_ownership = 0
remember_owner = 0
EOC
	cp /etc/passwd "$dir/etc/passwd"
	cp /etc/group "$dir/etc/group"
	grep -q '^libvirt-qemu:' "$dir/etc/group" ||
		echo "libvirt-qemu:x:64055:libvirt-qemu" >> "$dir/etc/group"
	grep -q '^libvirt-qemu:' "$dir/etc/passwd" ||
		echo "libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin" \
			>> "$dir/etc/passwd"
	mkdir -p "$dir/lib/libvirt/qemu" "$dir/cache/libvirt"
	# libvirt makes /sys/fs/cgroup/CONTROLLER/machine without systemd: note which ones
	# did not exist, so stop can remove them again.
	for ctl in /sys/fs/cgroup/*/; do
		[ -d "${ctl}machine" ] || echo "${ctl}machine"
	done > "$dir/cgroup-machine-made"
	# The namespace's first process writes its namespace id, then starts the daemons.
	unshare -m -u --propagation private sh -c '
		set -e
		d=$1
		hostname "$2"
		mount --bind "$d/etc/libvirt" /etc/libvirt
		mount --bind "$d/etc/passwd" /etc/passwd
		mount --bind "$d/etc/group" /etc/group
		mount --bind "$d/run" /run
		mount --bind "$d/lib" /var/lib
		mount --bind "$d/log" /var/log
		mount --bind "$d/cache" /var/cache
		readlink /proc/self/ns/mnt > "$d/mntns"
		virtlogd -d
		libvirtd -d --listen
	' harness "$dir" "$host" > "$dir/start.log" 2>&1 ||
		die "cannot start libvirtd in $dir: $(cat "$dir/start.log")"
	wait_ready
	echo "qemu+unix:///system?socket=$dir/run/libvirt/libvirt-sock"
	;;
restart)
	dir=$(cd "$dir" && pwd)
	pid=$(cat "$dir/run/libvirtd.pid" 2>/dev/null) || die "no libvirtd.pid in $dir/run"
	kill -TERM "$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$dir/run/libvirtd.pid"
	# Any process still in the namespace (virtlogd, a QEMU) lets us enter it.
	anchor=$(ns_pids | head -n 1)
	[ -n "$anchor" ] || die "no process left in the namespace of $dir"
	nsenter -t "$anchor" -m -u libvirtd -d --listen ||
		die "cannot restart libvirtd in $dir"
	wait_ready
	;;
stop)
	[ -d "$dir" ] || exit 0
	dir=$(cd "$dir" && pwd)
	pid=$(cat "$dir/run/libvirtd.pid" 2>/dev/null || true)
	uri="qemu+unix:///system?socket=$dir/run/libvirt/libvirt-sock"
	# Let libvirt destroy its domains first (it removes their cgroups), bounded.
	if [ -S "$dir/run/libvirt/libvirt-sock" ]; then
		for dom in $(timeout 5 virsh -q -c "$uri" list --name 2>/dev/null || true); do
			timeout 5 virsh -q -c "$uri" destroy "$dom" >/dev/null 2>&1 || true
		done
	fi
	# Then QEMUs by the PIDs libvirt recorded (noting their cgroups), then everything
	# in the namespace.
	cgroups=
	for f in "$dir"/run/libvirt/qemu/*.pid; do
		[ -f "$f" ] || continue
		qpid=$(cat "$f")
		cgroups="$cgroups $(grep -o 'machine/[^/]*\.libvirt-qemu' "/proc/$qpid/cgroup" \
			2>/dev/null | sort -u | tr '\n' ' ')"
		kill -KILL "$qpid" 2>/dev/null || true
	done
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
	sleep 0.2
	for p in $(ns_pids); do
		kill -KILL "$p" 2>/dev/null || true
	done
	wait_gone
	left=$(ns_pids)
	[ -z "$left" ] || die "processes still alive in $dir: $left"
	# The cgroups of killed QEMUs (libvirt could not remove them), and the machine/
	# groups this harness made, when empty.
	for cg in $cgroups; do
		for ctl in /sys/fs/cgroup/*/; do
			[ -d "$ctl$cg" ] && find "$ctl$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true
		done
	done
	if [ -f "$dir/cgroup-machine-made" ]; then
		while read -r m; do
			rmdir "$m" 2>/dev/null || true
		done < "$dir/cgroup-machine-made"
	fi
	true
	;;
*)
	die "unknown command '$cmd'"
	;;
esac
