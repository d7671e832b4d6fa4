#!/usr/bin/env bash
# tests/ltp/subset.sh - a short fixed part of LTP's system-call tests under
# lxs-pico (issue 15), for make check: the tests named in tests/ltp/subset
# (the fastest that pass natively), run as fake root in a Debian bookworm tree
# by uid 65534 when started as root, else by this user. One line per test:
#   ok - ltp_NAME | not ok - ltp_NAME: WHY | ok - ltp_NAME # SKIP WHY
# A test in tests/ltp/known-failures is skipped with its reason. Without an
# LTP source (tests/ltp/build.sh exits 77) every case skips. The first run on
# a machine builds LTP (~15 minutes on 2 cores; cached afterwards).
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh

names=()
while read -r n _; do
	case $n in '' | '#'*) continue ;; esac
	names+=("$n")
done <tests/ltp/subset
plan ${#names[@]}
declare -A known=()
while read -r n why; do
	case $n in '' | '#'*) continue ;; esac
	known[$n]=$why
done <tests/ltp/known-failures

T=$(mktemp -d /tmp/lxs-ltp-subset.XXXXXX)
trap 'rm -rf "$T"' EXIT
ltp=$(tests/ltp/build.sh 2>"$T/build.log")
st=$?
if [ $st -ne 0 ]; then
	why=$(grep -v '^ltp: [a-z/ ]*(log:' "$T/build.log" | tail -n 1)
	for n in "${names[@]}"; do
		if [ $st = 77 ]; then skip "ltp_$n" "no LTP: ${why:-tests/ltp/build.sh exited 77}"
		else fail "ltp_$n" "LTP does not build: ${why:-tests/ltp/build.sh exited $st}"; fi
	done
	exit 0
fi

grep -vxF -f <(printf '%s\n' "${!known[@]}") <(printf '%s\n' "${names[@]}") >"$T/list"
st=0
tests/ltp/run.sh --pico --list "$T/list" --out "$T/out" --jobs "${LTP_JOBS:-2}" >"$T/run.log" 2>&1 || st=$?
declare -A res=() note=()
if [ -f "$T/out/pico.tsv" ]; then
	while IFS=$'\t' read -r n _ r s ms why; do
		res[$n]=$r note[$n]="exit $s after $ms ms: $why"
	done <"$T/out/pico.tsv"
fi
for n in "${names[@]}"; do
	if [ -n "${known[$n]+x}" ]; then
		skip "ltp_$n" "known failure: ${known[$n]}"
	elif [ "${res[$n]:-}" = pass ]; then
		pass "ltp_$n"
	elif [ -n "${res[$n]:-}" ]; then
		fail "ltp_$n" "${res[$n]}: ${note[$n]}"
	elif [ $st = 77 ]; then
		skip "ltp_$n" "$(tail -n 1 "$T/run.log")"
	else
		fail "ltp_$n" "did not run (tests/ltp/run.sh: $(tail -n 1 "$T/run.log"))"
	fi
done
