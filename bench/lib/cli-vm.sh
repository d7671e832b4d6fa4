#!/usr/bin/env bash
# The VM half of bench/cli (run by it, directly or in the rig): cold
# `lxs -- true` (no VM running; median of 10) and warm (median of 100).
# Prints "VM cold_ms=... warm_ms=...".
set -euo pipefail
cd "$(dirname "$0")/../.."
kdir=$1 dir=$2
tmp=$(mktemp -d /tmp/lxs-bench.XXXXXX)
export XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config XDG_RUNTIME_DIR=$tmp/run
mkdir -p "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME/lxs" && chmod 0700 "$XDG_RUNTIME_DIR"
printf '[wsl2]\nkernel = %s/vmlinux\nmemory = 1GB\nkernelBootTimeout = 240000\n' "$kdir" >"$XDG_CONFIG_HOME/lxs/lxs.conf"
L=build/lxs
trap '$L --shutdown --force >/dev/null 2>&1; rm -rf "$tmp"' EXIT
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
$L --import-in-place bb "$dir/busybox.img"
for _ in $(seq 10); do
	t0=$(date +%s%N)
	$L -- true
	echo $((($(date +%s%N) - t0) / 1000000))
	$L --shutdown
done | median >"$tmp/cold"
$L -- true
for _ in $(seq 100); do
	t0=$(date +%s%N)
	$L -- true
	echo $((($(date +%s%N) - t0) / 1000))
done | median >"$tmp/warm_us"
echo "VM cold_ms=$(cat "$tmp/cold") warm_ms=$(awk '{printf "%.1f", $1 / 1000}' "$tmp/warm_us")"
