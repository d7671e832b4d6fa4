#!/usr/bin/env bash
# tests/faults/run.sh [TRIALS] - fault campaigns (issue 13, item 7) against
# the host side of lxs: SIGKILL at random points of import, export,
# --set-version both ways, session start and lxsd's start, and a full disk
# during each operation that writes, then the invariants every user relies
# on after a crash:
#   - `lxs --list -q` works and the registry parses (`registered` below
#     reads it with awk, independently of lxs: header, fields, no name twice);
#   - every registered distro is complete: version 1 starts (`lxs -d NAME`
#     reads two files of it), version 2's image passes `e2fsck -fn` and holds
#     the distro's files (debugfs); the distros the operation did not touch
#     are all still there;
#   - nothing is half-registered: no registered distro without its folder or
#     image, and after the next operation (the operation again, unfaulted,
#     or lxsd's next start) no folder that is not a registered distro's, no
#     *.tmp-* anywhere, each distro folder holding exactly its one form
#     (rootfs or ext4.img), and `lxs --status` reporting no leftovers.
#
# Kill points: deterministic, by system call count. Each operation runs once
# clean under `strace -f`; a trial picks one system call of that trace at
# random (seeded, FAULTS_SEED; the seed is printed) and reruns the operation
# under `strace -f -e inject=SYSCALL:signal=KILL:when=N`, N being that call's
# ordinal in its process. strace counts per system call and per process, so
# the process that first makes its N-th SYSCALL call is killed right at that
# call, before the kernel runs it: a point in the middle of a 50 ms import is
# hit exactly, which a timer cannot do, and the same seed and build give the
# same points. (Another process of the tree that later reaches its own N-th
# call of it is killed too; the trial line names every process killed.)
# The killed processes are whichever run the operation: lxs, lxs-manage (lxs
# execs it for the writing commands), lxs-pico (its child for version 1),
# lxsd and lxsd's leftover sweeper (the lxsd operation runs lxsd itself under
# strace). A session's version-2 side is lxs-init --serve-unix
# (LXSD_INIT_UNIX), as in tests/cli/host.sh: lxs-vm and a VM boot are not
# part of this suite (they need the nested-KVM rig; see README.md here).
#
# Full disk (root only; as another user these cases are skipped with that
# reason): a 64 MiB tmpfs holds the install folder, the export's
# destination, the converted distro or the data folder (registry), filled to
# leave a random amount of room below what the operation needs. The
# operation must fail with exit 255 and one line naming the lack of space
# (never "short write" or "Input/output error"), then the same invariants,
# then, with the room back, the same operation must succeed and leave
# nothing behind.
#
# TRIALS (default 2; FAULTS_TRIALS) random kill points per operation, the
# fixed windows (windows_of), one clean run per operation and max(1,
# TRIALS/4) full-disk trials per case.
# tests/faults/run-long.sh runs many. First line "1..N" (tests/lib.sh).
set -uo pipefail
# FAULTS_XTRACE=1: a timestamped trace of the suite itself on stderr (where its time goes).
[ -z "${FAULTS_XTRACE:-}" ] || { PS4='+ $EPOCHREALTIME '; set -x; }
cd "$(dirname "$0")/../.."
. tests/lib.sh

