#!/usr/bin/env bash
# The version-2 half of bench/interop (run by it, in the nested-KVM rig or
# directly where /dev/kvm runs guests at speed): distro DIR/busybox.img (the
# busybox test distro with /bin/timeit) in a VM, lxs-host timed from inside
# one session, and the ssh peer on this side's loopback, all by
# bench/lib/interop-lib.sh. Prints one line "VM ref_ms=... host_true_ms=...
# ssh_true_ms=... host_pipe_mibs=... ssh_pipe_mibs=..." (na where a part
# could not run); exits 1 if any part failed.
# usage: bench/lib/interop-vm.sh KERNEL_DIR DIR
# shellcheck disable=SC2317 # cleanup is called from the trap
set -euo pipefail
cd "$(dirname "$0")/../.."
kdir=$1 dir=$2
tmp=$(mktemp -d /tmp/lxs-interop.XXXXXX)
export XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config XDG_RUNTIME_DIR=$tmp/run
mkdir -p "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME/lxs" && chmod 0700 "$XDG_RUNTIME_DIR"
# One vCPU in the rig (tests/rig/rig.sh says why), two on real KVM.
cpus=2
[ "${LXS_IN_RIG:-}" != 1 ] || cpus=1
printf '[wsl2]\nkernel = %s/vmlinux\nmemory = 1GB\nprocessors = %s\nkernelBootTimeout = 240000\n' "$kdir" "$cpus" \
	>"$XDG_CONFIG_HOME/lxs/lxs.conf"
. bench/lib/interop-lib.sh
IO_TMP=$tmp/io IO_TIMEIT=$dir/timeit IO_LXS=$PWD/build/lxs
mkdir -p "$IO_TMP"
cleanup() {
	io_ssh_stop
	timeout 120 "$IO_LXS" --shutdown --force >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
st=0
if timeout 600 "$IO_LXS" --import-in-place bb "$dir/busybox.img"; then
	# The first command boots the VM; what is measured is the running session.
	timeout 900 "$IO_LXS" -d bb -- true </dev/null || io_say "the VM did not start (lxs -d bb -- true failed)"
	io_measure_all bb >"$tmp/kv" || st=1
else
	io_say "lxs --import-in-place of $dir/busybox.img failed"
	st=1
fi
echo "VM $(tr '\n' ' ' <"$tmp/kv" 2>/dev/null)"
exit $st
