#!/usr/bin/env bash
# tests/ltp/run.sh - runs LTP's runtest/syscalls natively and under lxs-pico
# (issue 15), and records one line per test:
#   OUT/native.tsv, OUT/pico.tsv: name group result status ms note
# result is LTP's runner's reading of the exit status: 0 pass, 32 (TCONF)
# conf, anything else (TWARN's 4, a signal, a timeout) fail; note is the
# first TFAIL/TBROK line, else the first TWARN (or why the runner gave up). Each test's
# output is in OUT/native/NAME.log and OUT/pico/NAME.log.
#
# Natively the tests run as whoever runs this (meant: root); under lxs-pico
# as fake root in an unpacked Debian bookworm tree with the LTP install at
# /opt/ltp, run by uid 65534 when started as root, else by this user. Tests
# that must not run natively as root are left out: tests/ltp/exclude, and
# those whose source wants a block device or mounts file systems (the
# install's lxs-meta.tsv, made by build.sh, says which). Each test
# gets its own TMPDIR and a timeout; afterwards / must still be 0755 and /tmp
# 1777 (a test that changed them is a bug; the mode is put back and this
# exits 1).
#
# usage: tests/ltp/run.sh [--native] [--pico] [--list FILE] [--out DIR]
#                         [--jobs N] [--timeout SECS] [--tests]
#   --native/--pico   only that side (default: both)
#   --list FILE       only the tests named in FILE (one name a line, # comments)
#   --out DIR         where the results go (default: build/ltp)
#   --jobs N          tests at a time (default 2)
#   --timeout SECS    each test's limit (default 60); LTP_RUNTIME_MUL (default
#                     0.2) scales the tests' own run times, LTP_TIMEOUT_MUL too
#   --tests           only print the tests that would run (name group command)
# Exits 77 when there is no LTP (tests/ltp/build.sh says why).
set -uo pipefail

# --- one test: run.sh --one SIDE 'NAME<TAB>GROUP<TAB>CMDLINE' (from xargs below) ------------
if [ "${1:-}" = --one ]; then
	side=$2
	IFS=$'\t' read -r name group cmd <<<"$3"
	read -r -a AS <<<"${AS_STR:-}"
	log=$OUT/$side/$name.log
	tmo=$TIMEOUT
	if [ "$side" = native ]; then
		tmp=$WORK/ntmp/$name dir=$WORK/ntmp/$name
		mkdir -p "$tmp" && chmod 0777 "$tmp"
		run=(env -i PATH="$NLTP/testcases/bin:/usr/sbin:/usr/bin:/sbin:/bin"
			HOME="$tmp" TMPDIR="$tmp" LTPROOT="$NLTP" LANG=C
			LTP_RUNTIME_MUL="$RMUL" LTP_TIMEOUT_MUL="$TMUL" LTP_COLORIZE_OUTPUT=0
			sh -c "cd \"\$TMPDIR\" && exec $cmd")
	else
		tmp=/tmp/ltp/$name dir=$ROOT/tmp/ltp/$name
		mkdir -p "$ROOT$tmp" && chmod 0777 "$ROOT$tmp"
		[ -z "$CHOWN" ] || chown "$CHOWN" "$ROOT$tmp"
		run=("${AS[@]}" "$PICO" --root "$ROOT" -- /usr/bin/env -i
			PATH="/opt/ltp/testcases/bin:/usr/sbin:/usr/bin:/sbin:/bin"
			HOME=/root TMPDIR="$tmp" LTPROOT=/opt/ltp LANG=C
			LTP_RUNTIME_MUL="$RMUL" LTP_TIMEOUT_MUL="$TMUL" LTP_COLORIZE_OUTPUT=0
			/bin/sh -c "cd \"\$TMPDIR\" && exec $cmd")
	fi
	t0=$(date +%s%N)
	# timeout signals the whole process group it leads (the test's children).
	timeout -k 10 "$tmo" "${run[@]}" </dev/null >"$log" 2>&1
	st=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	case $st in
	0) res=pass note="" ;;
	32) res=conf note=$(grep -m1 -E 'TCONF' "$log" | cut -c1-200) ;;
	*)
		res=fail
		# The first TFAIL or TBROK says more than a TWARN of the set-up.
		note=$(grep -m1 -E 'TFAIL|TBROK' "$log" | cut -c1-200)
		[ -n "$note" ] || note=$(grep -m1 -E 'TWARN' "$log" | cut -c1-200)
		if [ "$st" = 124 ] || [ "$st" = 137 ] && [ "$ms" -ge $((tmo * 1000)) ]; then
			note="timeout after ${tmo}s; ${note}"
		elif [ -z "$note" ]; then
			note="exit $st; $(tail -n 1 "$log" | cut -c1-160)"
		fi
		;;
	esac
	note=$(printf '%s' "$note" | tr '\t\r\n' '   ')
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$group" "$res" "$st" "$ms" "$note" >>"$OUT/$side.part"
	rm -rf "$dir" 2>/dev/null
	exit 0