TRIALS=${1:-${FAULTS_TRIALS:-2}}
case $TRIALS in *[!0-9]* | '') echo "usage: $0 [TRIALS]" >&2; exit 2 ;; esac
SEED=${FAULTS_SEED:-$(($(date +%s%N) / 1000 % 1000000007))}
P=${PREFIX:-faults}
OPS=(import_v1 import_v2 export_v1 export_v2 convert_1to2 convert_2to1 session_v1 session_v2 lxsd)
# windows OP: how many fixed kill points (windows_of) the operation gets besides the random ones.
windows() {
	case $1 in
	import_* | export_*) echo 1 ;;
	convert_*) echo 2 ;;
	*) echo 0 ;;
	esac
}
DISK=(import_v1 import_v2 export_v1 export_v2 convert_1to2 convert_2to1 registry)
# FAULTS_OPS="a b" / FAULTS_DISK="a b": only those (while working on one; the plan follows).
[ -n "${FAULTS_OPS:-}" ] && read -ra OPS <<<"$FAULTS_OPS"
[ -n "${FAULTS_DISK+set}" ] && read -ra DISK <<<"$FAULTS_DISK"
DTRIALS=$((TRIALS / 4 > 0 ? TRIALS / 4 : 1))
nwindows=0
for op in "${OPS[@]}"; do nwindows=$((nwindows + $(windows "$op"))); done
plan $((${#OPS[@]} * (TRIALS + 1) + nwindows + ${#DISK[@]} * DTRIALS))
echo "# seed $SEED (FAULTS_SEED=$SEED $0 $TRIALS repeats these kill points)"

B=$PWD/build
LXS=$B/lxs
all_fail() { # REASON: every line fails with it
	local op i
	for op in "${OPS[@]}"; do
		fail "${P}_${op}_clean" "$1"
		for i in $(seq "$TRIALS"); do fail "${P}_${op}_$i" "$1"; done
		[ "$(windows "$op")" -lt 1 ] || fail "${P}_${op}_at_last_rename" "$1"
		[ "$(windows "$op")" -lt 2 ] || fail "${P}_${op}_at_removal_after_it" "$1"
	done
	for op in "${DISK[@]}"; do
		for i in $(seq "$DTRIALS"); do fail "${P}_disk_${op}_$i" "$1"; done
	done
	exit 0
}
for b in lxs lxs-manage lxsd lxs-pico lxs-pico-loader guest/lxs-init; do
	[ -x "$B/$b" ] || all_fail "build/$b is not built (make all build/lxs build/lxs-pico build/lxs-pico-loader)"
done
for t in strace e2fsck debugfs; do
	command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || all_fail "$t is not installed (scripts/deps.sh all)"
done
export PATH=$PATH:/usr/sbin:/sbin

# A seeded generator of our own: $RANDOM is reseeded in subshells.
rng=$SEED
rand() { # MAX: a number in [0, MAX) into $R
	rng=$(((rng * 1103515245 + 12345) % 2147483648))
	R=$(((rng >> 8) % $1))
}

S=$(mktemp -d /tmp/lxs-faults.XXXXXX)
chmod 0755 "$S"
T=$S/t     # the trial's whole state, made afresh from $S/tpl for each trial
IN=$S/in   # inputs: the tarball
init_pid=
cleanup() {
	stop_lxsd
	[ -n "$init_pid" ] && kill "$init_pid" 2>/dev/null
	mountpoint -q "$S/full" 2>/dev/null && umount "$S/full"
	rm -rf "$S"
}
trap cleanup EXIT
o=$S/out
export HOME=$T/home XDG_DATA_HOME=$T/data XDG_CONFIG_HOME=$T/config XDG_RUNTIME_DIR=$T/run
export LXS_DISABLE_WARNINGS=1 LXSD_INIT_UNIX=$S/init.sock

# lxsd of this trial, if one runs (its pid is in its lock), is asked to stop
# and then ended by its pid: it never outlives its trial.
lxsd_pid() {
	local p
	p=$(cat "$XDG_RUNTIME_DIR/lxs/lxsd.lock" 2>/dev/null)
	[ -n "$p" ] && [ "$(cat /proc/"$p"/comm 2>/dev/null)" = lxsd ] && echo "$p"
}
no_lxsd() { [ -z "$(lxsd_pid)" ]; }
stop_lxsd() {
	[ -n "$(lxsd_pid)" ] || return 0
	"$LXS" --shutdown >/dev/null 2>&1
	until_ok 10 no_lxsd && return 0
	local p
	p=$(lxsd_pid) && [ -n "$p" ] && kill -9 "$p" 2>/dev/null
	until_ok 5 no_lxsd
}

# ---- inputs and the starting state ------------------------------------------------
# A small distro of our own: the host's static busybox (so that version 1
# runs it), passwd, a marker and 150 small files (so that the operations
# have some length to be killed in).
mkdir -p "$IN/r/bin" "$IN/r/etc" "$IN/r/root" "$IN/r/home/user" "$IN/r/usr/share/doc" "$IN/r/tmp"
bb=$(command -v busybox) && cp "$bb" "$IN/r/bin/busybox" && "$IN/r/bin/busybox" true ||
	all_fail "no busybox to build the test distro from (busybox-static)"
for a in sh true cat echo ls; do ln -s busybox "$IN/r/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n' >"$IN/r/etc/passwd"
printf 'root:x:0:\nuser:x:1000:\n' >"$IN/r/etc/group"
echo hello >"$IN/r/etc/fault-marker"
for i in $(seq 150); do echo "file $i" >"$IN/r/usr/share/doc/f$i"; done
tar -C "$IN/r" --owner=0 --group=0 --numeric-owner -cf "$IN/base.tar" . || all_fail "tar could not make the test distro"
chmod -R a+rX "$IN"

"$B/guest/lxs-init" --serve-unix "$LXSD_INIT_UNIX" 2>"$S/init.log" &
init_pid=$!
until_ok 10 test -S "$LXSD_INIT_UNIX" || all_fail "lxs-init --serve-unix did not start: $(cat "$S/init.log")"

# base1 (version 1) and base2 (version 2) are exported and run; cv1 and cv2
# are converted. Every trial starts from a copy of this state at the same
# path ($T), so the registry's absolute paths hold.
mkdir -p "$T/home" "$T/data" "$T/config/lxs" "$T/run" "$T/d" "$T/out"
chmod 0700 "$T/run"
printf '[general]\ninstanceIdleTimeout = 300\n[wsl2]\nvmIdleTimeout = 300\ndefaultVhdSize = 256MB\n' >"$T/config/lxs/lxs.conf"
for d in base1:1 base2:2 cv1:1 cv2:2; do
	"$LXS" --import "${d%:*}" "$T/d/${d%:*}" "$IN/base.tar" --version "${d#*:}" >"$o" 2>&1 ||
		all_fail "the starting state: importing ${d%:*} failed: $(cat "$o")"
done
"$LXS" -d base1 -- true >/dev/null 2>&1 # (lxs-pico makes /proc, /dev, ... once)
cp -a "$T" "$S/tpl"
MUST_ALL="base1 base2 cv1 cv2"
restore() {
	stop_lxsd
	rm -rf "$T"
	cp -a --sparse=always "$S/tpl" "$T"
}

# ---- the operations -----------------------------------------------------------------
# op_cmd OP: the command that runs it (into the array CMD). NEW: the distro it makes.
op_cmd() {
	case $1 in
	import_v1) CMD=("$LXS" --import new1 "$T/d/new1" "$IN/base.tar" --version 1) ;;
	import_v2) CMD=("$LXS" --import new2 "$T/d/new2" "$IN/base.tar" --version 2) ;;
	export_v1) CMD=("$LXS" --export base1 "$T/out/e1.tar") ;;
	export_v2) CMD=("$LXS" --export base2 "$T/out/e2.tar") ;;
	convert_1to2) CMD=("$LXS" --set-version cv1 2) ;;
	convert_2to1) CMD=("$LXS" --set-version cv2 1) ;;
	session_v1) CMD=("$LXS" -d base1 -- cat /etc/fault-marker) ;;
	session_v2) CMD=("$LXS" -d base2 -- echo hello) ;;
	lxsd) CMD=("$LXS" -d base2 -- echo hello) ;;
	esac
}

