#!/usr/bin/env bash
# lxs-vm tests that need no guest: argument and input errors, and the refusal
# of a /dev/kvm that cannot run a guest at speed. Run on the host directly.
# usage: tests/vm/host.sh KERNEL_DIR
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
plan 11
kdir=$1
vmm=build/lxs-vm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
initrd=build/guest/test-initramfs.cpio

run() { "$vmm" "$@" >"$tmp/out" 2>&1 </dev/null; echo $?; }

st=$(run --kernel /nonexistent/bzImage)
expect vmm_missing_kernel 125 "$st" "$tmp/out" "cannot open kernel /nonexistent/bzImage: No such file"
[ "$(wc -l <"$tmp/out")" -eq 1 ] || fail vmm_missing_kernel_one_line "$(cat "$tmp/out")"

st=$(run --kernel "$initrd")
expect vmm_not_a_kernel 125 "$st" "$tmp/out" "is not a Linux kernel"

head -c 100 /dev/urandom >"$tmp/short"
st=$(run --kernel "$tmp/short")
expect vmm_short_file 125 "$st" "$tmp/out" "is not a Linux kernel"

st=$(run --kernel "$kdir/bzImage" --initrd /nonexistent/initrd)
expect vmm_missing_initrd 125 "$st" "$tmp/out" "cannot read initrd"

st=$(run --kernel "$kdir/bzImage" --cpus 0)
expect vmm_bad_cpus 125 "$st" "$tmp/out" "--cpus 0 is not a number"
st=$(run --kernel "$kdir/bzImage" --mem lots)
expect vmm_bad_mem 125 "$st" "$tmp/out" "--mem lots is not a size"
st=$(run)
expect vmm_no_kernel 125 "$st" "$tmp/out" "no kernel given"
st=$(run --bogus)
expect vmm_unknown_option 125 "$st" "$tmp/out" "usage: lxs-vm"

# A software /dev/kvm must be refused with a reason, quickly, never a hang;
# and so must a missing one (kvm_pvm loaded with no device node is seen too).
if [ ! -e /dev/kvm ]; then
	st=$(timeout 20 "$vmm" --kernel "$kdir/bzImage" --initrd "$initrd" >"$tmp/out" 2>&1 </dev/null; echo $?)
	expect vmm_refuses_missing_kvm 125 "$st" "$tmp/out" "^lxs-vm: cannot open /dev/kvm .*load kvm_intel or kvm_amd"
	st=$(run --check-kvm)
	expect vmm_check_kvm_missing 125 "$st" "$tmp/out" "cannot open /dev/kvm"
	skip vmm_refuses_emulated_kvm_by_timing "this host has no /dev/kvm"
elif [ -e /sys/module/kvm_pvm ]; then
	st=$(timeout 20 "$vmm" --kernel "$kdir/bzImage" --initrd "$initrd" >"$tmp/out" 2>&1 </dev/null; echo $?)
	expect vmm_refuses_kvm_pvm 103 "$st" "$tmp/out" "kvm_pvm, a software hypervisor" "nested-KVM rig"
	# The calibration loop alone must reach the same verdict.
	st=$(LXS_TEST_NO_PVM_CHECK=1 timeout 20 "$vmm" --kernel "$kdir/bzImage" >"$tmp/out" 2>&1 </dev/null; echo $?)
	expect vmm_refuses_emulated_kvm_by_timing 103 "$st" "$tmp/out" "runs guest code by emulation"
	st=$(run --check-kvm)
	expect vmm_check_kvm_slow 103 "$st" "$tmp/out" "software hypervisor"
else
	skip vmm_refuses_kvm_pvm "this host's /dev/kvm is not kvm_pvm"
	skip vmm_refuses_emulated_kvm_by_timing "this host's /dev/kvm is not software-emulated"
	skip vmm_check_kvm_slow "this host's /dev/kvm is not software-emulated"
fi
exit 0
