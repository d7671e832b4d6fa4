#!/usr/bin/env bash
# tests/pico/run.sh - version 1 (lxs-pico, no VM): a Debian bookworm minbase
# distro unpacked into a VolFs folder and run by an ordinary user (uid 65534
# when started as root, else whoever runs this). One line per test:
#   ok - NAME | not ok - NAME: WHY | ok - NAME # SKIP WHY
# Environment: PICO_KEEP=1 keeps the work folder; PICO_COMPAT=0 skips the
# compatibility suite.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
top=$PWD

if [ ! -x build/lxs-pico ] || [ ! -x build/lxs-pico-loader ]; then
	make -s build/lxs-pico build/lxs-pico-loader >/dev/null 2>&1
fi
if [ ! -x build/lxs-pico ] || [ ! -x build/lxs-pico-loader ]; then
	plan 1
	fail pico_build "build/lxs-pico does not build (make build/lxs-pico)"
	exit 0
fi

if [ "$(id -u)" = 0 ]; then
	AS=(setpriv --reuid=65534 --regid=65534 --clear-groups)
else
	AS=()
fi
T=$(mktemp -d /tmp/lxs-pico-test.XXXXXX)
chmod 0777 "$T"
[ "${PICO_KEEP:-0}" = 1 ] || trap 'rm -rf "$T"' EXIT
R=$T/root
# lxs-pico and its loader where the ordinary user can surely run them.
cp build/lxs-pico build/lxs-pico-loader "$T/"
PICO=$T/lxs-pico

# g [lxs-pico options --] CMD...: run in the distro as the ordinary user.
g() {
	if [ "$1" = "-o" ]; then
		shift
		local opts=()
		while [ "$1" != "--" ]; do opts+=("$1"); shift; done
		shift
		"${AS[@]}" "$PICO" --root "$R" "${opts[@]}" -- "$@"
	else
		"${AS[@]}" "$PICO" --root "$R" -- "$@"
	fi
}

# --- the distro -----------------------------------------------------------------
tarball=$(tests/distro/debian.sh "$T/dl" 2>"$T/debian.log")
if [ -z "$tarball" ] || [ ! -s "$tarball" ]; then
	tarball=$(ls "${LXS_CACHE:-$HOME/.cache/lxs}"/distro/debian-bookworm-*.tar.zst 2>/dev/null | head -n 1)
fi
if [ -z "$tarball" ] || [ ! -s "$tarball" ]; then
	plan 1
	skip pico_distro "no Debian test distro ($(tail -n 1 "$T/debian.log" 2>/dev/null))"
	exit 0
fi
# The cases below, and the compatibility suite's: one per program and its rate.
compat=0
if [ "${PICO_COMPAT:-1}" = 1 ]; then
	compat=$(($(find tests/pico/compat -maxdepth 1 -name 't_*.c' | wc -l) + 1))
fi
plan $((79 + compat))
cp "$tarball" "$T/debian.tar.zst" && chmod 0644 "$T/debian.tar.zst"
start=$(date +%s%N)
if "${AS[@]}" "$PICO" --unpack "$T/debian.tar.zst" "$R" >"$T/unpack.log" 2>&1 &&
	[ -x "$R/usr/bin/dpkg" ] && [ "$(stat -c %U "$R/etc/shadow")" = "$(id -un "${AS[@]:+65534}" 2>/dev/null || id -un)" ]; then
	pass "pico_unpack_as_user ($(( ($(date +%s%N) - start) / 1000000 )) ms)"
else
	fail pico_unpack_as_user "$(tail -n 2 "$T/unpack.log" | tr '\n' '|')"
	exit 0
fi

# --- test programs, built on the host (bookworm's glibc is the distro's) -------
mkdir -p "$T/bin"
cat >"$T/bin/hs.c" <<'EOF'
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) { printf("static hello uid=%d argc=%d\n", (int)getuid(), argc); return 3; }
EOF
built=1
musl-gcc -static -O2 -o "$T/bin/hello-static" "$T/bin/hs.c" 2>>"$T/build.log" || built=0
gcc -O2 -o "$T/bin/hostfd" tests/pico/progs/hostfd.c 2>>"$T/build.log" || built=0
gcc -O2 -pthread -o "$T/bin/threads" tests/pico/progs/threads.c 2>>"$T/build.log" || built=0
gcc -O2 -o "$T/bin/efault" tests/pico/progs/efault.c 2>>"$T/build.log" || built=0
gcc -O2 -o "$T/bin/seccomp" tests/pico/progs/seccomp.c 2>>"$T/build.log" || built=0
gcc -O2 -o "$T/bin/aslr" tests/pico/progs/aslr.c 2>>"$T/build.log" || built=0
gcc -O2 -o "$T/bin/pidview" tests/pico/progs/pidview.c 2>>"$T/build.log" || built=0
gcc -O2 -static-pie -o "$T/bin/static-pie" "$T/bin/hs.c" 2>>"$T/build.log" || built=0
gcc -O2 -no-pie -o "$T/bin/no-pie" "$T/bin/hs.c" 2>>"$T/build.log" || built=0
mkdir -p "$R/opt/t"
cp "$T"/bin/hello-static "$T"/bin/hostfd "$T"/bin/threads "$T"/bin/static-pie "$T"/bin/no-pie "$T"/bin/efault \
	"$T"/bin/seccomp "$T"/bin/aslr "$T"/bin/pidview "$R/opt/t/" 2>/dev/null
[ "$(id -u)" = 0 ] && chown -R 65534:65534 "$R/opt/t"

# --- 1: programs run ------------------------------------------------------------
if [ $built = 1 ]; then
	g /opt/t/hello-static a b >"$T/o" 2>&1
	expect pico_static_binary 3 $? "$T/o" "static hello uid=0 argc=3"
else
	fail pico_static_binary "test programs did not build: $(tail -n 2 "$T/build.log" | tr '\n' '|')"
