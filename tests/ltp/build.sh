#!/usr/bin/env bash
# tests/ltp/build.sh - builds the Linux Test Project's system-call tests
# once and prints the folder they are installed in (an /opt/ltp layout:
# bin/, testcases/bin/, runtest/), ready to be copied into a distro tree.
#
# The source is third-party test data, never part of this checkout:
# $LXS_LTP_SOURCE, else <repo>/../shared/ltp/*.tar.xz, else
# /work/shared/ltp/*.tar.xz. Without one it says why and exits 77, so that
# callers skip.
#
# The result is cached in ${LXS_CACHE:-~/.cache/lxs}/ltp/<key>, the key
# being a hash of the tarball, this script's recipe number, the compiler, the
# C library and the machine. Next to the install, lxs-meta.tsv tells
# tests/ltp/run.sh each program's group (its folder under
# testcases/kernel/syscalls) and whether its source wants a block device or
# mounts file systems (.needs_device, .mount_device, .all_filesystems,
# .format_device, and .needs_rofs, .needs_hugetlbfs, .needs_cgroup_ctrls
# and the old API's tst_acquire_device, which mount too).
# It is built in a work folder and renamed into place, so a killed build
# never leaves half a cache. Progress goes to stderr, the folder to stdout.
# Building needs Debian's autoconf automake libtool m4 bison flex
# pkg-config make gcc (scripts/deps.sh) and ~15 minutes on 2 cores.
#
# usage: tests/ltp/build.sh        LTP_JOBS=N sets make's -j (default 2)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

src=${LXS_LTP_SOURCE:-}
if [ -z "$src" ]; then
	for d in "$repo/../shared/ltp" /work/shared/ltp; do
		for f in "$d"/*.tar.xz; do
			[ -f "$f" ] && { src=$f; break 2; }
		done
	done
fi
if [ -z "$src" ] || [ ! -f "$src" ]; then
	echo "ltp: no LTP source tarball (set LXS_LTP_SOURCE, or put one in ../shared/ltp/)" >&2
	exit 77
fi
for t in autoconf automake aclocal libtoolize m4 bison flex pkg-config make gcc; do
	if ! command -v "$t" >/dev/null; then
		echo "ltp: $t is missing; run scripts/deps.sh all as root" >&2
		exit 77
	fi
done

# What decides the result: the source, how it is built (bump recipe when a
# step below changes what is built or installed), the compiler, the C
# library and the machine.
recipe=1
key=$({
	sha256sum <"$src"
	echo "recipe $recipe"
	gcc -dumpfullversion -dumpmachine
	ldd --version 2>&1 | head -n 1
	uname -m
} | sha256sum | cut -c1-16)
cache=${LXS_CACHE:-$HOME/.cache/lxs}/ltp
out=$cache/$key
if [ -x "$out/opt/ltp/testcases/bin/getpid01" ] && [ -s "$out/opt/ltp/lxs-meta.tsv" ]; then
	echo "$out/opt/ltp"
	exit 0
fi

# meta SRC INSTALL: INSTALL/lxs-meta.tsv, one line per program of the
# install: name, group, 1 if its source wants a device or mounts, else 0.
# (The old API's tests acquire a loop device and mount it themselves.)
mounts='\.(needs_device|mount_device|all_filesystems|format_device|needs_rofs|needs_hugetlbfs)[[:space:]]*=[[:space:]]*(1|true)|\.needs_cgroup_ctrls[[:space:]]*=|tst_acquire_device'
meta() {
	local s=$1 i=$2
	{
		(cd "$s/testcases/kernel/syscalls" && find . -name '*.c' | sort) | while read -r f; do
			b=${f##*/}; b=${b%.c}
			[ -x "$i/testcases/bin/$b" ] || continue
			g=${f#./}; g=${g%/*}
			d=0
			grep -qE "$mounts" "$s/testcases/kernel/syscalls/$f" && d=1
			printf '%s\t%s\t%s\n' "$b" "$g" "$d"
		done
		for h in "${helpers[@]}"; do
			for f in "$s/$h"/*.c; do
				b=${f##*/}; b=${b%.c}
				[ -x "$i/testcases/bin/$b" ] && printf '%s\t%s\t0\n' "$b" "${h##*/}"
			done
		done
	} >"$i/lxs-meta.tsv.new"
	# Programs built from another's source: the 16-bit id and 64-bit offset
	# variants (chown01_16, fcntl01_64) take their source's line, others
	# (nftw01 of nftw.c) their name less its number.
	ls "$i/testcases/bin" | awk -F'\t' -v m="$i/lxs-meta.tsv.new" '
		BEGIN { while ((getline l < m) > 0) { split(l, f, "\t"); row[f[1]] = f[2] "\t" f[3] } }
		!($1 in row) {
			b = $1; sub(/_(16|64)$/, "", b)
			if (b in row) { print $1 "\t" row[b]; next }
			g = $1; sub(/[0-9_]+$/, "", g)
			print $1 "\t" g "\t0"
		}' >>"$i/lxs-meta.tsv.new"
	mv "$i/lxs-meta.tsv.new" "$i/lxs-meta.tsv"
}
helpers=(testcases/kernel/ipc/msgstress testcases/kernel/ipc/pipeio
	testcases/kernel/security/dirtyc0w testcases/kernel/security/dirtyc0w_shmem
	testcases/kernel/security/dirtypipe testcases/kernel/security/prot_hsymlinks)

