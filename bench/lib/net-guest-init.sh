#!/bin/bash
# /sbin/bnet-init: init of bench/net's guest (Debian bookworm minbase +
# iperf3 + iproute2 on a read-only virtio-blk root, bench/lib/netpp.c as
# /usr/local/bin/netpp; see bench/lib/netbench.py). The same for every
# back end: eth0 gets the fixed addresses of src/common/proto.h (10.0.2.15/24,
# default route via 10.0.2.2, which every NAT here maps to the host's
# loopback) and keeps the MTU its device gave it (or bnet.mtu=N). Then, for bnet.secs=S
# seconds each: TCP guest -> host (iperf3 to the host's server at
# 10.0.2.2:5201), host -> guest (the same, -R), 1-byte round trips on one
# connection and on a new connection each (netpp to 10.0.2.2:5202). With
# bnet.fwd=1 it then serves iperf3 on 5301 and netpp on 5302 for the host's
# clients through the port forward, prints BNET-FWD-READY and waits for a
# connection to 5303 (the driver's "done"). Results are "BNET KEY k=v ..."
# lines; BNET-END ends, then isa-debug-exit (QEMU) and a reset (lxs-vm).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs /tmp
exec </dev/null >/dev/console 2>&1

arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^bnet\.$1=//p"; }
secs=$(arg secs)
fwd=$(arg fwd)
gw=10.0.2.2
echo "BNET-START"
ip link set lo up
mtu=$(arg mtu)
[ -z "$mtu" ] || ip link set eth0 mtu "$mtu"
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via $gw
dev=/sys/class/net/eth0
echo "BNET info mtu=$(cat $dev/mtu) features=$(cat $dev/device/features 2>/dev/null || echo unknown)"

# The NAT is there once the host's netpp server answers through it.
for _ in $(seq 50); do
	timeout 5 netpp poke $gw 5202 2>/dev/null && break
	sleep 0.2
done

# iperf3's summary: the receiver's Mbit/s and the sender's retransmits.
ip3() { # KEY ARGS...
	local key=$1 out mbps retr
	shift
	out=$(timeout $((secs + 60)) iperf3 -c $gw -p 5201 -t "$secs" -f m "$@" 2>&1)
	mbps=$(awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") v = $i } END { print v }' <<<"$out")
	retr=$(awk '/sender/ { for (i = 1; i < NF; i++) if ($i == "Mbits/sec") v = $(i + 1) } END { print v }' <<<"$out")
	if [ -n "$mbps" ]; then
		echo "BNET $key mbps=$mbps retr=${retr:-nan}"
	else
		echo "BNET $key error=1"
		tail -n 5 <<<"$out"
	fi
}

pp() { # KEY MODE
	local out
	if out=$(timeout $((secs + 60)) netpp "$2" $gw 5202 "$secs" 2>&1); then
		echo "BNET $1 $out"
	else
		echo "BNET $1 error=1 $out"
	fi
}

ip3 tx
ip3 rx -R
pp rr rr
pp connect_out connect

if [ "$fwd" = 1 ]; then
	iperf3 -s -p 5301 >/dev/null 2>&1 &
	netpp server 0.0.0.0 5302 &
	sleep 1
	echo "BNET-FWD-READY"
	timeout 1800 netpp wait 5303 || echo "BNET fwd_wait error=1"
fi

s=$dev/statistics
echo "BNET stats rx_dropped=$(cat $s/rx_dropped) tx_dropped=$(cat $s/tx_dropped) rx_errors=$(cat $s/rx_errors) tx_errors=$(cat $s/tx_errors) rx_packets=$(cat $s/rx_packets) tx_packets=$(cat $s/tx_packets)"
echo "BNET-END"
# QEMU's isa-debug-exit; then a reset (reboot=k), which lxs-vm takes as the end.
printf '\0' | dd of=/dev/port bs=1 seek=$((0xf4)) count=1 2>/dev/null
echo b >/proc/sysrq-trigger
sleep 60
