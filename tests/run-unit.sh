#!/usr/bin/env bash
# Runs the unit-test binaries given as arguments; each prints its own ok/not ok
# lines. A binary that crashes or prints nothing is a failure of its own.
set -uo pipefail
for t in "$@"; do
	name=$(basename "$t")
	# A hang is a failure of its own, not a stuck make check.
	out=$(timeout 600 "$t" 2>&1)
	st=$?
	[ $st -eq 124 ] && echo "not ok - $name: still running after 600 s"

	printf '%s\n' "$out" | sed -n "s/^\(not ok\|ok\) - /\1 - $name: /p"
	if [ $st -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^not ok'; then
		echo "not ok - $name: exited $st without a failing case: $(printf '%s' "$out" | tail -n 3 | tr '\n' '|')"
	fi
	printf '%s\n' "$out" | grep -q '^\(not \)\?ok - ' || echo "not ok - $name: ran no test case"
done
