#!/usr/bin/env bash
# The session suite: stdio, exit codes, signals, volume, concurrency, ptys and
# protocol abuse, against a running lxs-init.
# usage: tests/session/suite.sh unix SOCK            (lxs-init --serve-unix SOCK)
#        tests/session/suite.sh vsock SOCK -d DISTRO (lxs-vm's vsock socket)
#        tests/session/suite.sh --cases              (how many cases it prints)
# Prints ok/not ok lines (tests/lib.sh); PREFIX names them apart. Its plan
# line is left out with SESSION_NESTED=1, for a suite that runs it inside its
# own and counts its cases in its own plan.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
cases=15
[ "${1:-}" != --cases ] || { echo $cases; exit 0; }
[ -n "${SESSION_NESTED:-}" ] || plan $cases
mode=$1 sock=$2
shift 2
extra=("$@")
pre=${PREFIX:-session}
tmp=$(mktemp -d)
# A session that hangs fails its test (and shows where it hung), not the run.
S=(watched 300 "$tmp/stacks" build/lxs-session "--$mode" "$sock" "${extra[@]}")
trap 'rm -rf "$tmp"' EXIT
vs=()
[ "$mode" = vsock ] && vs=(vsock)

"${S[@]}" -- echo hello world >"$tmp/o" 2>&1
expect "${pre}_echo" 0 $? "$tmp/o" "^hello world$"

"${S[@]}" -- sh -c 'echo one two three | tr a-z A-Z | wc -w' >"$tmp/o" 2>&1
expect "${pre}_pipeline" 0 $? "$tmp/o" "^ *3$"

for code in 0 1 42; do
	"${S[@]}" -- sh -c "echo out; echo err >&2; exit $code" >"$tmp/o" 2>"$tmp/e"
	st=$?
	expect "${pre}_exit_$code" "$code" "$st" "$tmp/o" "^out$"
done
grep -q "^err$" "$tmp/e" && pass "${pre}_stderr_separate" || fail "${pre}_stderr_separate" "stderr got: $(cat "$tmp/e")"

"${S[@]}" -- sh -c 'kill -KILL $$' >"$tmp/o" 2>&1
expect "${pre}_killed_by_sigkill" 137 $? "$tmp/o"
"${S[@]}" -- sh -c 'kill -SEGV $$' >"$tmp/o" 2>&1
expect "${pre}_killed_by_sigsegv" 139 $? "$tmp/o"

"${S[@]}" -- /no/such/command >"$tmp/o" 2>&1
expect "${pre}_missing_command" 255 $? "$tmp/o" "No such file or directory"

# 100 MiB through stdin and back.
head -c $((100 << 20)) /dev/urandom >"$tmp/big"
want=$(sha256sum <"$tmp/big" | cut -d' ' -f1)
start=$(date +%s%N)
got=$("${S[@]}" -- cat <"$tmp/big" | sha256sum | cut -d' ' -f1)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
if [ "$got" = "$want" ]; then pass "${pre}_100MiB_roundtrip ($ms ms)"; else fail "${pre}_100MiB_roundtrip" "checksum $got, wanted $want"; fi
rm -f "$tmp/big"

# 50 sessions at once, each with its own output and exit code.
for i in $(seq 1 50); do
	("${S[@]}" -- sh -c "echo session-$i; exit $((i % 5))" >"$tmp/p$i" 2>&1; echo $? >"$tmp/s$i") &
done
wait
bad=0 first=
for i in $(seq 1 50); do
	grep -qx "session-$i" "$tmp/p$i" && [ "$(cat "$tmp/s$i")" = $((i % 5)) ] && continue
	bad=$((bad + 1))
	[ -n "$first" ] || first="session $i: status $(cat "$tmp/s$i"), wanted $((i % 5)), output: $(head -c 300 "$tmp/p$i" | tr '\n' '|')"
done
[ $bad -eq 0 ] && pass "${pre}_50_concurrent" || fail "${pre}_50_concurrent" "$bad of 50 sessions had wrong output or status; first: $first"

for c in version garbage; do
	out=$(timeout 120 python3 tests/session/proto_check.py $c "$sock" "${vs[@]}" 2>&1)
	[ $? -eq 0 ] && pass "${pre}_protocol_$c" || fail "${pre}_protocol_$c" "$out"
done
for c in pty ctrlc; do
	out=$(timeout 120 python3 tests/session/proto_check.py $c "$sock" "${vs[@]}" "${extra[@]}" 2>&1)
	[ $? -eq 0 ] && pass "${pre}_$c" || fail "${pre}_$c" "$out"
done
exit 0