why=
bad() { why="${why:+$why; }$1"; }
# registered: parse the registry (src/store/registry.c's format) on our own,
# not through lxs, and print NAME VERSION LOCATION IMAGE per distro; or one
# line saying why it does not parse (then status 1): a bad header, a distro
# without its fields or its `end`, a version other than 1 or 2, a name twice
# (case does not count, as in lxs), a default that names no distro, a last
# line cut short. A missing file is an empty registry.
registered() {
	local f=$XDG_DATA_HOME/lxs/registry
	[ -e "$f" ] || return 0
	[ -z "$(tail -c 1 "$f")" ] || { echo "the registry does not end with a newline (cut short?)"; return 1; }
	awk 'function bad(m) { print m; err = 1; exit 1 }
	NR == 1 { if ($0 != "lxs-registry 1") bad("bad header: " $0); next }
	{ key = $1; val = substr($0, length($1) + 2) }
	!in_d && key == "default" { def = val; next }
	!in_d && key == "default-version" { if (val != "1" && val != "2") bad("default-version " val); next }
	!in_d && key == "distro" { in_d = 1; split("", f); f["name"] = val; next }
	!in_d { bad("line " NR ": \"" $0 "\" outside a distro") }
	key == "end" {
		for (k in req) if (!(k in f)) bad("distro " f["name"] " has no " k)
		if (f["version"] != "1" && f["version"] != "2") bad("distro " f["name"] " has version " f["version"])
		l = tolower(f["name"]); if (l in seen) bad("registered twice: " f["name"]); seen[l] = 1
		out[++n] = f["name"] " " f["version"] " " f["location"] " " f["image"]
		in_d = 0; next
	}
	key ~ /^(id|version|location|image|default-user)$/ { f[key] = val; next }
	{ bad("line " NR ": unknown key " key) }
	BEGIN { req["id"]; req["version"]; req["location"]; req["image"] }
	END {
		if (err) exit 1
		if (in_d) bad("distro " f["name"] " has no end")
		if (def != "" && !(tolower(def) in seen)) bad("the default " def " is not registered")
		for (i = 1; i <= n; i++) print out[i]
	}' "$f"
}

