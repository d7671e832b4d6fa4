#!/usr/bin/env bash
# make run: boot the lxs guest kernel in lxs-vm and print the kernel version
# the guest reports from inside the VM. Until the distro manager lands, this
# is what "run lxs on its default distro" means. On a host whose /dev/kvm
# cannot run guests at speed it goes through the nested-KVM rig, and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
kdir=$(kernel/build.sh)
boot=(build/lxs-vm --kernel "$kdir/bzImage" --initrd build/guest/test-initramfs.cpio
	--cpus 2 --mem 512M --cmdline "console=hvc0 quiet")
if build/lxs-vm --check-kvm >/dev/null 2>&1; then
	out=$("${boot[@]}" </dev/null) || true
else
	echo "run: $(build/lxs-vm --check-kvm 2>&1 | sed 's/^lxs-vm: //')" >&2
	echo "run: booting inside the nested-KVM rig instead (slow: about a minute)" >&2
	out=$(tests/rig/rig.sh -- "${boot[@]}") || true
fi
line=$(printf '%s\n' "$out" | tr -d '\r' | grep -m1 'LXS-TEST-TOKEN' || true)
if [ -z "$line" ]; then
	printf '%s\n' "$out" | tail -n 20 >&2
	echo "run: the guest did not report back; the output above says why." >&2
	exit 1
fi
kver=$(printf '%s\n' "$line" | sed 's/.*kernel=\([^ ]*\).*/\1/')
cpus=$(printf '%s\n' "$line" | sed 's/.*cpus=\([^ ]*\).*/\1/')
echo "guest kernel: Linux $kver ($cpus vCPUs), reported from inside the lxs VM"
