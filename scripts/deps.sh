#!/usr/bin/env bash
# Installs the Debian packages lxs needs to build, test and run, and nothing
# else. Safe to re-run: it asks apt only for what is missing, and refreshes the
# package lists at most once per run.
#
# usage: scripts/deps.sh [build|kernel|rig|all]   (default: all)
set -euo pipefail

want=${1:-all}
build=(build-essential make gcc clang musl-tools pkg-config cpio python3 liburing-dev libarchive-dev libext2fs-dev comerr-dev libinih-dev e2fsprogs debootstrap zstd libclang-rt-14-dev proot dpkg-dev)
kernel=(linux-source-6.12 bc flex bison libelf-dev libssl-dev xz-utils kmod lz4)
rig=(qemu-system-x86 busybox-static cpio xz-utils zstd)

case "$want" in
build) pkgs=("${build[@]}") ;;
kernel) pkgs=("${kernel[@]}") ;;
rig) pkgs=("${rig[@]}") ;;
all) pkgs=("${build[@]}" "${kernel[@]}" "${rig[@]}") ;;
*) echo "deps.sh: unknown set '$want'; use build, kernel, rig or all." >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	sudo=""
	command -v sudo >/dev/null && sudo -n true 2>/dev/null && sudo=sudo
	if [ -z "$sudo" ]; then
		echo "lxs needs these Debian packages: ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2
		exit 1
	fi
else
	sudo=""
fi

echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q >/dev/null
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done" >&2