# check_state: right after the fault. The registry and every registered distro.
declare -A image_ok=()
check_state() {
	local reg name ver loc img out n key
	"$LXS" --list --quiet >"$o" 2>&1 || bad "lxs --list -q exited $?: $(head -c 200 "$o")"
	if ! reg=$(registered); then
		bad "the registry does not parse: $reg"
		return
	fi
	for n in $MUST_ALL; do grep -q "^$n " <<<"$reg" || bad "$n is no longer registered"; done
	while read -r name ver loc img; do
		[ -n "$name" ] || continue
		case " $MUST_ALL new1 new2 dcv1 dcv2 " in
		*" $name "*) ;;
		*) bad "an unexpected distro $name is registered" ;;
		esac
		if [ "$ver" = 1 ]; then
			if [ ! -d "$img" ]; then
				bad "$name is registered (version 1) but $img is missing"
				continue
			fi
			out=$("$LXS" -d "$name" -- cat /etc/fault-marker /usr/share/doc/f150 2>&1)
			[ "$out" = $'hello\nfile 150' ] || bad "$name (version 1) does not start: $(head -c 200 <<<"$out" | tr '\n' '|')"
		else
			if [ ! -f "$img" ]; then
				bad "$name is registered (version 2) but $img is missing"
				continue
			fi
			# An image of the size and time one of this path had when it
			# passed is that same copy of the starting state: checked once.
			key=$img:$(stat -c '%s:%.9Y' "$img")
			[ -n "${image_ok[$key]:-}" ] && continue
			if ! e2fsck -fn "$img" >"$o" 2>&1; then
				bad "$name: e2fsck -fn $img: $(tail -n 3 "$o" | tr '\n' '|')"
			elif ! out=$(printf 'cat /etc/fault-marker\ncat /usr/share/doc/f150\n' | debugfs -f - "$img" 2>/dev/null) ||
				[[ "$(tr '\n' '|' <<<"$out")" != *"|hello|"*"|file 150|"* ]]; then
				bad "$name: the image lacks the distro's files"
			else
				image_ok[$key]=1
			fi
		fi
	done <<<"$reg"
}

