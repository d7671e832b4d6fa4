#!/usr/bin/env bash
# bench/lib/cli-stages.sh KERNEL_DIR IMAGE: the stages of a warm session for
# the build before issue 16 (/work/bench-old, a worktree at 90181ca) and this
# one, in one VM run (the rig): `lxs --version` (lxs starting), `lxs --list`
# (plus a STATUS to lxsd) and `lxs -- true` (the whole session), medians of
# 15, 3 rounds interleaved. Prints "round R BUILD STAGE MICROSECONDS us".
set -u
kdir=$1 img=$2
tmp=$(mktemp -d /tmp/st.XXXXXX)
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
declare -A T=([before]=${LXS_AB_BEFORE:-/work/bench-old} [after]=$(cd "$(dirname "$0")/../.." && pwd))
for n in before after; do
	mkdir -p $tmp/$n/run $tmp/$n/cfg/lxs && chmod 700 $tmp/$n/run
	printf '[wsl2]\nkernel = %s/vmlinux\nmemory = 1GB\nkernelBootTimeout = 240000\n' "$kdir" > $tmp/$n/cfg/lxs/lxs.conf
	env XDG_DATA_HOME=$tmp/$n/data XDG_CONFIG_HOME=$tmp/$n/cfg XDG_RUNTIME_DIR=$tmp/$n/run ${T[$n]}/build/lxs --import-in-place bb $img
done
for round in 1 2 3; do
for n in before after; do
	E="XDG_DATA_HOME=$tmp/$n/data XDG_CONFIG_HOME=$tmp/$n/cfg XDG_RUNTIME_DIR=$tmp/$n/run"; L=${T[$n]}/build/lxs
	env $E $L -d bb -- true
	for what in version list true; do
		for i in $(seq 15); do
			t0=$(date +%s%N)
			case $what in version) env $E $L --version >/dev/null;; list) env $E $L --list >/dev/null;; true) env $E $L -d bb -- true;; esac
			echo $((($(date +%s%N)-t0)/1000))
		done > $tmp/r; echo "round $round $n $what $(median < $tmp/r) us"
	done
	env $E $L --shutdown
done
done
