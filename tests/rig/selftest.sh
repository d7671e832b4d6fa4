#!/usr/bin/env bash
# Checks rig.sh end to end; run it by hand after changing anything under
# tests/rig/ (it is not part of `make check`: four rig boots take a minute).
#
# usage: tests/rig/selftest.sh
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rig=$repo/tests/rig/rig.sh
failures=0

check() { # DESCRIPTION COMMAND...
	if "${@:2}"; then
		echo "ok   - $1"
	else
		echo "FAIL - $1"
		failures=$((failures + 1))
	fi
}

contains() { # TEXT PATTERN
	grep -qE -- "$2" <<<"$1"
}

# Runs the rig, leaving its stdout in rig_out and its status in rig_status.
run_rig() {
	rig_status=0
	rig_out=$("$rig" "$@") || rig_status=$?
}

# The brief's example, plus the environment and a tricky argument list in
# the same boot. The scratch directory is build/ itself so that the write
# to $PWD/build lands on the host.
# shellcheck disable=SC2016 # single quotes meant: expanded inside the rig
test_command() {
	local tricky=("a b" "it's" '"dq"' $'new\nline' '*' '$HOME' 'back\slash' '' '-n' 'ünï' '`id`')
	rm -f "$repo/build/rigtest.txt"
	cd "$repo"
	run_rig --scratch "$repo/build" -- sh -c '
		ls -l /dev/kvm; grep -c svm /proc/cpuinfo; uname -r
		echo hi >"$PWD/build/rigtest.txt"
		echo "env: LXS_IN_RIG=$LXS_IN_RIG TERM=$TERM LANG=$LANG PWD=$PWD"
		touch /etc/rig-should-fail 2>/dev/null || echo "host root is read-only"
		shift; printf "<%s>\n" "$@"
		exit 7' sh - "${tricky[@]}"
	check "the command's exit status comes back (7)" test "$rig_status" = 7
	check "/dev/kvm is a character device inside" contains "$rig_out" '^crw.* /dev/kvm$'
	check "the CPU inside has SVM" contains "$rig_out" $'^[1-9][0-9]*$'
	check "the outer kernel is Debian's" contains "$rig_out" '^[0-9]+\.[0-9]+\.[0-9]+-[0-9]+-amd64$'
	check "a write to the scratch directory reaches the host" test "$(cat "$repo/build/rigtest.txt" 2>/dev/null)" = hi
	check "the environment is the documented one" \
		contains "$rig_out" "^env: LXS_IN_RIG=1 TERM=dumb LANG=C.UTF-8 PWD=$repo\$"
	check "the host's root is read-only" contains "$rig_out" '^host root is read-only$'
	check "arguments survive quoting" test "$(sed -n '/^</,$p' <<<"$rig_out")" = "$(printf '<%s>\n' "${tricky[@]}")"
	check "no carriage returns in the output" test "$(tr -cd '\r' <<<"$rig_out" | wc -c)" = 0
	rm -f "$repo/build/rigtest.txt"
}

test_timeout() {
	run_rig --timeout 5 -- sleep 600
	check "--timeout stops the rig with status 124" test "$rig_status" = 124
}

test_missing_cwd() {
	local outside
	outside=$(mktemp -d /tmp/rig-selftest.XXXXXX)
	rig_status=0
	(cd "$outside" && "$rig" -- true) || rig_status=$?
	rmdir "$outside"
	check "a directory the rig cannot see fails with 125" test "$rig_status" = 125
}

test_smoke() {
	run_rig --smoke
	printf '%s\n' "$rig_out"
	check "--smoke runs a KVM guest inside" contains "$rig_out" '^rig: KVM works inside \([0-9.]+ ms\)$'
}

test_command
test_timeout
test_missing_cwd
test_smoke
if [ "$failures" -gt 0 ]; then
	echo "selftest: $failures check(s) failed" >&2
	exit 1
fi
echo "selftest: all checks passed"
