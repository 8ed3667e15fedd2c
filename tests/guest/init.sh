#!/bin/sh
# SPDX-License-Identifier: MIT
# /init of the vmpilot test guest (see tests/guest/README.md): mounts the kernel file
# systems, loads the virtio modules in dependency order, starts the stats reporter on the
# console and serves host commands on the virtio-serial port "vmp.agent".
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /etc/modules.order); do
	insmod "/lib/modules/$m.ko" || echo "vmp-init: cannot load module '$m'"
done
interval=2
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	vmp.interval=*) interval="${arg#vmp.interval=}" ;;
	esac
done
echo "VMP-BOOT modules loaded"
/bin/vmpguest report "$interval" &
exec /bin/vmpguest agent vmp.agent
