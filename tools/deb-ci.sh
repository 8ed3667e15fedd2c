#!/bin/sh
# SPDX-License-Identifier: MIT
# CI for the Debian package: builds it (tools/build-deb.sh: dpkg-buildpackage and
# lintian, which fails on any error or warning), installs it into a clean Debian 12
# root made by debootstrap --variant=minbase (its tarball lives in this run's temporary
# directory only), and there runs `vmpilot --version`, `vmpilot check`, `vmpilotd -n` on
# the packaged configuration and `systemd-analyze verify` and `security` on the packaged
# unit. Then it boots that root with systemd-nspawn: vmpilotd.service starts as
# installed (pointed at libvirt's test:///default through /etc/default/vmpilotd, as an
# operator would point it at a host), reaches READY, publishes its VM with mode advise,
# and `vmpilot status` shows it. Each stage's time is printed.
# Usage: tools/deb-ci.sh   (as root; needs debootstrap, systemd-container, network to
# deb.debian.org or $VMP_DEBIAN_MIRROR)
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
mirror=${VMP_DEBIAN_MIRROR:-http://deb.debian.org/debian}
work=$(mktemp -d /tmp/vmp-debci-XXXXXX)
root=$work/root
cleanup() {
	for m in dev sys proc; do
		mountpoint -q "$root/$m" 2>/dev/null && umount "$root/$m"
	done
	rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "deb-ci: FAIL: $*" >&2; exit 1; }
start=$(date +%s)
stage=$start
lap() { now=$(date +%s); echo "deb-ci: $1: $((now - stage)) s"; stage=$now; }
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }

# 1. The package and lintian.
"$src/tools/build-deb.sh" "$work/out"
deb=$(ls "$work"/out/vmpilot_*_*.deb)
lap "dpkg-buildpackage + lintian"

# 2. A clean Debian 12 root.
debootstrap --variant=minbase --make-tarball="$work/bookworm.tgz" bookworm "$work/tb" \
	"$mirror" >"$work/debootstrap.log" 2>&1 || { tail "$work/debootstrap.log"; fail "debootstrap"; }
rm -rf "$work/tb"
debootstrap --variant=minbase --unpack-tarball="$work/bookworm.tgz" bookworm "$root" \
	"$mirror" >>"$work/debootstrap.log" 2>&1 || { tail "$work/debootstrap.log"; fail "debootstrap"; }
lap "debootstrap bookworm minbase"

# 3. apt installs the .deb with its dependencies (and systemd, man-db: a Debian 12 host
# has them; the unit's verification needs both).
cp "$deb" "$root/tmp/"
in_root apt-get update -q >"$work/apt.log" 2>&1 || { tail "$work/apt.log"; fail "apt-get update"; }
in_root apt-get install -y -q --no-install-recommends "/tmp/${deb##*/}" systemd man-db \
	>>"$work/apt.log" 2>&1 || { tail -30 "$work/apt.log"; fail "apt-get install"; }
lap "apt install"

# 4. The installed files.
mount --bind /proc "$root/proc"
mount --bind /sys "$root/sys"
mount --bind /dev "$root/dev"
out=$(in_root vmpilot --version) || fail "vmpilot --version"
echo "$out"
echo "$out" | grep -q '^vmpilot [0-9]' || fail "vmpilot --version said: $out"
rc=0
in_root vmpilot check >"$work/check.txt" 2>&1 || rc=$?
head -3 "$work/check.txt"
# 0 nothing FAILs, 1 a finding (this CI machine cannot boot KVM guests); not 2 or a crash.
[ $rc -le 1 ] || { cat "$work/check.txt"; fail "vmpilot check exited $rc"; }
grep -q '^CHECK ' "$work/check.txt" || fail "vmpilot check printed no table"
in_root vmpilotd -n -f /etc/vmpilot/vmpilot.conf || fail "the packaged configuration"
grep -q '^mode = advise$' "$root/etc/vmpilot/vmpilot.conf" || fail "packaged mode is not advise"
in_root dpkg-query -W -f='${Conffiles}\n' vmpilot | grep -q ' /etc/vmpilot/vmpilot.conf ' ||
	fail "/etc/vmpilot/vmpilot.conf is not a conffile"