fi

cd "$(dirname "$0")/../.."
top=$PWD
sides=() list="" OUT=$top/build/ltp jobs=2 TIMEOUT=60
while [ $# -gt 0 ]; do
	case $1 in
	--native) sides+=(native) ;;
	--pico) sides+=(pico) ;;
	--list) list=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift ;;
	--out) mkdir -p "$2" && OUT=$(cd "$2" && pwd); shift ;;
	--jobs) jobs=$2; shift ;;
	--timeout) TIMEOUT=$2; shift ;;
	--tests) sides=(none) ;;
	*) echo "usage: tests/ltp/run.sh [--native] [--pico] [--list FILE] [--out DIR] [--jobs N] [--timeout SECS]" >&2; exit 2 ;;
	esac
	shift
done
[ ${#sides[@]} -gt 0 ] || sides=(native pico)
RMUL=${LTP_RUNTIME_MUL:-0.2}
TMUL=${LTP_TIMEOUT_MUL:-1}
export OUT TIMEOUT RMUL TMUL

ltp=$(tests/ltp/build.sh)
st=$?
[ $st -eq 0 ] || exit "$st"
meta=$ltp/lxs-meta.tsv
[ -f "$meta" ] || { echo "ltp: $meta is missing; rebuild (tests/ltp/build.sh)" >&2; exit 1; }

mkdir -p "$OUT"
cp "$ltp/SOURCE" "$OUT/SOURCE" 2>/dev/null
WORK=$(mktemp -d /tmp/lxs-ltp.XXXXXX)
chmod 0755 "$WORK"
cleanup() { [ "${LTP_KEEP:-0}" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
export WORK

# --- which tests: runtest/syscalls less the exclusions -------------------------------
# $WORK/tests: name <TAB> group <TAB> command line
awk -F'\t' -v excl="$top/tests/ltp/exclude" -v listf="$list" -v skipped="$OUT/excluded.tsv" '
	BEGIN {
		while ((getline l < excl) > 0) {
			if (l ~ /^#/ || l ~ /^[ \t]*$/) continue
			p = l; sub(/[ \t].*/, "", p)
			r = l; sub(/^[^ \t]+[ \t]+/, "", r)
			# the shell pattern as a regular expression (only * and ? are used)
			gsub(/\./, "\\.", p); gsub(/\*/, ".*", p); gsub(/\?/, ".", p)
			np++; pat[np] = "^" p "$"; why[np] = r
		}
		if (listf != "") {
			while ((getline l < listf) > 0) {
				sub(/[ \t#].*/, "", l)
				if (l != "") want[l] = 1
			}
		}
		printf "" > skipped
	}
	FILENAME == ARGV[1] { grp[$1] = $2; dev[$1] = $3; next }
	/^[ \t]*#/ || /^[ \t]*$/ { next }
	{
		line = $0
		sub(/^[ \t]+/, "", line)
		name = line; sub(/[ \t].*/, "", name)
		cmd = line; sub(/^[^ \t]+[ \t]+/, "", cmd)
		bin = cmd; sub(/[ \t].*/, "", bin)
		if (listf != "" && !(name in want)) next
		g = (bin in grp) ? grp[bin] : bin
		for (i = 1; i <= np; i++)
			if (name ~ pat[i]) { printf "%s\t%s\t%s\n", name, g, why[i] > skipped; next }
		if (dev[bin] == 1) { printf "%s\t%s\t%s\n", name, g, "wants a block device or mounts file systems (its source sets .needs_device, .mount_device, .all_filesystems, .format_device, .needs_rofs, .needs_hugetlbfs or .needs_cgroup_ctrls, or calls tst_acquire_device)" > skipped; next }
		if (!(bin in grp)) { printf "%s\t%s\t%s\n", name, g, "not built (" bin " is not in the install)" > skipped; next }
		printf "%s\t%s\t%s\n", name, g, cmd
	}
' "$meta" "$ltp/runtest/syscalls" >"$WORK/tests"
n=$(wc -l <"$WORK/tests")
if [ "${sides[*]}" = none ]; then
	cat "$WORK/tests"
	exit 0
fi
echo "ltp: $n tests to run, $(wc -l <"$OUT/excluded.tsv") left out (see $OUT/excluded.tsv)" >&2

mode_check() {
	local bad=0 m
	m=$(stat -c %a /tmp)
	if [ "$m" != 1777 ]; then
		echo "ltp: /tmp is mode $m after the $1 run, not 1777; putting it back" >&2
		chmod 1777 /tmp; bad=1
	fi
	m=$(stat -c %a /)
	if [ "$m" != 755 ]; then
		echo "ltp: / is mode $m after the $1 run, not 755; putting it back" >&2
		chmod 0755 /; bad=1
	fi
	return $bad
}

run_side() {
	local side=$1 t0
	rm -rf "${OUT:?}/$side" "$OUT/$side.part"
	mkdir -p "$OUT/$side"
	: >"$OUT/$side.part"
	t0=$(date +%s)
	echo "ltp: $side run of $n tests, $jobs at a time, ${TIMEOUT}s each at most" >&2
	# Slow ones first would balance better; the runtest's order is kept so
	# that runs compare. Progress: one dot per test to stderr would be noise.
	xargs -d '\n' -P "$jobs" -n 1 bash "$top/tests/ltp/run.sh" --one "$side" <"$WORK/tests"
	sort -t "$(printf '\t')" -k1,1 "$OUT/$side.part" >"$OUT/$side.tsv"
	rm -f "$OUT/$side.part"
	awk -F'\t' -v s="$side" -v secs=$(($(date +%s) - t0)) '{ c[$3]++ }
		END { printf "ltp: %s: %d pass, %d conf, %d fail in %d s\n", s, c["pass"], c["conf"], c["fail"], secs > "/dev/stderr" }' "$OUT/$side.tsv"
}

status=0
for side in "${sides[@]}"; do
	if [ "$side" = native ]; then
		# A world-readable copy: tests that drop to nobody execute helpers.
		mkdir -p "$WORK/native/opt"
		cp -a "$ltp" "$WORK/native/opt/ltp"
		chmod -R a+rX "$WORK/native"
		NLTP=$WORK/native/opt/ltp
		mkdir -p "$WORK/ntmp" && chmod 0777 "$WORK/ntmp"
		export NLTP
		run_side native
		mode_check native || status=1
		rm -rf "$WORK/native" "$WORK/ntmp"
	else
		if [ ! -x build/lxs-pico ] || [ ! -x build/lxs-pico-loader ]; then
			make -s build/lxs-pico build/lxs-pico-loader >/dev/null 2>&1 ||
				{ echo "ltp: build/lxs-pico does not build" >&2; exit 1; }
		fi
		tarball=$(tests/distro/debian.sh "$WORK/dl" 2>"$WORK/debian.log")
		# As tests/pico/run.sh: an ordinary user cannot debootstrap, but may
		# have one made earlier.
		if [ -z "$tarball" ] || [ ! -s "$tarball" ]; then
			tarball=$(ls "${LXS_CACHE:-$HOME/.cache/lxs}"/distro/debian-bookworm-*.tar.zst 2>/dev/null | head -n 1)
		fi
		if [ -z "$tarball" ] || [ ! -s "$tarball" ]; then
			echo "ltp: no Debian test distro: $(tail -n 1 "$WORK/debian.log")" >&2
			exit 77
		fi
		if [ "$(id -u)" = 0 ]; then
			AS=(setpriv --reuid=65534 --regid=65534 --clear-groups) CHOWN=65534:65534
		else
			AS=() CHOWN=""
		fi
		chmod 0777 "$WORK"
		# What the ordinary user runs, where it can surely read it.
		cp build/lxs-pico build/lxs-pico-loader "$WORK/"
		cp "$tarball" "$WORK/debian.tar.zst" && chmod 0644 "$WORK/debian.tar.zst"
		PICO=$WORK/lxs-pico ROOT=$WORK/root
		echo "ltp: unpacking $(basename "$tarball") for lxs-pico" >&2
		if ! "${AS[@]}" "$PICO" --unpack "$WORK/debian.tar.zst" "$ROOT" >"$WORK/unpack.log" 2>&1; then
			echo "ltp: lxs-pico --unpack failed: $(tail -n 2 "$WORK/unpack.log")" >&2
			exit 1
		fi
		cp -a "$ltp" "$ROOT/opt/ltp"
		mkdir -p "$ROOT/tmp/ltp"
		[ -z "$CHOWN" ] || chown -R "$CHOWN" "$ROOT/opt/ltp" "$ROOT/tmp/ltp"
		export PICO ROOT CHOWN
		# bash cannot export arrays: the worker gets AS from a string.
		export AS_STR="${AS[*]}"
		run_side pico
		mode_check pico || status=1
	fi
done
exit $status