fi
if [ $built = 1 ]; then
	{ g /opt/t/static-pie; g /opt/t/no-pie; g /lib64/ld-linux-x86-64.so.2 /opt/t/no-pie; } >"$T/o" 2>&1
	expect pico_elf_kinds 3 $? "$T/o" "static hello uid=0 argc=1"
	[ "$(grep -c 'static hello' "$T/o")" = 3 ] || fail pico_elf_kinds_count "expected 3 runs: $(tr '\n' '|' <"$T/o")"
fi
g /bin/sh -c 'echo hi; ls /' >"$T/o" 2>&1
expect pico_dynamic_sh 0 $? "$T/o" "^hi$" "^usr$" "^etc$"
g sh -c 'exit 3' >"$T/o" 2>&1
expect pico_exit_status 3 $? "$T/o"
g sh -c 'kill -9 $$' >"$T/o" 2>&1
expect pico_exit_signal 137 $? "$T/o"
g /no/such/program >"$T/o" 2>&1
expect pico_exit_not_found 127 $? "$T/o" "not found"
"${AS[@]}" "$PICO" --root "$T/nonexistent" -- /bin/true >"$T/o" 2>&1
expect pico_exit_own_failure 125 $? "$T/o" "not a directory"
g sh -c 'xargs -0 -n1 echo arg: </proc/$$/cmdline; env | grep -c LXS_PICO' >"$T/o" 2>&1
expect pico_cmdline_and_env_clean 1 $? "$T/o" "^arg: sh$" "^arg: -c$" "^0$"
g ls -l /proc/self/exe >"$T/o" 2>&1
expect pico_proc_self_exe 0 $? "$T/o" "-> /usr/bin/ls$"
g sh -c 'sleep 5 & sleep 0.5; readlink /proc/$!/exe; kill $!' >"$T/o" 2>&1
expect pico_proc_other_exe 0 $? "$T/o" "^/usr/bin/sleep$"
g sh -c 'cd /usr/lib/../bin && pwd && readlink /proc/self/cwd' >"$T/o" 2>&1
expect pico_cwd 0 $? "$T/o" "^/usr/bin$"
g -o --cwd /etc -- sh -c 'pwd; cat hostname >/dev/null && echo rel-ok' >"$T/o" 2>&1
expect pico_cwd_option 0 $? "$T/o" "^/etc$" "rel-ok"
printf '#!/bin/sh -e\necho "script $0 $1"\ntr "\\0" " " </proc/$$/cmdline; echo\n' >"$R/opt/t/script"
chmod 755 "$R/opt/t/script"
g /opt/t/script arg1 >"$T/o" 2>&1
expect pico_shebang 0 $? "$T/o" "script /opt/t/script arg1"
# as Linux shows a script's command line: interpreter, its argument, path
expect pico_shebang_cmdline 0 0 "$T/o" "^/bin/sh -e /opt/t/script arg1 $"
g bash -c 'echo $BASH_VERSION; x=$(echo sub); echo "$x"; echo a | tr a b' >"$T/o" 2>&1
expect pico_bash_pipes 0 $? "$T/o" "^5\\." "^sub$" "^b$"
if [ $built = 1 ]; then
	g /opt/t/threads exec >"$T/o" 2>&1
	expect pico_threads 0 $? "$T/o" "threads bad=0" "exec-from-thread-program-ok"
fi
g sh -c 'trap "echo got-usr1" USR1; kill -USR1 $$; echo after' >"$T/o" 2>&1
expect pico_signals 0 $? "$T/o" "got-usr1" "after"
g sh -c 'trap "" SYS; kill -SYS $$; echo sigsys-ignored; cat /etc/hostname >/dev/null && echo still-translating' >"$T/o" 2>&1
expect pico_sigsys_virtual 0 $? "$T/o" "sigsys-ignored" "still-translating"
g sh -c 'trap "echo got-sys" SYS; kill -SYS $$; echo after; trap - SYS; kill -SYS $$; echo not-reached' >"$T/o" 2>&1
expect pico_sigsys_guest_handler 159 $? "$T/o" "^got-sys$" "^after$"
grep -q not-reached "$T/o" && fail pico_sigsys_guest_default "SIGSYS at its default did not kill"
g sh -c 'trap "" SYS; exec sh -c "kill -SYS \$\$; echo ignored-across-exec"' >"$T/o" 2>&1
expect pico_sigsys_ignored_across_exec 0 $? "$T/o" "^ignored-across-exec$"
# same_as_native NAME PROG PATTERN...: /opt/t/PROG prints the same under
# lxs-pico as natively (as the same user), and what it prints matches.
same_as_native() {
	local name=$1 prog=$2
	shift 2
	if [ $built != 1 ]; then
		fail "$name" "test programs did not build: $(tail -n 2 "$T/build.log" | tr '\n' '|')"
		return
	fi
	(cd "$T" && "${AS[@]}" "$T/bin/$prog" >"$T/native.out" 2>&1)
	g "/opt/t/$prog" >"$T/o" 2>&1
	local st=$?
	if ! cmp -s "$T/native.out" "$T/o"; then
		fail "$name" "differs from native: $(diff "$T/native.out" "$T/o" | grep '^[<>]' | head -n 4 | tr '\n' '|')"
		return
	fi
	expect "$name" 0 $st "$T/o" "$@"
}
# Bad pointers to translated calls: EFAULT, as natively, not a crash.
same_as_native pico_efault_bad_pointers efault "^open=EFAULT$" "^stat_path=EFAULT$" "^stat_buf=EFAULT$" \
	"^readlink_buf=EFAULT$" "^execve_envp=EFAULT$" "^open_segv_blocked=EFAULT$" "^stat_ok=succeeded$" "^segv_action_after_spawn=kept$" \
	"^segv_handler_ran=1$" "^efault-done$"
# The guest's own seccomp filters: its denials apply to its calls (those we
# translate too), never to ours (it kills openat2 and readlinkat, which the
# translator uses), and its SIGSYS handler runs for its traps and for kill.
same_as_native pico_guest_seccomp_filter seccomp "^seccomp_too_long=EINVAL$" "^seccomp_bad_filter=EFAULT$" \
	"^stat=0$" "^readlink=ok$" "^mkdir=EPERM$" "^getppid=EACCES$" "^unlink=EROFS$" "^seccomp-done$"
