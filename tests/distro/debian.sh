#!/usr/bin/env bash
# tests/distro/debian.sh OUTDIR - a Debian bookworm minbase root filesystem
# as OUTDIR/debian.tar.zst (numeric owners, xattrs, ACLs), built with
# debootstrap from the Debian archive. With DEBIAN_INCLUDE=pkg,pkg... those
# packages are added (e.g. systemd-sysv) and the file is
# OUTDIR/$DEBIAN_NAME.tar.zst. Needs root (debootstrap chroots and
# makes device nodes): exits 77, "skip", for anyone else.
#
# Cached under ${LXS_CACHE:-~/.cache/lxs}/distro, keyed by what decides the
# result apart from the day it is built (suite, variant, mirror, arch), so it
# is built once; delete the cached file to rebuild. Prints the tarball's path.
# Environment: DEBIAN_SUITE (bookworm), DEBIAN_MIRROR (http://deb.debian.org/debian),
# DEBIAN_INCLUDE (none), DEBIAN_NAME (debian).
set -euo pipefail

out=${1:?usage: tests/distro/debian.sh OUTDIR}
suite=${DEBIAN_SUITE:-bookworm}
variant=minbase
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
include=${DEBIAN_INCLUDE:-}
name=${DEBIAN_NAME:-debian}
say() { echo "debian.sh: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
	say "debootstrap needs root; skipping (run as root to build the Debian test distro)"
	exit 77
fi
if ! command -v debootstrap >/dev/null; then
	say "debootstrap is not installed (apt-get install debootstrap); skipping"
	exit 77
fi
command -v zstd >/dev/null || { say "zstd is not installed (apt-get install zstd)"; exit 1; }

arch=$(dpkg --print-architecture)
# The key of a plain minbase stays what it was before packages could be added.
key=$(printf '%s\n' "$suite" "$variant" "$mirror" "$arch" ${include:+"$include"} | sha256sum | cut -c1-12)
cache=${LXS_CACHE:-$HOME/.cache/lxs}/distro
tarball=$cache/debian-$suite-$variant${include:+-plus}-$arch-$key.tar.zst
mkdir -p "$cache" "$out"

if [ ! -s "$tarball" ]; then
	work=$(mktemp -d "$cache/debian-work.XXXXXX")
	# An interrupted debootstrap can leave /proc and /sys mounted inside.
	cleanup() {
		grep -o " $work/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
		rm -rf --one-file-system "$work"
	}
	trap cleanup EXIT
	start=$(date +%s)
	say "building $suite/$variant from $mirror (a few minutes, once)"
	# debootstrap's own I: lines are the progress display.
	debootstrap --variant="$variant" ${include:+--include="$include"} --arch="$arch" "$suite" \
		"$work/root" "$mirror" >&2
	# What a container image leaves out: downloaded lists and packages.
	rm -rf "$work"/root/var/lib/apt/lists/* "$work"/root/var/cache/apt/*.bin \
		"$work"/root/var/cache/apt/archives/*.deb
	say "packing"
	tar --numeric-owner --xattrs --xattrs-include='*' --acls --sort=name --format=posix \
		-C "$work/root" -cf - . | zstd -q -T0 -10 >"$work/debian.tar.zst"
	mv "$work/debian.tar.zst" "$tarball"
	say "built $(du -h "$tarball" | cut -f1) in $(( $(date +%s) - start )) s"
fi
# A copy, not a link: whatever the caller does with it must not touch the cache.
rm -f "$out/$name.tar.zst"
cp --reflink=auto "$tarball" "$out/$name.tar.zst"
echo "$out/$name.tar.zst"
