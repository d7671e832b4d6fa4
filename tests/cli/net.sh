#!/usr/bin/env bash
# Version 2's network end to end (networkingMode=nat): lxsd runs lxs-net
# (the NAT), lxs-vm's virtio-net carries the frames, lxs-init configured
# eth0. Every server these tests reach is one they start on the host's
# loopback (the guest reaches it at the NAT's gateway, 10.0.2.2 /
# host.lxs.internal) or a resolver they start there; nothing else is
# contacted. As root the suite runs in a mount namespace of its own whose
# /etc/resolv.conf names that resolver, so the NAT's DNS forwarder asks it.
# Needs a /dev/kvm that runs guests (directly or in the rig) and the images
# tests/check.sh makes in DIR (busybox.img, busybox2.img).
# usage: tests/cli/net.sh KERNEL_DIR DIR
set -uo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" = 0 ] && [ -z "${LXS_NET_TEST_NS:-}" ]; then
	LXS_NET_TEST_NS=1 exec unshare -m --propagation private "$0" "$@"
fi
. tests/lib.sh
plan 17
kdir=$1 dir=$2
P=cli_net
LXS=$PWD/build/lxs LXS_VM=$PWD/build/lxs-vm
tmp=$(mktemp -d /tmp/lxs-net.XXXXXX)
chmod 0755 "$tmp"
export XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config XDG_RUNTIME_DIR=$tmp/run
mkdir -p "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME/lxs" "$tmp/www" && chmod 0700 "$XDG_RUNTIME_DIR"
o=$tmp/out
pids=()
cleanup() {
	"$LXS" --shutdown --force >/dev/null 2>&1
	[ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
run() { "$LXS" "$@" >"$o" 2>&1; st=$?; }
lxsd_pid() { cat "$XDG_RUNTIME_DIR/lxs/lxsd.lock" 2>/dev/null; }
net_pid() { pgrep -P "$(lxsd_pid)" -x lxs-net; }
vm_pid() { pgrep -P "$(lxsd_pid)" -x lxs-vm; }
control() { # COMMAND [ARGS]: lxs-vm's control socket's answer line
	"$LXS_VM" --ctl "$XDG_RUNTIME_DIR/lxs/vm-control.sock" "$@"
}
conf() { # extra lines of [wsl2]
	cat >"$XDG_CONFIG_HOME/lxs/lxs.conf" <<CONF
[wsl2]
kernel = $kdir/vmlinux
memory = 1GB
processors = 2
kernelBootTimeout = 240000
$*
CONF
}

for f in busybox.img busybox2.img; do
	if [ ! -f "$dir/$f" ]; then
		fail "${P}_images" "no $dir/$f: tests/check.sh makes it before the VM tests"
		exit 0
	fi
	cp --sparse=always "$dir/$f" "$tmp/$f"
done
conf ""
run --import-in-place bb "$tmp/busybox.img"; expect "${P}_import" 0 $st "$o"
"$LXS" --import-in-place bb2 "$tmp/busybox2.img" >/dev/null 2>&1

# The host's side: files served on 127.0.0.1 and ::1, found through a port file.
head -c $((64 << 20)) /dev/urandom >"$tmp/www/big"
echo "small file from the host" >"$tmp/www/small"
serve() { # ADDRESS PORTFILE
	python3 - "$1" "$2" "$tmp/www" <<'PY' >/dev/null 2>&1 &
import functools, http.server, socket, sys
class S(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[3])
srv = S((sys.argv[1], 0), h)
open(sys.argv[2] + ".new", "w").write(str(srv.server_address[1]))
__import__("os").rename(sys.argv[2] + ".new", sys.argv[2])
srv.serve_forever()
PY
	pids+=($!)
}
serve 127.0.0.1 "$tmp/port4"
serve ::1 "$tmp/port6"
until_ok 20 test -s "$tmp/port4" && until_ok 20 test -s "$tmp/port6"
port4=$(cat "$tmp/port4") port6=$(cat "$tmp/port6")
want=$(md5sum <"$tmp/www/big" | cut -d' ' -f1)

run -d bb -- sh -c 'ip addr show eth0; ip route; cat /sys/class/net/eth0/mtu'
expect "${P}_eth0_configured" 0 $st "$o" "inet 10\.0\.2\.15/24" "^default via 10\.0\.2\.2 dev eth0" "^65520$" "inet6 fd00:6c78:73::15/64"

# Guest -> host: 64 MiB over HTTP from the host's loopback, checksummed.
run -d bb -- sh -c "wget -q -O - http://10.0.2.2:$port4/big | md5sum"
expect "${P}_fetch_64mib_from_host" 0 $st "$o" "^$want "
run -d bb -- sh -c "wget -q -O - 'http://[fd00:6c78:73::2]:$port6/small'"
expect "${P}_fetch_over_ipv6" 0 $st "$o" "^small file from the host$"

# The generated files name the NAT: its DNS forwarder, the host's name.
run -d bb -- cat /etc/resolv.conf /etc/hosts
expect "${P}_resolv_conf_names_forwarder" 0 $st "$o" "^nameserver 10\.0\.2\.3$" "^10\.0\.2\.2	host\.lxs\.internal$"

# DNS through the forwarder to a resolver of our own on the host's loopback.
if [ "$(id -u)" = 0 ] && command -v dnsmasq >/dev/null; then
	printf 'nameserver 127.0.0.1\n' >"$tmp/resolv.conf"
	mount --bind "$tmp/resolv.conf" /etc/resolv.conf
	dnsmasq --keep-in-foreground --listen-address=127.0.0.1 --bind-interfaces --port=53 \
		--no-resolv --no-hosts --pid-file="$tmp/dnsmasq.pid" --user=root \
		--address=/lxs-test.internal/192.0.2.77 2>"$tmp/dnsmasq.log" &
	pids+=($!)
	until_ok 20 test -s "$tmp/dnsmasq.pid"
	run -d bb -- nslookup -type=a lxs-test.internal
	expect "${P}_dns_through_forwarder" 0 $st "$o" "192\.0\.2\.77"
else
	skip "${P}_dns_through_forwarder" "needs root (a private /etc/resolv.conf) and dnsmasq"
fi

# Two distros share the VM's one network: both fetch at once, and a
# listener in one is on the other's loopback.
"$LXS" -d bb -- sh -c "wget -q -O - http://10.0.2.2:$port4/big | md5sum" >"$tmp/one" 2>&1 &
one=$!
run -d bb2 -- sh -c "wget -q -O - http://10.0.2.2:$port4/big | md5sum"
wait "$one"
st1=$?
if [ $st1 = 0 ] && grep -q "^$want " "$tmp/one"; then
	expect "${P}_two_distros_fetch_at_once" 0 $st "$o" "^$want "
else
	fail "${P}_two_distros_fetch_at_once" "the first distro's fetch: status $st1, $(head -c 200 "$tmp/one")"
fi
"$LXS" -d bb -- sh -c 'mkdir -p /tmp/w && echo from-bb >/tmp/w/x && exec httpd -f -p 127.0.0.1:7123 -h /tmp/w' >/dev/null 2>&1 &
lst=$!
run -d bb2 -- sh -c 'i=0; while [ $i -lt 100 ]; do wget -q -O - http://127.0.0.1:7123/x && exit 0; i=$((i+1)); sleep 0.1; done; exit 1'
expect "${P}_shared_loopback" 0 $st "$o" "^from-bb$"
"$LXS" -d bb -- killall httpd >/dev/null 2>&1
wait "$lst"

# Nothing of lxs listens on the host for the network: no TCP listener on any
# address. (The NAT's UDP flows each have a socket of their own, as every
# user-mode NAT's do: a socket that waits for the answers of one flow.)
if ss -H -ltnp 2>/dev/null | grep -E '"lxs-(net|vm)"' >"$o"; then
	fail "${P}_nothing_listens" "$(head -n 3 "$o" | tr '\n' '|')"
else
	pass "${P}_nothing_listens"
fi

# The NAT runs confined (seccomp filter mode) and nothing it did so far was refused.
np=$(net_pid)
if [ -n "$np" ] && grep -q "^Seccomp:[[:space:]]*2" "/proc/$np/status" &&
	! grep -q "forbidden system call" "$XDG_RUNTIME_DIR/lxs/net.log"; then
	pass "${P}_nat_sandboxed"
else
	fail "${P}_nat_sandboxed" "lxs-net '$np': $(grep Seccomp "/proc/$np/status" 2>&1); $(grep forbidden "$XDG_RUNTIME_DIR/lxs/net.log" | head -n 1)"
fi

# The NAT killed: lxsd starts it again, lxs-vm reconnects, the link comes
# back; the VM and a session that was running live on.
vm1=$(vm_pid) net1=$(net_pid)
"$LXS" -d bb -- sh -c 'i=0; while [ ! -e /tmp/go ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done; echo session-alive' >"$tmp/alive" 2>&1 &
alive=$!
if [ -n "$net1" ]; then
	kill -9 "$net1"
	new_net() { local p; p=$(net_pid) && [ -n "$p" ] && [ "$p" != "$net1" ]; }
	until_ok 30 new_net
	fetch_again() { "$LXS" -d bb -- wget -q -O - "http://10.0.2.2:$port4/small" >"$o" 2>&1 && grep -q "small file" "$o"; }
	if until_ok 60 fetch_again; then
		if [ "$(vm_pid)" = "$vm1" ]; then pass "${P}_nat_killed_comes_back"; else fail "${P}_nat_killed_comes_back" "the VM was restarted ($vm1 -> $(vm_pid))"; fi
	else
		fail "${P}_nat_killed_comes_back" "no fetch within 60 s; net.log: $(tail -n 3 "$XDG_RUNTIME_DIR/lxs/net.log" | tr '\n' '|')"
	fi
	control net >"$o"
	expect "${P}_link_loss_counted" 0 0 "$o" "link=1" "backend_losses=[1-9]" "reconnects=[1-9]"
else
	skip_each "no lxs-net process found under lxsd" "${P}_nat_killed_comes_back" "${P}_link_loss_counted"
fi
"$LXS" -d bb -- touch /tmp/go
wait "$alive"
expect "${P}_session_survives_nat_restart" 0 $? "$tmp/alive" "^session-alive$"

# --shutdown leaves no NAT and no socket behind.
net2=$(net_pid)
run --shutdown
if [ $st = 0 ] && [ -n "$net2" ] && ! kill -0 "$net2" 2>/dev/null && [ ! -e "$XDG_RUNTIME_DIR/lxs/net.sock" ] &&
	! grep -q "forbidden system call" "$XDG_RUNTIME_DIR/lxs/net.log"; then
	pass "${P}_shutdown_stops_nat"
else
	fail "${P}_shutdown_stops_nat" "status $st, lxs-net '$net2' $(kill -0 "$net2" 2>/dev/null && echo alive), socket $(ls "$XDG_RUNTIME_DIR/lxs/" | tr '\n' ' ')"
fi

# networkingMode=none: no card and no NAT (lxsd reads its configuration when
# it starts: --shutdown stops it with the VM).
conf "networkingMode = none"
"$LXS" --status >"$tmp/status" 2>&1
run -d bb -- ls /sys/class/net
if [ $st = 0 ] && ! grep -q eth0 "$o" && grep -q "^lo$" "$o" && [ -z "$(net_pid)" ] &&
	grep -q "^VM network: none" "$tmp/status"; then
	pass "${P}_networking_mode_none"
else
	fail "${P}_networking_mode_none" "status $st: $(tr '\n' '|' <"$o" | cut -c1-300), lxs-net '$(net_pid)'"
fi
run --shutdown
conf "networkingMode = mirrored"
run --status
expect "${P}_networking_mode_mirrored_warned" 0 $st "$o" "networkingMode = mirrored is not available on a Linux host; lxs uses nat"
run -d bb -- ls /sys/class/net
expect "${P}_networking_mode_mirrored_is_nat" 0 $st "$o" "^eth0$"
run --shutdown
