#!/usr/bin/env bash
# The host's files over virtio-fs (lxs-vm --fs, src/fusesrv): lxs-vm boots
# lxs-init with the busybox distro image and a host folder shared as
# virtio-fs "hostfs0"; the distro mounts it at /mnt/host. Runs the cases
# every transport of /mnt/host passes (tests/vm/hostshare.sh), then what
# virtio-fs adds: changes made on the host are seen inside within the
# caching bound (edits, renames, deletions, new files), and within 3 s on
# a share cached for a minute, where lxs-vm tells the guest, a shared mapping's
# writes reach the host at msync, a file deleted on the host stays readable
# through a descriptor open inside, and the DrvFs options the host sets on
# the share (the control socket's share-opts, as lxsd does for a distro's
# [automount] options) apply at the next mount. Needs a /dev/kvm that runs
# guests at speed (directly, or in the rig) and DIR/busybox.img made by
# tests/check.sh.
# usage: tests/vm/hostfs.sh KERNEL_DIR DIR
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/vm/hostshare.sh
kdir=$1 dir=$2
plan 37
run=$(mktemp -d /tmp/lxs-hostfs.XXXXXX) # sockets need a real file system
vsock=$run/v.sock ctl=$run/ctl.sock
S=(watched 300 "$run/stacks" build/lxs-session --vsock "$vsock")
vm_pid= share= tshare=

cleanup() {
	[ -n "$vm_pid" ] && kill "$vm_pid" 2>/dev/null
	exec 7>&- 2>/dev/null
	rm -rf "$run" "$share" "$tshare"
}
trap cleanup EXIT

ctl() { build/lxs-vm --ctl "$ctl" "$@"; }
# The guest's view of a wait: a session that polls for a condition, bounded.
in_guest() { "${S[@]}" -d busybox -- sh -c "$1"; }

if [ ! -f "$dir/busybox.img" ]; then
	fail vm_vfs_images "no $dir/busybox.img: tests/check.sh makes it before the VM tests"
	exit 0
fi
share=$(mktemp -d "$dir/vfsshare.XXXXXX")
mkdir -p "$share/t"
tshare=$(mktemp -d /dev/shm/lxs-vfs.XXXXXX) # a tmpfs, whose changes inotify reports
cpus=2
[ "${LXS_IN_RIG:-}" = 1 ] && cpus=1
build/lxs-vm --kernel "$kdir/vmlinux" --initrd build/guest/lxs-initramfs.cpio \
	--mem 1G --cpus "$cpus" --disk "$dir/busybox.img,serial=busybox" --vsock "$vsock" \
	--control "$ctl" --fs "hostfs0=$share" --fs "hostfs1=$tshare,cache_ms=60000" --cmdline "console=hvc0 quiet" \
	>"$run/vm.log" 2>&1 </dev/null &
vm_pid=$!
export WATCHED_VM_PID=$vm_pid WATCHED_VM_LOG=$run/vm.log # see tests/lib.sh
for _ in $(seq 1200); do
	grep -q "lxs-init-reached" "$run/vm.log" 2>/dev/null && [ -S "$vsock" ] && break
	kill -0 $vm_pid 2>/dev/null || break
	sleep 0.1
done
if ! grep -q "lxs-init-reached" "$run/vm.log"; then
	fail vm_vfs_lxs_init_up "lxs-init did not come up: $(tail -n 5 "$run/vm.log" | tr '\n' '|')"
	exit 0
fi
pass vm_vfs_lxs_init_up

start_busybox() {
	"${S[@]}" --host-share hostfs0 --virtiofs start busybox busybox bbhost
}
start_busybox >"$run/o" 2>&1
expect vm_vfs_distro_start 0 $? "$run/o"

host_share_cases vm_vfs busybox "$share" "^hostfs0 on /mnt/host type virtiofs"

