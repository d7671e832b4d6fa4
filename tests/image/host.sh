#!/usr/bin/env bash
# tests/image/host.sh TARBALL - lxs-mkimage as whoever runs it (tests/check.sh
# runs it as uid 65534 from a staged copy): a distro tarball becomes a sparse
# ext4 image that e2fsck passes, with no privilege at all.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
plan 1
tarball=${1:-}
if [ -z "$tarball" ] || [ ! -r "$tarball" ]; then
	fail image_made_by_caller "no readable distro tarball given ('$tarball'); tests/check.sh stages the busybox one"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
build/lxs-mkimage "$tarball" "$tmp/u.img" --size 64M >"$tmp/log" 2>&1 && e2fsck -fn "$tmp/u.img" >>"$tmp/log" 2>&1
expect "image_made_by_$(id -un)" 0 $? "$tmp/log"
exit 0