# check_clean DIR...: after the next operation. Nothing left over anywhere
# under $T (and the DIRs), each distro folder exactly its one form.
check_clean() {
	local reg name ver loc img left want
	reg=$(registered) || return
	left=$(find "$T" "$@" -name '*.tmp-*' 2>/dev/null | head -n 5)
	[ -z "$left" ] || bad "left over: $(echo $left)"
	while read -r name ver loc img; do
		[ -n "$name" ] || continue
		want=${img##*/}
		[ "$(ls -A "$loc" 2>&1 | tr '\n' ' ')" = "$want " ] || bad "$name's folder holds: $(ls -A "$loc" 2>&1 | tr '\n' ' ')"
	done <<<"$reg"
	want=$(awk -v d="$T/d/" 'index($3, d) == 1 {print $1}' <<<"$reg" | sort | tr '\n' ' ')
	[ "$(ls "$T/d" | sort | tr '\n' ' ')" = "$want" ] || bad "folders in $T/d: $(ls "$T/d" | tr '\n' ' '), registered: $want"
	"$LXS" --status >"$o" 2>&1
	grep -q '^Leftovers' "$o" && bad "lxs --status: $(grep '^Leftovers' "$o")"
}

# lxsd_sweeps: lxsd's start (a session starts one) must remove what the
# fault left in the distros' folders, before any operation touches them.
no_leftovers() { "$LXS" --status >"$o.status" 2>&1 && ! grep -q '^Leftovers' "$o.status"; }
# session ARGS...: lxs ARGS with its output in $o. (A session that starts
# lxsd used to be refused "busy" while lxsd's start sweep held its distro's
# lock: these trials found it; fixed in registry.c, leftovers_of.)
session() { "$LXS" "$@" >"$o" 2>&1; }
lxsd_sweeps() {
	session -d base2 -- true || bad "a session (to start lxsd) failed: $(head -c 200 "$o")"
	until_ok 10 no_leftovers || bad "lxsd's start did not sweep: $(grep '^Leftovers' "$o.status")"
	stop_lxsd
}

# next_op OP SWEEP: the operation again, unfaulted (what a user does after a
# crash); with SWEEP=1, lxsd's start first.
next_op() {
	local op=$1 st
	[ "$2" = 1 ] && lxsd_sweeps
	case $op in
	import_v1 | import_v2)
		local n=new${op#import_v}
		if grep -q "^$n " <<<"$(registered)"; then
			"$LXS" --unregister "$n" >"$o" 2>&1 || bad "unregistering $n failed: $(head -c 200 "$o")"
			[ ! -e "$T/d/$n" ] || bad "after --unregister $T/d/$n holds: $(ls -A "$T/d/$n" | tr '\n' ' ')"
		fi
		op_cmd "$op"
		"${CMD[@]}" >"$o" 2>&1 || bad "the import again failed: $(head -c 300 "$o")" ;;
	export_v1 | export_v2)
		op_cmd "$op"
		"${CMD[@]}" >"$o" 2>&1 || bad "the export again failed: $(head -c 300 "$o")"
		local f=$T/out/e${op#export_v}.tar
		local list
		list=$(tar -tf "$f" 2>&1)
		grep -qx './etc/fault-marker' <<<"$list" || bad "the export $f lacks the distro's files: $(tail -n 2 <<<"$list" | tr '\n' '|')"
		[ "$(ls -A "$T/out" | tr '\n' ' ')" = "${f##*/} " ] || bad "the export folder holds: $(ls -A "$T/out" | tr '\n' ' ')" ;;
	convert_1to2 | convert_2to1)
		local n=cv${op:8:1} v=${op: -1}
		"$LXS" --set-version "$n" "$v" >"$o" 2>&1 || bad "--set-version $n $v again failed: $(head -c 300 "$o")"
		grep -q "^$n $v " <<<"$(registered)" || bad "$n is not version $v after --set-version again" ;;
	session_v1 | session_v2 | lxsd)
		op_cmd "$op"
		session "${CMD[@]:1}"
		st=$?
		[ $st = 0 ] && grep -qx hello "$o" || bad "the session again: exit $st: $(head -c 300 "$o")"
		if [ "$op" = lxsd ]; then
			# That lxsd is a fresh one (the traced one is gone): its start sweeps.
			until_ok 10 eval '! ls -d "$T"/d/base1/rootfs.tmp-planted "$T"/d/base2/ext4.img.tmp-planted >/dev/null 2>&1' ||
				bad "lxsd's start did not remove the planted leftovers"
		fi ;;
	esac
	check_state
}