# --- the host changes what the guest holds cached ------------------------
# coherence PREFIX HOSTDIR GUESTDIR: the guest caches a folder, the host
# edits, renames, deletes and creates in it; each change seen inside within 3 s.
coherence() {
	local p=$1 c=$2/t/co g=$3/t/co
	mkdir -p "$c/dir1"
	printf 'v1\n' >"$c/file"
	printf 'x\n' >"$c/gone"
	printf 'in dir1\n' >"$c/dir1/inner"
	# The guest looks at everything once (entries, attributes and pages cached).
	in_guest "cd $g && cat file gone dir1/inner && ls >/dev/null && [ ! -e new ] && echo looked" >"$run/o" 2>&1
	expect "${p}_cached_first" 0 $? "$run/o" "^v1$" "^looked$"
	printf 'v2\n' >"$c/file.tmp" && mv "$c/file.tmp" "$c/file" # an editor's save
	mv "$c/dir1" "$c/dir2"
	rm "$c/gone"
	printf 'new\n' >"$c/new"
	# Polled inside, at most 3 s from the session's start.
	# (busybox date has no %N: milliseconds from /proc/uptime's hundredths.)
	in_guest 'ms() { read -r u _ </proc/uptime; echo $(( ${u%.*}${u#*.} * 10 )); }
		cd '"$g"'; t0=$(ms); e= r= d= n=
		for i in $(seq 150); do
			now=$(( $(ms) - t0 ))
			[ -z "$e" ] && [ "$(cat file 2>/dev/null)" = v2 ] && e=$now
			[ -z "$r" ] && [ -f dir2/inner ] && [ ! -e dir1 ] && r=$now
			[ -z "$d" ] && [ ! -e gone ] && d=$now
			[ -z "$n" ] && [ "$(cat new 2>/dev/null)" = new ] && n=$now
			[ -n "$e" ] && [ -n "$r" ] && [ -n "$d" ] && [ -n "$n" ] && break
			usleep 20000
		done
		echo "edit=${e:-never} rename=${r:-never} delete=${d:-never} create=${n:-never}"' >"$run/o" 2>&1
	seen "${p}_host_edit_seen" edit
	seen "${p}_host_rename_seen" rename
	seen "${p}_host_delete_seen" delete
	seen "${p}_host_create_seen" create
}
seen() { # NAME KEY: KEY's ms in the guest's line, under 3000
	local ms
	ms=$(sed -n "s/.*$2=\([0-9a-z]*\).*/\1/p" "$run/o" | head -1)
	case "$ms" in
	'' | never) fail "$1" "not seen in 3 s: $(tail -n 2 "$run/o" | tr '\n' '|')" ;;
	*) [ "$ms" -le 3000 ] && pass "$1 ($ms ms)" || fail "$1" "seen after $ms ms" ;;
	esac
}
# The rig's scratch folder is 9P, whose changes no watch reports: the 1 s timeouts bound them.
coherence vm_vfs "$share" /mnt/host
# A tmpfs share cached for a minute everywhere (cache_ms=60000): what the
# guest sees within 3 s it was told of (the notification queue, watch.c).
in_guest 'mkdir -p /mnt/watched && mount -t virtiofs hostfs1 /mnt/watched && grep " /mnt/watched " /proc/mounts' >"$run/o" 2>&1
expect vm_vfs_watched_mount 0 $? "$run/o" "^hostfs1 /mnt/watched virtiofs"
mkdir -p "$tshare/t"
coherence vm_vfs_watched "$tshare" /mnt/watched

# --- names made with no lookup first (kernel/patches/0004) --------------------
# On the watched share the guest sends an exclusive create (O_CREAT|O_EXCL,
# mkdir, mknod, symlink) without asking first whether the name exists: names
# the host made that the guest never looked up are still refused, and a name
# made so is usable at once.
cat >"$run/excl.c" <<'C'
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
/* excl FILE...: open(O_CREAT|O_EXCL) each, "FILE: created" or its error. */
int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		int fd = open(argv[i], O_WRONLY | O_CREAT | O_EXCL, 0644);

		printf("%s: %s\n", argv[i], fd >= 0 ? "created" : strerror(errno));
		if (fd >= 0 && (write(fd, "new\n", 4) != 4 || close(fd) < 0))
			printf("%s: write failed\n", argv[i]);
	}
	return 0;
}
C
musl-gcc -static -O2 -o "$share/excl" "$run/excl.c" 2>"$run/o" || cc -static -O2 -o "$share/excl" "$run/excl.c" 2>>"$run/o"
mkdir -p "$tshare/n/hd" && echo host >"$tshare/n/hf" && ln -s hf "$tshare/n/hl"
in_guest 'cd /mnt/watched/n && /mnt/host/excl hf hl hd; mkdir hd hf; ln -s x hf; mkfifo hl
	echo "hf=$(cat hf) hl=$(cat hl)"; [ -d hd ] && echo hd-dir' >"$run/o" 2>&1
expect vm_vfs_watched_excl_existing 0 $? "$run/o" "^hf: File exists$" "^hl: File exists$" \
	"^hd: File exists$" "mkdir: can't create directory 'hd': File exists" \
	"mkdir: can't create directory 'hf': File exists" "^hf=host hl=host$" "^hd-dir$"
in_guest 'cd /mnt/watched/n && /mnt/host/excl new && echo "new=$(cat new) $(stat -c %s new)"
	mkdir nd && echo x >nd/f && ln -s nd/f nl && mkfifo np && echo "nl=$(cat nl) $(stat -c %F np)"
	/mnt/host/excl new' >"$run/o" 2>&1
