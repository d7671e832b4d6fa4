#!/usr/bin/env bash
# tests/check.sh - everything `make check` runs, after the build. Ends with
# "N passed, N failed, N skipped" and fails if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
log=build/check.log
: >"$log"
section() { printf '\n== %s\n' "$1" | tee -a "$log"; }
# Keep only result lines (the rig's console may add \r), show and keep them.
results() { sed -u 's/\r//g' | tee -a build/check.raw | grep --line-buffered -E '^(not )?ok - ' | tee -a "$log"; }
: >build/check.raw

section "unit tests (ASan+UBSan, no KVM)"
tests/run-unit.sh $(ls build/asan/tests/test_* | grep -v '\.d$') | results

section "fuzzing (short smoke runs; see tests/fuzz/run.sh for long ones)"
tests/fuzz/run.sh "${FUZZ_SECONDS:-20}" | results

section "sessions without a VM (lxs-init --serve-unix)"
tests/session/host.sh | results

section "as an ordinary user (uid 65534): sessions and images"
if [ "$(id -u)" = 0 ]; then
	nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	PREFIX=nobody_session "${nobody[@]}" tests/session/host.sh | results
	ntmp=$(mktemp -d) && chmod 0777 "$ntmp"
	if [ -f build/vmtest/busybox.tar ] || tests/distro/busybox.sh build/vmtest >/dev/null 2>&1; then
		"${nobody[@]}" build/lxs-mkimage build/vmtest/busybox.tar "$ntmp/u.img" --size 64M >"$ntmp/log" 2>&1 &&
			e2fsck -fn "$ntmp/u.img" >>"$ntmp/log" 2>&1
		st=$?
		[ $st -eq 0 ] && echo "ok - nobody_makes_image" | results ||
			echo "not ok - nobody_makes_image: $(tail -n 2 "$ntmp/log" | tr '\n' '|')" | results
	fi
	rm -rf "$ntmp"
else
	echo "ok - nobody_checks # SKIP already running as an ordinary user" | results
fi

# Version 1 (no VM): everything runs on the host as this user.
if [ -x tests/pico/run.sh ]; then
	section "version 1 (lxs-pico, no VM)"
	tests/pico/run.sh | results
fi

# The command line and manager, the parts that need no VM.
if [ -x tests/cli/host.sh ]; then
	section "lxs and lxsd without a VM"
	tests/cli/host.sh | results
fi

section "guest kernel"
if kdir=$(kernel/build.sh); then
	echo "ok - kernel_build ($kdir)" | results
else
	echo "not ok - kernel_build: kernel/build.sh failed" | results
	kdir=
fi

section "lxs-vm without a guest"
[ -n "$kdir" ] && tests/vm/host.sh "$kdir" | results

section "test distros (images made on the host, as this user)"
vmtest=build/vmtest
mkdir -p "$vmtest"
rm -f "$vmtest"/*.img
if tests/distro/busybox.sh "$vmtest" >"$vmtest/busybox.log" 2>&1 &&
	build/lxs-mkimage "$vmtest/busybox.tar" "$vmtest/busybox.img" --size 256M 2>>"$vmtest/busybox.log" &&
	build/lxs-mkimage "$vmtest/busybox.tar" "$vmtest/busybox2.img" --size 256M 2>>"$vmtest/busybox.log"; then
	echo "ok - busybox_distro_image" | results
else
	echo "not ok - busybox_distro_image: $(tail -n 3 "$vmtest/busybox.log" | tr '\n' '|')" | results
fi
tests/distro/debian.sh "$vmtest" >"$vmtest/debian.log" 2>&1
st=$?
if [ $st -eq 77 ]; then
	echo "ok - debian_distro_image # SKIP $(tail -n 1 "$vmtest/debian.log")" | results
elif [ $st -eq 0 ] && build/lxs-mkimage "$(ls "$vmtest"/debian.tar* | head -n 1)" "$vmtest/debian.img" --size 4G 2>>"$vmtest/debian.log" &&
	python3 tests/distro/listing.py tar "$(ls "$vmtest"/debian.tar* | head -n 1)" >"$vmtest/debian.expect"; then
	echo "ok - debian_distro_image" | results
else
	echo "not ok - debian_distro_image: $(tail -n 3 "$vmtest/debian.log" | tr '\n' '|')" | results
fi
# The same with systemd and logind, for wsl.conf's [boot] systemd.
DEBIAN_INCLUDE=systemd-sysv,libpam-systemd,dbus DEBIAN_NAME=debian-systemd \
	tests/distro/debian.sh "$vmtest" >"$vmtest/debian-systemd.log" 2>&1
st=$?
if [ $st -eq 77 ]; then
	echo "ok - debian_systemd_distro_image # SKIP $(tail -n 1 "$vmtest/debian-systemd.log")" | results
elif [ $st -eq 0 ] && build/lxs-mkimage "$vmtest/debian-systemd.tar.zst" "$vmtest/debian-systemd.img" \
	--size 4G 2>>"$vmtest/debian-systemd.log"; then
	echo "ok - debian_systemd_distro_image" | results
else
	echo "not ok - debian_systemd_distro_image: $(tail -n 3 "$vmtest/debian-systemd.log" | tr '\n' '|')" | results
fi

section "VM tests"
vm_tests="tests/vm/run.sh $kdir"
# LXS_DISTRO_TESTS=0 leaves the distro suite out (it is the longest part).
if [ "${LXS_DISTRO_TESTS:-1}" != 0 ]; then
	vm_tests="$vm_tests; tests/vm/distro.sh $kdir $PWD/$vmtest"
else
	echo "ok - vm_distro_suite # SKIP LXS_DISTRO_TESTS=0" | results
fi
# End-to-end lxs/lxsd tests run in the same VM boot (rig) as the others.
[ -x tests/cli/vm.sh ] && vm_tests="$vm_tests; tests/cli/vm.sh $kdir $PWD/$vmtest"
if [ -z "$kdir" ]; then
	echo "not ok - vm_tests: no kernel to boot" | results
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
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