expect pico_guest_sigsys_handler 0 0 "$T/o" "^trap_uname: got=1 code=1 errno=0x42 nr_ok=1 ret=1234$" \
	"^trap_chdir: got=1 code=1 errno=0 nr_ok=1 ret=1234$" "^kill_sigsys: got=1 user=1$" \
	"^tgkill_sigsys: got=1 tkill=1$" "^default_trap: signaled=1 sig=31$"
# The translator's address: random per session, the same in every process
# of a session (the filter that allows its text is inherited), and nothing
# the guest does can unmap, remap, reprotect or replace its pages: neither
# with the image sealed (the default where mseal works) nor with only the
# filter's checks (LXS_PICO_NO_MSEAL=1).
if [ $built = 1 ]; then
	{ g /opt/t/aslr base; g /opt/t/aslr base; } >"$T/o" 2>&1
	st=$?
	bases=$(sed -n 's/^base=//p' "$T/o" | sort -u)
	in_range=1
	for b in $bases; do
		[ $((b >= 0x110000000000 && b < 0x190000000000)) = 1 ] || in_range=0
	done
	if [ "$(wc -l <<<"$bases")" != 2 ]; then
		fail pico_aslr_session_base "two sessions, wanted two bases: $(tr '\n' '|' <"$T/o")"
	elif [ $in_range != 1 ]; then
		fail pico_aslr_session_base "a base outside 0x110000000000..0x190000000000: $(tr '\n' ' ' <<<"$bases")"
	else
		expect pico_aslr_session_base 0 $st "$T/o" "^base=0x1[1-8]"
	fi
	g sh -c '/opt/t/aslr base; sh -c "/opt/t/aslr base"; /opt/t/aslr base & wait; grep -m 1 "lxs-pico" /proc/$$/maps' >"$T/o" 2>&1
	st=$?
	if [ "$(grep -c '^base=' "$T/o")" != 3 ] || [ "$(sed -n 's/^base=0x//p' "$T/o" | sort -u | wc -l)" != 1 ] ||
		! grep -q "^$(sed -n '1s/^base=0x//p' "$T/o")-" "$T/o"; then
		fail pico_aslr_inherited "fork and exec kept no single base: $(tr '\n' '|' <"$T/o")"
	else
		expect pico_aslr_inherited 0 $st "$T/o" "\[lxs-pico\]$"
	fi
	# Sealed (mseal, Linux 6.10 and later): the kernel refuses, with its
	# own errno for calls it rejects anyway (a wrapping length: EINVAL).
	attacks="munmap_text mprotect_text pkey_mprotect_text mmap_fixed_text mmap_noreplace_text mremap_from_text
		mremap_onto_text munmap_from_below munmap_wrap munmap_wrap_below madvise_dontneed madvise_dontfork
		shmat_remap_text process_madvise_text"
	kv=$(uname -r)
	kmaj=${kv%%.*}
	kmin=${kv#*.}
	kmin=${kmin%%[!0-9]*}
	want_sealed=0
	[ "$kmaj" -gt 6 ] || { [ "$kmaj" = 6 ] && [ "$kmin" -ge 10 ]; } && want_sealed=1
	g /opt/t/aslr attack >"$T/o" 2>&1
	st=$?
	pats=("^sealed=$want_sealed$")
	for a in $attacks; do pats+=("^$a=E[A-Z]+$"); done
	expect pico_aslr_attacks_refused 0 $st "$T/o" "${pats[@]}"
	expect pico_aslr_translator_survives 0 $st "$T/o" "^text_intact=1$" "^translator=ok$" "^images=1$"
	# Not sealed: the filter's own checks refuse, all with EPERM.
	LXS_PICO_NO_MSEAL=1 g /opt/t/aslr attack >"$T/o2" 2>&1
	st2=$?
	pats=("^sealed=0$" "^text_intact=1$" "^translator=ok$" "^images=1$")
	for a in $attacks; do pats+=("^$a=EPERM$"); done
	expect pico_aslr_attacks_refused_by_filter 0 $st2 "$T/o2" "${pats[@]}"
	# The same calls beside the image are made as they would be natively
	# (process_madvise's MADV_DONTNEED on oneself: Linux 6.13 and later).
	cat "$T/o2" >>"$T/o"
	expect pico_aslr_neighbours_unaffected 0 $((st | st2)) "$T/o" "^madvise_willneed=0$" "^process_madvise_mine=(4096|EINVAL)$" \
		"^munmap_below_adjacent=0$" "^near_fixed=ok$"
	if [ "$(grep -c '^near_fixed=ok$' "$T/o")" != 2 ] || [ "$(grep -c '^munmap_below_adjacent=0$' "$T/o")" != 2 ]; then
		fail pico_aslr_neighbours_both_modes "not the same with and without mseal: $(grep -E '^(near_fixed|munmap_below_adjacent)=' "$T/o" | tr '\n' '|')"
	else
		pass pico_aslr_neighbours_both_modes
	fi
else
	for n in pico_aslr_session_base pico_aslr_inherited pico_aslr_attacks_refused pico_aslr_translator_survives \
		pico_aslr_attacks_refused_by_filter pico_aslr_neighbours_unaffected pico_aslr_neighbours_both_modes; do
		fail $n "test programs did not build: $(tail -n 2 "$T/build.log" | tr '\n' '|')"
	done
fi
g sh -c 'cat /proc/self/maps; echo =smaps; cat /proc/$$/smaps; echo =environ; tr "\0" "\n" </proc/self/environ; tr "\0" "\n" </proc/$$/environ; cd /proc/self && grep lxs-pico maps' >"$T/o" 2>&1
st=$?
if grep -qE "$R|lxs-pico-loader|LXS_PICO" "$T/o"; then
	fail pico_proc_maps_environ "host paths or the loader's variables show: $(grep -m 2 -E "$R|lxs-pico-loader|LXS_PICO" "$T/o" | tr '\n' '|')"
else
	expect pico_proc_maps_environ 0 $st "$T/o" " /usr/bin/cat$" " /usr/bin/dash$" "libc\.so\.6$" "\[lxs-pico\]$" "^Rss:" "^PATH="
fi
g bash -c 'set -m; sleep 0.3 & jobs; fg >/dev/null; echo fg=$?; sleep 5 & kill %1; wait; echo jobs-done' >"$T/o" 2>&1
expect pico_bash_job_control 0 $? "$T/o" "Running" "fg=0" "jobs-done"
# --- the distro sees only its own processes (pidview.c) ---------------------------
# A host process of the same user, which the distro must not see or reach.
"${AS[@]}" sleep 60 &
hp=$!
sleep 0.2
g sh -c 'echo self=$$; ls /proc | grep -x "[0-9]*" | tr "\n" " "; echo; for p in /proc/[0-9]*; do echo "seen ${p#/proc/}"; done' >"$T/o" 2>&1
st=$?
if grep -qx "seen $hp" "$T/o" || grep -qw "$hp" <(sed -n 2p "$T/o"); then
	fail pico_pidview_proc_listing "the host's sleep ($hp) is listed: $(tr '\n' '|' <"$T/o" | cut -c1-300)"
elif [ "$(grep -c '^seen ' "$T/o")" -gt 8 ]; then
	fail pico_pidview_proc_listing "more than the guest's processes: $(tr '\n' '|' <"$T/o" | cut -c1-300)"
else
	self=$(sed -n 's/^self=//p' "$T/o")
	expect pico_pidview_proc_listing 0 $st "$T/o" "^seen $self$"
fi
g sh -c "kill -0 $hp; echo rc=\$?; kill -0 1; echo rc1=\$?; kill -TERM $hp; echo rcterm=\$?" >"$T/o" 2>&1
st=$?
if ! kill -0 "$hp" 2>/dev/null; then
	fail pico_pidview_kill_host_esrch "the guest killed the host's sleep"
else
	expect pico_pidview_kill_host_esrch 0 $st "$T/o" "^rc=1$" "^rc1=1$" "^rcterm=1$" "No such process"
fi
g sh -c "cat /proc/$hp/status; echo rc=\$?; ls /proc/$hp/task; echo rcls=\$?; test -e /proc/$hp/exe || echo gone;
	cd /proc && cat $hp/stat; echo rcrel=\$?; cat self/stat >/dev/null && echo self-ok" >"$T/o" 2>&1
expect pico_pidview_proc_host_enoent 0 $? "$T/o" "^rc=1$" "^rcls=2$" "^gone$" "^rcrel=1$" "^self-ok$" "No such file"
g sh -c 'sleep 5 & c=$!; kill -0 $c && echo child-seen; [ "$(cut -d" " -f1 /proc/$c/stat)" = $c ] && echo child-stat; ls /proc/$$/task/$$/stat && ls /proc/thread-self/stat >/dev/null && echo thread-self-ok;
	readlink /proc/self/exe; kill $c; wait $c; echo wait=$?; ls /proc | grep -qx $$ && echo self-listed' >"$T/o" 2>&1
st=$?
# an unreaped child (a zombie, whose /proc files nobody may read) is still its parent's
g perl -e 'my $c = fork(); exit 0 unless $c; select(undef, undef, undef, 0.3); print "zombie_kill0=", kill(0, $c), "\n";
	open(my $f, "<", "/proc/$c/stat") or die "stat: $!"; my @s = split(/ /, scalar <$f>); print "zombie_stat=$s[2]\n"; waitpid($c, 0);' >>"$T/o" 2>&1
expect pico_pidview_own_processes 0 $((st | $?)) "$T/o" "^child-seen$" "^child-stat$" "^thread-self-ok$" "^wait=143$" "^self-listed$" \
	"^zombie_kill0=1$" "^zombie_stat=Z$"
if [ $built = 1 ]; then
	g /opt/t/pidview "$hp" >"$T/o" 2>&1
	st=$?
	if grep -v '=ok$' "$T/o" | grep -qv -e '^listed_' -e '^child_killed=1$' -e '^pidview-done$'; then
		fail pico_pidview_calls "$(grep -v '=ok$' "$T/o" | tr '\n' '|' | cut -c1-300)"
	else
		expect pico_pidview_calls 0 $st "$T/o" "^kill=ok$" "^listed_host=0$" "^listed_own=1$" "^child_killed=1$" "^pidview-done$"
	fi
else
	fail pico_pidview_calls "test programs did not build: $(tail -n 2 "$T/build.log" | tr '\n' '|')"
fi
# Two sessions of the same root (spelled differently) see and signal each other.
g sh -c 'exec sleep 30' >/dev/null 2>&1 &
sp=$!
sleep 0.5
"${AS[@]}" "$PICO" --root "$T/../$(basename "$T")/root" -- sh -c 'for p in /proc/[0-9]*; do
	[ "$(cat $p/comm 2>/dev/null)" = sleep ] && echo "other ${p#/proc/}" && kill ${p#/proc/} && echo killed; done; true' >"$T/o" 2>&1
st=$?
wait $sp
expect pico_pidview_sessions_see_each_other 0 $st "$T/o" "^other [0-9]+$" "^killed$"
# kill(-1) and kill(0) reach the distro's processes only: a daemon that left
# the session goes, the host's sleep and lxs-pico itself (in the caller's
# process group) stay.
cat >"$R/opt/t/killall.sh" <<'EOF2'
setsid sleep 20 &
d=$!
sleep 0.3
kill -- -1
echo kill-1=$?
wait $d
echo daemon=$?
trap 'echo got-usr1' USR1
kill -USR1 0
echo kill0=$?
EOF2
# (Only as uid 65534: were the view broken, kill(-1) would reach every
# process of the user who runs the tests.)
if [ ${#AS[@]} = 0 ]; then
	skip pico_pidview_kill_all_and_group "kill(-1) is tried only as uid 65534 (run the tests as root)"
else
	"${AS[@]}" setsid bash -c '"$@" sh /opt/t/killall.sh; echo pico=$?' _ "$PICO" --root "$R" -- >"$T/o" 2>&1
	st=$?
	if ! kill -0 "$hp" 2>/dev/null; then
		fail pico_pidview_kill_all_and_group "the host's sleep was killed"
	else
		expect pico_pidview_kill_all_and_group 0 $st "$T/o" "^kill-1=0$" "^daemon=143$" "^got-usr1$" "^kill0=0$" "^pico=0$"
	fi
fi
kill "$hp" 2>/dev/null
wait "$hp" 2>/dev/null
g sh -c 'i=0; while [ $i -lt 200 ]; do /bin/true & i=$((i+1)); done; wait; echo forks-done' >"$T/o" 2>&1
expect pico_fork_many 0 $? "$T/o" "forks-done"
g perl -e 'print "perl ok\n"' >"$T/o" 2>&1
expect pico_perl 0 $? "$T/o" "perl ok"

# --- 2: fake root and metadata --------------------------------------------------
g sh -c 'id -u; id -g; whoami' >"$T/o" 2>&1
expect pico_fake_root 0 $? "$T/o" "^0$" "^root$"
g -o --uid 1000 --gid 1000 -- sh -c 'id -u; id -g' >"$T/o" 2>&1
expect pico_uid_option 0 $? "$T/o" "^1000$"
g ls -l /etc/shadow /usr/bin/passwd >"$T/o" 2>&1
expect pico_stat_metadata 0 $? "$T/o" "^-rw-r----- 1 root shadow .*/etc/shadow" "^-rwsr-xr-x 1 root root .*/usr/bin/passwd"
g sh -c 'touch /tmp/own && chown 123:456 /tmp/own && chmod 2751 /tmp/own' >"$T/o" 2>&1
g stat -c '%u:%g %a' /tmp/own >>"$T/o" 2>&1
expect pico_chown_chmod_persist 0 $? "$T/o" "^123:456 2751$"
g ls -ln /tmp/own >"$T/o" 2>&1
expect pico_ls_after_new_session 0 $? "$T/o" "^-rwxr-s--x 1 123 456 "
g sh -c 'mknod /tmp/null c 1 3 && mknod /tmp/sda b 8 0 && mkfifo /tmp/fifo' >"$T/o" 2>&1
g stat -c '%n %F %t,%T %a' /tmp/null /tmp/sda /tmp/fifo >>"$T/o" 2>&1
expect pico_mknod 0 $? "$T/o" "^/tmp/null character special file 1,3 644" "^/tmp/sda block special file 8,0" "^/tmp/fifo fifo"
g sh -c '(echo through-fifo >/tmp/fifo &); cat /tmp/fifo' >"$T/o" 2>&1
expect pico_fifo_works 0 $? "$T/o" "through-fifo"
g -o --uid 1000 --gid 1000 -- sh -c 'test -r /etc/shadow && echo readable || echo denied; test -r /etc/passwd && echo passwd-ok' >"$T/o" 2>&1
expect pico_access_non_root 0 $? "$T/o" "^denied$" "passwd-ok"
g -o --uid 1000 --gid 1000 -- sh -c 'cat /etc/shadow || echo no-read; touch /etc/x || echo no-create; rm /etc/hostname || echo no-unlink;
	cat /etc/passwd >/dev/null && cd /tmp && echo mine >mine && cat mine && rm mine && echo tmp-ok' >"$T/o" 2>&1
expect pico_dac_non_root 0 $? "$T/o" "^no-read$" "^no-create$" "^no-unlink$" "^tmp-ok$"
g sh -c 'test -r /etc/shadow && test -w /etc/shadow && echo root-rw' >"$T/o" 2>&1
expect pico_access_root 0 $? "$T/o" "root-rw"
g -o --uid 1000 --gid 1000 -- sh -c 'chown 0 /tmp/own; echo rc=$?' >"$T/o" 2>&1
expect pico_chown_denied_non_root 0 $? "$T/o" "rc=1"
g sh -c 'mkdir -p /tmp/tp/a && cd /tmp/tp && echo data >a/f && chown 7:8 a/f && chmod 640 a/f && ln a/f a/hard && ln -s f a/sym &&
	mknod a/dev c 4 5 && tar -cpf /tmp/tp.tar a && mkdir /tmp/tp2 && tar -xpf /tmp/tp.tar -C /tmp/tp2 --same-owner --numeric-owner &&
	cd /tmp/tp2/a && stat -c "%n %u:%g %a %h %F %t,%T" f hard dev && readlink sym && cat hard' >"$T/o" 2>&1
expect pico_tar_p_roundtrip 0 $? "$T/o" "^f 7:8 640 2 regular file" "^hard 7:8 640 2" "^dev 0:0 644 1 character special file 4,5" "^f$" "^data$"
g dpkg -l >"$T/o" 2>&1
expect pico_dpkg_l 0 $? "$T/o" "^ii  bash " "^ii  dpkg "
g sh -c 'setfattr -n user.mine -v 1 /tmp/own 2>/dev/null; echo x' >/dev/null 2>&1
g sh -c 'touch /tmp/x1 && ln /tmp/x1 /tmp/x2 && stat -c %h /tmp/x1' >"$T/o" 2>&1
expect pico_hard_links 0 $? "$T/o" "^2$"
# The administrator's tools: useradd writes /etc/passwd+ under umask 0777;
# the new user's home is theirs, and they can log in with su.
g sh -c 'useradd -m -s /bin/sh lxsuser && id lxsuser && stat -c "%U:%G %a" /home/lxsuser /etc/passwd &&
	su -c "id -un; echo hi >~/mine; stat -c %U ~/mine" lxsuser && userdel -r lxsuser 2>/dev/null;
	echo "left: $(grep -c "^lxsuser:" /etc/passwd)"' >"$T/o" 2>&1
expect pico_useradd_su_userdel 0 $? "$T/o" "uid=1000\(lxsuser\)" "^lxsuser:lxsuser 755$" "^root:root 644$" "^lxsuser$" "^left: 0$"

# apt-get install from a local file: repository of .debs fetched on the host.
debs=${LXS_CACHE:-$HOME/.cache/lxs}/pico-debs
if ! ls "$debs"/hello_*.deb >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
	mkdir -p "$debs" && (cd "$debs" && apt-get download hello >/dev/null 2>&1)
fi
if ls "$debs"/hello_*.deb >/dev/null 2>&1 && command -v dpkg-scanpackages >/dev/null; then
	mkdir -p "$R/srv/repo"
	cp "$debs"/*.deb "$R/srv/repo/"
	(cd "$R/srv/repo" && dpkg-scanpackages . /dev/null >Packages 2>/dev/null)
	echo 'deb [trusted=yes] file:/srv/repo ./' >"$R/etc/apt/sources.list.d/local.list"
	[ "$(id -u)" = 0 ] && chown -R 65534:65534 "$R/srv/repo" "$R/etc/apt/sources.list.d/local.list"
	aopt=(-o Dir::Etc::SourceList=/etc/apt/sources.list.d/local.list -o Dir::Etc::SourceParts=-)
	{ g apt-get "${aopt[@]}" update && g apt-get "${aopt[@]}" install -y --no-download hello 2>&1 ||
		g apt-get "${aopt[@]}" install -y hello; } >"$T/o" 2>&1
	st=$?
	g hello >>"$T/o" 2>&1
	expect pico_apt_install_hello 0 $? "$T/o" "Setting up hello" "^Hello, world!$"
	g dpkg -s hello >"$T/o" 2>&1
	expect pico_dpkg_status_after_install 0 $? "$T/o" "Status: install ok installed"
else
	skip_each "no hello .deb in $debs (run once as root with the Debian archive reachable)" \
		pico_apt_install_hello pico_dpkg_status_after_install
fi

# --- 3: escapes ------------------------------------------------------------------
echo host-secret >"$T/secret"
chmod 0644 "$T/secret"
cp /bin/true "$T/hosttrue"
chmod 0755 "$T/hosttrue"
g sh -c "cd /../../../..; pwd; ls /opt/t >/dev/null && echo in-distro; cat /../../..$T/secret" >"$T/o" 2>&1
st=$?
if grep -q host-secret "$T/o"; then fail pico_escape_dotdot "read the host file"; else expect pico_escape_dotdot 1 $st "$T/o" "^/$" "in-distro"; fi
g sh -c "ln -s / /tmp/up && ls /tmp/up/opt/t >/dev/null && echo up-in-distro; ln -s $T /tmp/hostdir; cat /tmp/hostdir/secret; ln -s ../../../../../../../.. /tmp/rel; cat /tmp/rel$T/secret" >"$T/o" 2>&1
st=$?
if grep -q host-secret "$T/o"; then fail pico_escape_symlinks "read the host file"; else expect pico_escape_symlinks 1 $st "$T/o" "up-in-distro"; fi
g sh -c "cat /proc/self/root$T/secret; cat /proc/\$\$/root$T/secret; readlink /proc/self/root; ls /proc/self/root/opt/t >/dev/null && echo root-is-distro" >"$T/o" 2>&1
st=$?
if grep -q host-secret "$T/o"; then fail pico_escape_proc_root "read the host file"; else expect pico_escape_proc_root 0 $st "$T/o" "^/$" "root-is-distro"; fi
if [ $built = 1 ]; then
	g /opt/t/hostfd 3<"$T" >"$T/o" 2>&1
	st=$?
	if grep -q host-secret "$T/o"; then fail pico_escape_host_dirfd "read the host file"; else expect pico_escape_host_dirfd 0 $st "$T/o" "contained"; fi
fi
g "$T/hosttrue" >"$T/o" 2>&1
expect pico_escape_exec_host_path 127 $? "$T/o" "not found"
g sh -c "exec $T/hosttrue" >"$T/o" 2>&1
expect pico_escape_exec_host_path_sh 127 $? "$T/o"
g -o --host-share / -- sh -c "cat /mnt/host$T/secret; ls -d /mnt/host/proc" >"$T/o" 2>&1
expect pico_host_share 0 $? "$T/o" "^host-secret$"
g sh -c "ls /mnt/host | wc -l" >"$T/o" 2>&1
expect pico_no_host_share_by_default 0 $? "$T/o" "^0$"

# --- the tools folder (--tools): lxs's host folder, read-only at /usr/lib/lxs ---
# Laid out as lxs lays it out (bin/lxs-host, bin/lxspath, host-path/NAME ->
# ../bin/lxs-host, interop.sock), owned by the user who runs the distro, so
# that only the translator keeps it unchanged; its path is longer than a
# socket address holds (108 bytes), so interop.sock is reached through its
# folder (trap.c, do_sockaddr).
TD=$T/tools-$(printf '%0100d' 0)/tools
mkdir -p "$TD/bin" "$TD/host-path"
tools_built=1
musl-gcc -static -O2 -o "$TD/bin/lxs-host" tests/pico/progs/lxshost.c 2>>"$T/build.log" || tools_built=0
ln -s lxs-host "$TD/bin/lxspath"
for n in notepad.exe cmd.exe explorer.exe; do ln -s ../bin/lxs-host "$TD/host-path/$n"; done
chmod -R a+rX "$T/tools-$(printf '%0100d' 0)"
[ "$(id -u)" = 0 ] && chown -R 65534:65534 "$T/tools-$(printf '%0100d' 0)"
# The distro's own /usr/lib/lxs, which --tools hides.
mkdir -p "$R/usr/lib/lxs" && echo own >"$R/usr/lib/lxs/distro-own"
tools_state() { (cd "$TD" && find . -printf '%p %y %m %s %T@ %l\n' | sort); }
tools_state >"$T/tools.before"
# gt [-o OPTS --] CMD...: g with --tools (and OPTS).
gt() {
	local o=()
	if [ "$1" = "-o" ]; then
		shift
		while [ "$1" != "--" ]; do o+=("$1"); shift; done
		shift
	fi
	g -o --tools "$TD" "${o[@]}" -- "$@"
}
if [ $tools_built = 1 ]; then
	gt sh -c 'ls -l /usr/lib/lxs/host-path; ls /usr/lib/lxs; stat -c "%U:%G %a %n" /usr/lib/lxs/bin/lxs-host; readlink /usr/lib/lxs/bin/lxspath; ls /usr/lib | grep -x lxs' >"$T/o" 2>&1
	expect pico_tools_listing 0 $? "$T/o" "root root .* notepad.exe -> \\.\\./bin/lxs-host$" "cmd\\.exe -> " "^host-path$" \
		"^root:root 755 /usr/lib/lxs/bin/lxs-host$" "^lxs-host$" "^lxs$"
	grep -q distro-own "$T/o" && fail pico_tools_listing_hides_own "the distro's own /usr/lib/lxs shows: $(tr '\n' '|' <"$T/o")"
	gt sh -c 'PATH=/usr/lib/lxs/host-path:$PATH; notepad.exe exe; cmd.exe; /usr/lib/lxs/host-path/explorer.exe; /usr/lib/lxs/bin/lxspath' >"$T/o" 2>&1
	expect pico_tools_run_by_path 0 $? "$T/o" "^lxs-host argv0=notepad.exe uid=0$" "^exe=/usr/lib/lxs/bin/lxs-host$" \
		"^lxs-host argv0=cmd.exe uid=0$" "^lxs-host argv0=/usr/lib/lxs/host-path/explorer.exe uid=0$" \
		"^lxs-host argv0=/usr/lib/lxs/bin/lxspath uid=0$"
	# Every kind of change, by the shell's tools, as the faked root and as
	# another guest user: each one fails with EROFS (EEXIST for mkdir of
	# a folder that is there), and the host folder is as it was.
	ro='cd /tmp; f=/tmp/f$(id -u); echo x >$f
	touch /usr/lib/lxs/new; echo "touch=$?"
	touch /usr/lib/lxs/bin/lxs-host; echo "touch_old=$?"
	echo x >>/usr/lib/lxs/bin/lxs-host; echo "append=$?"
	mkdir /usr/lib/lxs/d; echo "mkdir=$?"
	mkdir /usr/lib/lxs/bin; echo "mkdir_there=$?"
	rm /usr/lib/lxs/bin/lxspath; echo "rm=$?"
	rm -r /usr/lib/lxs/host-path; echo "rm_r=$?"
	rmdir /usr/lib/lxs/host-path; echo "rmdir=$?"
	mv /usr/lib/lxs/bin/lxspath /tmp/; echo "mv_out=$?"
	mv $f /usr/lib/lxs/; echo "mv_in=$?"
	mv /usr/lib/lxs/bin/lxspath /usr/lib/lxs/bin/p2; echo "mv_within=$?"
	chmod 700 /usr/lib/lxs/bin/lxs-host; echo "chmod=$?"
	chown 1:1 /usr/lib/lxs/bin; echo "chown=$?"
	ln -s x /usr/lib/lxs/l; echo "ln_s=$?"
	ln $f /usr/lib/lxs/h; echo "ln_in=$?"
	ln /usr/lib/lxs/bin/lxs-host $f.h; echo "ln_out=$?"
	truncate -s 0 /usr/lib/lxs/bin/lxs-host; echo "truncate=$?"
	mkfifo /usr/lib/lxs/p; echo "mkfifo=$?"
	cd /usr/lib/lxs/bin && touch rel; echo "touch_rel=$?"'
	gt sh -c "$ro" >"$T/o" 2>&1
	gt -o --uid 1000 --gid 1000 -- sh -c "$ro" >"$T/o2" 2>&1
	cat "$T/o2" >>"$T/o"
	n_ro=$(grep -c 'Read-only file system' "$T/o")
	n_fail=$(grep -cE '^[a-z_]+=[1-9]' "$T/o")
	tools_state >"$T/tools.after"
	if ! cmp -s "$T/tools.before" "$T/tools.after"; then
		fail pico_tools_readonly_shell "the host folder changed: $(diff "$T/tools.before" "$T/tools.after" | tr '\n' '|' | cut -c1-300)"
	elif [ "$n_fail" != 38 ] || [ "$n_ro" -lt 36 ] || [ "$(grep -c 'File exists' "$T/o")" != 2 ]; then
		fail pico_tools_readonly_shell "$n_fail of 38 failed, $n_ro with EROFS: $(grep -vE 'Read-only' "$T/o" | tr '\n' '|' | cut -c1-400)"
	else
		pass pico_tools_readonly_shell
	fi
	# What the shell cannot make: calls by fd, xattrs, opens with each
	# write flag, /proc/self/fd reopened for writing, openat2, bind.
	want='fchmod=30 fchown=30 truncate=30 setxattr=30 fsetxattr=30 removexattr=30 reopen_write=30 open_rdwr=30 open_creat_there=0 open_creat_excl=17 access_w=30 access_x=0 mkfifo=30 openat_creat=30 mkdirat=30 utimensat_empty=30 linkat_empty=30 openat2_in_root=30 openat2_no_symlinks=30 bind=30'
	got=$(gt /usr/lib/lxs/bin/lxs-host ro /usr/lib/lxs 2>&1 | tail -n +2 | paste -sd' ')
	got1=$(gt -o --uid 1000 --gid 1000 -- /usr/lib/lxs/bin/lxs-host ro /usr/lib/lxs 2>&1 | tail -n +2 | paste -sd' ')
	tools_state >"$T/tools.after"
	if [ "$got" = "$want" ] && [ "$got1" = "$want" ] && cmp -s "$T/tools.before" "$T/tools.after"; then
		pass pico_tools_readonly_calls
	else
		fail pico_tools_readonly_calls "root: $got | uid 1000: $got1 | host folder $(cmp -s "$T/tools.before" "$T/tools.after" && echo unchanged || echo changed)"
	fi
	gt sh -c 'cd /usr/lib/lxs/bin && pwd && readlink /proc/self/cwd && ls -l /proc/$$/cwd; cd ../..; pwd; readlink /proc/self/cwd; cd lxs/host-path; /bin/pwd -P' >"$T/o" 2>&1
	expect pico_tools_cwd 0 $? "$T/o" "^/usr/lib/lxs/bin$" "/proc/[0-9]+/cwd -> /usr/lib/lxs/bin$" "^/usr/lib$" "^/usr/lib/lxs/host-path$"
	[ "$(grep -c '^/usr/lib/lxs/bin$' "$T/o")" = 2 ] || fail pico_tools_cwd_readlink "pwd and readlink: $(tr '\n' '|' <"$T/o")"
	# interop.sock: a listener on the host, reached from the distro.
	python3 - "$TD/interop.sock" >"$T/listener.log" 2>&1 <<'PY' &
import os, socket, sys
d, n = os.path.split(sys.argv[1])
os.chdir(d)  # the path is longer than a socket address holds
s = socket.socket(socket.AF_UNIX)
s.bind(n)
os.chmod(n, 0o777)
s.listen(1)
s.settimeout(30)
c, _ = s.accept()
c.sendall(b"pong:" + c.recv(64))
c.close()
PY
	lpid=$!
	for _ in $(seq 50); do [ -S "$TD/interop.sock" ] && break; sleep 0.1; done
	gt -o --uid 1000 --gid 1000 -- /usr/lib/lxs/bin/lxs-host connect /usr/lib/lxs/interop.sock >"$T/o" 2>&1
	expect pico_tools_interop_socket 0 $? "$T/o" "^reply=pong:ping$"
	kill "$lpid" 2>/dev/null
	wait "$lpid" 2>/dev/null
else
	skip_each "lxshost.c did not build: $(tail -n 2 "$T/build.log" | tr '\n' '|')" pico_tools_listing \
		pico_tools_run_by_path pico_tools_readonly_shell pico_tools_readonly_calls pico_tools_cwd \
		pico_tools_interop_socket
fi
g sh -c 'cat /usr/lib/lxs/distro-own; ls /usr/lib/lxs' >"$T/o" 2>&1
expect pico_tools_without_option 0 $? "$T/o" "^own$" "^distro-own$"
grep -q host-path "$T/o" && fail pico_tools_without_option_hidden "the tools folder shows without --tools"
g -o --tools tools -- true >"$T/o" 2>&1
expect pico_tools_relative_refused 125 $? "$T/o" "tools folder 'tools' is not usable"

# --- unknown / untranslatable system calls ---------------------------------------
# (openat2 is translated: a size of 0 is EINVAL, as Linux says.)
g perl -e 'my $p = "/etc"; my $r = syscall(437, -100, $p, 0, 0); print "openat2=$r errno=", $!+0, "\n"; $r = syscall(435, 0, 0); print "clone3=$r errno=", $!+0, "\n"; $r = syscall(425, 1, 0); print "io_uring_setup=$r errno=", $!+0, "\n";' >"$T/o" 2>&1
expect pico_unknown_syscalls_enosys 0 $? "$T/o" "openat2=-1 errno=22" "clone3=-1 errno=38" "io_uring_setup=-1 errno=38"

# --- export: pack the distro back and compare with the original -------------------
if "${AS[@]}" "$PICO" --pack "$R" "$T/back.tar" >"$T/o" 2>&1; then
	tar --numeric-owner -tvf "$T/back.tar" 2>/dev/null | grep -E ' \./etc/shadow$| \./usr/bin/passwd$| \./dev/null$' >"$T/o2"
	expect pico_pack_roundtrip 0 $? "$T/o2" "^-rw-r----- 0/42 .* \\./etc/shadow$" "^-rwsr-xr-x 0/0 .* \\./usr/bin/passwd$" "^crw-rw-rw- 0/0 +1,3 .* \\./dev/null$"
else
	fail pico_pack_roundtrip "$(tail -n 2 "$T/o" | tr '\n' '|')"
fi

# Directory times survive --unpack although their entries are written
# after them: each directory's mtime equals what `tar -tv` lists for it.
mt=$T/mtime
mkdir -p "$mt/src/d/sub" && echo x >"$mt/src/d/sub/f"
touch -d '2001-02-03 04:05:06 UTC' "$mt/src/d/sub" "$mt/src/d"
touch -d '2002-03-04 05:06:07 UTC' "$mt/src"
tar -C "$mt/src" -cf "$mt/t.tar" . && chmod -R a+rX "$mt"
if "${AS[@]}" "$PICO" --unpack "$mt/t.tar" "$T/mtroot" >"$T/o" 2>&1; then
	TZ=UTC tar --full-time -tvf "$mt/t.tar" | awk '$1 ~ /^d/ { print $6, $4, $5 }' | sort >"$mt/want"
	for d in ./ ./d/ ./d/sub/; do
		echo "$d $(TZ=UTC date -d "@$(stat -c %Y "$T/mtroot/$d")" '+%Y-%m-%d %H:%M:%S')"
	done | sort >"$mt/got"
	if [ "$(wc -l <"$mt/want")" = 3 ] && cmp -s "$mt/want" "$mt/got"; then
		pass pico_unpack_dir_mtimes
	else
		fail pico_unpack_dir_mtimes "want $(tr '\n' '|' <"$mt/want") got $(tr '\n' '|' <"$mt/got")"
	fi
else
	fail pico_unpack_dir_mtimes "$(tail -n 2 "$T/o" | tr '\n' '|')"
fi
rm -rf "$T/mtroot"

# The round trip a version conversion makes: tarball -> VolFs -> tarball
# gives the same listing (owners, modes, types, sizes, links, targets, times).
if "${AS[@]}" "$PICO" --unpack "$T/debian.tar.zst" "$T/rt" >"$T/o" 2>&1 &&
	"${AS[@]}" "$PICO" --pack "$T/rt" "$T/rt.tar" >>"$T/o" 2>&1 &&
	python3 tests/distro/listing.py tar "$T/debian.tar.zst" >"$T/l1" 2>>"$T/o" &&
	python3 tests/distro/listing.py tar "$T/rt.tar" >"$T/l2" 2>>"$T/o"; then
	if cmp -s "$T/l1" "$T/l2"; then
		pass "pico_volfs_roundtrip_listing ($(wc -l <"$T/l1") entries)"
	else
		fail pico_volfs_roundtrip_listing "$(diff "$T/l1" "$T/l2" | head -n 4 | tr '\n' '|')"
	fi
else
	fail pico_volfs_roundtrip_listing "$(tail -n 2 "$T/o" | tr '\n' '|')"
fi
rm -rf "$T/rt" "$T/rt.tar"

# --- 4: the compatibility suite -----------------------------------------------------
if [ "$compat" -gt 0 ]; then
	tests/pico/compat/run.sh "$T" "$R" "$PICO" "${AS[@]}"
fi
exit 0
