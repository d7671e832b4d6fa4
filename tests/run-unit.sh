#!/usr/bin/env bash
# Runs the unit-test binaries given as arguments; each prints its own ok/not ok
# lines. A binary that crashes or prints nothing is a failure of its own.
# The plan is what the sources promise: one case per RUN( line of each
# binary's tests/unit/NAME.c.
set -uo pipefail
cases=0
for t in "$@"; do
	n=$(grep -cE '^[[:space:]]*RUN\(' "tests/unit/$(basename "$t").c") || n=0
	cases=$((cases + n))
done
echo "1..$cases"
for t in "$@"; do
	name=$(basename "$t")
	# A hang is a failure of its own, not a stuck make check.
	out=$(timeout 600 "$t" 2>&1)
	st=$?
	[ $st -eq 124 ] && echo "not ok - $name: still running after 600 s"

	printf '%s\n' "$out" | sed -n "s/^\(not ok\|ok\) - /\1 - $name: /p"
	# grep reads a here-string, not a pipe: grep -q leaves at its first
	# match, and a printf still writing into the pipe would then die of
	# SIGPIPE, which pipefail turns into a failure (seen once, for a binary
	# whose every case passed).
	if [ $st -ne 0 ] && ! grep -q '^not ok' <<<"$out"; then
		echo "not ok - $name: exited $st without a failing case: $(printf '%s' "$out" | tail -n 3 | tr '\n' '|')"
	fi
	grep -q '^\(not \)\?ok - ' <<<"$out" || echo "not ok - $name: ran no test case"
done
