#!/usr/bin/env bash
# lxs end to end with a real VM: lxs starts lxsd, lxsd boots lxs-vm with the
# guest kernel and lxs-init, attaches distro images and starts them; lxs
# runs commands in them. Needs a /dev/kvm that runs guests (directly or in
# the rig) and the images tests/check.sh makes beforehand in DIR:
#   DIR/busybox.tar, DIR/busybox.img, DIR/busybox2.img, DIR/debian.img (optional)
# usage: tests/cli/vm.sh KERNEL_DIR DIR
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
plan 67
kdir=$1 dir=$2
P=cli_vm
LXS=$PWD/build/lxs
# Sockets need a real file system, and in the rig only /tmp and DIR are writable.
tmp=$(mktemp -d /tmp/lxs-clivm.XXXXXX)
chmod 0755 "$tmp" # uid 65534 runs in a folder of its own below it
export XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config XDG_RUNTIME_DIR=$tmp/run
mkdir -p "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME/lxs" && chmod 0700 "$XDG_RUNTIME_DIR"
o=$tmp/out
cleanup() {
	"$LXS" --shutdown --force >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
run() { "$LXS" "$@" >"$o" 2>&1; st=$?; }
ms() { echo $(($(date +%s%N) / 1000000)); }
vmpid() { python3 tests/cli/lxsd_wire.py "$XDG_RUNTIME_DIR/lxs/lxsd.sock" status | sed -n 's/^vmpid //p'; }
# lxsd writes its pid into its lock; only a live lxsd counts (pids get reused).
lxsd_pid() {
	local p
	p=$(cat "$XDG_RUNTIME_DIR/lxs/lxsd.lock" 2>/dev/null)
	[ -n "$p" ] && [ "$(cat /proc/"$p"/comm 2>/dev/null)" = lxsd ] && echo "$p"
}

for f in busybox.tar busybox.img busybox2.img; do
	if [ ! -f "$dir/$f" ]; then
		fail "${P}_images" "no $dir/$f: tests/check.sh makes it before the VM tests"
		exit 0
	fi
done
cat >"$XDG_CONFIG_HOME/lxs/lxs.conf" <<CONF
[wsl2]
kernel = $kdir/vmlinux
memory = 1GB
processors = 2
vmIdleTimeout = 4000
kernelBootTimeout = 240000
[general]
instanceIdleTimeout = 3000
CONF

# Images made on the host beforehand are registered where they are; one
# small tarball is imported here, through the whole path.
run --import-in-place busybox "$dir/busybox.img"; expect "${P}_import_in_place" 0 $st "$o"
run --import-in-place bb2 "$dir/busybox2.img"; expect "${P}_import_in_place_second" 0 $st "$o"
run --import bbt "$tmp/bbt" "$dir/busybox.tar"; expect "${P}_import_tarball" 0 $st "$o"

t0=$(ms)
run -d busybox -- echo hello from the vm
cold=$(($(ms) - t0))
expect "${P}_cold_echo (${cold} ms with the VM boot)" 0 $st "$o" "^hello from the vm$"
if [ $st != 0 ]; then
	echo "# lxsd.log: $(tail -n 5 "$XDG_RUNTIME_DIR/lxs/lxsd.log" 2>/dev/null | tr '\n' '|')"
	echo "# vm.log: $(tail -n 5 "$XDG_RUNTIME_DIR/lxs/vm.log" 2>/dev/null | tr '\n' '|')"
	exit 0
fi
t0=$(ms)
bad=
for i in 1 2 3 4 5 6 7 8 9 10; do "$LXS" -d busybox -- true || bad="${bad:-run $i exited $?}"; done
warm=$((($(ms) - t0) / 10))
[ -z "$bad" ] && pass "${P}_warm_true (${warm} ms each)" || fail "${P}_warm_true" "$bad"
echo "# lxsd: $(grep -E 'up in|started in' "$XDG_RUNTIME_DIR/lxs/lxsd.log" | tr '\n' '|')"
run -d busybox -- sh -c 'exit 42'; expect "${P}_exit_42" 42 $st "$o"
run -d busybox -- false; expect "${P}_exit_1" 1 $st "$o"
run -d busybox -- sh -c 'kill -SEGV $$'; expect "${P}_killed_by_sigsegv" 139 $st "$o"
run -d busybox 'echo $LXS_DISTRO_NAME $USER $HOME; hostname; cat /proc/1/cmdline | tr "\0" " "'
expect "${P}_environment" 0 $st "$o" "^busybox root /root$"
run -d busybox -u user --cd "~" -- sh -c 'id -u; pwd'; expect "${P}_user" 0 $st "$o" "^1000$" "^/home/user$"
# The host's files at /mnt/host, and lxs starts in the host folder it was run
# from, as wsl.exe does; in the home folder where /etc/wsl.conf turns the
# share off.
mkdir -p "$tmp/here/sub" && echo "from the host" >"$tmp/here/marker"
run -d busybox -- cat "/mnt/host$tmp/here/marker"; expect "${P}_mnt_host_reads_host_file" 0 $st "$o" "^from the host$"
(cd "$tmp/here" && "$LXS" -d busybox -- sh -c 'pwd; cat marker; echo from the vm >vm-made') >"$o" 2>&1; st=$?
expect "${P}_starts_in_host_cwd" 0 $st "$o" "^/mnt/host$tmp/here$" "^from the host$"
grep -qx "from the vm" "$tmp/here/vm-made" 2>/dev/null && pass "${P}_host_sees_file_made_in_vm" ||
	fail "${P}_host_sees_file_made_in_vm" "no $tmp/here/vm-made with the guest's line"
(cd "$tmp/here" && "$LXS" -d busybox --cd sub -- pwd) >"$o" 2>&1; st=$?
expect "${P}_cd_relative_is_host_folder" 0 $st "$o" "^/mnt/host$tmp/here/sub$"
# As in WSL, wsl.conf is read when the distro starts: a change needs a --terminate.
"$LXS" -d busybox -- sh -c 'printf "[automount]\nenabled = false\n" >/etc/wsl.conf'
run --terminate busybox
(cd "$tmp/here" && "$LXS" -d busybox -u user -- pwd) >"$o" 2>&1; st=$?
expect "${P}_host_cwd_without_automount_starts_at_home" 0 $st "$o" "^/home/user$"
"$LXS" -d busybox -- rm /etc/wsl.conf
run --terminate busybox
# [automount] options, per distro: busybox sees the host's files with its
# own owner and masks while bb2, running beside it, sees the defaults.
"$LXS" -d busybox -- sh -c 'printf "[automount]\noptions = uid=4321,umask=077\n" >/etc/wsl.conf'
run --terminate busybox
run -d busybox -- stat -c "%u %a" "/mnt/host$tmp/here/marker"
expect "${P}_automount_options" 0 $st "$o" "^4321 600$"
run -d bb2 -- stat -c "%u %a" "/mnt/host$tmp/here/marker"
expect "${P}_automount_options_per_distro" 0 $st "$o" "^1000 644$"
"$LXS" -d busybox -- rm /etc/wsl.conf
run --terminate busybox
run -d busybox --cd /etc -- pwd; expect "${P}_cd" 0 $st "$o" "^/etc$"
run -d busybox -u user --cd "~" -- pwd; expect "${P}_cd_home" 0 $st "$o" "^/home/user$"
"$LXS" -d busybox -u nosuchuser -- true >"$o" 2>&1
expect "${P}_unknown_user" 255 $? "$o" "does not exist"
"$LXS" -d busybox -e /no/such/program >"$o" 2>&1
expect "${P}_missing_program" 255 $? "$o" "cannot run /no/such/program"
head -c $((100 << 20)) /dev/urandom >"$tmp/big"
want=$(sha256sum <"$tmp/big" | cut -c1-64)
t0=$(ms)
got=$("$LXS" -d busybox -- cat <"$tmp/big" | sha256sum | cut -c1-64)
t=$(($(ms) - t0))
[ "$want" = "$got" ] && pass "${P}_pipe_100mib ($t ms, $((100 * 1000 / (t > 0 ? t : 1))) MiB/s)" ||
	fail "${P}_pipe_100mib" "checksum differs"
rm -f "$tmp/big"
python3 tests/cli/pty.py 33 77 -- "$LXS" -d busybox -- sh -c 'tty; stty size' >"$o" 2>&1
expect "${P}_pty" 0 $? "$o" "^/dev/pts/[0-9]+$" "^33 77$"
python3 tests/cli/pty.py 24 80 --send '\x03' --after 3 -- "$LXS" -d busybox -- sh -c 'trap "echo got-int; exit 3" INT; echo ready; while :; do sleep 0.1; done' >"$o" 2>&1
expect "${P}_pty_ctrl_c" 3 $? "$o" "got-int"
# No command: the default user's login shell, on the terminal.
python3 tests/cli/pty.py 24 80 --send 'echo $((40 + 2)) $0; exit 7\r' --after 4 -- "$LXS" -d busybox >"$o" 2>&1
expect "${P}_login_shell_on_pty" 7 $? "$o" "^42 "
"$LXS" -d busybox -- sh -c 'echo out; echo err >&2' >"$o" 2>"$o.err"
grep -qx out "$o" && grep -qx err "$o.err" && pass "${P}_pipes_keep_stderr_apart" || fail "${P}_pipes_keep_stderr_apart" "$(cat "$o" "$o.err")"

# Two distros at once, and a third (imported here) beside them.
mkfifo "$tmp/hold"
"$LXS" -d busybox -- sh -c 'echo first-up; cat >/dev/null; echo first-done' <"$tmp/hold" >"$tmp/first" 2>&1 &
first=$!
exec 7>"$tmp/hold"
for _ in $(seq 100); do grep -q first-up "$tmp/first" && break; sleep 0.1; done
run -d bb2 -- hostname; expect "${P}_second_distro" 0 $st "$o"
run -d bbt -- cat /etc/passwd; expect "${P}_imported_distro_runs" 0 $st "$o" "^root:"
# A session held open in each of the other two as well: a distro with none
# stops after 3 s here, which a loaded rig can take between two commands.
# bbt's is held (on fd 8) until bbt is unregistered below.
# (7>&-: a holder that kept the fifo's write end open would never see EOF.)
"$LXS" -d bb2 -- sh -c 'echo up; cat >/dev/null' <"$tmp/hold" >"$tmp/h2" 2>&1 7>&- &
h2=$!
mkfifo "$tmp/hold3"
"$LXS" -d bbt -- sh -c 'echo up; cat >/dev/null' <"$tmp/hold3" >"$tmp/h3" 2>&1 7>&- &
h3=$!
exec 8>"$tmp/hold3"
until_ok 60 grep -q up "$tmp/h2"
until_ok 60 grep -q up "$tmp/h3"
run --list --running; expect "${P}_list_running_three" 0 $st "$o" "^busybox" "^bb2" "^bbt"
run --list -v; expect "${P}_list_verbose_running" 0 $st "$o" "^\* busybox +Running +2$" "^  bb2 +Running +2$"
exec 7>&-
wait $first
expect "${P}_first_session_survived" 0 $? "$tmp/first" "first-done"
wait $h2
run --terminate bb2; expect "${P}_terminate" 0 $st "$o"
run --list --running -q; ! grep -qx bb2 "$o" && pass "${P}_terminated_not_running" || fail "${P}_terminated_not_running" "$(cat "$o")"
run -d bb2 -- echo back; expect "${P}_restart_after_terminate" 0 $st "$o" "^back$"
# The default user from --manage applies to the next session.
run --manage bbt --set-default-user user; run -d bbt -- id -u; expect "${P}_manage_default_user" 0 $st "$o" "^1000$"
run --export bbt "$tmp/exp.tar"
expect_busy() { grep -q "is running or busy" "$o" && [ $st = 255 ]; }
expect_busy && pass "${P}_export_running_refused" || fail "${P}_export_running_refused" "status $st: $(cat "$o")"
run --unregister bbt
[ $st = 0 ] && [ ! -e "$tmp/bbt" ] && pass "${P}_unregister_running" || fail "${P}_unregister_running" "status $st: $(cat "$o")"
exec 8>&-
wait $h3 # its distro is gone: whatever it says

# Idle: distros stop 3 s after their last session, the VM 4 s after that.
vm=$(vmpid)
none_running() { [ -z "$("$LXS" --list --running -q 2>/dev/null)" ]; }
until_ok 30 none_running
run --list --running -q; [ ! -s "$o" ] && pass "${P}_idle_distros_stop" || fail "${P}_idle_distros_stop" "$(cat "$o")"
for _ in $(seq 100); do kill -0 "$vm" 2>/dev/null || break; sleep 0.1; done
kill -0 "$vm" 2>/dev/null && fail "${P}_idle_vm_stops" "lxs-vm $vm still runs" || pass "${P}_idle_vm_stops"

# The VM killed under a running session: one sentence, 255; then all works again.
"$LXS" -d busybox -- sh -c 'echo up; sleep 30' >"$tmp/s" 2>&1 &
sess=$!
for _ in $(seq 600); do grep -q up "$tmp/s" && break; sleep 0.1; done
kill -9 "$(vmpid)"
wait $sess
expect "${P}_vm_killed_under_session" 255 $? "$tmp/s" "connection to the VM was lost"
run -d busybox -- echo alive; expect "${P}_works_after_vm_kill" 0 $st "$o" "^alive$"
# lxsd killed under a running session: its VM goes with it (it must not outlive lxsd).
"$LXS" -d busybox -- sh -c 'echo up; sleep 30' >"$tmp/s" 2>&1 &
sess=$!
for _ in $(seq 600); do grep -q up "$tmp/s" && break; sleep 0.1; done
vm=$(vmpid)
kill -9 "$(lxsd_pid)"
wait $sess
expect "${P}_lxsd_killed_under_session" 255 $? "$tmp/s" "lost"
for _ in $(seq 50); do kill -0 "$vm" 2>/dev/null || break; sleep 0.1; done
kill -0 "$vm" 2>/dev/null && fail "${P}_vm_dies_with_lxsd" "lxs-vm $vm still runs" || pass "${P}_vm_dies_with_lxsd"
run -d busybox -- echo alive; expect "${P}_works_after_lxsd_kill" 0 $st "$o" "^alive$"
run --list -v; expect "${P}_list_consistent" 0 $st "$o" "busybox" "bb2"

if [ -f "$dir/debian.img" ]; then
	run --import-in-place debian "$dir/debian.img"
	run -d debian -- sh -c '. /etc/os-release; echo $ID $VERSION_CODENAME; echo $SHELL'
	expect "${P}_debian" 0 $st "$o" "^debian bookworm$" "^/bin/bash$"
	run -d debian </dev/null; expect "${P}_debian_login_shell_no_tty" 0 $st "$o"
else
	skip_each "no $dir/debian.img (tests/distro/debian.sh makes it as root)" "${P}_debian" "${P}_debian_login_shell_no_tty"
fi

# /etc/wsl.conf [network]: a generated /etc/hosts naming the hostname and
# the host, and /etc/resolv.conf naming the NAT's DNS forwarder; with
# generateHosts=false the distro's own file stays.
run -d busybox -- sh -c 'hostname; cat /etc/hosts /etc/resolv.conf'
h=$(head -n 1 "$o" | sed "s/[.]/\\\\./g")
expect "${P}_generated_hosts" 0 $st "$o" "^127\.0\.0\.1	localhost$" "^127\.0\.1\.1	$h\.localdomain	$h$" "generateHosts = false" "^10\.0\.2\.2	host\.lxs\.internal$"
expect "${P}_generated_resolv_conf" 0 $st "$o" "^nameserver 10\.0\.2\.3$" "generateResolvConf = false"
# /dev's nodes have the modes a distro's programs expect, whatever lxs-init's
# umask (apt's _apt user writes /dev/null; apt-get update failed without it).
run -d busybox -- ls -l /dev/null /dev/zero /dev/urandom /dev/console
expect "${P}_dev_node_modes" 0 $st "$o" "^crw-rw-rw- .* /dev/null$" "^crw-rw-rw- .* /dev/zero$" "^crw-rw-rw- .* /dev/urandom$" "^crw------- .* /dev/console$"
"$LXS" -d busybox -- sh -c 'printf "[network]\ngenerateHosts = false\nhostname = lxs-box\n" >/etc/wsl.conf; echo "10.1.2.3 mine" >/etc/hosts'
run --terminate busybox
run -d busybox -- sh -c 'hostname; cat /etc/hosts'
expect "${P}_wsl_conf_network" 0 $st "$o" "^lxs-box$" "^10\.1\.2\.3 mine$"
"$LXS" -d busybox -- rm /etc/wsl.conf
# [automount] mountFsTab (default true): /etc/fstab is mounted at start.
"$LXS" -d busybox -- sh -c 'mkdir -p /srv/fst; echo "tmpfs /srv/fst tmpfs size=1m 0 0" >/etc/fstab'
run --terminate busybox
run -d busybox -- sh -c 'grep " /srv/fst " /proc/mounts | cut -d" " -f3'
expect "${P}_fstab_mounted" 0 $st "$o" "^tmpfs$"
"$LXS" -d busybox -- sh -c 'printf "[automount]\nmountFsTab = false\n" >/etc/wsl.conf'
run --terminate busybox
run -d busybox -- sh -c 'grep -c " /srv/fst " /proc/mounts'
expect "${P}_fstab_off" 1 $st "$o" "^0$"
"$LXS" -d busybox -- rm /etc/wsl.conf /etc/fstab
run --terminate busybox

# [boot] systemd=true: systemd is PID 1 of the distro, lxs waits for its boot,
# and sessions are logind login sessions (their own scope, XDG_RUNTIME_DIR).
if [ -f "$dir/debian-systemd.img" ]; then
	run --import-in-place sd "$dir/debian-systemd.img"
	"$LXS" -d sd -- sh -c 'printf "[boot]\nsystemd = true\n" >/etc/wsl.conf'
	run --terminate sd
	t0=$(ms)
	run -d sd -- sh -c 'cat /proc/1/comm; systemctl is-system-running'
	expect "${P}_systemd_pid1 ($(($(ms) - t0)) ms with its boot)" 0 $st "$o" "^systemd$" "^(running|degraded)$"
	run -d sd --cd /etc -- sh -c 'pwd; echo "$XDG_RUNTIME_DIR $LXS_DISTRO_NAME"; grep -o "session-[^/]*\.scope" /proc/self/cgroup; exit 42'
	expect "${P}_systemd_login_session" 42 $st "$o" "^/etc$" "^/run/user/0 sd$" "^session-[^/]+\.scope$"
	run -d sd -- sh -c 'kill -SEGV $$'; expect "${P}_systemd_signal_death" 139 $st "$o"
	run -d sd -- systemctl --failed --no-legend --plain
	echo "# systemd units failed in the rig: $(tr '\n' '|' <"$o")"
	run --terminate sd; expect "${P}_systemd_terminate" 0 $st "$o"
else
	skip_each "no $dir/debian-systemd.img (tests/distro/debian.sh makes it as root)" "${P}_systemd_pid1" \
		"${P}_systemd_login_session" "${P}_systemd_signal_death" "${P}_systemd_terminate"
fi

# /mnt/host is virtio-fs by default (lxs.conf [automount] transport).
run -d busybox -- sh -c 'mount | grep " /mnt/host "'
expect "${P}_host_files_over_virtiofs" 0 $st "$o" "^hostfs[0-9] on /mnt/host type virtiofs"
vm=$(vmpid)
run --shutdown; expect "${P}_shutdown" 0 $st "$o"
kill -0 "$vm" 2>/dev/null && fail "${P}_shutdown_stops_vm" "lxs-vm $vm still runs" || pass "${P}_shutdown_stops_vm"
run --status; expect "${P}_status_after_shutdown" 0 $st "$o" "^VM: stopped$"
# transport = 9p: the next VM shows them over 9P.
printf '[automount]\ntransport = 9p\n' >>"$XDG_CONFIG_HOME/lxs/lxs.conf"
run -d busybox -- sh -c "mount | grep ' /mnt/host '; cat '/mnt/host$tmp/here/marker'"
expect "${P}_host_files_over_9p" 0 $st "$o" "^hostroot[0-9] on /mnt/host type 9p" "^from the host$"
sed -i '/^\[automount\]$/,$d' "$XDG_CONFIG_HOME/lxs/lxs.conf"
run --shutdown; expect "${P}_host_files_over_9p_shutdown" 0 $st "$o"

# As an ordinary user (uid 65534), from import to a session in its own VM.
if [ "$(id -u)" = 0 ] && [ -n "${LXS_IN_RIG:-}" ]; then
	chmod o+rw /dev/kvm # the rig's own throwaway /dev/kvm
	nb=$tmp/nobody
	mkdir -p "$nb" && chown 65534:65534 "$nb"
	# Programs, kernel and tarball staged where the user can read them: the
	# checkout may sit in a 0700 folder, and root's cache is root's.
	tests/stage.sh "$tmp/stage" "$kdir/vmlinux" "$dir/busybox.tar"
	nobody() {
		setpriv --reuid=65534 --regid=65534 --clear-groups env -i PATH="$PATH" HOME=/nonexistent \
			XDG_DATA_HOME="$nb/data" XDG_CONFIG_HOME="$nb/config" XDG_RUNTIME_DIR= "$tmp/stage/build/lxs" "$@"
	}
	sed "s|^kernel = .*|kernel = $tmp/stage/files/vmlinux|" "$XDG_CONFIG_HOME/lxs/lxs.conf" |
		setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "mkdir -p '$nb/config/lxs' && cat >'$nb/config/lxs/lxs.conf'"
	nobody --import bb "$nb/bb" "$tmp/stage/files/busybox.tar" >"$o" 2>&1
	expect "${P}_nobody_import" 0 $? "$o"
	nobody -d bb -- sh -c 'echo hello; id -u' >"$o" 2>&1
	expect "${P}_nobody_session" 0 $? "$o" "^hello$" "^0$"
	grep -q "^hello$" "$o" || echo "# vm.log: $(tail -n 3 /tmp/lxs-65534/vm.log 2>&1 | tr '\n' '|')"
	[ -d /tmp/lxs-65534 ] && [ "$(stat -c %a:%u /tmp/lxs-65534)" = 700:65534 ] &&
		pass "${P}_nobody_run_dir_fallback" || fail "${P}_nobody_run_dir_fallback" "$(ls -ld /tmp/lxs-65534 2>&1)"
	nobody --shutdown >"$o" 2>&1
	expect "${P}_nobody_shutdown" 0 $? "$o"
	chmod o-rw /dev/kvm
else
	skip_each "needs root inside the rig to open /dev/kvm to uid 65534" "${P}_nobody_import" \
		"${P}_nobody_session" "${P}_nobody_run_dir_fallback" "${P}_nobody_shutdown"
fi
exit 0