in_root getent group vmpilot >/dev/null || fail "no vmpilot group"
for f in /usr/bin/vmpilot /usr/sbin/vmpilotd /usr/share/man/man1/vmpilot.1.gz \
	/usr/share/man/man8/vmpilotd.8.gz /usr/share/man/man5/vmpilot.conf.5.gz \
	/usr/share/vmpilot/traces/planetlab/20110303 \
	/usr/share/bash-completion/completions/vmpilot /lib/systemd/system/vmpilotd.service; do
	[ -e "$root$f" ] || fail "missing $f"
done
out=$(in_root systemd-analyze verify /lib/systemd/system/vmpilotd.service 2>&1) ||
	fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify is not clean: $out"
out=$(in_root systemd-analyze security --offline=true /lib/systemd/system/vmpilotd.service 2>&1)
level=$(echo "$out" | sed -n 's/.*Overall exposure level for vmpilotd.service: \([0-9.]*\).*/\1/p')
echo "deb-ci: systemd-analyze verify clean; exposure $level"
awk -v l="${level:-99}" 'BEGIN { exit !(l <= 4.0) }' || fail "exposure ${level:-?} above 4.0"
for m in dev sys proc; do umount "$root/$m"; done
lap "checks in the root"

# 5. Booted: install -> start -> READY -> its VM published.
cat >"$root/etc/default/vmpilotd" <<'EOT'
LIBVIRT_DEFAULT_URI=test:///default
EOT
cat >"$root/usr/local/bin/vmp-ci-check" <<'EOT'
#!/bin/sh
# In the booted container: what systemd and vmpilot say, then power off.
{
	i=0
	while [ $i -lt 120 ] && ! systemctl is-active -q vmpilotd; do sleep 0.5; i=$((i + 1)); done
	echo "active=$(systemctl is-active vmpilotd)"
	systemctl show -p Type -p StatusText -p NRestarts vmpilotd
	echo "--- status.json"; cat /run/vmpilot/status.json; echo
	echo "--- vmpilot status"; vmpilot status -c test:///default
	echo "--- journal priority warning"; journalctl -u vmpilotd -p warning -o cat --no-pager
} >/var/tmp/vmp-ci-result 2>&1
systemctl poweroff
EOT
chmod +x "$root/usr/local/bin/vmp-ci-check"
cat >"$root/etc/systemd/system/vmp-ci-check.service" <<'EOT'
[Unit]
Description=vmpilot CI check
After=vmpilotd.service
[Service]
Type=oneshot
ExecStart=/usr/local/bin/vmp-ci-check
[Install]
WantedBy=multi-user.target
EOT
ln -s /etc/systemd/system/vmp-ci-check.service \
	"$root/etc/systemd/system/multi-user.target.wants/vmp-ci-check.service"
timeout 180 systemd-nspawn -D "$root" --register=no --keep-unit -b --console=read-only \
	</dev/null >"$work/boot.log" 2>&1 || { tail -30 "$work/boot.log"; fail "systemd-nspawn boot"; }
res=$root/var/tmp/vmp-ci-result
[ -f "$res" ] || { tail -30 "$work/boot.log"; fail "the container did not run its check"; }
cat "$res"
grep -q '^active=active$' "$res" || fail "vmpilotd.service is not active in the container"
grep -q '^Type=notify$' "$res" || fail "not Type=notify"
grep -q '^StatusText=cycle [0-9]*: 1 of 1 hosts ok, 1 vms' "$res" || fail "no READY status text"
grep -q '"name":"test","mode":"advise"' "$res" || fail "its VM is not published in mode advise"
grep -q '^test .* advise ' "$res" || fail "vmpilot status shows no mode"
lap "systemd-nspawn boot"
echo "deb-ci: ok in $(( $(date +%s) - start )) s"
