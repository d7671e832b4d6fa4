#!/usr/bin/env bash
# tests/fuzz/run.sh - build every tests/fuzz/fuzz_*.c as a libFuzzer target
# (clang, -fsanitize=fuzzer,address,undefined) into build/fuzz/ and run each
# for N seconds, printing one line per target for the test harness:
#   ok - fuzz_NAME (N runs)
#   not ok - fuzz_NAME: <reason>
# Exits non-zero if any target failed to build or found something.
#
# Usage: tests/fuzz/run.sh [SECONDS] [fuzz_NAME...]
#   SECONDS  per target; default $FUZZ_SECONDS or 20
#   names    only these targets (default: all)
#
# Long run with a corpus that is kept between runs (build/fuzz/corpus/NAME/,
# grown by every run including the smoke runs of `make check`):
#   tests/fuzz/run.sh 3600 fuzz_p9
# or by hand, e.g. on more cores and with a corpus of your own:
#   tests/fuzz/run.sh 0 fuzz_p9         # build only
#   build/fuzz/fuzz_p9 -max_total_time=36000 -jobs=4 -workers=4 \
#       -artifact_prefix=build/fuzz/artifacts/ /path/to/corpus
# A finding is saved as build/fuzz/artifacts/NAME-crash-<sha1>; replay it with
#   build/fuzz/fuzz_NAME build/fuzz/artifacts/NAME-crash-<sha1>
#
# How a target links: lines in its source of the form
#   // fuzz-link: src/p9/*.c src/common/log.c    (globs from the repository root)
#   // fuzz-libs: -luring                        (extra linker flags)
# Without a fuzz-link line a target fuzz_NAME gets src/NAME/*.c and
# src/common/*.c (each folder's main.c excluded). Before running, the
# environment variable LXS_FUZZ_SEED_DIR names the target's corpus
# directory; a target may write seed inputs there when it is empty.
set -uo pipefail
cd "$(dirname "$0")/../.."

secs=${1:-${FUZZ_SECONDS:-20}}
shift $(( $# > 0 ? 1 : 0 ))
case $secs in *[!0-9]*|'') echo "usage: $0 [SECONDS] [fuzz_NAME...]" >&2; exit 2;; esac

out=build/fuzz
mkdir -p "$out/artifacts" "$out/corpus"
CC_FUZZ=${CC_FUZZ:-clang}
CFLAGS_FUZZ="-g -O1 -std=gnu17 -D_GNU_SOURCE -Isrc -Itests/unit -fno-omit-frame-pointer \
 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 -Wall -Wextra -Wshadow -Wimplicit-fallthrough -Wstrict-prototypes -Wmissing-prototypes \
 -Wformat=2 -Wcast-qual -Wwrite-strings"

if [ $# -gt 0 ]; then
	targets=()
	for n in "$@"; do targets+=("tests/fuzz/${n%.c}.c"); done
else
	targets=(tests/fuzz/fuzz_*.c)
fi

# The sources a target links with (see the header).
link_sources() {
	local src=$1 name=$2 globs
	globs=$(sed -n 's|^// fuzz-link:||p' "$src" | tr '\n' ' ')
	[ -n "${globs// /}" ] || globs="src/${name#fuzz_}/*.c src/common/*.c"
	for f in $globs; do
		[ -f "$f" ] && [ "$(basename "$f")" != main.c ] && printf '%s\n' "$f"
	done | sort -u
}

# One line saying why a run failed, from its log.
reason() {
	local log=$1 st=$2 r
	r=$(grep -m1 -oE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer): [^(]*' "$log" ||
	    grep -m1 -oE 'runtime error: .*' "$log" ||
	    grep -m1 -E '^fuzz_[a-z0-9_]+: ' "$log" ||
	    grep -m1 -E 'SUMMARY: .*' "$log")
	[ -n "$r" ] || r="exited $st: $(tail -n 1 "$log")"
	local art
	art=$(grep -m1 -oE "$out/artifacts/[^ ]+" "$log")
	printf '%s%s' "$r" "${art:+ (input: $art)}" | tr -s ' \n' ' '
}

failed=0
[ -e "${targets[0]}" ] || { echo "not ok - fuzz: no tests/fuzz/fuzz_*.c"; exit 1; }
echo "1..${#targets[@]}"
command -v "$CC_FUZZ" >/dev/null || {
	for t in "${targets[@]}"; do echo "not ok - $(basename "$t" .c): $CC_FUZZ not installed"; done
	exit 1
}
for src in "${targets[@]}"; do
	name=$(basename "$src" .c)
	bin=$out/$name
	log=$out/$name.log
	if [ ! -f "$src" ]; then
		echo "not ok - $name: no $src"
		failed=1
		continue
	fi
	mapfile -t srcs < <(link_sources "$src" "$name")
	libs=$(sed -n 's|^// fuzz-libs:||p' "$src" | tr '\n' ' ')
	# src/common's seccomp helper (syscall_filter.c) needs libseccomp wherever it is linked.
	case " ${srcs[*]} " in *" src/common/syscall_filter.c "*) libs="$libs -lseccomp" ;; esac
	# shellcheck disable=SC2086
	if ! $CC_FUZZ $CFLAGS_FUZZ -o "$bin" "$src" "${srcs[@]}" $libs -lpthread \
		>"$out/$name.build.log" 2>&1; then
		echo "not ok - $name: build failed: $(grep -m1 -E 'error' "$out/$name.build.log" | cut -c1-200)"
		failed=1
		continue
	fi
	[ "$secs" -gt 0 ] || { echo "ok - $name (built) # SKIP not run"; continue; }
	corpus=$out/corpus/$name
	mkdir -p "$corpus"
	LXS_FUZZ_SEED_DIR=$corpus timeout -k 10 $((secs + 120)) "$bin" \
		-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$out/artifacts/$name-" "$corpus" >"$log" 2>&1
	st=$?
	runs=$(grep -oE 'Done [0-9]+ runs' "$log" | tail -n 1 | grep -oE '[0-9]+')
	if [ "$st" -eq 0 ] && [ -n "$runs" ]; then
		echo "ok - $name ($runs runs)"
	else
		echo "not ok - $name: $(reason "$log" "$st")"
		failed=1
	fi
done
exit $failed