expect vm_vfs_watched_excl_new 0 $? "$run/o" "^new: created$" "^new=new 4$" "^nl=x fifo$" \
	"^new: File exists$"
if [ "$(cat "$tshare/n/new" 2>&1)" = new ] && [ "$(cat "$tshare/n/nd/f" 2>&1)" = x ] && [ -p "$tshare/n/np" ]; then
	pass vm_vfs_watched_excl_new_on_host
else
	fail vm_vfs_watched_excl_new_on_host "host sees: $(ls -la "$tshare/n" 2>&1 | tr '\n' '|')"
fi

# --- a shared mapping, and a file deleted on the host while open --------------
cat >"$run/mapw.c" <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
/* mapw FILE TEXT: TEXT over FILE's start through a shared mapping, msync, then wait for a line. */
int main(int argc, char **argv)
{
	char line[16];
	int fd = argc == 3 ? open(argv[1], O_RDWR) : -1;
	char *p = fd >= 0 ? mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;

	if (p == MAP_FAILED) {
		perror("mapw");
		return 1;
	}
	memcpy(p, argv[2], strlen(argv[2]));
	if (msync(p, 4096, MS_SYNC) < 0) {
		perror("msync");
		return 1;
	}
	printf("synced\n");
	fflush(stdout);
	return fgets(line, sizeof(line), stdin) ? 0 : 1;
}
C
musl-gcc -static -O2 -o "$share/mapw" "$run/mapw.c" 2>"$run/o" || cc -static -O2 -o "$share/mapw" "$run/mapw.c" 2>>"$run/o"
head -c 4096 /dev/zero | tr '\0' . >"$share/t/mapped"
mkfifo "$run/hold"
in_guest '/mnt/host/mapw /mnt/host/t/mapped MAPPED-FROM-GUEST' <"$run/hold" >"$run/map.out" 2>&1 &
mpid=$!
exec 7>"$run/hold"
if until_ok 60 grep -q '^synced$' "$run/map.out" && [ "$(head -c 17 "$share/t/mapped")" = MAPPED-FROM-GUEST ]; then
	pass vm_vfs_mmap_msync_seen_by_host
else
	fail vm_vfs_mmap_msync_seen_by_host "guest: $(tail -n 2 "$run/map.out" | tr '\n' '|'); host: $(head -c 20 "$share/t/mapped")"
fi
echo go >&7
exec 7>&-
wait $mpid

# 64 MiB; the guest reads 16 bytes, the host deletes the file, the guest
# reads the rest through the same descriptor (far past any read-ahead).
head -c $((64 << 20)) /dev/urandom >"$share/t/bigfile"
want=$(tail -c +17 "$share/t/bigfile" | md5sum | cut -c1-32)
rm -f "$run/hold" && mkfifo "$run/hold"
in_guest 'exec 3</mnt/host/t/bigfile; dd bs=16 count=1 <&3 >/dev/null 2>&1; echo ready; read go
	for i in $(seq 150); do [ -e /mnt/host/t/bigfile ] || break; usleep 20000; done
	[ ! -e /mnt/host/t/bigfile ] && echo gone-by-name
	echo "sum=$(dd bs=1M count=64 <&3 2>"/tmp/dd.err" | md5sum | cut -c1-32)"; cat /tmp/dd.err' <"$run/hold" >"$run/del.out" 2>&1 &
dpid=$!
exec 7>"$run/hold"
until_ok 60 grep -q '^ready$' "$run/del.out"
rm -f "$share/t/bigfile"
echo go >&7
exec 7>&-
wait $dpid
expect vm_vfs_deleted_while_open 0 $? "$run/del.out" "^gone-by-name$" "^sum=$want$"

# --- the share's DrvFs options, set by the host for the next mount -------------
ctl share-opts nosuch uid=1 >"$run/o" 2>&1
expect vm_vfs_share_opts_unknown_tag 1 $? "$run/o" "no virtio-fs share tagged 'nosuch'"
ctl share-opts hostfs0 bogus=1 >"$run/o" 2>&1
expect vm_vfs_share_opts_bad_options 1 $? "$run/o" "not DrvFs options"
printf 'x\n' >"$share/t/owned" && chmod 0644 "$share/t/owned"
{ ctl share-opts hostfs0 uid=4321,gid=4322,umask=077 && "${S[@]}" stop busybox && start_busybox &&
	in_guest 'stat -c "%u %g %a" /mnt/host/t/owned'; } >"$run/o" 2>&1
expect vm_vfs_share_opts_next_mount 0 $? "$run/o" "^4321 4322 600$"

"${S[@]}" shutdown >"$run/o" 2>&1
wait $vm_pid
st=$?
vm_pid=
expect vm_vfs_clean_shutdown 0 "$st" "$run/vm.log"
exit 0
