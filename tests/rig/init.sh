#!/bin/busybox sh
# /init of the nested-KVM rig's outer VM (see rig.sh). It turns the host's
# root, shared read-only over 9P, into the guest's root, runs the one command
# rig.sh prepared, leaves its exit status in the scratch share and powers off.
#
# The kernel hands us `lxs_rig=NAME` in the environment: NAME is rig.sh's
# control directory inside the scratch share (cmd.sh, scratch_path, and the
# status or error file we write back). Nothing here may exit: init exiting
# panics the kernel, which QEMU reports only as "no status".

export PATH=/bin
ctl=""

# The kernel's own poweroff message is printed at KERN_EMERG and would end up
# in the command's output, so silence the console first. The serial port
# drops whatever is still queued for it when the machine stops, so wait for
# the queue to drain by closing our last descriptor on the console.
power_off() {
	sync
	echo 0 >/proc/sys/kernel/printk
	exec </dev/null >/dev/null 2>&1
	poweroff -f
}

# rig.sh prints the error file on its stderr; the console is the fallback
# for failures before the scratch share is up.
fail() {
	if [ -z "$ctl" ] || ! echo "$*" 2>/dev/null >"$ctl/error"; then echo "rig: $*"; fi
	power_off
}

mount_9p() { # TAG DIR CACHE [EXTRA-OPTIONS]
	mount -t 9p -o "trans=virtio,version=9p2000.L,msize=512000,cache=$3${4:+,$4}" "$1" "$2"
}

mkdir -p /proc /sys /dev /host /scratch
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# The initramfs has no /dev/console, so the kernel gave us no stdio.
exec </dev/console >/dev/console 2>&1

# Built-in or absent modules were left out of the list when it was made.
# A kvm-amd failure is reported once the scratch share can carry it.
kvm_error=""
while read -r mod; do
	err=$(insmod "/lib/modules/$mod.ko" 2>&1) && continue
	case "$mod" in
	kvm-amd)
		said=$(dmesg | grep -iE 'kvm|svm' | tail -n1 | sed 's/^\[[^]]*\] *//')
		kvm_error="kvm-amd did not load (${err#insmod: }; kernel: $said), so there is no /dev/kvm; check the -cpu flags in rig.sh."
		;;
	*) echo "rig: insmod $mod: $err" ;;
	esac
done </lib/modules/order

# The loopback, up as on any machine: tests run servers on 127.0.0.1 and ::1
# (the VM's NAT reaches them there). The rig has no other network at all.
ip link set lo up || echo "rig: cannot bring the loopback up"
# LXS_RIG_NET=1 (manual checks only): QEMU's user network, its fixed addresses.
if [ "${lxs_rig_net:-}" = 1 ]; then
	ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2 ||
		echo "rig: cannot configure eth0"
fi

mount_9p scratch /scratch mmap || fail "cannot mount the scratch share over 9P; see the messages above."
if [ -z "$lxs_rig" ] || [ ! -f "/scratch/$lxs_rig/cmd.sh" ]; then
	fail "rig.sh's control directory '$lxs_rig' is missing from the scratch share."
fi
ctl=/scratch/$lxs_rig
[ -z "$kvm_error" ] || fail "$kvm_error"

# The RTC gave us whole seconds, so we run up to a second behind the host,
# whose clock stamps every file written over 9P, and make would find files
# from the future. Step to the host's next second instead.
touch "$ctl/clock" && date -s "@$(($(stat -c %Y "$ctl/clock") + 1))" >/dev/null
scratch_host=$(cat "$ctl/scratch_path")

# Running programs from the host is the rig's main job. "loose" lets the
# guest keep pages and metadata of the host's files; rerunning gcc took 2 s
# with it and 10-11 s with cache=none or mmap. The price: changes the host
# makes to its files during a run may go unseen inside.
mount_9p hostroot /host loose ro || fail "cannot mount the host's root over 9P."
mount -t proc proc /host/proc
mount -t sysfs sysfs /host/sys
mount -t devtmpfs devtmpfs /host/dev
mkdir -p /host/dev/pts /host/dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /host/dev/pts
mount -t tmpfs -o mode=1777 tmpfs /host/dev/shm
mount -t tmpfs -o mode=1777 tmpfs /host/tmp
mount -t tmpfs -o mode=755 tmpfs /host/run
# A checkout under /tmp, /run or /dev/shm comes as a share of its own (rig.sh).
if [ -f "$ctl/checkout_path" ]; then
	checkout_host=$(cat "$ctl/checkout_path")
	mkdir -p "/host$checkout_host" &&
		mount_9p checkout "/host$checkout_host" loose ro || fail "cannot mount the checkout's share at $checkout_host."
fi
# The scratch directory may live under /tmp, which is now an empty tmpfs.
mkdir -p "/host$scratch_host" 2>/dev/null
mount -o bind /scratch "/host$scratch_host" || fail "cannot mount the scratch share at $scratch_host."

[ -c /host/dev/kvm ] || fail "/dev/kvm is missing inside the rig although kvm-amd loaded; check what the kernel package changed."

# rig.sh's console filter takes this line as "booted" and drops it.
printf '\001lxs-rig: booted\n'
chroot /host /usr/bin/env -i /bin/bash "$scratch_host/$lxs_rig/cmd.sh" </dev/null
status=$?

echo "$status" >"$ctl/status.new" && mv "$ctl/status.new" "$ctl/status"
power_off
