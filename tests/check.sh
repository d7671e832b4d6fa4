#!/usr/bin/env bash
# tests/check.sh - everything `make check` runs, after the build. Ends with
# "N passed, N failed, N skipped" and fails if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
log=build/check.log
: >"$log"
section() { printf '\n== %s\n' "$1" | tee -a "$log"; }
# Keep only result lines (the rig's console may add \r), show and keep them.
results() { tr -d '\r' | tee -a build/check.raw | grep -E '^(not )?ok - ' | tee -a "$log"; }
: >build/check.raw

section "unit tests (ASan+UBSan, no KVM)"
tests/run-unit.sh $(ls build/asan/tests/test_* | grep -v '\.d$') | results

section "sessions without a VM (lxs-init --serve-unix)"
tests/session/host.sh | results

section "guest kernel"
if kdir=$(kernel/build.sh); then
	echo "ok - kernel_build ($kdir)" | results
else
	echo "not ok - kernel_build: kernel/build.sh failed" | results
	kdir=
fi

section "lxs-vm without a guest"
[ -n "$kdir" ] && tests/vm/host.sh "$kdir" | results

section "VM tests"
if [ -z "$kdir" ]; then
	echo "not ok - vm_tests: no kernel to boot" | results
elif build/lxs-vm --check-kvm >build/kvm-check.txt 2>&1; then
	echo "running VM tests directly: $(cat build/kvm-check.txt)"
	tests/vm/run.sh "$kdir" | results
else
	echo "running VM tests in the nested-KVM rig: $(cat build/kvm-check.txt)"
	tests/rig/rig.sh -- tests/vm/run.sh "$kdir" | results
	st=${PIPESTATUS[0]}
	[ "$st" -eq 0 ] || echo "not ok - rig: tests/rig/rig.sh exited $st" | results
fi

passed=$(grep -c '^ok - ' "$log" | tr -d ' ')
skipped=$(grep -c '^ok - .* # SKIP' "$log" | tr -d ' ')
failed=$(grep -c '^not ok - ' "$log" | tr -d ' ')
passed=$((passed - skipped))
echo
[ "$failed" -eq 0 ] || { echo "failed:"; grep '^not ok - ' "$log"; }
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
