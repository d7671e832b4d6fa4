#!/usr/bin/env bash
# The distros' files on the host (lxs-fs at $XDG_RUNTIME_DIR/lxs/fs): what
# host programs do there seen from inside the distro and the reverse, owners
# and types as the distro sees them, big files, git, find, the kernel's
# view kept fresh, who may enter, and lxs-fs or lxsd killed.
#   tests/cli/distrofs.sh v1               version 1 (the VolFs folder), on this host
#   tests/cli/distrofs.sh v2 KDIR DIR      version 2 (lxs-init's 9P server; in the rig)
# One line per test (tests/lib.sh).
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
mode=${1:-v1}
plan 30
P=${PREFIX:-cli_distrofs_$mode}
LXS=$PWD/build/lxs
tmp=$(mktemp -d /tmp/lxs-distrofs.XXXXXX)
chmod 0755 "$tmp"
export XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config XDG_RUNTIME_DIR=$tmp/run
export LXS_DISABLE_WARNINGS=1
mkdir -p "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME/lxs" && chmod 0700 "$XDG_RUNTIME_DIR"
F=$XDG_RUNTIME_DIR/lxs/fs
cleanup() {
	[ -n "${py_pid:-}" ] && kill "$py_pid" 2>/dev/null
	"$LXS" --shutdown --force >/dev/null 2>&1
	# A mount left by a failure above must not take rm into a distro.
	mountpoint -q "$F" 2>/dev/null && umount -l "$F" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
o=$tmp/out
# ind CMD: a shell command line run in the distro D as root; output in $o, status in $st.
ind() { "$LXS" -d D -u root -- sh -c "$1" >"$o" 2>&1; st=$?; }
# host CMD: a shell command line on the host; output in $o, status in $st.
host() { bash -c "$1" >"$o" 2>&1; st=$?; }
mounted() { [ -d "$F/D/etc" ]; }

# FUSE needs /dev/fuse open to this user (Debian makes it 0666; some sandboxes 0600).
if ! [ -r /dev/fuse ] || ! [ -w /dev/fuse ]; then
	for i in $(seq 30); do skip "${P}_$i" "/dev/fuse is not open to uid $(id -u) here ($(stat -c %a /dev/fuse 2>&1))"; done
	exit 0
fi

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
	"$LXS" --import-in-place D "$tmp/bb.img" >"$o" 2>&1 &&
		"$LXS" --manage D --resize 2GB >>"$o" 2>&1 &&
		"$LXS" -d D -u root -- sh -c 'grep -q "^user:" /etc/passwd || echo "user:x:1000:1000::/home/user:/bin/sh" >>/etc/passwd; mkdir -p /home/user && chown 1000:1000 /home/user
			echo "team:x:2000:other,user" >>/etc/group && mkdir -p /srv && echo team-only >/srv/team &&
			echo root-only >/srv/root && chown 0:2000 /srv/team && chmod 0640 /srv/team /srv/root' >>"$o" 2>&1 &&
		"$LXS" --manage D --set-default-user user >>"$o" 2>&1
	expect "${P}_setup" 0 $? "$o"
else
	if [ ! -x build/lxs-pico ] || [ ! -x build/lxs-fs ]; then
		fail "${P}_setup" "build/lxs-pico or build/lxs-fs is not built (make all)"
		exit 0
	fi
	bb=${LXS_TEST_BUSYBOX:-}
	[ -z "$bb" ] && bb=$(tests/distro/busybox.sh "$tmp/bbsrc" 2>/dev/null | tail -n 1)
	"$LXS" --import D "$tmp/d" "$bb" --version 1 >"$o" 2>&1 &&
		"$LXS" --manage D --set-default-user user >>"$o" 2>&1 &&
		"$LXS" --import D2 "$tmp/d2" "$bb" --version 1 >>"$o" 2>&1
	expect "${P}_setup" 0 $? "$o"
	# Nothing of version 1 starts lxsd; a user who wants the files at hand runs it so.
	build/lxsd --stay >"$tmp/lxsd.out" 2>&1 &
fi

# ---- the folder ---------------------------------------------------------------------------
if until_ok 300 mounted; then pass "${P}_distro_folder"; else
	fail "${P}_distro_folder" "no $F/D/etc: $(ls -la "$F" 2>&1 | tr '\n' '|'; cat "$XDG_RUNTIME_DIR/lxs/fs.log" 2>&1 | tail -n 5)"
fi
[ "$(readlink "$XDG_DATA_HOME/lxs/fs")" = "$F" ] && pass "${P}_stable_link" ||
	fail "${P}_stable_link" "$XDG_DATA_HOME/lxs/fs -> $(readlink "$XDG_DATA_HOME/lxs/fs")"
host "grep '^root:' '$F/D/etc/passwd'"; expect "${P}_read" 0 $st "$o" "^root:x:0:0"

# ---- host -> distro -----------------------------------------------------------------------
host "echo from-host >'$F/D/home/user/h.txt'"
ind 'cat /home/user/h.txt; stat -c "%u:%g" /home/user/h.txt'
expect "${P}_create_from_host" 0 $st "$o" "^from-host$" "^1000:1000$"
host "mkdir '$F/D/home/user/d1' '$F/D/tmp/d2' && echo x >'$F/D/home/user/d1/f' &&
	mv '$F/D/home/user/d1/f' '$F/D/tmp/d2/g' && chmod 0640 '$F/D/tmp/d2/g' &&
	ln -s ../etc/passwd '$F/D/tmp/d2/l' && rmdir '$F/D/home/user/d1'"
ind 'cat /tmp/d2/g; stat -c "%a" /tmp/d2/g; readlink /tmp/d2/l; [ ! -e /home/user/d1 ] && echo gone'
expect "${P}_mkdir_rename_chmod_symlink_rmdir" 0 $st "$o" "^x$" "^640$" "^../etc/passwd$" "^gone$"
host "rm '$F/D/tmp/d2/g' '$F/D/tmp/d2/l'"
ind '[ ! -e /tmp/d2/g ] && [ ! -L /tmp/d2/l ] && echo removed'
expect "${P}_unlink" 0 $st "$o" "^removed$"
host "setfattr -n user.lxstest -v v1 '$F/D/tmp/d2' && getfattr --only-values -n user.lxstest '$F/D/tmp/d2'"
expect "${P}_xattr" 0 $st "$o" "^v1$"

# Version 2's server acts as the default user with the groups the distro's /etc/group gives it.
if [ "$mode" = v2 ]; then
	host "cat '$F/D/srv/team' && ! cat '$F/D/srv/root' 2>&1"
	expect "${P}_acts_with_the_users_groups" 0 $st "$o" "^team-only$" "Permission denied"
else
	skip "${P}_acts_with_the_users_groups" "version 1's files are the host user's: no distro user acts"
fi

# ---- distro -> host -----------------------------------------------------------------------
ind 'touch /tmp/own && chown 1000:1000 /tmp/own && chmod 0604 /tmp/own && mkfifo /tmp/fifo &&
	mknod /tmp/chr c 1 3 && echo l >/tmp/hl1 && ln /tmp/hl1 /tmp/hl2 && ln -s /nowhere /tmp/sl'
host "stat -c '%u:%g %a' '$F/D/tmp/own'; stat -c '%F' '$F/D/tmp/fifo' '$F/D/tmp/chr';
	stat -c '%t:%T' '$F/D/tmp/chr'; stat -c '%h %i' '$F/D/tmp/hl1' '$F/D/tmp/hl2'; readlink '$F/D/tmp/sl'"
expect "${P}_owners_types_as_the_distro_sees_them" 0 $st "$o" "^1000:1000 604$" "^fifo$" \
	"^character special file$" "^1:3$" "^/nowhere$"
[ "$(grep -c '^2 ' "$o")" = 2 ] && [ "$(awk '/^2 /{print $2}' "$o" | sort -u | wc -l)" = 1 ] &&
	pass "${P}_hard_links_one_inode" || fail "${P}_hard_links_one_inode" "$(tr '\n' '|' <"$o")"

# A change inside is seen on the host within the attribute timeout (1 s; README).
ind 'echo second >/tmp/fresh'
cat "$F/D/tmp/fresh" >/dev/null 2>&1
ind 'echo third-and-longer >/tmp/fresh'
if until_ok 3 grep -q third-and-longer "$F/D/tmp/fresh"; then pass "${P}_change_inside_seen"; else
	fail "${P}_change_inside_seen" "still: $(cat "$F/D/tmp/fresh" 2>&1)"
fi

# Names and attributes changed inside, where the host's kernel had them (or their absence, or
# the folder's listing) cached: version 2 keeps them 60 s and lxs-init tells lxs-fs of each
# change, version 1 keeps them 1 s. So 3 s is only the rig's slowness.
host "[ ! -e '$F/D/tmp/later' ] && [ ! -e '$F/D/tmp/dd' ] && ls '$F/D/tmp' >/dev/null && stat -c %a '$F/D/tmp/own'"
# Version 2's cache is long only where lxs-init tells of changes: lxs-fs says when it does not.
[ "$mode" = v1 ] || ! grep "does not tell" "$XDG_RUNTIME_DIR/lxs/fs.log" >>"$o" 2>/dev/null || st=1
expect "${P}_cached_before_changes" 0 $st "$o" "^604$"
ind 'echo x >/tmp/later && mkdir /tmp/dd && echo y >/tmp/dd/inner && chmod 0640 /tmp/own'
made_seen() { [ -e "$F/D/tmp/later" ] && ls "$F/D/tmp" | grep -qx dd && [ "$(cat "$F/D/tmp/dd/inner")" = y ]; }
mode_seen() { [ "$(stat -c %a "$F/D/tmp/own")" = 640 ]; }
if [ $st = 0 ] && until_ok 3 made_seen && until_ok 3 mode_seen; then
	pass "${P}_names_and_modes_changed_inside_seen"
else
	fail "${P}_names_and_modes_changed_inside_seen" "ind $st; host: $(ls -la "$F/D/tmp" 2>&1 | tr '\n' '|')"
fi
ind 'mv /tmp/dd /tmp/dd2 && rm /tmp/later'
gone_seen() { [ ! -e "$F/D/tmp/later" ] && [ ! -e "$F/D/tmp/dd" ] && ! ls "$F/D/tmp" | grep -qx later && [ "$(cat "$F/D/tmp/dd2/inner")" = y ]; }
if [ $st = 0 ] && until_ok 3 gone_seen; then pass "${P}_renames_and_removals_inside_seen"; else
	fail "${P}_renames_and_removals_inside_seen" "ind $st; host: $(ls -la "$F/D/tmp" 2>&1 | tr '\n' '|')"
fi

# mmap, and a file kept open while the distro renames it.
ind 'echo mapped-content >/tmp/m'
host "python3 -c 'import mmap,sys; f=open(sys.argv[1],\"rb\"); print(mmap.mmap(f.fileno(),0,prot=mmap.PROT_READ)[:14].decode())' '$F/D/tmp/m'"
expect "${P}_mmap" 0 $st "$o" "^mapped-content$"
exec 7<"$F/D/tmp/m"
ind 'mv /tmp/m /tmp/m-renamed'
read -r line <&7
exec 7<&-
[ "$line" = mapped-content ] && pass "${P}_open_file_survives_rename" ||
	fail "${P}_open_file_survives_rename" "read '$line'"

# ---- big files, git, find ------------------------------------------------------------------
size_mib=1024
# The rig's /tmp is memory (tests/rig/rig.sh): the file, its copy and the VM must fit.
[ "${LXS_IN_RIG:-}" = 1 ] && size_mib=256
head -c $((size_mib << 20)) /dev/urandom >"$tmp/big"
want=$(sha256sum <"$tmp/big" | cut -d' ' -f1)
host "cp '$tmp/big' '$F/D/tmp/big'"
rm -f "$tmp/big" # at most two copies on the disk at a time
ind 'sha256sum /tmp/big'; expect "${P}_${size_mib}mib_host_to_distro" 0 $st "$o" "^$want "
ind 'cp /tmp/big /tmp/big2 && rm /tmp/big'
host "cp '$F/D/tmp/big2' '$tmp/big-back' && sha256sum <'$tmp/big-back'"
expect "${P}_${size_mib}mib_distro_to_host" 0 $st "$o" "^$want "
rm -f "$tmp/big-back"
ind 'rm -f /tmp/big2'

if command -v git >/dev/null; then
	# The repository belongs to the distro's user, not ours: git's ownership check (as on WSL).
	export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=safe.directory GIT_CONFIG_VALUE_0='*'
	host "cd '$F/D/home/user' && git init -q repo && cd repo && echo a >a && git add a &&
		git -c user.name=t -c user.email=t@t commit -qm one && git status --porcelain && echo clean"
	expect "${P}_git_commit_from_host" 0 $st "$o" "^clean$"
	ind 'echo b >>/home/user/repo/a'
	# Seen once the attributes time out: the kernel may keep the old size for 1 s.
	if until_ok 3 bash -c "cd '$F/D/home/user/repo' && git status --porcelain | grep -q '^ M a'"; then
		pass "${P}_git_status_sees_distro_change"
	else
		fail "${P}_git_status_sees_distro_change" "$(cd "$F/D/home/user/repo" && git status --porcelain 2>&1)"
	fi
else
	skip_each "no git on this host" "${P}_git_commit_from_host" "${P}_git_status_sees_distro_change"
fi
# /usr/lib/lxs is a mount inside (lxs's tools); the distro's own files are what both list.
ind 'find /usr | grep -v "^/usr/lib/lxs/" | wc -l'
inside=$(tr -d ' ' <"$o")
host "find '$F/D/usr' | sed 's|^$F/D||' | grep -v '^/usr/lib/lxs/' | wc -l"
[ -n "$inside" ] && [ "$(tr -d ' ' <"$o")" = "$inside" ] && pass "${P}_find_usr" ||
	fail "${P}_find_usr" "host $(cat "$o"), inside $inside"

# ---- paths ----------------------------------------------------------------------------------
"$LXS" -d D -u root --cd "$F/D/etc" -- pwd >"$o" 2>&1
expect "${P}_cd_into_distro_folder" 0 $? "$o" "^/etc$"
ind 'lxspath -w /etc/passwd'
expect "${P}_lxspath_w_distro_path" 0 $st "$o" "^$F/D/etc/passwd$"

# ---- who may enter --------------------------------------------------------------------------
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	setpriv --reuid 65534 --regid 65534 --clear-groups ls "$F" >"$o" 2>&1
	st=$?
	[ $st != 0 ] && grep -q "Permission denied" "$o" && pass "${P}_other_uid_refused" ||
		fail "${P}_other_uid_refused" "status $st: $(cat "$o")"
else
	skip "${P}_other_uid_refused" "needs root to be another uid"
fi

# ---- distros coming and going, kills ----------------------------------------------------
if [ "$mode" = v1 ]; then
	until_ok 5 [ -d "$F/D2/etc" ]
	"$LXS" --unregister D2 >"$o" 2>&1
	if until_ok 3 bash -c "! ls '$F' | grep -qx D2"; then pass "${P}_unregistered_disappears"; else
		fail "${P}_unregistered_disappears" "$(ls "$F" | tr '\n' ' ')"
	fi
else
	skip "${P}_unregistered_disappears" "version 1 covers it (the registry is the same)"
fi

# lxs --shutdown unmounts (lxsd's own exit does the same); then up again for the rest.
"$LXS" --shutdown >"$o" 2>&1
if ! mountpoint -q "$F"; then pass "${P}_shutdown_unmounts"; else
	fail "${P}_shutdown_unmounts" "still mounted: $(cat "$o")"
fi
until_ok 30 bash -c "! pgrep -f 'lxs-fs $F\$' >/dev/null"
if [ "$mode" = v1 ]; then
	# The lxsd that was told to shut down leaves after its linger; then a new one.
	old=$(cat "$XDG_RUNTIME_DIR/lxs/lxsd.lock" 2>/dev/null)
	[ -z "$old" ] || until_ok 30 bash -c "! kill -0 $old 2>/dev/null"
	build/lxsd --stay >>"$tmp/lxsd.out" 2>&1 &
else
	"$LXS" -d D -u root -- true >"$o" 2>&1
fi
until_ok 300 mounted

# lxs-fs killed: lxsd starts another, which clears the dead mount first.
fs_pid=$(pgrep -f "lxs-fs $F\$" | head -n 1)
if [ -n "$fs_pid" ]; then
	kill -9 "$fs_pid"
	if until_ok 10 bash -c "[ -f '$F/D/etc/passwd' ] && ! pgrep -f 'lxs-fs $F\$' | grep -qx $fs_pid"; then
		pass "${P}_lxs_fs_killed_comes_back"
	else
		fail "${P}_lxs_fs_killed_comes_back" "$(cat "$XDG_RUNTIME_DIR/lxs/fs.log" | tail -n 3 | tr '\n' '|')"
	fi
else
	fail "${P}_lxs_fs_killed_comes_back" "no lxs-fs for $F runs"
fi

# lxs-vm killed with a file open (version 2): the read fails, and the folder brings the VM back.
if [ "$mode" = v2 ]; then
	exec 8<"$F/D/etc/passwd"
	vm_pid=$(pgrep -f "lxs-vm .*$XDG_RUNTIME_DIR" | head -n 1)
	[ -n "$vm_pid" ] && kill -9 "$vm_pid"
	got=$(timeout 30 python3 -c 'import os; os.pread(8, 10, 0)' 2>&1; echo "rc=$?")
	exec 8<&-
	if [ -n "$vm_pid" ] && grep -Eq "Errno (5|107)" <<<"$got" &&
		until_ok 600 grep -q '^root:' "$F/D/etc/passwd"; then
		pass "${P}_vm_killed_open_file_fails_then_restarts"
	else
		fail "${P}_vm_killed_open_file_fails_then_restarts" "vm ${vm_pid:-none}: $got"
	fi
else
	skip "${P}_vm_killed_open_file_fails_then_restarts" "version 2 only (no VM in version 1)"
fi

# lxsd killed with a file open: reads fail (EIO/ENOTCONN, or ECONNABORTED for a request the
# kernel had sent when lxs-fs went), none hangs; the mount goes.
python3 - "$F/D/etc/passwd" "$tmp/py.out" <<'PY' &
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
with open(sys.argv[2], "w") as out:
    out.write("open\n"); out.flush()
    for _ in range(200):
        try:
            os.pread(fd, 10, 0)
        except OSError as e:
            out.write("error %d\n" % e.errno); break
        time.sleep(0.05)
    else:
        out.write("still reading\n")
PY
py_pid=$!
until_ok 10 grep -qs open "$tmp/py.out"
kill -9 "$(cat "$XDG_RUNTIME_DIR/lxs/lxsd.lock" 2>/dev/null)" 2>/dev/null
wait "$py_pid"
py_pid=
if grep -Eq "^error ($(python3 -c 'import errno; print("|".join(str(e) for e in (errno.EIO, errno.ENOTCONN, errno.ECONNABORTED)))'))$" "$tmp/py.out" &&
	until_ok 5 bash -c "! mountpoint -q '$F'"; then
	pass "${P}_lxsd_killed_open_file_fails"
else
	fail "${P}_lxsd_killed_open_file_fails" "$(tr '\n' '|' <"$tmp/py.out") mounted: $(mountpoint "$F" 2>&1)"
fi
