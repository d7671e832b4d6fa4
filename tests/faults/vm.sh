#!/usr/bin/env bash
# tests/faults/vm.sh KERNEL_DIR DIR [TRIALS] - the fault campaign's VM part
# (issue 13, item 7; tests/faults/run.sh is the host part): SIGKILL of
# lxs-vm or of lxsd at a random moment of a VM's boot and a distro's start,
# and of lxs-vm while a session runs, then the invariants: the waiting lxs
# ends (0, or 255 with one line) within a bound instead of hanging; the
# registry still lists the distro; no lxs-vm outlives its lxsd; the next
# command boots a new VM and runs; after a clean --shutdown the distro's
# image passes `e2fsck -fn`. Needs a /dev/kvm that runs guests (the rig;
# tests/check.sh runs it there with the other VM suites) and DIR/busybox.tar.
#
# Kill moments: a clean cold start (VM boot + distro start + `true`) is timed
# once; each trial starts the same command after `lxs --shutdown` and kills
# its victim (lxs-vm and lxsd in turn) after a random share of that time
# (seeded by FAULTS_SEED, printed), or, every third trial, lxs-vm once a
# session has printed (mid-session). Waiting is bounded and polls.
# TRIALS (default 4). First line "1..N" (tests/lib.sh).
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
kdir=$1 dir=$2
TRIALS=${3:-4}
case $TRIALS in *[!0-9]* | '') echo "usage: $0 KERNEL_DIR DIR [TRIALS]" >&2; exit 2 ;; esac
P=${PREFIX:-faults_vm}
plan $((1 + TRIALS))
SEED=${FAULTS_SEED:-$(($(date +%s%N) / 1000 % 1000000007))}
RANDOM=$((SEED % 32768))
echo "# seed $SEED (FAULTS_SEED=$SEED $0 ... $TRIALS repeats these kill moments)"
LXS=$PWD/build/lxs
# Sockets need a real file system; in the rig only /tmp and DIR are writable.
tmp=$(mktemp -d /tmp/lxs-faultsvm.XXXXXX)
export XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config XDG_RUNTIME_DIR=$tmp/run
mkdir -p "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME/lxs" && chmod 0700 "$XDG_RUNTIME_DIR"
cleanup() {
	"$LXS" --shutdown --force >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
ms() { echo $(($(date +%s%N) / 1000000)); }
cat >"$XDG_CONFIG_HOME/lxs/lxs.conf" <<CONF
[wsl2]
kernel = $kdir/vmlinux
memory = 512MB
processors = 1
kernelBootTimeout = 240000
CONF
# This user's processes: the VM's command line names its run folder.
vm_pids() { pgrep -f -- "lxs-vm .*$XDG_RUNTIME_DIR" ; }
lxsd_pid() {
	local p
	p=$(cat "$XDG_RUNTIME_DIR/lxs/lxsd.lock" 2>/dev/null)
	[ -n "$p" ] && [ "$(cat /proc/"$p"/comm 2>/dev/null)" = lxsd ] && echo "$p"
}
no_vm() { [ -z "$(vm_pids)" ]; }

if [ ! -f "$dir/busybox.tar" ]; then
	all=("${P}_setup")
	for t in $(seq "$TRIALS"); do all+=("${P}_$t"); done
	for n in "${all[@]}"; do fail "$n" "no $dir/busybox.tar: tests/check.sh makes it before the VM tests"; done
	exit 0
fi
img=$tmp/bbf/ext4.img
"$LXS" --import bbf "$tmp/bbf" "$dir/busybox.tar" >"$tmp/o" 2>&1 || {
	fail "${P}_setup" "the import failed: $(tail -n 3 "$tmp/o" | tr '\n' '|')"
	for t in $(seq "$TRIALS"); do fail "${P}_$t" "no distro (see ${P}_setup)"; done
	exit 0
}
t0=$(ms)
"$LXS" -d bbf -- true >"$tmp/o" 2>&1
st=$?
cold=$(($(ms) - t0))
"$LXS" --shutdown >/dev/null 2>&1
until_ok 60 no_vm
if [ $st != 0 ]; then
	fail "${P}_setup" "a clean cold start exited $st: $(tail -n 3 "$tmp/o" | tr '\n' '|')"
	for t in $(seq "$TRIALS"); do fail "${P}_$t" "no clean start (see ${P}_setup)"; done
	exit 0
fi
pass "${P}_setup (clean cold start $cold ms)"

# check NAME WHAT: the invariants after a kill; one result line.
check() {
	local name=$1 what=$2 why=
	"$LXS" --list -q >"$tmp/l" 2>&1 || why="lxs --list -q exited $?"
	[ -n "$why" ] || grep -qx bbf "$tmp/l" || why="bbf is no longer registered: $(tr '\n' ' ' <"$tmp/l")"
	# An lxsd killed takes its VM with it (a VM must not outlive lxsd).
	[ -n "$why" ] || [ -n "$(lxsd_pid)" ] || until_ok 10 no_vm || why="lxs-vm $(vm_pids) outlived its lxsd"
	if [ -z "$why" ]; then
		"$LXS" -d bbf -- echo alive >"$tmp/o" 2>&1
		local s=$?
		[ $s = 0 ] && grep -qx alive "$tmp/o" ||
			why="the next command exited $s: $(tail -n 3 "$tmp/o" | tr '\n' '|')"
	fi
	"$LXS" --shutdown >/dev/null 2>&1
	[ -n "$why" ] || until_ok 60 no_vm || why="lxs-vm $(vm_pids) still runs after --shutdown"
	[ -n "$why" ] || e2fsck -fn "$img" >"$tmp/fsck" 2>&1 ||
		why="e2fsck -fn of the image: $(tail -n 3 "$tmp/fsck" | tr '\n' '|')"
	if [ -n "$why" ]; then fail "$name" "$what: $why"; else pass "$name ($what)"; fi
}

for t in $(seq "$TRIALS"); do
	victim=lxs-vm
	[ $((t % 2)) = 0 ] && victim=lxsd
	"$LXS" --shutdown >/dev/null 2>&1
	until_ok 60 no_vm
	if [ $((t % 3)) = 0 ]; then
		# Mid-session: the VM dies under a running command.
		"$LXS" -d bbf -- sh -c 'echo up; sleep 30' >"$tmp/s" 2>&1 &
		sess=$!
		until_ok 240 grep -q up "$tmp/s"
		victim=lxs-vm when="a session running"
	else
		delay=$((RANDOM * cold / 32768))
		"$LXS" -d bbf -- true >"$tmp/s" 2>&1 &
		sess=$!
		# The fault itself: a moment of the start, not a wait for something.
		sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
		when="$delay ms into a ${cold} ms start"
	fi
	if [ $victim = lxsd ]; then pid=$(lxsd_pid); else pid=$(vm_pids | head -n 1); fi
	if [ -n "$pid" ]; then kill -9 "$pid"; else when="$when (no $victim yet, nothing killed)"; fi
	# The waiting lxs must end, not hang: 0 (it finished first) or 255 with one line.
	ended=0
	for _ in $(seq 1200); do kill -0 "$sess" 2>/dev/null || { ended=1; break; }; sleep 0.1; done
	if [ $ended = 0 ]; then
		kill -9 "$sess" 2>/dev/null
		wait "$sess" 2>/dev/null
		fail "${P}_$t" "$victim killed $when: lxs still waited after 120 s"
		continue
	fi
	wait "$sess"
	st=$?
	if [ $st != 0 ] && { [ $st != 255 ] || [ "$(grep -c . "$tmp/s")" -gt 3 ]; }; then
		fail "${P}_$t" "$victim killed $when: lxs exited $st with: $(tail -n 3 "$tmp/s" | tr '\n' '|')"
		continue
	fi
	check "${P}_$t" "$victim killed $when, lxs exited $st"
done
exit 0