# The lxsd operation: lxsd itself runs under strace (STRACE_ARGS), with
# leftovers to sweep; a session is started through it.
plant() {
	mkdir -p "$T/d/base1/rootfs.tmp-planted/etc"
	echo x >"$T/d/base1/rootfs.tmp-planted/etc/x"
	head -c 65536 /dev/zero >"$T/d/base2/ext4.img.tmp-planted"
}
lxsd_gone() { ! kill -0 "$1" 2>/dev/null; }
run_lxsd_op() { # TRACE_LOG STRACE_ARGS...: the session's status in $st
	local log=$1 spid
	shift
	plant
	(strace -f -o "$log" "$@" "$B/lxsd" >"$S/lxsd.out" 2>&1; exit $?) 2>/dev/null &
	spid=$!
	# lxsd listens, or it died before it could (then lxs starts a fresh one).
	until_ok 10 eval 'test -S "$XDG_RUNTIME_DIR/lxs/lxsd.sock" || lxsd_gone $spid'
	op_cmd lxsd
	timeout 60 "${CMD[@]}" >"$o.op" 2>&1
	st=$?
	# The traced lxsd stops when idle (300 ms); a wedged one is ended.
	if ! until_ok 15 lxsd_gone $spid; then
		bad "the traced lxsd did not exit when idle"
		kill -9 $spid 2>/dev/null
	fi
	wait $spid 2>/dev/null
	# Its sessions' lxs may have started another lxsd meanwhile: it goes too.
	stop_lxsd
}

# run_op OP TRACE_LOG STRACE_ARGS...: the operation under strace; status in $st.
run_op() {
	local op=$1 log=$2
	shift 2
	if [ "$op" = lxsd ]; then
		run_lxsd_op "$log" "$@"
		return
	fi
	# session_v2 meets a running lxsd (started here, untraced): the kill is lxs's.
	[ "$op" = session_v2 ] && "$LXS" -d base2 -- true >/dev/null 2>&1
	op_cmd "$op"
	# (In a subshell whose stderr is dropped: strace ends itself with its
	# tracee's SIGKILL, which bash would report.)
	(timeout 60 strace -f -o "$log" "$@" "${CMD[@]}" >"$o.op" 2>"$o.err"; exit $?) 2>/dev/null
	st=$?
	cat "$o.err" >>"$o.op"
	[ "$op" = session_v2 ] && stop_lxsd
}

# Every system call of a clean trace as "SYSCALL N" (N: its ordinal in its process).
calls_of() {
	awk 'match($0, /^[0-9]+ +[a-z_0-9]+\(/) {
		split(substr($0, RSTART, RLENGTH - 1), w, / +/)
		k = ++n[w[1] " " w[2]]
		# A call this strace has no name for (syscall_0x1ce: mseal on a
		# newer kernel than strace) cannot be named in inject=: not a point.
		if (w[2] !~ /^syscall_0x/) print w[2], k
	}' "$1"
}

# The two narrowest windows of a clean trace, as "SYSCALL N LABEL" lines:
# the last rename (the registry's, or an export's own), where the new form
# is in place and not yet registered, and the first removal after it (a
# conversion's removal of the old form, now unregistered).
windows_of() {
	awk 'match($0, /^[0-9]+ +[a-z_0-9]+\(/) {
		split(substr($0, RSTART, RLENGTH - 1), w, / +/)
		k = ++n[w[1] " " w[2]]
		if (w[2] ~ /^rename(at2?)?$/) { rn = w[2] " " k; rpid = w[1]; rm = "" }
		else if (rn != "" && rm == "" && w[1] == rpid && w[2] ~ /^(unlink|unlinkat|rmdir)$/) rm = w[2] " " k
	} END {
		if (rn != "") print rn, "at_last_rename"
		if (rm != "") print rm, "at_removal_after_it"
	}' "$1"
}

