#!/usr/bin/env bash
# tests/fuzz/run-long.sh - run every fuzz target (or the named ones) for
# SECONDS each, one after another, through tests/fuzz/run.sh (same build,
# same kept corpus in build/fuzz/corpus/NAME/), then print one summary line
# per target:
#   fuzz_NAME: ok|FAILED, N runs, corpus N inputs (N KiB), N crashes
# A run stops at its first finding (libFuzzer's way), so "crashes" is the
# number of new inputs saved in build/fuzz/artifacts/ by this run (0 or 1
# per target); replay one with build/fuzz/fuzz_NAME <input>.
# Exits non-zero if any target failed.
#
# Usage: tests/fuzz/run-long.sh SECONDS [fuzz_NAME...]
#   e.g. tests/fuzz/run-long.sh 600        # ten minutes per target
set -uo pipefail
cd "$(dirname "$0")/../.."

secs=${1:-}
case $secs in *[!0-9]*|'') echo "usage: $0 SECONDS [fuzz_NAME...]" >&2; exit 2;; esac
shift

if [ $# -gt 0 ]; then
	names=("$@")
else
	names=()
	for f in tests/fuzz/fuzz_*.c; do names+=("$(basename "$f" .c)"); done
fi

out=build/fuzz
mkdir -p "$out/artifacts"
stamp=$(mktemp)
trap 'rm -f "$stamp"' EXIT
summary=()
failed=0
for n in "${names[@]}"; do
	n=${n%.c}
	touch "$stamp"
	line=$(tests/fuzz/run.sh "$secs" "$n" | grep -E '^(not )?ok - ')
	echo "$line"
	runs=$(grep -oE 'Done [0-9]+ runs' "$out/$n.log" 2>/dev/null | tail -n 1 | grep -oE '[0-9]+')
	corpus=$out/corpus/$n
	files=$(find "$corpus" -type f 2>/dev/null | wc -l)
	kib=$(du -sk "$corpus" 2>/dev/null | cut -f1)
	crashes=$(find "$out/artifacts" -name "$n-*" -newer "$stamp" 2>/dev/null | wc -l)
	status=ok
	case $line in ok*) ;; *) status=FAILED; failed=1;; esac
	summary+=("$n: $status, ${runs:-0} runs, corpus $files inputs (${kib:-0} KiB), $crashes crashes")
done
echo "--- summary (${secs} s per target)"
printf '%s\n' "${summary[@]}"
exit $failed
