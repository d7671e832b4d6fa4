#!/usr/bin/env bash
# bench/pico.sh - version 1 (lxs-pico) against native and Debian's proot, in
# one run, on the same Debian bookworm distro folder, as an ordinary user
# (uid 65534 when started as root):
#   micro    stat on a 3-component path, open+close, fstat, getpid (us/call)
#   tar      tar xf of a ~9,000-entry tarball of the distro's own /usr, /etc, /var
#            (without gcc's binaries and apt's lists)
#   find     find | xargs stat over what tar extracted
#   make     make -j2 of a generated 41-file C project (bench/pico/mkproject.sh)
# Native runs the host's tar/find/make/gcc (the same Debian release); the
# others run the distro's. Under lxs-pico and proot -0 the guest is root, so
# tar restores owners (lxs-pico persists them in xattrs; proot fakes them).
# Ends with:
#   RESULT pico stat_us=.. tar_x=<lxs/native> find_x=.. make_x=.. vs_proot_tar=<proot -0/lxs>
# Environment: PICO_BENCH_DIR (/tmp/lxs-pico-bench), PICO_BENCH_RUNS (3),
# LXS_CACHE (~/.cache/lxs: the prepared distro with gcc is kept there).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
say() { echo "bench/pico: $*" >&2; }

make -s build/lxs-pico build/lxs-pico-loader
if ! command -v proot >/dev/null; then
	if [ "$(id -u)" = 0 ]; then
		apt-get install -y -q proot >/dev/null
	else
		say "proot is not installed (apt-get install proot)"
		exit 1
	fi
fi
if [ "$(id -u)" = 0 ]; then
	AS=(setpriv --reuid=65534 --regid=65534 --clear-groups)
else
	AS=()
fi
runs=${PICO_BENCH_RUNS:-3}
W=${PICO_BENCH_DIR:-/tmp/lxs-pico-bench}
rm -rf "$W"
mkdir -p "$W"
chmod 0777 "$W"
cp build/lxs-pico build/lxs-pico-loader "$W/"
PICO=$W/lxs-pico
R=$W/root
cache=${LXS_CACHE:-$HOME/.cache/lxs}
u() { "${AS[@]}" "$@"; }

# --- the distro, with gcc and make (prepared once, then cached) ----------------
if [ -s "$cache/pico-bench-root.tar.zst" ]; then
	cp "$cache/pico-bench-root.tar.zst" "$W/prepared.tar.zst"
	chmod 0644 "$W/prepared.tar.zst"
	u "$PICO" --unpack "$W/prepared.tar.zst" "$R"
else
	tarball=$(tests/distro/debian.sh "$W/dl" 2>/dev/null || ls "$cache"/distro/debian-bookworm-*.tar.zst | head -n 1)
	cp "$tarball" "$W/debian.tar.zst"
	chmod 0644 "$W/debian.tar.zst"
	u "$PICO" --unpack "$W/debian.tar.zst" "$R"
	say "installing gcc and make into the distro (network, once)"
	u "$PICO" --root "$R" -- apt-get update -q >"$W/apt.log" 2>&1
	u "$PICO" --root "$R" -- apt-get install -y -q --no-install-recommends gcc make libc6-dev >>"$W/apt.log" 2>&1 ||
		{ say "apt-get install failed: $(tail -n 3 "$W/apt.log")"; exit 1; }
	u "$PICO" --root "$R" -- apt-get clean
	u "$PICO" --pack "$R" "$W/prepared.tar.zst"
	mkdir -p "$cache" && cp "$W/prepared.tar.zst" "$cache/pico-bench-root.tar.zst"
fi

B=$R/tmp/bench
u mkdir -p "$B"
gcc -O2 -o "$W/micro" bench/pico/micro.c
u cp "$W/micro" "$R/opt/micro"
# The distro's own files, without the compiler's big binaries and apt's
# package lists: ~9,000 entries, mostly small, as a package unpack is.
u tar -C "$R" -cf "$B/src.tar" --exclude=usr/lib/gcc --exclude=var/lib/apt/lists --exclude=var/cache usr etc var
entries=$(tar -tf "$B/src.tar" | wc -l)
mb=$(( $(stat -c %s "$B/src.tar") / 1048576 ))
u bench/pico/mkproject.sh "$B/proj" 40
say "tarball: $entries entries, $mb MiB; project: $(ls "$B/proj"/*.c | wc -l) C files"

