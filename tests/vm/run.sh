#!/usr/bin/env bash
# VM tests: boot the lxs kernel under lxs-vm with the static test init and
# check what comes out. Needs a /dev/kvm that runs guests at speed: run it
# directly on such a host, or through tests/rig/rig.sh (tests/check.sh picks).
# usage: tests/vm/run.sh KERNEL_DIR
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
plan 17
kdir=$1
bz=$kdir/bzImage
elf=$kdir/vmlinux
initrd=build/guest/test-initramfs.cpio
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ver=$(sed -n 's/^# Linux\/x86 \([^ ]*\) Kernel Configuration/\1/p' "$kdir/config")

# boot NAME VMM KERNEL CPUS CMDLINE_EXTRA [LXS-VM OPTION...] -> status; output in $tmp/NAME
boot() {
	local name=$1 vmm=$2 kernel=$3 cpus=$4 extra=$5
	local st
	shift 5
	watched 240 "$tmp/$name.stacks" "$vmm" -v --kernel "$kernel" --initrd "$initrd" --cpus "$cpus" \
		--mem 256M --cmdline "console=hvc0 quiet $extra" "$@" >"$tmp/$name" 2>&1 </dev/null
	st=$?
	# A boot that had to be stopped: show what it was waiting for.
	[ "$st" != 124 ] || sed "s/^/# $name: /" "$tmp/$name" | tail -n 60 >&2
	echo "$st"
}

st=$(boot bz1 build/lxs-vm "$bz" 1 "lxstest.code=7")
expect boot_bzimage_1cpu 7 "$st" "$tmp/bz1" "LXS-TEST-TOKEN kernel=${ver}-lxs cpus=1 " "<lxs-init-reached>"

st=$(boot bz2 build/lxs-vm "$bz" 2 "lxstest.code=0")
expect boot_bzimage_2cpus 0 "$st" "$tmp/bz2" "LXS-TEST-TOKEN .* cpus=2 "

st=$(boot pvh1 build/lxs-vm "$elf" 1 "lxstest.code=3")
expect boot_pvh_vmlinux 3 "$st" "$tmp/pvh1" "LXS-TEST-TOKEN kernel=${ver}-lxs cpus=1 "

st=$(boot pvh2 build/lxs-vm "$elf" 2 "lxstest.code=5")
expect boot_pvh_2cpus 5 "$st" "$tmp/pvh2" "LXS-TEST-TOKEN .* cpus=2 "

st=$(boot panic build/lxs-vm "$bz" 1 "lxstest.action=panic")
expect guest_panic_status 101 "$st" "$tmp/panic" "action=panic"

st=$(boot reboot build/lxs-vm "$bz" 1 "lxstest.action=reboot")
expect guest_reboot_status 100 "$st" "$tmp/reboot" "action=reboot"

st=$(boot kreboot build/lxs-vm "$bz" 1 "lxstest.action=kernel-reboot")
expect guest_kernel_reboot_via_i8042 100 "$st" "$tmp/kreboot" "action=kernel-reboot"

st=$(boot bigcode build/lxs-vm "$bz" 1 "lxstest.code=120")
expect guest_exit_code_clamped 99 "$st" "$tmp/bigcode" "reporting 99"

# The 8250 alone carries a whole boot when asked to (console=ttyS0).
watched 240 "$tmp/serial.stacks" build/lxs-vm -v --kernel "$bz" --initrd "$initrd" --mem 256M \
	--cmdline "console=ttyS0 lxstest.code=4" >"$tmp/serial" 2>&1 </dev/null
expect serial_console 4 "$?" "$tmp/serial" "Linux version ${ver}-lxs" "LXS-TEST-TOKEN"

# Truncated kernel: looks like a bzImage, but its body is missing.
head -c 20000 "$bz" >"$tmp/truncated"
st=$(timeout 60 build/lxs-vm --kernel "$tmp/truncated" --initrd "$initrd" >"$tmp/trunc" 2>&1 </dev/null; echo $?)
expect truncated_kernel_refused 125 "$st" "$tmp/trunc" "lxs-vm: "

