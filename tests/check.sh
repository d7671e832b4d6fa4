#!/usr/bin/env bash
# tests/check.sh - everything `make check` runs, after the build: the build
# steps that make the guest kernel and the test distros, then every suite.
# Each suite runs through tests/run-suite.sh, which holds it to its plan, so
# one that dies early is a failure. A failed build step fails the run with
# its log, but is not counted as a test. Ends with
# "N passed, N failed, N skipped" and fails if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
log=build/check.log
: >"$log"
: >build/check.raw
failed_steps=()
section() { printf '\n== %s\n' "$1" | tee -a "$log"; }
# Keep only result lines (the rig's console may add \r), show and keep them.
results() { sed -u 's/\r//g' | tee -a build/check.raw | grep --line-buffered -E '^(not )?ok - ' | tee -a "$log"; }
suite() { tests/run-suite.sh "$@" | results; } # NAME CMD [ARG...]
# step NAME LOG CMD...: a build step; on failure its log's end is shown.
step() {
	local name=$1 steplog=$2
	shift 2
	if "$@" >"$steplog" 2>&1; then
		echo "step $name: done"
		return 0
	fi
	echo "step $name FAILED (exit $?); the end of $steplog:"
	tail -n 15 "$steplog" | sed 's/^/    /'
	failed_steps+=("$name")
	return 1
}

# Ordinary-user suites run from a world-readable copy (tests/stage.sh), so a
# checkout in a 0700 folder still lets uid 65534 reach what it runs.
as_root=0
[ "$(id -u)" = 0 ] && as_root=1
scratch=$(mktemp -d "${TMPDIR:-/tmp}/lxs-check.XXXXXX")
chmod 0755 "$scratch"
trap 'rm -rf "$scratch"' EXIT
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)

section "tools"
suite deps scripts/deps.sh check
# No two files of a folder call each other (reads the objects make check built).
suite cycles tests/cycles.sh

section "style (clang-format over src/; make format fixes it)"
suite style tests/style.sh

section "unit tests (ASan+UBSan, no KVM)"
# shellcheck disable=SC2046 # one argument per binary
suite unit tests/run-unit.sh $(ls build/asan/tests/test_* | grep -v '\.d$')

section "fuzzing (short smoke runs; see tests/fuzz/run.sh for long ones)"
suite fuzz tests/fuzz/run.sh "${FUZZ_SECONDS:-20}"

