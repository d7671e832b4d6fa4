#!/usr/bin/env bash
# bench/lib/9p-rootfs.sh - the guest root file system of bench/9p: Debian
# bookworm minbase with git (and nothing else beyond its dependencies), built
# with debootstrap from the Debian archive, as a zstd tarball (numeric owners).
# Prints the tarball's path. Needs root (debootstrap chroots).
#
# Cached under ${LXS_CACHE:-~/.cache/lxs}/distro, keyed as tests/distro/debian.sh
# keys its tarball (suite, variant, mirror, arch) plus the extra packages and
# what is stripped, so it is built once; delete the file to rebuild.
# Environment: DEBIAN_SUITE (bookworm), DEBIAN_MIRROR (http://deb.debian.org/debian).
set -euo pipefail

suite=${DEBIAN_SUITE:-bookworm}
variant=minbase
include=git
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Not needed to run git, find, stat, tar and dd; smaller image, faster boot.
strip="usr/share/doc usr/share/man usr/share/info usr/share/locale var/cache/apt var/lib/apt/lists"
say() { echo "9p-rootfs: $*" >&2; }

[ "$(id -u)" = 0 ] || { say "debootstrap needs root"; exit 1; }
command -v debootstrap >/dev/null || { say "debootstrap is not installed (apt-get install debootstrap)"; exit 1; }
command -v zstd >/dev/null || { say "zstd is not installed (apt-get install zstd)"; exit 1; }

arch=$(dpkg --print-architecture)
key=$(printf '%s\n' "$suite" "$variant" "$mirror" "$arch" "$include" "$strip" | sha256sum | cut -c1-12)
cache=${LXS_CACHE:-$HOME/.cache/lxs}/distro
tarball=$cache/debian-$suite-$variant+$include-$arch-$key.tar.zst
mkdir -p "$cache"
if [ ! -s "$tarball" ]; then
	work=$(mktemp -d "$cache/debian-git-work.XXXXXX")
	cleanup() {
		grep -o " $work/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
		rm -rf --one-file-system "$work"
	}
	trap cleanup EXIT
	start=$(date +%s)
	say "building $suite/$variant + $include from $mirror (a few minutes, once)"
	debootstrap --variant="$variant" --include="$include" --arch="$arch" "$suite" "$work/root" "$mirror" >&2
	for d in $strip; do rm -rf "${work:?}/root/$d"/*; done
	tar --numeric-owner --sort=name --format=posix -C "$work/root" -cf - . |
		zstd -q -T0 -10 >"$work/rootfs.tar.zst"
	mv "$work/rootfs.tar.zst" "$tarball"
	say "built $(du -h "$tarball" | cut -f1) in $(($(date +%s) - start)) s"
fi
echo "$tarball"
