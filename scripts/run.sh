#!/usr/bin/env bash
# make run: the main job on the default distribution. Installs Debian
# (`lxs --install debian`: debootstrap once as root, then cached) under the
# name `debian` if this user has no such distro yet, and runs a command in it:
# `cat /etc/os-release; uname -r`. Version 2 (the lxs VM) where /dev/kvm can
# run a Linux guest; version 1 (no VM, starts in seconds) where it cannot,
# saying why in one line. Safe to re-run: an installed distro is reused.
# Environment: LXS_RUN_DISTRO (debian) names the distro to use;
# LXS_RUN_VERSION (1 or 2) picks the version instead of the host.
set -euo pipefail
cd "$(dirname "$0")/.."
lxs=build/lxs
name=${LXS_RUN_DISTRO:-debian}
say() { echo "run: $*" >&2; }

kvm=$(build/lxs-vm --check-kvm 2>&1) && version=2 || version=1
if [ -n "${LXS_RUN_VERSION:-}" ]; then
	[[ $LXS_RUN_VERSION =~ ^[12]$ ]] || { say "LXS_RUN_VERSION takes 1 or 2, not '$LXS_RUN_VERSION'."; exit 2; }
	version=$LXS_RUN_VERSION
	say "version $version (LXS_RUN_VERSION=$version)"
elif [ $version = 2 ]; then
	say "version 2 (the lxs VM): $kvm"
else
	say "version 1 (no VM): ${kvm#lxs-vm: }"
fi
# The guest kernel: built once (about 12 minutes here), then cached.
if [ $version = 2 ]; then kernel/build.sh >/dev/null; fi

have=$("$lxs" --list --verbose 2>/dev/null | awk -v n="$name" '{ sub(/^\*/, "") } $1 == n { print $3 }') || true
if [ -z "$have" ]; then
	say "installing Debian bookworm as the distro '$name' (version $version)"
	"$lxs" --install debian --name "$name" --version "$version" --no-launch
	have=$version
elif [ "$have" != "$version" ]; then
	say "your distro '$name' is version $have; this host runs version $version, so convert it once:"
	say "  $lxs --set-version $name $version    (or set LXS_RUN_DISTRO to another name)"
	exit 1
fi
say "running: $lxs -d $name -- sh -c 'cat /etc/os-release; uname -r'"
"$lxs" -d "$name" -- sh -c 'cat /etc/os-release; uname -r'
