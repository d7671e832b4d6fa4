#!/usr/bin/env bash
# tests/faults/run-long.sh N [SEED] - the fault campaign of tests/faults/run.sh
# with N random kill points per operation (and N/4 full-disk trials per
# case), through tests/run-suite.sh (so a run that dies half-way is a
# failure), then a summary: per operation the trials, passes and failures,
# and which processes the kills ended. The seed is printed first; give it
# back as SEED to repeat a run's kill points on the same build. Exits
# non-zero if anything failed. Its lines are kept in build/faults-long.log.
#
# Usage: tests/faults/run-long.sh 25        # 25 x 9 operations + windows + 42 full-disk trials
set -uo pipefail
cd "$(dirname "$0")/../.."
n=${1:-}
case $n in *[!0-9]* | '') echo "usage: $0 N [SEED]" >&2; exit 2 ;; esac
[ -z "${2:-}" ] || export FAULTS_SEED=$2
mkdir -p build
log=build/faults-long.log
start=$(date +%s)
tests/run-suite.sh faults_long tests/faults/run.sh "$n" | tee "$log"
echo "# summary ($(($(date +%s) - start)) s)"
awk '/^(not )?ok - / {
	name = ($1 == "not") ? $4 : $3
	sub(/:$/, "", name)
	op = name
	sub(/^faults_/, "", op)
	sub(/_(clean|[0-9]+|at_[a-z_]+)$/, "", op)
	t[op]++
	if ($1 == "not") f[op]++
	total++
	if ($1 == "not") failed++
}
END {
	for (op in t) printf "#   %-22s %4d trials, %4d failed\n", op, t[op], f[op]
	printf "#   total %d, failed %d\n", total, failed
	exit failed > 0
}' "$log" | sort
! grep -q '^not ok - ' "$log"
