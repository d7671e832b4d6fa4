#!/bin/bash
# /sbin/b9p-init: init of bench/9p's and bench/hostfs's guest (Debian
# bookworm minbase + git on a read-only virtio-blk root; see
# bench/lib/p9bench.py). For each item of b9p.job=CACHE-MSIZE-PARTS[/...] on
# the kernel command line it mounts the virtio-9p share tagged "hostroot" at
# /mnt/host with those options (CACHE "virtiofs": the virtio-fs share tagged
# "hostfs", MSIZE unused), runs
# /usr/local/bin/b9p-work (bench/lib/9p-work.sh) on it and unmounts it; then
# it prints B9P-END and leaves: isa-debug-exit (QEMU), then a reset (lxs-vm
# exits on it). The same for both VMMs.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir -p /dev/shm && mount -t tmpfs -o mode=1777 tmpfs /dev/shm
exec </dev/null >/dev/console 2>&1

job=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^b9p\.job=//p')
echo "B9P-START"
for item in ${job//\// }; do
	IFS=- read -r cache msize parts <<<"$item"
	label="$cache-$msize"
	if [ "$cache" = virtiofs ]; then
		# As lxs-init mounts it (src/guest/automount.c): 1 MiB read-ahead.
		mount -t virtiofs hostfs /mnt/host &&
			{ echo 1024 >"/sys/class/bdi/$(mountpoint -d /mnt/host)/read_ahead_kb" || true; }
	else
		mount -t 9p -o "trans=virtio,version=9p2000.L,msize=$msize,cache=$cache" hostroot /mnt/host
	fi
	if [ $? -eq 0 ]; then
		LOCAL=/dev/shm b9p-work /mnt/host "$label" "$parts"
		umount /mnt/host || echo "B9P $label umount_error=1"
	else
		echo "B9P $label mount_error=1"
	fi
done
echo "B9P-END"
sync
# QEMU's isa-debug-exit; then a reset (reboot=k), which lxs-vm takes as the
# end. bench/lib/p9bench.py also stops the VMM a few seconds after B9P-END.
printf '\0' | dd of=/dev/port bs=1 seek=$((0xf4)) count=1 2>/dev/null
echo b >/proc/sysrq-trigger
sleep 60
