#!/usr/bin/env bash
# Two builds of lxs side by side in one VM run (by bench/cli-ab, directly
# or in the nested-KVM rig): warm `lxs -- true` (rounds interleaved, 30 per
# build per round, LXS_AB_ROUNDS rounds, default 3) and cold (VM stopped before
# each; 2 per build per round). Per round it prints each build's warm median. Each build uses its own lxs, lxsd, lxs-vm and initramfs and
# its own run folder. Prints "AB NAME cold_ms=... warm_ms=..." per build.
# usage: bench/lib/cli-ab.sh KERNEL_DIR IMAGE NAME=TREE NAME=TREE
set -euo pipefail
kdir=$1 img=$2
shift 2
tmp=$(mktemp -d /tmp/lxs-ab.XXXXXX)
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
env_of() { # NAME: the XDG folders of that build's user
	echo "XDG_DATA_HOME=$tmp/$1/data XDG_CONFIG_HOME=$tmp/$1/config XDG_RUNTIME_DIR=$tmp/$1/run"
}
declare -A tree
for nt in "$@"; do
	n=${nt%%=*} tree[$n]=${nt#*=}
	mkdir -p "$tmp/$n/run" "$tmp/$n/config/lxs" && chmod 0700 "$tmp/$n/run"
	printf '[wsl2]\nkernel = %s/vmlinux\nmemory = 1GB\nkernelBootTimeout = 240000\n' "$kdir" \
		>"$tmp/$n/config/lxs/lxs.conf"
	env $(env_of "$n") "${tree[$n]}/build/lxs" --import-in-place "bb$n" "$img"
done
cleanup() {
	for n in "${!tree[@]}"; do env $(env_of "$n") "${tree[$n]}/build/lxs" --shutdown --force >/dev/null 2>&1 || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
for round in $(seq "${LXS_AB_ROUNDS:-3}"); do
	for n in "${!tree[@]}"; do
		L=${tree[$n]}/build/lxs
		for _ in 1 2; do
			env $(env_of "$n") "$L" --shutdown
			t0=$(date +%s%N)
			env $(env_of "$n") "$L" -d "bb$n" -- true
			echo $((($(date +%s%N) - t0) / 1000000)) >>"$tmp/$n.cold"
		done
		for _ in $(seq 30); do
			t0=$(date +%s%N)
			env $(env_of "$n") "$L" -d "bb$n" -- true
			echo $((($(date +%s%N) - t0) / 1000))
		done >"$tmp/$n.round"
		cat "$tmp/$n.round" >>"$tmp/$n.warm"
		echo "round $round $n warm_ms=$(median <"$tmp/$n.round" | awk '{printf "%.1f", $1 / 1000}')" >&2
		env $(env_of "$n") "$L" --shutdown
	done
done
for n in "${!tree[@]}"; do
	echo "AB $n cold_ms=$(median <"$tmp/$n.cold") warm_ms=$(median <"$tmp/$n.warm" | awk '{printf "%.1f", $1 / 1000}')"
done
