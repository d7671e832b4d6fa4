#!/usr/bin/env bash
# Localhost forwarding end to end (WSL's localhostForwarding): a TCP
# listener in a distro is reachable from the host at the same port on
# 127.0.0.1 and [::1], through lxs-init's report and relay and lxs-fwd, and
# goes away with the listener; a host port taken already is skipped and
# logged; localhostForwarding=false in lxs.conf turns it all off. Needs a
# /dev/kvm that runs guests (directly or in the rig) and DIR/busybox.tar
# (tests/check.sh makes it).
# usage: tests/cli/forward.sh KERNEL_DIR DIR
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
plan 17
kdir=$1 dir=$2
P=cli_forward
LXS=$PWD/build/lxs
TCP=(python3 tests/cli/tcp.py)
# Sockets need a real file system, and in the rig only /tmp and DIR are writable.
tmp=$(mktemp -d /tmp/lxs-clifwd.XXXXXX)
export XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config XDG_RUNTIME_DIR=$tmp/run
mkdir -p "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME/lxs" && chmod 0700 "$XDG_RUNTIME_DIR"
o=$tmp/out
log=$XDG_RUNTIME_DIR/lxs/lxsd.log
fwdlog=$XDG_RUNTIME_DIR/lxs/fwd.log # lxs-fwd's own
bg=()
cleanup() {
	local p
	for p in "${bg[@]}"; do kill "$p" 2>/dev/null; done
	"$LXS" --shutdown --force >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
run() { "$LXS" "$@" >"$o" 2>&1; st=$?; }
# The lxs-fwd that our lxsd started, if one runs.
lxsd_pid() {
	local p
	p=$(cat "$XDG_RUNTIME_DIR/lxs/lxsd.lock" 2>/dev/null)
	[ -n "$p" ] && [ "$(cat /proc/"$p"/comm 2>/dev/null)" = lxsd ] && echo "$p"
}
fwd_pid() {
	local d p=$(lxsd_pid)
	[ -n "$p" ] || return 1
	for d in /proc/[0-9]*; do
		[ "$(cat "$d/comm" 2>/dev/null)" = lxs-fwd ] &&
			grep -q "^PPid:[[:space:]]*$p$" "$d/status" 2>/dev/null && echo "${d#/proc/}" && return 0
	done
	return 1
}
# tcp.py's status, for until_ok: forwarded (0) or refused (3).
reach() { "${TCP[@]}" "$@" >"$o" 2>&1; }
refused() { "${TCP[@]}" "$@" >"$o" 2>&1; [ $? = 3 ]; }
# The guest has its listener on PORT (its own view, not through us).
guest_listens() { "$LXS" -d bb -- sh -c "netstat -ltn | grep -q ':$1 '"; }

if [ ! -f "$dir/busybox.tar" ]; then
	fail "${P}_images" "no $dir/busybox.tar: tests/check.sh makes it before the VM tests"
	exit 0
fi
# The rig's kernel leaves the loopback down; so would a bare namespace.
[ "$(id -u)" = 0 ] && [ -n "${LXS_IN_RIG:-}" ] && "${TCP[@]}" --loopback-up
v6=1
"${TCP[@]}" --has-ipv6 || v6=
conf() {
	cat >"$XDG_CONFIG_HOME/lxs/lxs.conf" <<CONF
[wsl2]
kernel = $kdir/vmlinux
memory = 1GB
processors = 2
vmIdleTimeout = 600000
kernelBootTimeout = 240000
$1
[general]
instanceIdleTimeout = 600000
CONF
}
conf ""

run --import bb "$tmp/bb" "$dir/busybox.tar"; expect "${P}_import" 0 $st "$o"
run -d bb -- sh -c 'mkdir -p /tmp/www && echo hello-httpd >/tmp/www/index.html'
expect "${P}_vm_up" 0 $st "$o"
if [ $st != 0 ]; then
	echo "# lxsd.log: $(tail -n 5 "$log" 2>/dev/null | tr '\n' '|')"
	exit 0
fi
# It runs, confined (seccomp filter mode).
fp=$(fwd_pid)
if [ -n "$fp" ] && grep -q "^Seccomp:[[:space:]]*2" "/proc/$fp/status"; then
	pass "${P}_lxs_fwd_runs"
else
	fail "${P}_lxs_fwd_runs" "lxs-fwd '$fp' ($(grep Seccomp: "/proc/$fp/status" 2>&1)); lxsd.log: $(tail -n 3 "$log" | tr '\n' '|')"
fi

# A listener on the wildcard address: bytes both ways, each side's end
# passed on (busybox nc half-closes when its stdin ends, and ends when the
# peer does).
"$LXS" -d bb -- sh -c 'echo from-guest | nc -l -p 18080 >/tmp/got' >/dev/null 2>&1 &
bg+=($!)
until_ok 120 reach 127.0.0.1 18080 --send 'from-host\n'
st=$?
expect "${P}_ipv4_guest_to_host" 0 $st "$o" "^from-guest$"
if [ $st != 0 ]; then
	echo "# lxsd.log: $(tail -n 5 "$log" 2>/dev/null | tr '\n' '|')"
	echo "# vm.log: $(grep -E 'forward|lxs-init' "$XDG_RUNTIME_DIR/lxs/vm.log" 2>/dev/null | tail -n 5 | tr '\n' '|')"
fi
run -d bb -- cat /tmp/got; expect "${P}_ipv4_host_to_guest" 0 $st "$o" "^from-host$"

if [ -n "$v6" ]; then
	"$LXS" -d bb -- sh -c 'echo six | nc -l -p 18081 >/tmp/got6' >/dev/null 2>&1 &
	bg+=($!)
	until_ok 120 reach ::1 18081 --send 'over-v6\n'
	expect "${P}_ipv6_both_ways" 0 $? "$o" "^six$"
	run -d bb -- cat /tmp/got6; expect "${P}_ipv6_host_to_guest" 0 $st "$o" "^over-v6$"
else
	skip_each "the host has no ::1" "${P}_ipv6_both_ways" "${P}_ipv6_host_to_guest"
fi

# 4 MiB each way, checked end to end (flow control, and each end of stream
# passed on: busybox nc half-closes at the end of its stdin and quits at the
# end of the socket's, so the host keeps its side open until it has all).
run -d bb -- sh -c 'dd if=/dev/urandom of=/tmp/big bs=1024 count=4096 2>/dev/null && sha256sum /tmp/big'
want=$(cut -c1-64 "$o")
"$LXS" -d bb -- sh -c 'nc -l -p 18083 </tmp/big' >/dev/null 2>&1 &
bg+=($!)
until_ok 120 reach 127.0.0.1 18083 --sha256 --no-shutdown
expect "${P}_4mib_guest_to_host" 0 $? "$o" "^$want 4194304$"
# Upload: nc's stdin is empty, so the guest's side ends first and the host
# keeps sending into the half-closed connection.
head -c $((4 << 20)) /dev/urandom >"$tmp/up"
want=$(sha256sum <"$tmp/up" | cut -c1-64)
"$LXS" -d bb -- sh -c 'nc -l -p 18086 >/tmp/up' </dev/null >/dev/null 2>&1 &
bg+=($!)
until_ok 120 reach 127.0.0.1 18086 --send-file "$tmp/up" &&
	run -d bb -- sha256sum /tmp/up
expect "${P}_4mib_host_to_guest_after_guest_eof" 0 $? "$o" "^$want "

# A listener on the guest's 127.0.0.1 only: reachable from both host
# families (the relay falls back to the guest's 127.0.0.1 for [::1]).
"$LXS" -d bb -- httpd -f -p 127.0.0.1:18082 -h /tmp/www >/dev/null 2>&1 &
bg+=($!)
until_ok 120 reach 127.0.0.1 18082 --send 'GET / HTTP/1.0\r\n\r\n'
expect "${P}_guest_loopback_only_listener" 0 $? "$o" "^hello-httpd"
if [ -n "$v6" ]; then
	until_ok 60 reach ::1 18082 --send 'GET / HTTP/1.0\r\n\r\n'
	expect "${P}_guest_ipv4_listener_on_host_ipv6" 0 $? "$o" "^hello-httpd"
else
	skip "${P}_guest_ipv4_listener_on_host_ipv6" "the host has no ::1"
fi

# lxs-fwd killed: lxsd starts it again and the guest reports afresh.
old=$(fwd_pid)
kill -9 "$old" 2>/dev/null
new_fwd() { local n; n=$(fwd_pid) && [ "$n" != "$old" ]; }
until_ok 60 new_fwd && until_ok 120 reach 127.0.0.1 18082 --send 'GET / HTTP/1.0\r\n\r\n'
expect "${P}_lxs_fwd_restarted" 0 $? "$o" "^hello-httpd"

# The listener stops: the host's port closes.
"$LXS" -d bb -- killall httpd >/dev/null 2>&1
until_ok 60 refused 127.0.0.1 18082
expect "${P}_forward_gone_with_listener" 0 $? "$o"

# A host port in use already: skipped, said once in lxsd's log, and the
# host's own listener keeps it.
"${TCP[@]}" --hold 127.0.0.1 18084 host-holder >"$tmp/hold.out" 2>&1 &
bg+=($!)
until_ok 30 grep -q listening "$tmp/hold.out"
"$LXS" -d bb -- httpd -f -p 18084 -h /tmp/www >/dev/null 2>&1 &
bg+=($!)
until_ok 120 grep -q "port 18084 is in use on the host's 127.0.0.1" "$fwdlog"
expect "${P}_taken_port_logged" 0 $? "$fwdlog"
reach 127.0.0.1 18084
expect "${P}_taken_port_keeps_host_listener" 0 $? "$o" "^host-holder$"
n=$(grep -c "port 18084 is in use" "$fwdlog")
[ "$n" = 1 ] && pass "${P}_taken_port_logged_once" || fail "${P}_taken_port_logged_once" "logged $n times"

# localhostForwarding=false: no lxs-fwd, and a guest listener stays in the guest.
for p in "${bg[@]}"; do kill "$p" 2>/dev/null; done
bg=()
"$LXS" --shutdown >/dev/null 2>&1
conf "localhostForwarding = false"
"$LXS" -d bb -- httpd -f -p 18085 -h /tmp/www >/dev/null 2>&1 &
bg+=($!)
until_ok 120 guest_listens 18085
if [ $? != 0 ]; then
	fail "${P}_disabled" "the guest's httpd never listened on 18085"
else
	reach 127.0.0.1 18085
	st=$?
	if [ $st = 3 ] && ! fwd_pid >/dev/null && [ ! -e "$XDG_RUNTIME_DIR/lxs/vm.sock_50002" ]; then
		pass "${P}_disabled"
	else
		fail "${P}_disabled" "tcp.py status $st (3 = refused), lxs-fwd pid '$(fwd_pid)'"
	fi
fi
exit 0
