#!/usr/bin/env bash
# Distros in the VM: lxs-vm boots lxs-init with a busybox distro image, and
# sessions run in it over vsock; a second distro is hot-attached and started
# while a session in the first keeps running; freed guest memory comes back
# to the host. Needs a /dev/kvm that runs guests at speed (directly, or in the
# rig), and images made on the host beforehand by tests/check.sh:
#   DIR/busybox.img (serial busybox), DIR/busybox2.img (serial busybox2)
#   DIR/debian.img  (optional; its tests are skipped without it)
# usage: tests/vm/distro.sh KERNEL_DIR DIR
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
kdir=$1 dir=$2
run=$(mktemp -d /tmp/lxs-vmtest.XXXXXX) # sockets need a real file system
vsock=$run/v.sock ctl=$run/ctl.sock
S=(watched 300 "$run/stacks" build/lxs-session --vsock "$vsock")
vm_pid=

cleanup() {
	[ -n "$vm_pid" ] && kill "$vm_pid" 2>/dev/null
	rm -rf "$run"
}
trap cleanup EXIT

ctl() { python3 -c 'import socket,sys
s=socket.socket(socket.AF_UNIX); s.settimeout(30); s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode()+b"\n"); print(s.recv(4096).decode().strip())' "$ctl" "$1"; }
stat_of() { ctl stats | tr ' ' '\n' | sed -n "s/^$1=//p"; }

if [ ! -f "$dir/busybox.img" ]; then
	fail vm_distro_images "no $dir/busybox.img: tests/check.sh makes it before the VM tests"
	exit 0
fi
disks=(--disk "$dir/busybox.img,serial=busybox")
[ -f "$dir/debian.img" ] && disks+=(--disk "$dir/debian.img,serial=debian")
build/lxs-vm --kernel "$kdir/vmlinux" --initrd build/guest/lxs-initramfs.cpio --mem 1G --cpus 2 \
	"${disks[@]}" --spare-disks 1 --vsock "$vsock" --control "$ctl" \
	--cmdline "console=hvc0 quiet" >"$run/vm.log" 2>&1 </dev/null &
vm_pid=$!
# lxs-init marks the debug port when it listens; wait for that, bounded.
for _ in $(seq 1200); do
	grep -q "lxs-init-reached" "$run/vm.log" 2>/dev/null && [ -S "$vsock" ] && break
	kill -0 $vm_pid 2>/dev/null || break
	sleep 0.1
done
if ! grep -q "lxs-init-reached" "$run/vm.log"; then
	fail vm_lxs_init_up "lxs-init did not come up: $(tail -n 5 "$run/vm.log" | tr '\n' '|')"
	exit 0
fi
pass vm_lxs_init_up

"${S[@]}" start busybox busybox bbhost >"$run/o" 2>&1
expect vm_distro_start 0 $? "$run/o"

"${S[@]}" -d busybox -- sh -c 'hostname; cat /proc/1/cmdline; echo; ls /dev/pts; mount' >"$run/o" 2>&1
expect vm_distro_context 0 $? "$run/o" "^bbhost$" "^/init" "devpts on /dev/pts" "on / type ext4" "proc on /proc"
"${S[@]}" -d busybox -u user -- sh -c 'id -u; id -g; pwd' >"$run/o" 2>&1
expect vm_distro_user_from_passwd 0 $? "$run/o" "^1000$" "^/home/user$"
"${S[@]}" -d busybox -u nosuchuser -- true >"$run/o" 2>&1
expect vm_distro_unknown_user 255 $? "$run/o" "user nosuchuser does not exist"
"${S[@]}" -d nosuchdistro -- true >"$run/o" 2>&1
expect vm_distro_not_running 255 $? "$run/o" "distro nosuchdistro is not running"

PREFIX=vm_busybox tests/session/suite.sh vsock "$vsock" -d busybox

# A second distro while a session in the first keeps running.
mkfifo "$run/hold"
"${S[@]}" -d busybox -- sh -c 'echo first-started; read x; echo first-done' <"$run/hold" >"$run/first" 2>&1 &
first=$!
exec 7>"$run/hold"
for _ in $(seq 300); do grep -q first-started "$run/first" && break; sleep 0.1; done
spare=$(( ${#disks[@]} / 2 )) # the spare slot comes after the given disks
out=$(ctl "attach $spare $dir/busybox2.img rw busybox2")
case "$out" in ok*) pass vm_hot_attach ;; *) fail vm_hot_attach "$out" ;; esac
"${S[@]}" start busybox2 busybox2 second >"$run/o" 2>&1
expect vm_second_distro_start 0 $? "$run/o"
"${S[@]}" -d busybox2 -- hostname >"$run/o" 2>&1
expect vm_second_distro_runs 0 $? "$run/o" "^second$"
echo go >&7
exec 7>&-
wait $first
expect vm_first_session_survived 0 $? "$run/first" "first-started" "first-done"

# Memory: 512 MiB touched in the guest and freed again comes back to the host.
rss0=$(stat_of rss_kib)
"${S[@]}" -d busybox -- sh -c 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=512 2>/dev/null; echo filled' >"$run/o" 2>&1
rss1=$(stat_of rss_kib)
"${S[@]}" -d busybox -- rm /dev/shm/fill
# Free page reporting runs about two seconds after pages are freed.
rss2=$rss1
for _ in $(seq 60); do
	rss2=$(stat_of rss_kib)
	[ "$rss2" -lt $((rss1 - 256 * 1024)) ] && break
	sleep 0.5
done
if [ "$rss1" -gt $((rss0 + 400 * 1024)) ] && [ "$rss2" -lt $((rss1 - 256 * 1024)) ]; then
	pass "vm_balloon_returns_memory (RSS $((rss0 >> 10)) -> $((rss1 >> 10)) -> $((rss2 >> 10)) MiB)"
else
	fail vm_balloon_returns_memory "RSS $((rss0 >> 10)) MiB, after filling $((rss1 >> 10)) MiB, after freeing $((rss2 >> 10)) MiB"
fi

if [ -f "$dir/debian.img" ]; then
	"${S[@]}" start debian debian debhost >"$run/o" 2>&1
	expect vm_debian_start 0 $? "$run/o"
	"${S[@]}" -d debian -- sh -c '. /etc/os-release; echo $ID $VERSION_CODENAME; dpkg -l | grep -c ^ii' >"$run/o" 2>&1
	expect vm_debian_runs 0 $? "$run/o" "^debian bookworm$"
	# Every file of the tarball, seen from inside the guest: type, mode,
	# owner, size, link count, symlink target, mtime.
	if [ -f "$dir/debian.expect" ]; then
		"${S[@]}" -d debian -- find / -xdev -printf '%p|%y|%m|%U|%G|%s|%n|%l|%T@\n' \
			>"$run/deb.find" 2>"$run/o"
		out=$(python3 tests/distro/listing.py compare "$dir/debian.expect" "$run/deb.find")
		[ $? -eq 0 ] && pass "vm_debian_image_matches_tarball ($out)" ||
			fail vm_debian_image_matches_tarball "$out"
	else
		fail vm_debian_image_matches_tarball "no $dir/debian.expect"
	fi
	PREFIX=vm_debian tests/session/suite.sh vsock "$vsock" -d debian
else
	skip vm_debian "no Debian image (debootstrap needs root and Debian's archive)"
fi

"${S[@]}" shutdown >"$run/o" 2>&1
wait $vm_pid
st=$?
vm_pid=
expect vm_clean_shutdown 0 "$st" "$run/vm.log"
exit 0