# The same boot under the sanitizer build: memory errors in the VMM fail here.
# (LXS_ASAN_BOOT=0 leaves it out, e.g. to save time on a slow machine.)
if [ "${LXS_ASAN_BOOT:-1}" = 0 ]; then
	skip boot_under_asan "LXS_ASAN_BOOT=0"
elif [ -x build/asan/lxs-vm ]; then
	# Two vCPUs, but one inside the rig: there a two-vCPU guest now and then
	# keeps the rig's only CPU for good (tests/rig/rig.sh), and the sanitizer's
	# slowness makes the long boot the likeliest to meet it (seen in a session 3
	# rehearsal). The two-vCPU boots above still cover SMP there.
	asan_cpus=2
	[ "${LXS_IN_RIG:-}" = 1 ] && asan_cpus=1
	# Without the sandbox: the leak checker stops the world at exit with
	# clone and ptrace, which no thread class may call (sandbox.c).
	st=$(boot asan build/asan/lxs-vm "$bz" "$asan_cpus" "lxstest.code=9" --no-sandbox)
	if grep -q "ERROR: AddressSanitizer\|runtime error:" "$tmp/asan"; then
		fail boot_under_asan "$(grep -m1 'ERROR: AddressSanitizer\|runtime error:' "$tmp/asan")"
	else
		expect boot_under_asan 9 "$st" "$tmp/asan" "LXS-TEST-TOKEN .* cpus=$asan_cpus "
	fi
else
	skip boot_under_asan "build/asan/lxs-vm was not built"
fi
# The sandbox (src/vmm/sandbox.c): a forbidden call from a thread of each
# class, once it is confined, ends lxs-vm with a line naming both. The 9P
# and virtio-fs shares give the run their workers.
mkdir -p "$tmp/share"
for cls in main vcpu p9 fs; do
	st=$(boot "probe-$cls" build/lxs-vm "$bz" 1 "lxstest.code=0" --share "probe=$tmp/share" \
		--fs "probefs=$tmp/share" --sandbox-probe "$cls")
	expect "sandbox_stops_${cls}_thread" 125 "$st" "$tmp/probe-$cls" \
		"the $cls thread made the forbidden system call personality \\(" "an attack by the guest"
done
# --no-sandbox: the same probes change nothing, and lxs-vm says loudly that it is off.
st=$(boot nosandbox build/lxs-vm "$bz" 1 "lxstest.code=8" --share "probe=$tmp/share" --no-sandbox \
	--sandbox-probe vcpu)
expect sandbox_off_warns 8 "$st" "$tmp/nosandbox" "sandbox is OFF" "LXS-TEST-TOKEN"

# lxs-vm needs no privilege beyond access to /dev/kvm: boot as nobody. In the
# rig the device is root's only, so it is opened up there first.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	[ "${LXS_IN_RIG:-}" = 1 ] && chmod 0666 /dev/kvm
	if setpriv --reuid=65534 --regid=65534 --clear-groups test -r /dev/kvm -a -w /dev/kvm; then
		# The kernel cache is in root's home; the user gets copies it may read.
		pub=$(mktemp -d /tmp/lxs-nobody.XXXXXX)
		chmod 0755 "$pub"
		install -m 0644 "$bz" "$initrd" "$pub/"
		install -m 0755 build/lxs-vm "$pub/" # the checkout may sit in a 0700 folder
		setpriv --reuid=65534 --regid=65534 --clear-groups timeout 240 "$pub/lxs-vm" \
			--kernel "$pub/bzImage" --initrd "$pub/$(basename "$initrd")" --mem 256M \
			--cmdline "console=hvc0 quiet lxstest.code=6" >"$tmp/nobody" 2>&1 </dev/null
		expect boot_as_ordinary_user 6 "$?" "$tmp/nobody" "LXS-TEST-TOKEN"
		rm -rf "$pub"
	else
		skip boot_as_ordinary_user "/dev/kvm is not usable by an ordinary user on this host"
	fi
else
	skip boot_as_ordinary_user "not root, so this whole suite already ran as an ordinary user"
fi
exit 0
