#!/usr/bin/env bash
# The version-2 half of bench/distrofs (run by it, in the nested-KVM rig or
# directly where /dev/kvm runs guests at speed): distro DIR/distro.img in a
# VM, its files measured from this side through lxs-fs and through sshfs,
# in the same run, by bench/lib/distrofs-lib.sh.
#
# The peer: Debian's sshfs talking SFTP to Debian's sftp-server running in
# the distro (the host's own binary, started through the host's loader from
# /mnt/host, as the busybox distro has no libc), on guest port 2222, reached
# on this side's 127.0.0.1 through lxs's localhost forwarding. sshfs's
# directport option skips ssh itself, so the peer pays no encryption: the
# comparison is, if anything, kind to it.
# Prints one line "VM KEY=VALUE..." (lxs_*, sshfs_*); exits 1 if a part failed.
# usage: bench/lib/distrofs-vm.sh KERNEL_DIR DIR
# shellcheck disable=SC2317 # cleanup is called from the trap
set -euo pipefail
cd "$(dirname "$0")/../.."
kdir=$1 dir=$2
tmp=$(mktemp -d /tmp/lxs-distrofs.XXXXXX)
export XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config XDG_RUNTIME_DIR=$tmp/run
mkdir -p "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME/lxs" && chmod 0700 "$XDG_RUNTIME_DIR"
# One vCPU in the rig (tests/rig/rig.sh says why), two on real KVM.
cpus=2
[ "${LXS_IN_RIG:-}" != 1 ] || cpus=1
printf '[wsl2]\nkernel = %s/vmlinux\nmemory = 2GB\nprocessors = %s\nkernelBootTimeout = 240000\nvmIdleTimeout = -1\ninstanceIdleTimeout = -1\n' \
	"$kdir" "$cpus" >"$XDG_CONFIG_HOME/lxs/lxs.conf"
. bench/lib/distrofs-lib.sh
LXS=$PWD/build/lxs
F=$XDG_RUNTIME_DIR/lxs/fs
sshfs_mnt=$tmp/sshfs
mkdir -p "$sshfs_mnt"
server_pid=""
cleanup() {
	mountpoint -q "$sshfs_mnt" 2>/dev/null && fusermount3 -u -z "$sshfs_mnt"
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
	timeout 120 "$LXS" --shutdown --force >/dev/null 2>&1 || true
	mountpoint -q "$F" 2>/dev/null && umount -l "$F" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
st=0
: >"$tmp/kv"
if ! timeout 600 "$LXS" --import-in-place D "$dir/distro.img"; then
	df_say "lxs --import-in-place of $dir/distro.img failed"
	exit 1
fi
# The first command boots the VM and the distro; the big file is made inside.
timeout 1800 "$LXS" -d D -u root -- sh -c "head -c $((DF_MIB << 20)) /dev/zero >/root/big && sync" </dev/null ||
	df_say "the VM did not start (lxs -d D failed)"
# The peer's server, for as long as we measure (the session also keeps the distro up).
"$LXS" -d D -u root -- nc -ll -p 2222 -e /bin/sftpd </dev/null >"$tmp/server.log" 2>&1 &
server_pid=$!

if timeout 300 bash -c "until [ -d '$F/D/usr/src/linux' ]; do sleep 0.2; done"; then
	df_measure lxs "$F/D" >>"$tmp/kv" || st=1
else
	df_say "lxs-fs shows no $F/D/usr/src/linux: $(ls -la "$F" "$F/D" 2>&1 | tr '\n' '|') $(tail -n 5 "$XDG_RUNTIME_DIR"/lxs/*.log 2>/dev/null | tr '\n' '|')"
	st=1
fi
# sshfs: the forwarded port comes up once lxs-fwd has seen the listener.
if ! command -v sshfs >/dev/null; then
	df_say "sshfs is not installed (Debian's sshfs: scripts/deps.sh build)"
	st=1
elif timeout 120 bash -c 'until sshfs -o directport=2222 127.0.0.1:/ "$0" 2>/dev/null; do sleep 0.5; done' "$sshfs_mnt"; then
	df_measure sshfs "$sshfs_mnt" >>"$tmp/kv" || st=1
else
	df_say "sshfs could not mount the distro through 127.0.0.1:2222: $(tr '\n' '|' <"$tmp/server.log")"
	st=1
fi
echo "VM $(tr '\n' ' ' <"$tmp/kv")"
exit $st
