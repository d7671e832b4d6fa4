#!/usr/bin/env bash
# scripts/apt-check.sh - the manual check of issue 14 that needs the outside
# world, so it is not part of make check: in a version-2 Debian distro,
# `apt-get update && apt-get install -y hello` against the Debian mirror the
# image was built from (tests/distro/debian.sh: the machine's own,
# deb.debian.org by default), through lxs-net. Where /dev/kvm runs guests at
# speed it runs directly; otherwise inside the nested-KVM rig given a network
# card (LXS_RIG_NET=1), so the rig's host is this machine.
#   usage: scripts/apt-check.sh        (needs build/vmtest/debian.img: make check makes it)
set -uo pipefail
cd "$(dirname "$0")/.."
img=build/vmtest/debian.img
[ -f "$img" ] || { echo "apt-check: no $img; make check (as root) makes it" >&2; exit 2; }
kdir=$(kernel/build.sh) || exit 2
if [ "${1:-}" != --inside ] && ! build/lxs-vm --check-kvm >/dev/null 2>&1; then
	echo "apt-check: /dev/kvm is a software hypervisor here; running in the rig with a network card" >&2
	LXS_RIG_NET=1 exec tests/rig/rig.sh --scratch build/vmtest -- scripts/apt-check.sh --inside
fi
tmp=$(mktemp -d /tmp/lxs-apt.XXXXXX)
export XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config XDG_RUNTIME_DIR=$tmp/run
mkdir -p "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME/lxs" && chmod 0700 "$XDG_RUNTIME_DIR"
trap 'build/lxs --shutdown >/dev/null 2>&1; rm -rf "$tmp"' EXIT
printf '[wsl2]\nkernel = %s/vmlinux\nmemory = 2GB\nkernelBootTimeout = 240000\n' "$kdir" >"$XDG_CONFIG_HOME/lxs/lxs.conf"
cp --sparse=always "$img" "$tmp/debian.img"
build/lxs --import-in-place aptcheck "$tmp/debian.img" || exit 1
build/lxs -d aptcheck -- sh -c 'cat /etc/resolv.conf; grep -h "^deb\|^URIs" /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null;
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y hello && hello'
st=$?
[ $st = 0 ] && echo "apt-check: ok: apt-get update and install hello worked in version 2" ||
	echo "apt-check: FAILED (exit $st); see $XDG_RUNTIME_DIR/lxs/net.log" >&2
exit $st
