#!/usr/bin/env bash
# tests/run-suite.sh NAME CMD [ARG...] - runs one test suite and vouches for
# its bookkeeping. A suite's first result line is its plan, "1..N": how many
# cases it prints (tests/lib.sh `plan`). Every line passes through; after
# them comes one more case line if the suite cannot be trusted:
#   not ok - suite_NAME: exited S                       (it died, or failed)
#   not ok - suite_NAME: printed no plan                (it never declared one)
#   not ok - suite_NAME: planned N cases, printed M     (it died early, a loop
#                                                        ran short, or the plan is stale)
# so a suite that stops half-way is a failure, never a lower pass count.
# This works wherever the lines end up (tests/check.sh, the rig's console).
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: tests/run-suite.sh NAME CMD [ARG...]" >&2; exit 2; }
name=$1
shift
# A missing or non-executable suite is a failure of its own, not a silent gap.
if [ ! -f "$1" ] && ! command -v "$1" >/dev/null; then
	echo "not ok - suite_$name: $1 does not exist"
	exit 0
fi
awk=(awk)
# mawk (Debian's awk) holds its output back in a pipe unless told otherwise,
# and the rig's stall watch reads this output as it comes.
if [[ $(awk -W version 2>&1) == *mawk* ]]; then awk=(awk -W interactive); fi
tally=$(mktemp)
trap 'rm -f "$tally"' EXIT
# The rig's console may add \r; result lines are counted without it.
"$@" | "${awk[@]}" -v tally="$tally" '
	{ print; fflush(); sub(/\r$/, "") }
	/^1\.\.[0-9]+$/ && plan == "" { plan = substr($0, 4); next }
	/^(not )?ok - / { cases++ }
	END { printf "%s %d\n", (plan == "" ? "-" : plan), cases > tally }
'
st=${PIPESTATUS[0]}
read -r plan cases <"$tally"
if [ "$st" -ne 0 ]; then
	echo "not ok - suite_$name: exited $st"
elif [ "$plan" = - ]; then
	echo "not ok - suite_$name: printed no plan (1..N) before its cases"
elif [ "$plan" -ne "$cases" ]; then
	echo "not ok - suite_$name: planned $plan cases, printed $cases"
fi
exit 0