section "build steps: the guest kernel and the test distros (not tests)"
kdir=$(kernel/build.sh 2>build/kernel-build.log) && [ -n "$kdir" ] && echo "step kernel: $kdir" || {
	echo "step kernel FAILED; the end of build/kernel-build.log:"
	tail -n 15 build/kernel-build.log | sed 's/^/    /'
	failed_steps+=(kernel)
	kdir=
}
vmtest=build/vmtest
mkdir -p "$vmtest"
rm -f "$vmtest"/*.img
step busybox_distro "$vmtest/busybox.log" bash -c "tests/distro/busybox.sh $vmtest &&
	build/lxs-mkimage $vmtest/busybox.tar $vmtest/busybox.img --size 256M &&
	build/lxs-mkimage $vmtest/busybox.tar $vmtest/busybox2.img --size 256M"
# debian.sh exits 77 where it cannot run (not root): the suites then skip
# their Debian cases and say why.
debian_distro() { # NAME DEBIAN_INCLUDE
	DEBIAN_INCLUDE=$2 DEBIAN_NAME=$1 tests/distro/debian.sh "$vmtest" || return
	build/lxs-mkimage "$vmtest/$1.tar.zst" "$vmtest/$1.img" --size 4G
}
debian_distro_step() { # NAME DEBIAN_INCLUDE
	debian_distro "$1" "$2" >"$vmtest/$1.log" 2>&1
	local st=$?
	if [ $st -eq 77 ]; then
		echo "step ${1}_distro: not made here: $(tail -n 1 "$vmtest/$1.log")"
		rm -f "$vmtest/$1.tar.zst"
	else
		step "${1}_distro" "$vmtest/$1.log" test $st = 0
	fi
}
debian_distro_step debian ""
[ -f "$vmtest/debian.tar.zst" ] && python3 tests/distro/listing.py tar "$vmtest/debian.tar.zst" >"$vmtest/debian.expect"
# The same with systemd and logind, for wsl.conf's [boot] systemd.
debian_distro_step debian-systemd systemd-sysv,libpam-systemd,dbus
# Debian 13, newer than the host, for version 1 (tests/pico/trixie.sh): a
# tarball only, no image.
trixie=
DEBIAN_SUITE=trixie DEBIAN_NAME=trixie tests/distro/debian.sh "$vmtest" >"$vmtest/trixie.log" 2>&1
case $? in
0) trixie=$vmtest/trixie.tar.zst && echo "step trixie_distro: done" ;;
77) echo "step trixie_distro: not made here: $(tail -n 1 "$vmtest/trixie.log")" ;;
*) step trixie_distro "$vmtest/trixie.log" false ;;
esac

stage=$scratch/stage
staged=()
[ -f "$vmtest/busybox.tar" ] && staged+=("$vmtest/busybox.tar")
[ -f "$vmtest/debian.tar.zst" ] && staged+=("$vmtest/debian.tar.zst")
step stage "$scratch/stage.log" tests/stage.sh "$stage" "${staged[@]}"
# as_nobody NAME CMD...: a suite run by uid 65534 from the staged copy.
as_nobody() {
	local name=$1
	shift
	if [ $as_root = 0 ]; then
		echo "ok - suite_$name # SKIP not root, so the suites above already ran as an ordinary user" | results
	elif [ ! -d "$stage" ]; then
		echo "not ok - suite_$name: nothing staged for uid 65534 (see the stage step above)" | results
	else
		(cd "$stage" && tests/run-suite.sh "$name" "${nobody[@]}" env HOME=/nonexistent "$@") | results
	fi
}
sfile() { [ -f "$stage/files/$1" ] && echo "$stage/files/$1"; }

section "sessions without a VM (lxs-init --serve-unix)"
suite session_host tests/session/host.sh
as_nobody nobody_session env PREFIX=nobody_session tests/session/host.sh

section "images as an ordinary user"
as_nobody nobody_image tests/image/host.sh "$(sfile busybox.tar)"

section "version 1 (lxs-pico, no VM)"
suite pico tests/pico/run.sh
suite pico_trixie tests/pico/trixie.sh "$trixie"
# The Linux Test Project's 150 fastest syscall tests (tests/ltp; `make ltp` runs them all).
suite ltp_subset tests/ltp/subset.sh

section "lxs and lxsd without a VM"
suite cli_host tests/cli/host.sh
# Interop in version 1 (version 2's runs with the VM tests below).
suite cli_interop_v1 tests/cli/interop.sh v1
as_nobody nobody_interop env PREFIX=nobody_interop LXS_TEST_BUSYBOX="$(sfile busybox.tar)" \
	XDG_DATA_HOME= XDG_CONFIG_HOME= XDG_RUNTIME_DIR= tests/cli/interop.sh v1
# The distros' files on the host (version 2's run with the VM tests below).
suite cli_distrofs_v1 tests/cli/distrofs.sh v1
as_nobody nobody_distrofs env PREFIX=nobody_distrofs LXS_TEST_BUSYBOX="$(sfile busybox.tar)" \
	tests/cli/distrofs.sh v1
as_nobody cli_nobody env PREFIX=cli_nobody LXS_TEST_BUSYBOX="$(sfile busybox.tar)" \
	LXS_TEST_DEBIAN="$(sfile debian.tar.zst)" XDG_DATA_HOME= XDG_CONFIG_HOME= XDG_RUNTIME_DIR= tests/cli/host.sh

section "hostile tarballs (both versions, no VM)"
suite hostile tests/hostile/run.sh

section "fault campaigns: SIGKILL and a full disk (no VM; tests/faults/run-long.sh runs long ones)"
suite faults tests/faults/run.sh "${FAULTS_TRIALS:-2}"
# As uid 65534: the fixed windows and clean runs (a full disk needs root, so
# those cases skip), to keep make check short.
as_nobody faults_nobody env PREFIX=faults_nobody tests/faults/run.sh 0

section "a newcomer's checkout (0700 folder, a space in its path)"
suite newcomer tests/newcomer.sh

section "lxs-vm without a guest"
if [ -n "$kdir" ]; then suite vm_host tests/vm/host.sh "$kdir"; fi

section "VM tests"
q() { printf '%q' "$1"; }
vm_tests="tests/run-suite.sh vm_boot tests/vm/run.sh $(q "$kdir")"
# LXS_DISTRO_TESTS=0 leaves the distro suite out (it is the longest part).
if [ "${LXS_DISTRO_TESTS:-1}" != 0 ]; then
	vm_tests="$vm_tests; tests/run-suite.sh vm_distro tests/vm/distro.sh $(q "$kdir") $(q "$PWD/$vmtest")"
else
	echo "ok - suite_vm_distro # SKIP LXS_DISTRO_TESTS=0" | results
fi
# /mnt/host over virtio-fs (lxs-vm --fs), with lxs-session as distro.sh does.
vm_tests="$vm_tests; tests/run-suite.sh vm_hostfs tests/vm/hostfs.sh $(q "$kdir") $(q "$PWD/$vmtest")"
# End-to-end lxs/lxsd tests run in the same VM boot (rig) as the others.
vm_tests="$vm_tests; tests/run-suite.sh cli_vm tests/cli/vm.sh $(q "$kdir") $(q "$PWD/$vmtest")"
vm_tests="$vm_tests; tests/run-suite.sh cli_net tests/cli/net.sh $(q "$kdir") $(q "$PWD/$vmtest")"
vm_tests="$vm_tests; tests/run-suite.sh cli_forward tests/cli/forward.sh $(q "$kdir") $(q "$PWD/$vmtest")"
vm_tests="$vm_tests; tests/run-suite.sh cli_interop_v2 tests/cli/interop.sh v2 $(q "$kdir") $(q "$PWD/$vmtest")"
vm_tests="$vm_tests; tests/run-suite.sh cli_distrofs_v2 tests/cli/distrofs.sh v2 $(q "$kdir") $(q "$PWD/$vmtest")"
# The fault campaign's VM part: lxs-vm and lxsd killed during starts and sessions.
vm_tests="$vm_tests; tests/run-suite.sh faults_vm tests/faults/vm.sh $(q "$kdir") $(q "$PWD/$vmtest") ${FAULTS_VM_TRIALS:-4}"
if [ -z "$kdir" ]; then
	echo "VM tests not run: there is no guest kernel (see the kernel step above)"
elif build/lxs-vm --check-kvm >build/kvm-check.txt 2>&1; then
	echo "running VM tests directly: $(cat build/kvm-check.txt)"
	bash -c "$vm_tests" | results
else
	echo "running VM tests in the nested-KVM rig: $(cat build/kvm-check.txt)"
	# The rig itself now and then wedges for good (QEMU's emulated nested
	# SVM: the rig's QEMU goes idle and its timers stop, so the time limits
	# inside never fire; seen under QEMU's own guests too, bench/RESULTS.md
	# "bench/9p"). Every VM test prints within a few minutes, so RIG_STALL_S
	# of silence means the rig, not a test, is stuck: it is stopped and the
	# VM tests run once more in a fresh rig; only the last attempt counts.
	rig_attempt() { # OUT: the rig's output into OUT; its status, or 126 for a stall
		tests/rig/rig.sh --scratch "$vmtest" -- bash -c "$vm_tests" >"$1" 2>&1 &
		local pid=$! size last=-1 quiet=0
		while kill -0 "$pid" 2>/dev/null; do
			sleep 5
			size=$(stat -c %s "$1")
			if [ "$size" != "$last" ]; then
				last=$size quiet=0
				grep -aE '^(not )?ok - ' "$1" | tail -n 1 >&2
			elif [ $((quiet += 5)) -ge "${RIG_STALL_S:-600}" ]; then
				kill -TERM "$pid" 2>/dev/null
				wait "$pid" 2>/dev/null
				return 126
			fi
		done
		wait "$pid"
	}
	st=0
	for attempt in 1 2; do
		rig_attempt "build/rig-attempt-$attempt.log" && st=0 || st=$?
		[ "$st" -eq 126 ] || break
		echo "# the rig stalled (no output for ${RIG_STALL_S:-600} s) in attempt $attempt; see build/rig-attempt-$attempt.log" | tee -a build/check.raw
	done
	results <"build/rig-attempt-$attempt.log"
	[ "$st" -eq 0 ] || echo "not ok - rig: tests/rig/rig.sh exited $st (126: it stalled twice)" | results
fi

passed=$(grep -c '^ok - ' "$log" | tr -d ' ')
skipped=$(grep -c '^ok - .* # SKIP' "$log" | tr -d ' ')
failed=$(grep -c '^not ok - ' "$log" | tr -d ' ')
passed=$((passed - skipped))
echo
[ "$failed" -eq 0 ] || { echo "failed:"; grep '^not ok - ' "$log"; }
[ ${#failed_steps[@]} -eq 0 ] || echo "build steps that failed (see their logs above): ${failed_steps[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ ${#failed_steps[@]} -eq 0 ]