mkdir -p "$cache"
# One build at a time; a second caller waits and then finds the cache.
exec 9>"$cache/.lock"
flock 9
if [ -x "$out/opt/ltp/testcases/bin/getpid01" ] && [ -s "$out/opt/ltp/lxs-meta.tsv" ]; then
	echo "$out/opt/ltp"
	exit 0
fi
# Work folders of builds that were killed.
rm -rf "$cache"/.work.* 2>/dev/null || true
if [ -x "$out/opt/ltp/testcases/bin/getpid01" ]; then
	# An install made before lxs-meta.tsv existed: only the table is missing.
	echo "ltp: adding lxs-meta.tsv to $out" >&2
	work=$(mktemp -d "$cache/.work.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	tar -xJf "$src" -C "$work" --wildcards '*testcases/kernel/*'
	s=$(dirname "$(dirname "$(dirname "$(find "$work" -maxdepth 4 -type d -path '*testcases/kernel/syscalls' | head -n 1)")")")
	meta "$s" "$out/opt/ltp"
	echo "$out/opt/ltp"
	exit 0
fi

work=$(mktemp -d "$cache/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
jobs=${LTP_JOBS:-2}
log=$work/build.log
step() {
	echo "ltp: $1 (log: $log)" >&2
	shift
	if ! "$@" >>"$log" 2>&1; then
		echo "ltp: failed: $*; the log's end:" >&2
		tail -n 30 "$log" >&2
		exit 1
	fi
}

echo "ltp: building $(basename "$src") into $out" >&2
mkdir "$work/src"
step "unpacking" tar -xJf "$src" -C "$work/src"
s=$work/src
# A `git archive` tarball may hold the tree in one top folder.
if [ ! -f "$s/configure.ac" ]; then
	s=$(dirname "$(find "$work/src" -maxdepth 2 -name configure.ac | head -n 1)")
fi
cd "$s"
step "autotools" make autotools
step "configure" ./configure --prefix=/opt/ltp
step "lib" make -j"$jobs" -C lib
step "libs" make -j"$jobs" -C libs
step "testcases/kernel/syscalls (the long part)" make -j"$jobs" -C testcases/kernel/syscalls
for h in "${helpers[@]}"; do
	step "$h" make -j"$jobs" -C "$h"
done
dest=$work/dest
for d in testcases/kernel/syscalls "${helpers[@]}"; do
	step "installing $d" make -C "$d" install DESTDIR="$dest"
done
step "installing runtest" make -C runtest install DESTDIR="$dest"
[ -x "$dest/opt/ltp/testcases/bin/getpid01" ] || { echo "ltp: the install lacks getpid01" >&2; exit 1; }
# Without their debug information the programs take 1/10 of the room (the
# install is copied into a distro tree for every run).
echo "ltp: stripping" >&2
find "$dest/opt/ltp/testcases/bin" -type f -perm -u+x -exec strip --strip-debug {} + 2>>"$log" || true
echo "$(basename "$src")" >"$dest/opt/ltp/SOURCE"
meta "$s" "$dest/opt/ltp"

mkdir "$work/out"
mv "$dest/opt" "$work/out/opt"
rm -rf "$out"
mv "$work/out" "$out"
echo "ltp: done" >&2
echo "$out/opt/ltp"