# The processes SIGKILL ended, the first (the one strace hit) first.
victims() {
	awk '/^[0-9]+ +execve\(/ { split($0, a, "\""); n = a[2]; sub(/.*\//, "", n); name[$1] = n }
		/(clone3?|v?fork)(\(| resumed)/ && / = [0-9]+$/ && ($1 in name) { name[$NF] = name[$1] "(child)" }
		/killed by SIGKILL/ { v = v (v ? "," : "") (($1 in name) ? name[$1] : "pid " $1) }
		END { print v ? v : "none" }' "$1"
}

# ---- kill trials ----------------------------------------------------------------------
declare -A tally=()
for op in "${OPS[@]}"; do
	restore
	why=
	run_op "$op" "$S/clean.trace"
	calls=()
	mapfile -t calls < <(calls_of "$S/clean.trace")
	[ $st = 0 ] || bad "exit $st: $(head -c 300 "$o.op")"
	check_state
	check_clean
	[ ${#calls[@]} -gt 0 ] || bad "the clean trace holds no system calls"
	if [ -z "$why" ]; then
		pass "${P}_${op}_clean (${#calls[@]} system calls)"
	else
		fail "${P}_${op}_clean" "$why"
	fi
	# The random points, then the windows (for the operations that have them).
	points=()
	for i in $(seq "$TRIALS"); do
		if [ ${#calls[@]} -gt 0 ]; then
			rand ${#calls[@]}
			points+=("${calls[$R]} $i")
		else
			points+=("- - $i")
		fi
	done
	nwin=$(windows "$op")
	if [ "$nwin" -gt 0 ]; then
		mapfile -t win < <(windows_of "$S/clean.trace")
		for i in $(seq 0 $((nwin - 1))); do
			want=at_last_rename
			[ "$i" = 1 ] && want=at_removal_after_it
			if [ "$(awk '{print $3}' <<<"${win[$i]:-}")" = "$want" ]; then
				points+=("${win[$i]}")
			else
				points+=("- - $want")
			fi
		done
	fi
	for pt in "${points[@]}"; do
		read -r sc nth i <<<"$pt"
		restore
		why=
		if [ "$sc" = - ]; then
			fail "${P}_${op}_$i" "the clean trace holds no such point"
			continue
		fi
		[ "$nth" -le 65535 ] || nth=65535
		run_op "$op" "$S/fault.trace" -e trace=execve,clone,clone3,fork,vfork,"$sc" -e inject="$sc":signal=KILL:when="$nth"
		killed=$(victims "$S/fault.trace")
		if [ $st -ne 0 ] && [ $st -ne 137 ] && [ $st -ne 255 ]; then
			bad "exit $st (a crash?): $(head -c 300 "$o.op")"
		elif [ $st = 255 ] && [ "${op%_*}" != session ] && [ "$op" != lxsd ] && [ "$(wc -l <"$o.err")" != 1 ]; then
			bad "exit 255 with $(wc -l <"$o.err") lines on stderr: $(head -c 300 "$o.err" | tr '\n' '|')"
		fi
		check_state
		# lxsd sweeps first after the windows and every second random point.
		sweep=0
		case $op:$i in import_*:* | convert_*:*) [[ $i != [0-9]* ]] || [ $((i % 2)) = 0 ] && sweep=1 ;; esac
		next_op "$op" $sweep
		check_clean
		tally[$op/$killed]=$((${tally[$op/$killed]:-0} + 1))
		what="killed $killed at $sc #$nth of ${#calls[@]} calls, exit $st"
		if [ -z "$why" ]; then
			pass "${P}_${op}_$i ($what)"
		else
			fail "${P}_${op}_$i" "$what: $why"
		fi
	done
done
for k in "${!tally[@]}"; do echo "# killed: $k: ${tally[$k]}"; done | sort

# ---- full disk --------------------------------------------------------------------------
if [ "$(id -u)" != 0 ]; then
	for op in "${DISK[@]}"; do
		for i in $(seq "$DTRIALS"); do skip "${P}_disk_${op}_$i" "not root: a full disk needs a tmpfs mounted"; done
	done
	exit 0
fi
F=$S/full
mkdir -p "$F"
# fill BYTES: leave about BYTES free on $F.
fill() {
	local avail
	avail=$(($(stat -f -c '%a * %S' "$F")))
	[ "$avail" -gt "$1" ] && head -c $((avail - $1)) /dev/zero >"$F/filler" 2>/dev/null
	sync "$F/filler" 2>/dev/null
	return 0
}
# The one line a full disk must give: about space, blaming nothing else.
disk_fail_ok() { # STATUS
	if [ "$1" = 0 ]; then
		return 0 # it fit after all: the invariants still hold it to its word
	fi
	[ "$1" = 255 ] || bad "exit $1, wanted 255"
	[ "$(wc -l <"$o.err")" = 1 ] || bad "$(wc -l <"$o.err") lines on stderr: $(head -c 300 "$o.err" | tr '\n' '|')"
	grep -qiE "space|full" "$o.err" || bad "the message does not say the disk is full: $(head -c 300 "$o.err")"
	grep -qiE "short write|input/output error" "$o.err" && bad "the message blames something else: $(head -c 300 "$o.err")"
}
v1k=$(du -sk "$S/tpl/d/base1/rootfs" | cut -f1)
v2k=$(du -sk "$S/tpl/d/base2/ext4.img" | cut -f1)
tark=$(du -sk "$IN/base.tar" | cut -f1)
for op in "${DISK[@]}"; do
	for i in $(seq "$DTRIALS"); do
		restore
		why=
		if ! mount -t tmpfs -o size=64m tmpfs "$F"; then
			fail "${P}_disk_${op}_$i" "cannot mount a tmpfs on $F"
			continue
		fi
		dirs=("$F")
		case $op in
		import_v1) need=$v1k; CMD=("$LXS" --import new1 "$F/new1" "$IN/base.tar" --version 1) ;;
		import_v2) need=$v2k; CMD=("$LXS" --import new2 "$F/new2" "$IN/base.tar" --version 2) ;;
		export_v1) need=$tark; CMD=("$LXS" --export base1 "$F/e1.tar") ;;
		export_v2) need=$tark; CMD=("$LXS" --export base2 "$F/e2.tar") ;;
		convert_1to2 | convert_2to1)
			n=dcv${op:8:1} from=${op:8:1} v=${op: -1}
			[ "$v" = 2 ] && need=$v2k || need=$v1k
			"$LXS" --import "$n" "$F/$n" "$IN/base.tar" --version "$from" >"$o" 2>&1 || bad "importing $n onto the tmpfs failed: $(cat "$o")"
			CMD=("$LXS" --set-version "$n" "$v") ;;
		registry)
			# The data folder (registry, locks) on the tmpfs; the image beside it has room.
			need=4
			cp -a "$XDG_DATA_HOME/." "$F/"
			export XDG_DATA_HOME=$F
			CMD=("$LXS" --import new2 "$T/d/new2" "$IN/base.tar" --version 2) ;;
		esac
		rand $((need * 1024))
		free=$R
		fill "$free"
		"${CMD[@]}" >"$o.op" 2>"$o.err"
		st=$?
		disk_fail_ok $st
		check_state
		if [ "$op" = registry ]; then
			grep -q "^new2 " <<<"$(registered)" && [ $st != 0 ] && bad "new2 is registered though the import failed"
			[ $st = 0 ] || [ ! -e "$T/d/new2" ] || bad "the failed import left $T/d/new2: $(ls -A "$T/d/new2" | tr '\n' ' ')"
		fi
		# The room back: the same operation again must work and leave nothing.
		rm -f "$F/filler"
		case $op in
		import_*)
			n=new${op#import_v}
			[ $st = 0 ] && { "$LXS" --unregister "$n" >/dev/null 2>&1 || bad "unregistering $n failed"; }
			"${CMD[@]}" >"$o" 2>&1 || bad "the import again failed: $(head -c 300 "$o")" ;;
		export_*)
			"${CMD[@]}" >"$o" 2>&1 || bad "the export again failed: $(head -c 300 "$o")"
			f=$F/e${op#export_v}.tar
			[ "$(ls -A "$F" | tr '\n' ' ')" = "${f##*/} " ] || bad "the tmpfs holds: $(ls -A "$F" | tr '\n' ' ')" ;;
		convert_*)
			"${CMD[@]}" >"$o" 2>&1 || bad "--set-version again failed: $(head -c 300 "$o")" ;;
		registry)
			[ $st = 0 ] && { "$LXS" --unregister new2 >/dev/null 2>&1 || bad "unregistering new2 failed"; }
			"${CMD[@]}" >"$o" 2>&1 || bad "the import again failed: $(head -c 300 "$o")" ;;
		esac
		check_state
		check_clean "${dirs[@]}"
		for n in new1 new2 dcv1 dcv2; do "$LXS" --unregister $n >/dev/null 2>&1; done
		export XDG_DATA_HOME=$T/data
		stop_lxsd
		umount "$F" || umount -l "$F"
		what="$((free / 1024)) KiB free of the ~$need KiB needed, exit $st"
		[ $st = 0 ] || what="$what: $(head -c 150 "$o.err")"
		if [ -z "$why" ]; then
			pass "${P}_disk_${op}_$i ($what)"
		else
			fail "${P}_disk_${op}_$i" "$what: $why"
		fi
	done
done
exit 0
