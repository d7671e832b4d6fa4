#!/usr/bin/env bash
# Interop end to end: host programs run from inside a distro (lxs-host, the
# host command names on PATH), lxspath, WSLENV, the [interop] switches and
# who may use a session's interop socket; the same cases for both versions.
#   tests/cli/interop.sh v1               version 1 (lxs-pico), on this host
#   tests/cli/interop.sh v2 KDIR DIR      version 2 (needs a VM: directly or
#                                         in the rig; DIR as tests/cli/vm.sh's)
# One line per test (tests/lib.sh).
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
mode=${1:-v1}
plan 29
P=${PREFIX:-cli_interop_$mode}
LXS=$PWD/build/lxs
tmp=$(mktemp -d /tmp/lxs-interop.XXXXXX)
chmod 0755 "$tmp"
export XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config XDG_RUNTIME_DIR=$tmp/run
export LXS_DISABLE_WARNINGS=1
mkdir -p "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME/lxs" && chmod 0700 "$XDG_RUNTIME_DIR"
cleanup() {
	"$LXS" --shutdown --force >/dev/null 2>&1
	[ -n "${hp_pid:-}" ] && kill "$hp_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
o=$tmp/out
# ind CMD: a shell command line run in the distro D as root; output in $o, status in $st.
ind() { "$LXS" -d D -u root -- sh -c "$1" >"$o" 2>&1; st=$?; }

# A host-only command and one the distro has too, on the PATH lxs runs with.
mkdir -p "$tmp/hbin"
printf '#!/bin/sh\necho host-only "$@"\n' >"$tmp/hbin/lxsonlyprog"
printf '#!/bin/sh\necho from-the-host\n' >"$tmp/hbin/lxsshadow"
chmod 0755 "$tmp/hbin"/*
export PATH=$tmp/hbin:$PATH

if [ "$mode" = v2 ]; then
	kdir=${2:-} dir=${3:-}
	if [ -z "$kdir" ] || [ ! -f "$dir/busybox.img" ]; then
		fail "${P}_setup" "usage: $0 v2 KDIR DIR, with DIR/busybox.img (tests/check.sh makes it)"
		exit 0
	fi
	cat >"$XDG_CONFIG_HOME/lxs/lxs.conf" <<CONF
[wsl2]
kernel = $kdir/vmlinux
memory = 1GB
processors = 2
kernelBootTimeout = 240000
CONF
	cp "$dir/busybox.img" "$tmp/bb.img"
	"$LXS" --import-in-place D "$tmp/bb.img" >"$o" 2>&1
	expect "${P}_setup" 0 $? "$o"
	mnt=/mnt/host
else
	if [ ! -x build/lxs-pico ] || [ ! -x build/lxs-host ]; then
		fail "${P}_setup" "build/lxs-pico or build/lxs-host is not built (make all)"
		exit 0
	fi
	bb=${LXS_TEST_BUSYBOX:-}
	[ -z "$bb" ] && bb=$(tests/distro/busybox.sh "$tmp/bbsrc" 2>/dev/null | tail -n 1)
	"$LXS" --import D "$tmp/d" "$bb" --version 1 >"$o" 2>&1
	expect "${P}_setup" 0 $? "$o"
	mnt=/mnt/host
fi

# ---- running host programs ----------------------------------------------------------
ind 'lxs-host true; echo rc=$?'; expect "${P}_true" 0 $st "$o" "^rc=0$"
ind 'lxs-host sh -c "exit 7"; echo rc=$?'; expect "${P}_exit_code" 0 $st "$o" "^rc=7$"
ind 'lxs-host sh -c "kill -TERM \$\$"; echo rc=$?'; expect "${P}_killed_by_signal" 0 $st "$o" "^rc=143$"
ind 'lxs-host no-such-host-command-x; echo rc=$?'
expect "${P}_unknown_command" 0 $st "$o" "^rc=127$" "no-such-host-command-x: command not found"
ind 'seq 1000 | lxs-host sort -rn | head -n 1'; expect "${P}_pipe_round_trip" 0 $st "$o" "^1000$"
ind 'echo hi | lxs-host cat'; expect "${P}_stdin" 0 $st "$o" "^hi$"
ind 'lxs-host sh -c "echo out; echo err >&2" 2>/dev/null'; expect "${P}_stdout_apart_from_stderr" 0 $st "$o" "^out$"
grep -q err "$o" && fail "${P}_stderr_apart" "stderr came on stdout: $(cat "$o")" || pass "${P}_stderr_apart"

# A terminal on the distro side: the host program gets one too, of its size, and ^C.
python3 tests/cli/pty.py 33 77 -- "$LXS" -d D -u root -- lxs-host sh -c 'tty; stty size' >"$o" 2>&1
expect "${P}_pty" 0 $? "$o" "^/dev/pts/" "^33 77"
python3 tests/cli/pty.py 24 80 --send '\x03' --after 5 -- "$LXS" -d D -u root -- lxs-host sh -c \
	'trap "echo got-int; exit 3" INT; echo ready; while :; do sleep 0.1; done' >"$o" 2>&1
expect "${P}_ctrl_c" 3 $? "$o" "got-int"

# 16 MiB both ways, compared by sha256.
head -c 16777216 /dev/urandom >"$tmp/blob"
want=$(sha256sum <"$tmp/blob" | cut -d' ' -f1)
ind "lxs-host cat $tmp/blob | sha256sum"; expect "${P}_16mib_host_to_distro" 0 $st "$o" "^$want "
ind "lxs-host cat $tmp/blob > /tmp/blob && lxs-host sha256sum < /tmp/blob; rm -f /tmp/blob"
expect "${P}_16mib_distro_to_host" 0 $st "$o" "^$want "

# The folder: a host folder under the host mount is itself; a distro folder is the host home.
ind "cd $mnt$tmp && lxs-host pwd"; expect "${P}_cwd_host_folder" 0 $st "$o" "^$tmp$"
home=/
[ -d "${HOME:-}" ] && home=$HOME
ind 'cd /etc && echo "$(lxs-host pwd)"'; expect "${P}_cwd_distro_folder_is_home" 0 $st "$o" "^$home$"

# Host commands by name, last on PATH: the distro's own programs win.
ind 'lxsonlyprog a b'; expect "${P}_host_path_lookup" 0 $st "$o" "^host-only a b$"
ind 'mkdir -p /usr/local/bin && printf "#!/bin/sh\necho from-the-distro\n" >/usr/local/bin/lxsshadow &&
	chmod 0755 /usr/local/bin/lxsshadow && lxsshadow'
expect "${P}_distro_program_shadows_host" 0 $st "$o" "^from-the-distro$"

# ---- lxspath and WSLENV -----------------------------------------------------------------
ind "lxspath -w $mnt/etc; lxspath /etc; lxspath -u /etc/x; lxspath -w /etc; echo rc=\$?"
# A distro path outside the host mount: where lxs-fs shows it (tests/cli/distrofs.sh).
expect "${P}_lxspath" 0 $st "$o" "^/etc$" "^$mnt/etc$" "^$mnt/etc/x$" "^$XDG_RUNTIME_DIR/lxs/fs/D/etc$" "^rc=0$"
HOSTDIR=$tmp WSLENV=HOSTDIR/p "$LXS" -d D -u root -- sh -c 'echo "in=$HOSTDIR"' >"$o" 2>&1
expect "${P}_wslenv_into_distro" 0 $? "$o" "^in=$mnt$tmp$"
ind "export DV=$mnt/etc PLAIN=x WSLENV=DV/p:PLAIN; lxs-host sh -c 'echo back=\$DV \$PLAIN'"
expect "${P}_wslenv_into_host" 0 $st "$o" "^back=/etc x$"

# ---- bad input and faults ---------------------------------------------------------------
ind 'a=$(head -c 40000 /dev/zero | tr "\0" a); lxs-host echo "$a" "$a" "$a"; echo rc=$?'
expect "${P}_huge_arguments_refused" 0 $st "$o" "^rc=255$" "too long"
# A host program started from a distro runs lxs itself (no deadlock).
ind "lxs-host '$LXS' -d D -u root -- echo nested"; expect "${P}_nested_lxs" 0 $st "$o" "^nested$"
# lxs-host killed: its host program is hung up within a second.
ind "lxs-host sh -c 'echo \$\$ > $tmp/hp; exec sleep 300' & pid=\$!
	i=0; while [ ! -s $mnt$tmp/hp ] && [ \$i -lt 100 ]; do i=\$((i + 1)); usleep 50000 2>/dev/null || sleep 1; done
	kill -9 \$pid; wait \$pid; echo rc=\$?"
hp_pid=$(cat "$tmp/hp" 2>/dev/null)
gone=
t0=$(date +%s%N)
for _ in $(seq 100); do
	# Gone, or a zombie waiting for whoever inherited it to reap it.
	if [ -n "$hp_pid" ] && { [ ! -d "/proc/$hp_pid" ] || [ "$(awk '{print $3}' "/proc/$hp_pid/stat" 2>/dev/null)" = Z ]; }; then gone=$((($(date +%s%N) - t0) / 1000000)); break; fi
	sleep 0.05
done
[ -n "$gone" ] && pass "${P}_killed_client_hangs_up_host_program (gone ${gone} ms after lxs)" ||
	fail "${P}_killed_client_hangs_up_host_program" "host program ${hp_pid:-?} still runs 5 s on: $(cat "$o")"

# The session that served lxs-host is gone: one sentence, 255.
ind "(sleep 1; lxs-host true 2>$mnt$tmp/late.err; echo rc=\$? >$mnt$tmp/late.rc) >/dev/null 2>&1 &"
for _ in $(seq 200); do [ -s "$tmp/late.rc" ] && break; sleep 0.05; done
if grep -q "^rc=255$" "$tmp/late.rc" 2>/dev/null && [ "$(wc -l <"$tmp/late.err")" = 1 ] &&
	grep -q "cannot reach the host" "$tmp/late.err"; then
	pass "${P}_session_gone"
else
	fail "${P}_session_gone" "$(cat "$tmp/late.rc" "$tmp/late.err" 2>&1 | tr '\n' '|')"
fi

# A flood: at most LXS_INTEROP_MAX_RUNNING (64) host programs at once; the rest wait their turn.
if [ "$mode" = v1 ]; then
	ind "i=0; while [ \$i -lt 70 ]; do
		lxs-host sh -c 'echo + >>$tmp/flood; n=\$(grep -c + $tmp/flood); m=\$(grep -c - $tmp/flood)
			echo \$((n - m)) >>$tmp/flood.peak; sleep 1; echo - >>$tmp/flood' & i=\$((i + 1)); done; wait; echo done"
	peak=$(sort -n "$tmp/flood.peak" 2>/dev/null | tail -n 1)
	if grep -q "^done$" "$o" && [ "$(grep -c + "$tmp/flood")" = 70 ] && [ "${peak:-99}" -le 64 ]; then
		pass "${P}_flood_bounded (at most $peak at once of 70)"
	else
		fail "${P}_flood_bounded" "peak ${peak:-?}, $(grep -c + "$tmp/flood" 2>/dev/null) ran: $(tail -c 300 "$o")"
	fi
else
	skip "${P}_flood_bounded" "version 1 covers the limit (the same server); 70 programs in the rig take minutes"
fi

# Only the session's own user reaches its interop socket.
if [ "$(id -u)" = 0 ]; then
	ind "lxs-host sh -c 'for s in $XDG_RUNTIME_DIR/lxs/tools/sessions/*.sock $XDG_RUNTIME_DIR/lxs/vm.sock_5*; do
		[ -S \"\$s\" ] || continue
		setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -c \"import socket,sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1]); print(\\\"reached\\\", sys.argv[1])
except OSError as e:
    print(\\\"refused\\\", e.errno)\" \"\$s\"
	done'"
	if grep -q refused "$o" && ! grep -q reached "$o"; then pass "${P}_other_user_refused"
	else fail "${P}_other_user_refused" "$(head -c 300 "$o")"; fi
else
	skip "${P}_other_user_refused" "not root: no other uid to try as"
fi

# ---- the switches -----------------------------------------------------------------------
ind 'printf "[interop]\nenabled=false\n" >/etc/wsl.conf'
"$LXS" --terminate D >/dev/null 2>&1
ind 'lxs-host true; echo rc=$?; echo "$PATH"'
expect "${P}_wsl_conf_enabled_false" 0 $st "$o" "^rc=1$" "is off in this session" "interop\] enabled=true"
grep -q host-path "$o" && fail "${P}_wsl_conf_no_host_path" "PATH still has host-path: $(cat "$o")" ||
	pass "${P}_wsl_conf_no_host_path"
ind 'rm /etc/wsl.conf'
"$LXS" --terminate D >/dev/null 2>&1
# lxs.conf is read when lxsd starts the VM (as .wslconfig): --shutdown first.
"$LXS" --shutdown >/dev/null 2>&1
printf '[interop]\nenabled = false\n' >>"$XDG_CONFIG_HOME/lxs/lxs.conf"
ind 'lxs-host true; echo rc=$?'
expect "${P}_lxs_conf_enabled_false" 0 $st "$o" "^rc=1$" "is off in this session"
