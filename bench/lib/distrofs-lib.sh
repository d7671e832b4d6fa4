# bench/lib/distrofs-lib.sh - sourced by bench/distrofs (version 1, on this
# host) and bench/lib/distrofs-vm.sh (version 2, in the rig or where /dev/kvm
# runs guests): the three measurements of a distro's files seen from the
# host, taken the same way on every side (lxs-fs, the peer, native):
#   meta   `find ROOT/usr -type f -print0 | xargs -0 stat` (the distro's
#          /usr holds a git checkout of the kernel's fs/ at /usr/src/linux)
#   git    `git status --porcelain` in ROOT/usr/src/linux, run by the host's git
#   read   a DF_MIB MiB file at ROOT/root/big read with dd, MiB/s
#   cold   the same read after this kernel's page cache was dropped (root
#          only; else not measured): what crosses to the distro, not what
#          this side kept of the last read
# Each is run once to warm what every side may cache (but cold), then
# DF_RUNS times; the median is printed, every run's time to stderr. git runs
# twice to warm: its first status on a side refreshes git's own index
# (re-reading files whose recorded stat data changed, then writing the
# index), work that falls on whichever side runs first, not on the files. Results go to stdout as KEY=VALUE lines, failures to
# stderr as one line and status 1.
# LXS_DISTROFS_RUNS (3) and LXS_DISTROFS_MIB (1024) change the counts
# (LXS_* names: tests/rig/rig.sh carries them into the rig).
# shellcheck shell=bash

DF_RUNS=${LXS_DISTROFS_RUNS:-3}
DF_MIB=${LXS_DISTROFS_MIB:-1024}

df_say() { echo "bench/distrofs: $*" >&2; }
df_median() { sort -g | awk '{a[NR]=$1} END {if (NR) print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
df_now() { date +%s%N; }

# df_time FUNCTION ARG...: seconds it took (3 decimals), or nothing and status 1.
# (The callers' own timeouts bound it: bench/distrofs's rig, the v1 side's mount.)
df_time() {
	local t0 t1
	t0=$(df_now)
	"$@" >/dev/null 2>&1 || return 1
	t1=$(df_now)
	awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f\n", (b - a) / 1e9}'
}

df_meta() { find "$1/usr" -type f -print0 | xargs -0 stat >/dev/null; }
df_git() { git -c safe.directory='*' -C "$1/usr/src/linux" status --porcelain >/dev/null; }
df_read() { dd if="$1/root/big" of=/dev/null bs=1M status=none; }
df_cold() { df_read "$@"; }
# This kernel's page cache dropped (FUSE's pages with it; the VM's own stay): root only.
df_drop() { sync && { echo 1 >/proc/sys/vm/drop_caches; } 2>/dev/null; }

# df_measure NAME ROOT: NAME_meta_s, NAME_git_s, NAME_read_mibs and NAME_cold_mibs for the tree at ROOT.
df_measure() {
	local name=$1 root=$2 what t v pre st=0
	for what in meta git read cold; do
		pre=:
		if [ "$what" = cold ]; then
			df_drop || { df_say "$name: cold read not measured (/proc/sys/vm/drop_caches is root's)"; continue; }
			pre=df_drop
		fi
		"df_$what" "$root" >/dev/null 2>&1 || { df_say "$name: the $what run failed at $root"; st=1; continue; }
		[ "$what" != git ] || df_git "$root" >/dev/null 2>&1 || true
		v=$(for _ in $(seq "$DF_RUNS"); do $pre; df_time "df_$what" "$root" || echo fail; done)
		df_say "$name $what runs: $(tr '\n' ' ' <<<"$v")"
		if grep -q fail <<<"$v"; then
			df_say "$name: a $what run failed at $root"
			st=1
			continue
		fi
		t=$(df_median <<<"$v")
		case $what in
		read | cold) awk -v t="$t" -v m="$DF_MIB" -v n="$name" -v w="$what" 'BEGIN {printf "%s_%s_mibs=%.1f\n", n, w, m / t}' ;;
		*) echo "${name}_${what}_s=$t" ;;
		esac
	done
	return $st
}