# run ENV CMD: CMD (a sh command line) in the distro's /tmp/bench under ENV.
run() {
	local env=$1 cmd=$2
	case $env in
	native) u sh -c "cd '$B' && $cmd" ;;
	lxs) u "$PICO" --root "$R" --cwd /tmp/bench -- sh -c "$cmd" ;;
	proot0) u proot -0 -r "$R" -b /proc -b /dev -b /sys -w /tmp/bench sh -c "$cmd" ;;
	proot) u proot -r "$R" -b /proc -b /dev -b /sys -w /tmp/bench sh -c "$cmd" ;;
	esac
}
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
# median of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

envs=(native lxs proot0 proot)
declare -A stat_us open_us fstat_us pid_us tar_s find_s make_s ts fs ms
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for e in "${envs[@]}"; do
	say "$e: micro"
	if [ "$e" = native ]; then
		out=$(u "$W/micro" /usr/bin/ls 20000)
	else
		out=$(run "$e" "/opt/micro /usr/bin/ls 20000" 2>/dev/null)
	fi
	stat_us[$e]=$(awk '$1 == "stat" { print $2 }' <<<"$out")
	open_us[$e]=$(awk '$1 == "open_close" { print $2 }' <<<"$out")
	fstat_us[$e]=$(awk '$1 == "fstat" { print $2 }' <<<"$out")
	pid_us[$e]=$(awk '$1 == "getpid" { print $2 }' <<<"$out")
done
# Rounds interleave the environments, so that load from other users of the
# machine falls on all of them alike.
for i in $(seq "$runs"); do
	for e in "${envs[@]}"; do
		say "round $i/$runs: $e: tar xf, find | xargs stat"
		rm -rf "$B/out"
		u mkdir "$B/out"
		t0=$(now)
		run "$e" "tar xf src.tar -C out" >/dev/null 2>"$W/err" || say "$e tar: $(tail -n 1 "$W/err")"
		t1=$(now)
		run "$e" "find out | xargs stat >/dev/null" >/dev/null 2>"$W/err" || say "$e find: $(tail -n 1 "$W/err")"
		t2=$(now)
		ts[$e]+=" $(secs "$t0" "$t1")"
		fs[$e]+=" $(secs "$t1" "$t2")"
	done
done
for i in 1 2; do
	for e in "${envs[@]}"; do
		say "round $i/2: $e: make -j2"
		rm -f "$B"/proj/*.o "$B/proj/prog"
		t0=$(now)
		run "$e" "cd proj && make -s -j2 >/dev/null" >/dev/null 2>"$W/err" || say "$e make failed: $(tail -n 2 "$W/err")"
		t1=$(now)
		ms[$e]+=" $(secs "$t0" "$t1")"
	done
done
for e in "${envs[@]}"; do
	tar_s[$e]=$(printf '%s\n' ${ts[$e]} | median)
	find_s[$e]=$(printf '%s\n' ${fs[$e]} | median)
	make_s[$e]=$(printf '%s\n' ${ms[$e]} | sort -g | head -n 1)
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
rm -rf "$B/out"

printf '\n%-8s %10s %12s %10s %10s %10s %10s %10s\n' env stat_us open_close_us fstat_us getpid_us tar_s find_s make_s
for e in "${envs[@]}"; do
	printf '%-8s %10s %12s %10s %10s %10.2f %10.2f %10.2f\n' "$e" "${stat_us[$e]}" "${open_us[$e]}" "${fstat_us[$e]}" \
		"${pid_us[$e]}" "${tar_s[$e]}" "${find_s[$e]}" "${make_s[$e]}"
done
echo
echo "tarball: $entries entries, $mb MiB; runs: $runs (median; make: best of 2); load average before $load0, after $load1"
echo "ratios to native: lxs tar $(ratio "${tar_s[lxs]}" "${tar_s[native]}") find $(ratio "${find_s[lxs]}" "${find_s[native]}") make $(ratio "${make_s[lxs]}" "${make_s[native]}");" \
	"proot -0 tar $(ratio "${tar_s[proot0]}" "${tar_s[native]}") find $(ratio "${find_s[proot0]}" "${find_s[native]}") make $(ratio "${make_s[proot0]}" "${make_s[native]}");" \
	"proot tar $(ratio "${tar_s[proot]}" "${tar_s[native]}") find $(ratio "${find_s[proot]}" "${find_s[native]}") make $(ratio "${make_s[proot]}" "${make_s[native]}")"
echo "RESULT pico stat_us=${stat_us[lxs]} tar_x=$(ratio "${tar_s[lxs]}" "${tar_s[native]}") find_x=$(ratio "${find_s[lxs]}" "${find_s[native]}") make_x=$(ratio "${make_s[lxs]}" "${make_s[native]}") vs_proot_tar=$(ratio "${tar_s[proot0]}" "${tar_s[lxs]}") vs_proot_plain_tar=$(ratio "${tar_s[proot]}" "${tar_s[lxs]}")"
rm -rf "$W"
