#!/bin/bash
# bench/lib/9p-work.sh DIR LABEL PARTS - the workload of bench/9p, the same
# script on the host (the native baseline) and inside the guest (DIR is then
# the 9P mount). DIR holds what bench/lib/p9bench.py put there: tools/ (a
# git repository of the Linux kernel's tools/ tree), big (1 GiB) and
# .b9p/tx.tar (100 MiB of kernel sources); scratch work goes to DIR/w.
# PARTS is a string of letters: m find+stat of every entry of tools/ (twice:
# cold, then warm), g `git status` in tools/ (twice: the first may refresh
# the index), r sequential read of big, c create then delete 10,000 small
# files, t `tar x` of tx.tar into DIR/w (+ sync). LOCAL (default /dev/shm)
# is a local tmpfs for the tarball's copy, so tar x only writes to DIR.
# Prints one "B9P LABEL key=value" line per measure (milliseconds; counts
# for files and read_mib) as soon as it is taken; bench/lib/p9bench.py reads them.
set -u
dir=$1 label=$2 parts=$3
local_dir=${LOCAL:-/dev/shm}
files=${B9P_FILES:-10000}
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null LC_ALL=C

now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }
say() { echo "B9P $label $*"; }
# Runs the rest of the line and prints KEY=<milliseconds>; a failure is
# printed as KEY_error=<status> and the measure left out.
timed() { # KEY CMD...
	local key=$1 t0 t1 st
	shift
	t0=$(now_us)
	"$@"
	st=$?
	t1=$(now_us)
	if [ $st -ne 0 ]; then say "${key}_error=$st"; return $st; fi
	say "$key=$(((t1 - t0) / 1000))"
}

find_stat() { find "$dir/tools" -print0 | xargs -0 stat -c '%i %s %Y' >/dev/null; }
git_status() { git -c safe.directory='*' -C "$dir/tools" status --porcelain >/dev/null; }
read_big() { dd if="$dir/big" of=/dev/null bs=1M 2>/dev/null; }
create_files() {
	local i
	mkdir -p "$dir/w/c" || return 1
	for ((i = 0; i < files; i++)); do
		echo "$i" >"$dir/w/c/f$i" || return 1
	done
}
delete_files() { rm -rf "$dir/w/c"; }
untar() { mkdir -p "$dir/w/t" && tar -xf "$local_dir/b9p-tx.tar" -C "$dir/w/t" && sync; }

rm -rf "$dir/w"
for ((p = 0; p < ${#parts}; p++)); do
	case ${parts:p:1} in
	m)
		say "files=$(find "$dir/tools" | wc -l)"
		timed meta_ms find_stat
		timed meta_warm_ms find_stat
		;;
	g)
		timed git_first_ms git_status
		timed git_ms git_status
		;;
	r)
		say "read_mib=$(($(stat -c %s "$dir/big") / 1048576))"
		timed read_ms read_big
		;;
	c)
		timed create_ms create_files
		timed delete_ms delete_files
		;;
	t)
		cp "$dir/.b9p/tx.tar" "$local_dir/b9p-tx.tar"
		timed tar_ms untar
		rm -f "$local_dir/b9p-tx.tar"
		timed tar_rm_ms rm -rf "$dir/w/t"
		;;
	esac
done
rm -rf "$dir/w"
