#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the vmpilot test guest from installed Debian packages only (linux-image-amd64,
# busybox-static, gcc) and prints the directory that holds it:
#   kernel             the ELF vmlinux extracted from /boot/vmlinuz-* (boots via PVH),
#                      or the bzImage itself when extraction fails
#   initramfs.cpio.gz  busybox, the virtio modules, /init and the vmpguest tool
#   kernel.version     the kernel release the modules belong to
# The result is cached in $VMP_GUEST_CACHE (default $XDG_CACHE_HOME/vmpilot/guest, or
# ~/.cache/vmpilot/guest) under a key hashed from every input, so it is rebuilt only when
# the kernel, busybox, modules, gcc or a file of this directory changes.
# Usage: build-guest.sh [--force]   (needs: xz, cpio, gzip, gcc, busybox-static)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
force=0
[ "${1:-}" = "--force" ] && force=1

die() { echo "build-guest.sh: $*" >&2; exit 1; }

# The newest installed kernel, unless VMP_GUEST_KERNEL names one (a vmlinuz path).
vmlinuz=${VMP_GUEST_KERNEL:-$(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)}
[ -r "$vmlinuz" ] || die "cannot read kernel '$vmlinuz': install linux-image-amd64"
kver=${vmlinuz##*/vmlinuz-}
moddir=/lib/modules/$kver/kernel/drivers
[ -d "$moddir" ] || die "cannot find modules of kernel '$kver' in '$moddir'"
busybox=$(command -v busybox) || die "cannot find 'busybox': install busybox-static"

# Load order matters: virtio fails with "Unknown symbol virtio_break_device" otherwise.
modules="virtio/virtio_ring virtio/virtio virtio/virtio_pci_legacy_dev \
virtio/virtio_pci_modern_dev virtio/virtio_pci virtio/virtio_balloon char/virtio_console \
virtio/virtio_mem block/virtio_blk"
modfiles=
for m in $modules; do
	f=
	for ext in ko ko.xz ko.zst; do
		[ -r "$moddir/$m.$ext" ] && f="$moddir/$m.$ext" && break
	done
	[ -n "$f" ] || die "cannot find module '$m' of kernel '$kver'"
	modfiles="$modfiles $f"
done

cache=${VMP_GUEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmpilot/guest}
key=$( {
	echo "$kver"
	sha256sum "$vmlinuz" "$busybox" $modfiles "$here/build-guest.sh" "$here/init.sh" \
		"$here/vmpguest.c"
	gcc --version | head -n 1
} | sha256sum | cut -c1-16)
out=$cache/$kver-$key
if [ $force = 0 ] && [ -r "$out/kernel" ] && [ -r "$out/initramfs.cpio.gz" ]; then
	touch "$out"   # last use, for the pruning below
	echo "$out"
	exit 0
fi

mkdir -p "$cache"
# One build at a time (parallel tests may all ask for the guest).
exec 9>"$cache/.lock"
flock -w 300 9 || die "cannot lock '$cache/.lock'"
if [ $force = 0 ] && [ -r "$out/kernel" ] && [ -r "$out/initramfs.cpio.gz" ]; then
	echo "$out"
	exit 0
fi
tmp=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The kernel: the XZ payload of the bzImage is the ELF vmlinux, which QEMU boots via PVH
# (saves the in-guest decompression, 3-4 s under TCG).
off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | head -n 1 | cut -d: -f1 || true)
if [ -n "$off" ] && tail -c +"$((off + 1))" "$vmlinuz" | xz -dc --single-stream \
		>"$tmp/kernel" 2>/dev/null && \
		[ "$(head -c 4 "$tmp/kernel" | od -An -c | tr -d ' ')" = '177ELF' ]; then
	echo vmlinux >"$tmp/kernel.kind"
else
	cp "$vmlinuz" "$tmp/kernel"
	echo bzImage >"$tmp/kernel.kind"
fi
echo "$kver" >"$tmp/kernel.version"

# The initramfs.
root=$tmp/root
mkdir -p "$root/bin" "$root/sbin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" \
	"$root/etc" "$root/lib/modules"
cp "$busybox" "$root/bin/busybox"
for app in $("$busybox" --list); do
	[ "$app" = busybox ] || ln -s busybox "$root/bin/$app"
done
order=
for f in $modfiles; do
	name=$(basename "$f")
	name=${name%%.ko*}
	case "$f" in
	*.ko.xz) xz -dc "$f" >"$root/lib/modules/$name.ko" ;;
	*.ko.zst) zstd -dcq "$f" >"$root/lib/modules/$name.ko" ;;
	*) cp "$f" "$root/lib/modules/$name.ko" ;;
	esac
	order="$order $name"
done
echo $order >"$root/etc/modules.order"
gcc -static -O2 -pthread -o "$root/bin/vmpguest" "$here/vmpguest.c"
strip "$root/bin/vmpguest"
cp "$here/init.sh" "$root/init"
chmod 755 "$root/init"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -1 \
	>"$tmp/initramfs.cpio.gz"
rm -rf "$root"

rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
chmod 755 "$out"
# Images unused for two days (other kernels, older versions of these files) go: each is
# ~70 MB. A day's margin keeps an image a running test may still be about to boot.
find "$cache" -mindepth 1 -maxdepth 1 -type d -name '*-*' ! -name '.*' -mmin +2880 \
	-exec rm -rf {} + 2>/dev/null || true
echo "$out"
