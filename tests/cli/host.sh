#!/usr/bin/env bash
# lxs and lxsd without a VM: option parsing, the registry (import, export,
# list, unregister, defaults, manage) with its crash safety, bad input of
# every kind, and sessions through lxsd against `lxs-init --serve-unix`
# (LXSD_INIT_UNIX), which runs commands on this host instead of in a VM.
# tests/check.sh runs it as root and again as uid 65534 (PREFIX=cli_nobody,
# from a staged copy, with the distro tarballs in LXS_TEST_BUSYBOX and
# LXS_TEST_DEBIAN). One line per test (tests/lib.sh); finishes in well under
# a minute.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
plan 189
P=${PREFIX:-cli_host}
LXS=$PWD/build/lxs
tmp=$(mktemp -d /tmp/lxs-cli.XXXXXX)
chmod 0755 "$tmp"
export XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config XDG_RUNTIME_DIR=$tmp/run
export LXS_DISABLE_WARNINGS=1
mkdir -p "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME/lxs" && chmod 0700 "$XDG_RUNTIME_DIR"
init_pid=
cleanup() {
	[ -S "$XDG_RUNTIME_DIR/lxs/lxsd.sock" ] && "$LXS" --shutdown >/dev/null 2>&1
	[ -f "$XDG_RUNTIME_DIR/lxs/lxsd.pid" ] && kill "$(cat "$XDG_RUNTIME_DIR/lxs/lxsd.pid")" 2>/dev/null
	[ -n "$init_pid" ] && kill "$init_pid" 2>/dev/null
	mountpoint -q "$tmp/full" 2>/dev/null && umount "$tmp/full"
	rm -rf "$tmp"
}
trap cleanup EXIT
o=$tmp/out
mk() { python3 tests/cli/mktar.py "$@"; }
# lxsd writes its pid into its lock; only a live lxsd counts (pids get reused).
lxsd_pid() {
	local p
	p=$(cat "$XDG_RUNTIME_DIR/lxs/lxsd.lock" 2>/dev/null)
	[ -n "$p" ] && [ "$(cat /proc/"$p"/comm 2>/dev/null)" = lxsd ] && echo "$p"
}
# lxs "$@" with its output in $o, status in $st.
run() { "$LXS" "$@" >"$o" 2>&1; st=$?; }
# A failure must be one clear line on stderr, exit 255, and no crash.
expect_fail() { # NAME PATTERN ARGS...
	local name=$1 pat=$2
	shift 2
	"$LXS" "$@" >"$o.stdout" 2>"$o"
	local s=$?
	local lines
	lines=$(wc -l <"$o")
	if [ "$s" != 255 ]; then fail "${P}_$name" "exit $s, wanted 255: $(head -c 300 "$o")"
	elif [ "$lines" != 1 ]; then fail "${P}_$name" "$lines lines on stderr: $(head -c 300 "$o" | tr '\n' '|')"
	elif ! grep -qE -- "$pat" "$o"; then fail "${P}_$name" "stderr lacks /$pat/: $(cat "$o")"
	else pass "${P}_$name"; fi
}
listing_ok() { # the registry parses and every listed distro is importable state
	"$LXS" --list --quiet >"$o.list" 2>&1
}

mk rootfs "$tmp/root.tar"
gzip -c "$tmp/root.tar" >"$tmp/root.tar.gz"
xz -c "$tmp/root.tar" >"$tmp/root.tar.xz"
zstd -q -c "$tmp/root.tar" >"$tmp/root.tar.zst"

# ---- the two programs -------------------------------------------------------------
# lxs runs commands without libarchive and libext2fs; lxs-manage next to it
# does the commands that write distros, and its absence is said clearly.
libs=$(ldd "$LXS" 2>&1)
if grep -qE "libarchive|libext2fs" <<<"$libs"; then
	fail "${P}_lean_lxs" "lxs links $(grep -oE 'lib(archive|ext2fs)[^ ]*' <<<"$libs" | tr '\n' ' ')"
else
	pass "${P}_lean_lxs"
fi
mkdir -p "$tmp/alone" && cp "$LXS" "$tmp/alone/lxs"
"$tmp/alone/lxs" --import x "$tmp/x" "$tmp/root.tar" >"$o.stdout" 2>"$o"
expect "${P}_manage_missing" 255 $? "$o" "lxs-manage.*belongs next to lxs"

# ---- options --------------------------------------------------------------------
run --help; expect "${P}_help" 0 $st "$o" "^Usage: lxs" "--import NAME DIR"
run --version; expect "${P}_version" 0 $st "$o" "^lxs version: "
expect_fail unknown_option "invalid command line argument: --frobnicate" --frobnicate
expect_fail unknown_short_option "invalid command line argument: -Z" -Z
expect_fail distro_twice "given twice" -d a -d b -- true
expect_fail distro_missing_value "needs a value" -d
expect_fail import_missing_args "needs more arguments" --import onlyname
expect_fail list_quiet_verbose "cannot go together" --list -q -v
expect_fail list_all_running "cannot go together" --list --all --running
expect_fail shell_type_bad "standard, login or none" --shell-type weird -- true
expect_fail set_default_version_bad "1 or 2" --set-default-version 3
expect_fail manage_without_op "needs one of" --manage x
expect_fail manage_two_ops "exactly one" --manage x --move /a --resize 1G

# ---- empty registry -------------------------------------------------------------
expect_fail list_empty "no distributions" --list
run --list --quiet; expect "${P}_list_empty_quiet" 0 $st "$o"
expect_fail run_without_distros "no distributions" -- true
expect_fail list_running_none "no running distributions" --list --running

# ---- import in every compression ---------------------------------------------------
for f in tar tar.gz tar.xz tar.zst; do
	n=r-${f//./-}
	run --import "$n" "$tmp/d/$n" "$tmp/root.$f"
	expect "${P}_import_$f" 0 $st "$o"
done
run --import fromstdin "$tmp/d/stdin" - <"$tmp/root.tar.zst"
expect "${P}_import_stdin" 0 $st "$o"
run --list; expect "${P}_list" 0 $st "$o" "^r-tar \(Default\)$" "^fromstdin$"
run --list -v; expect "${P}_list_verbose" 0 $st "$o" "NAME +STATE +VERSION" "^\* r-tar +Stopped +2$"
run -l -q; expect "${P}_list_quiet" 0 $st "$o" "^r-tar-zst$"
[ "$(wc -l <"$o")" = 5 ] && pass "${P}_list_quiet_count" || fail "${P}_list_quiet_count" "$(tr '\n' ' ' <"$o")"
[ -f "$tmp/d/r-tar/ext4.img" ] && [ "$(du -k "$tmp/d/r-tar/ext4.img" | cut -f1)" -lt 65536 ] &&
	pass "${P}_image_is_sparse" || fail "${P}_image_is_sparse" "$(ls -ls "$tmp/d/r-tar" 2>&1)"
perm=$(stat -c %a "$XDG_DATA_HOME/lxs/registry")
[ "$perm" = 600 ] && pass "${P}_registry_private" || fail "${P}_registry_private" "mode $perm"

# ---- bad names and inputs -------------------------------------------------------------
expect_fail name_slash "not a valid distribution name" --import a/b "$tmp/d/x" "$tmp/root.tar"
expect_fail name_space "not a valid distribution name" --import "a b" "$tmp/d/x" "$tmp/root.tar"
expect_fail name_300 "not a valid distribution name" --import "$(printf 'n%.0s' $(seq 300))" "$tmp/d/x" "$tmp/root.tar"
expect_fail name_empty "not a valid distribution name" --import "" "$tmp/d/x" "$tmp/root.tar"
expect_fail name_duplicate "already exists" --import r-tar "$tmp/d/dup" "$tmp/root.tar"
expect_fail name_duplicate_case "already exists" --import R-TAR "$tmp/d/dup" "$tmp/root.tar"
expect_fail import_missing_file "cannot read" --import miss "$tmp/d/miss" "$tmp/nope.tar"
expect_fail import_folder_as_file "is a folder" --import miss "$tmp/d/miss" "$tmp"
expect_fail import_dir_taken "already holds a distribution image" --import other "$tmp/d/r-tar" "$tmp/root.tar"
: >"$tmp/empty.file"
expect_fail import_empty_file "." --import e1 "$tmp/d/e1" "$tmp/empty.file"
mk empty "$tmp/empty.tar"
expect_fail import_empty_tarball "." --import e2 "$tmp/d/e2" "$tmp/empty.tar"
head -c 3000 "$tmp/root.tar" >"$tmp/trunc.tar"
expect_fail import_truncated "." --import e3 "$tmp/d/e3" "$tmp/trunc.tar"
head -c 20000 /dev/urandom >"$tmp/junk.tar"
expect_fail import_garbage "." --import e4 "$tmp/d/e4" "$tmp/junk.tar"
head -c 200 "$tmp/root.tar.zst" >"$tmp/trunc.tar.zst"
expect_fail import_truncated_zst "." --import e5 "$tmp/d/e5" "$tmp/trunc.tar.zst"
mk dotdot "$tmp/dotdot.tar"
expect_fail import_dotdot "cannot be imported safely" --import e6 "$tmp/d/e6" "$tmp/dotdot.tar"
[ ! -e "$tmp/d/escape.txt" ] && [ ! -e "$tmp/escape.txt" ] && pass "${P}_dotdot_wrote_nothing_outside" ||
	fail "${P}_dotdot_wrote_nothing_outside" "escape.txt exists"
for n in e1 e2 e3 e4 e5 e6; do
	[ -e "$tmp/d/$n" ] && { fail "${P}_failed_imports_leave_nothing" "$tmp/d/$n is left: $(ls "$tmp/d/$n")"; break; }
done
[ -e "$tmp/d/e6" ] || pass "${P}_failed_imports_leave_nothing"
mk absolute "$tmp/abs.tar"
run --import abs "$tmp/d/abs" "$tmp/abs.tar"; expect "${P}_import_absolute_names" 0 $st "$o"
"$LXS" --export abs - | tar tf - >"$o" 2>&1
expect "${P}_absolute_name_lands_inside" 0 $? "$o" "^\./abs\.txt$"
mkdir -p "$tmp/outside"
mk symlinkout "$tmp/symout.tar" "$tmp/outside"
"$LXS" --import symout "$tmp/d/symout" "$tmp/symout.tar" >"$o" 2>&1
[ ! -e "$tmp/outside/planted.txt" ] && pass "${P}_symlink_out_stays_inside" ||
	fail "${P}_symlink_out_stays_inside" "$tmp/outside/planted.txt was written"

# ---- import-in-place -----------------------------------------------------------------
cp --sparse=always "$tmp/d/r-tar/ext4.img" "$tmp/inplace.img"
run --import-in-place inplace "$tmp/inplace.img"; expect "${P}_import_in_place" 0 $st "$o"
expect_fail import_in_place_not_ext4 "not an ext4 image" --import-in-place bad "$tmp/root.tar"

# ---- export ---------------------------------------------------------------------------
for f in tar tar.gz tar.xz tar.zst; do
	run --export r-tar "$tmp/exp.$f"
	tar tf "$tmp/exp.$f" >"$o.t" 2>&1
	expect "${P}_export_$f" 0 $st "$o.t" "^\./etc/passwd$" "^\./home/user/notes\.txt$"
done
run --export r-tar "$tmp/exp.img" --format img
e2fsck -fn "$tmp/exp.img" >"$o" 2>&1
expect "${P}_export_img" 0 $? "$o"
run --import fromimg "$tmp/d/fromimg" "$tmp/exp.img" --vhd
# (the images are 1 TiB sparse files: compared by size and by what they hold, not byte by byte)
[ $st = 0 ] && [ "$(stat -c %s "$tmp/exp.img")" = "$(stat -c %s "$tmp/d/fromimg/ext4.img")" ] &&
	cmp -s <("$LXS" --export fromimg - | tar tv) <(tar tvf "$tmp/exp.tar") && pass "${P}_import_vhd" || fail "${P}_import_vhd" "status $st: $(cat "$o")"
expect_fail import_vhd_not_image "not an ext4 image" --import notimg "$tmp/d/notimg" "$tmp/root.tar" --vhd
"$LXS" --export r-tar - | tar tvf - >"$o" 2>&1
expect "${P}_export_stdout" 0 $? "$o" "^[-h]rw------- 1000/1000 .* \./home/user/notes\.txt" "^[-h]rw------- 1000/1000 .* \./home/user/hardlink" " link to \./home/user/"
# Round trip: export, import the export, export again: identical listings.
"$LXS" --export r-tar "$tmp/rt1.tar" && "$LXS" --import rt "$tmp/d/rt" "$tmp/rt1.tar" && "$LXS" --export rt "$tmp/rt2.tar"
if cmp -s <(tar --numeric-owner -tvf "$tmp/rt1.tar" | sort) <(tar --numeric-owner -tvf "$tmp/rt2.tar" | sort); then
	pass "${P}_export_import_roundtrip"
else
	fail "${P}_export_import_roundtrip" "$(diff <(tar --numeric-owner -tvf "$tmp/rt1.tar" | sort) <(tar --numeric-owner -tvf "$tmp/rt2.tar" | sort) | head -c 300)"
fi
# Against the source tarball itself: owners, modes, links, devices, xattrs, ACLs, mtimes.
out=$(python3 tests/cli/tarlist.py "$tmp/root.tar" "$tmp/rt1.tar" 2>&1) && pass "${P}_export_matches_tarball ($out)" ||
	fail "${P}_export_matches_tarball" "$out"
deb=${LXS_TEST_DEBIAN:-}
[ -n "$deb" ] || deb=$(ls build/vmtest/debian.tar.zst "${LXS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lxs}"/distro/debian-bookworm-minbase*.tar.zst 2>/dev/null | head -n 1)
if [ -n "$deb" ] && [ -r "$deb" ]; then
	"$LXS" --import debrt "$tmp/d/debrt" "$deb" >"$o" 2>&1 && "$LXS" --export debrt "$tmp/deb1.tar.zst" >>"$o" 2>&1 &&
		out=$(python3 tests/cli/tarlist.py "$deb" "$tmp/deb1.tar.zst" 2>&1)
	[ $? = 0 ] && pass "${P}_debian_roundtrip_identical ($out)" || fail "${P}_debian_roundtrip_identical" "$out $(cat "$o")"
	"$LXS" --unregister debrt >/dev/null 2>&1
	rm -f "$tmp/deb1.tar.zst"
else
	skip "${P}_debian_roundtrip_identical" "no Debian tarball (tests/distro/debian.sh makes one as root)"
fi
expect_fail export_unknown "no distribution named" --export nosuch "$tmp/x.tar"
expect_fail export_img_stdout "cannot go to stdout" --export r-tar - --format img
expect_fail export_bad_format "--format takes" --export r-tar "$tmp/x.tar" --format rar
expect_fail export_unwritable "cannot (write|create)" --export r-tar /proc/lxs-cannot-write.tar
expect_fail export_missing_folder "cannot write" --export r-tar "$tmp/no/such/folder/x.tar"

# ---- defaults, manage, unregister -----------------------------------------------------
run --set-default fromstdin; run --list; expect "${P}_set_default" 0 $st "$o" "^fromstdin \(Default\)$"
expect_fail set_default_unknown "no distribution named" --set-default nosuch
run --set-default-version 2; expect "${P}_set_default_version" 0 $st "$o"
run --manage r-tar --set-default-user user; expect "${P}_manage_default_user" 0 $st "$o"
grep -q "^default-user user$" "$XDG_DATA_HOME/lxs/registry" && pass "${P}_default_user_stored" ||
	fail "${P}_default_user_stored" "$(cat "$XDG_DATA_HOME/lxs/registry")"
expect_fail manage_unknown_user "does not exist" --manage r-tar --set-default-user nosuchuser
run --manage r-tar-gz --move "$tmp/moved"
[ $st = 0 ] && [ -f "$tmp/moved/ext4.img" ] && [ ! -e "$tmp/d/r-tar-gz" ] && pass "${P}_manage_move" ||
	fail "${P}_manage_move" "status $st: $(cat "$o")"
expect_fail manage_resize_too_small "needs at least" --manage r-tar-gz --resize 128M
e2fsck -fn "$tmp/moved/ext4.img" >"$o" 2>&1 && pass "${P}_refused_resize_leaves_image_intact" ||
	fail "${P}_refused_resize_leaves_image_intact" "$(tail -n 3 "$o")"
# defaultVhdSize decides the size of new images; grow one, then shrink it.
printf '[wsl2]\ndefaultVhdSize = 256MB\n' >"$XDG_CONFIG_HOME/lxs/lxs.conf"
"$LXS" --import small "$tmp/d/small" "$tmp/root.tar" >"$o" 2>&1
rm -f "$XDG_CONFIG_HOME/lxs/lxs.conf"
sz=$(stat -c %s "$tmp/d/small/ext4.img")
[ "$sz" = $((256 << 20)) ] && pass "${P}_config_default_vhd_size" || fail "${P}_config_default_vhd_size" "size $sz: $(cat "$o")"
# The image stays sparse both ways: its disk use grows by no more than the
# file system's own metadata (resize2fs's zeroed inode tables are given back).
used0=$(du -k "$tmp/d/small/ext4.img" | cut -f1)
for want in 8192 300; do
	run --manage small --resize ${want}M
	sz=$(stat -c %s "$tmp/d/small/ext4.img")
	used=$(du -k "$tmp/d/small/ext4.img" | cut -f1)
	[ $st = 0 ] && [ "$sz" = $((want << 20)) ] && e2fsck -fn "$tmp/d/small/ext4.img" >/dev/null 2>&1 &&
		[ "$used" -le $((used0 + 16384)) ] &&
		pass "${P}_manage_resize_${want}m (${used0} -> ${used} KiB on disk)" ||
		fail "${P}_manage_resize_${want}m" "status $st size $sz, ${used0} -> ${used} KiB on disk: $(cat "$o")"
done
# --set-sparse true gives back the zeros of an image copied without holes.
cp --sparse=never "$tmp/d/small/ext4.img" "$tmp/dense.img" && mv "$tmp/dense.img" "$tmp/d/small/ext4.img"
dense=$(du -k "$tmp/d/small/ext4.img" | cut -f1)
run --manage small --set-sparse true
used=$(du -k "$tmp/d/small/ext4.img" | cut -f1)
[ $st = 0 ] && [ "$used" -le $((used0 + 16384)) ] && [ "$dense" -ge $((300 << 10)) ] &&
	e2fsck -fn "$tmp/d/small/ext4.img" >/dev/null 2>&1 && grep -q "^small: [0-9]* MiB given back to the host$" "$o" &&
	pass "${P}_manage_set_sparse (${dense} -> ${used} KiB on disk)" ||
	fail "${P}_manage_set_sparse" "status $st, ${dense} -> ${used} KiB on disk: $(cat "$o")"
expect_fail manage_set_sparse_false "not supported" --manage small --set-sparse false
expect_fail manage_set_sparse_bad "takes true or false" --manage small --set-sparse maybe
expect_fail manage_resize_bad "--resize takes" --manage r-tar-gz --resize lots
run --unregister r-tar-xz
[ $st = 0 ] && [ ! -e "$tmp/d/r-tar-xz" ] && ! grep -qx r-tar-xz <<<"$("$LXS" -l -q)" &&
	pass "${P}_unregister" || fail "${P}_unregister" "status $st: $(cat "$o")"
expect_fail unregister_unknown "no distribution named" --unregister r-tar-xz
expect_fail unregister_bad_name "no distribution named" --unregister "../etc"
expect_fail terminate_unknown "no distribution named" --terminate nosuch
run --terminate r-tar; expect "${P}_terminate_stopped" 0 $st "$o"
run --shutdown; expect "${P}_shutdown_nothing_running" 0 $st "$o"
run --status; expect "${P}_status" 0 $st "$o" "^Default distribution: fromstdin$" "^VM: stopped$"

# ---- --install from the cache (debootstrap itself needs the network and root) ----------
if ls "${LXS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lxs}"/distro/debian-bookworm-minbase*.tar.zst >/dev/null 2>&1; then
	run --install debian --name deb --location "$tmp/d/deb" --no-launch
	expect "${P}_install_debian_cached" 0 $st "$o"
	grep -qx deb <<<"$("$LXS" -l -q)" && [ -f "$tmp/d/deb/ext4.img" ] && pass "${P}_install_registers" ||
		fail "${P}_install_registers" "$(cat "$o")"
	"$LXS" --unregister deb >/dev/null 2>&1
else
	skip_each "no cached Debian tarball (tests/distro/debian.sh makes one as root)" \
		"${P}_install_debian_cached" "${P}_install_registers"
fi
expect_fail install_unknown "can install debian" --install fedora

# ---- races and kill -9 -----------------------------------------------------------------
# Two imports of one name at once: exactly one wins, the other says why.
"$LXS" --import race "$tmp/d/race1" "$tmp/root.tar.xz" >"$o.1" 2>&1 &
"$LXS" --import race "$tmp/d/race2" "$tmp/root.tar.xz" >"$o.2" 2>&1 &
wait %1; s1=$?; wait %2; s2=$?
if [ $((s1 == 0)) -ne $((s2 == 0)) ] && [ "$("$LXS" -l -q | grep -cx race)" = 1 ]; then
	pass "${P}_import_race_one_wins"
else
	fail "${P}_import_race_one_wins" "statuses $s1 $s2: $(cat "$o.1" "$o.2" | tr '\n' '|')"
fi
# An import in flight is listed as Installing, and its name is taken.
mkfifo "$tmp/slow"
"$LXS" --import slow "$tmp/d/slow" - <"$tmp/slow" >"$o.slow" 2>&1 &
slow=$!
exec 8>"$tmp/slow"
listed() { grep -qE "$1" <<<"$("$LXS" -l -v 2>/dev/null)"; } # (no pipe: see tests/run-unit.sh)
until_ok 10 listed "^  slow +Installing"
run -l -v; expect "${P}_list_shows_installing" 0 $st "$o" "^  slow +Installing +2$"
expect_fail import_name_in_flight "importing or using slow" --import slow "$tmp/d/slow2" "$tmp/root.tar"
cat "$tmp/root.tar" >&8
exec 8>&-
wait $slow
expect "${P}_import_from_pipe_finishes" 0 $? "$o.slow"
# kill -9 at random moments of registry writes: the registry always parses.
bad=0
for i in $(seq 60); do
	"$LXS" --set-default "$([ $((i % 2)) = 0 ] && echo r-tar || echo fromstdin)" >/dev/null 2>&1 &
	pid=$!
	sleep "0.00$((RANDOM % 9))"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	"$LXS" --list -q >"$o" 2>&1 || { bad=1; break; }
	grep -qx r-tar "$o" || { bad=1; break; }
done
[ $bad = 0 ] && pass "${P}_registry_survives_kill9" || fail "${P}_registry_survives_kill9" "$(cat "$o")"
ls "$XDG_DATA_HOME"/lxs/registry.tmp-* >/dev/null 2>&1 && rm -f "$XDG_DATA_HOME"/lxs/registry.tmp-*
# kill -9 in the middle of an import: no entry, the others intact. The
# import reads a pipe that holds only half the tarball until the kill, so the
# kill surely lands before the import could finish.
big=$(ls build/vmtest/debian.tar.zst 2>/dev/null | head -n 1)
src=${big:-$tmp/root.tar}
mkfifo "$tmp/half"
"$LXS" --import killed "$tmp/d/killed" - <"$tmp/half" >/dev/null 2>&1 &
pid=$!
exec 9>"$tmp/half"
head -c $(($(stat -c %s "$src") / 2)) "$src" >&9
if until_ok 10 eval 'ls -d "$tmp"/d/killed/*.tmp* >/dev/null 2>&1' && kill -9 $pid 2>/dev/null; then
	wait $pid 2>/dev/null
	exec 9>&-
	if ! "$LXS" -l -q >"$o" 2>&1 || ! grep -qx r-tar "$o"; then
		fail "${P}_import_killed" "the registry lost r-tar: $(cat "$o")"
	elif grep -qx killed "$o"; then
		fail "${P}_import_killed" "the killed import is registered"
	else
		pass "${P}_import_killed"
	fi
else
	exec 9>&-
	wait $pid 2>/dev/null
	fail "${P}_import_killed" "the import never started writing its image (or was gone before the kill)"
fi
# What the killed import left is reported, and the next import into that folder removes it.
run --status; expect "${P}_status_reports_leftovers" 0 $st "$o" "^Leftovers of interrupted imports and conversions: [1-9][0-9]* \([0-9.]+ MiB\)"
run --import killed "$tmp/d/killed" "$tmp/root.tar"
grep -qx killed <("$LXS" -l -q) && pass "${P}_import_after_kill" || fail "${P}_import_after_kill" "$(cat "$o")"
left=$(ls -d "$tmp"/d/killed/*.tmp-* 2>/dev/null)
"$LXS" --status >"$o" 2>&1
[ -z "$left" ] && ! grep -q "^Leftovers" "$o" && pass "${P}_import_sweeps_leftovers" ||
	fail "${P}_import_sweeps_leftovers" "left: $left; $(grep Leftovers "$o")"

# ---- full file system --------------------------------------------------------------------
if [ "$(id -u)" = 0 ] && mkdir -p "$tmp/full" && mount -t tmpfs -o size=4m tmpfs "$tmp/full" 2>/dev/null; then
	expect_fail import_disk_full "." --import full "$tmp/full/d" "$tmp/root.tar"
	if grep -qx full <("$LXS" -l -q) || [ -e "$tmp/full/d/ext4.img" ]; then
		fail "${P}_disk_full_leaves_nothing" "$(ls -R "$tmp/full")"
	else
		pass "${P}_disk_full_leaves_nothing"
	fi
	umount "$tmp/full"
else
	skip_each "needs root to mount a small tmpfs" "${P}_import_disk_full" "${P}_disk_full_leaves_nothing"
fi

# ---- a /dev/kvm that cannot run Linux (or none): one sentence, no hang ------------------------
if ! build/lxs-vm --check-kvm >/dev/null 2>&1 && ls "${LXS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lxs}"/kernel/*/vmlinux >/dev/null 2>&1; then
	expect_fail vm_refused_without_usable_kvm "hardware virtualization|cannot open|/dev/kvm" -d r-tar -- true
	# That lxsd has no test VM; the next one, started with LXSD_INIT_UNIX below, will.
	p=$(lxsd_pid)
	[ -n "$p" ] && kill -TERM $p
	for _ in $(seq 50); do [ -S "$XDG_RUNTIME_DIR/lxs/lxsd.sock" ] || break; sleep 0.1; done
else
	if build/lxs-vm --check-kvm >/dev/null 2>&1; then
		skip "${P}_vm_refused_without_usable_kvm" "this host's /dev/kvm runs guests"
	else
		skip "${P}_vm_refused_without_usable_kvm" "no guest kernel in ${LXS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lxs}/kernel"
	fi
fi

# ---- sessions through lxsd (lxs-init --serve-unix plays the VM) --------------------------
export LXSD_INIT_UNIX=$tmp/init.sock
build/guest/lxs-init --serve-unix "$LXSD_INIT_UNIX" 2>"$tmp/init.log" &
init_pid=$!
for _ in $(seq 100); do [ -S "$LXSD_INIT_UNIX" ] && break; sleep 0.05; done
printf '[general]\ninstanceIdleTimeout = 1000\n[wsl2]\nvmIdleTimeout = 1000\nbogusKey = 1\n' >"$XDG_CONFIG_HOME/lxs/lxs.conf"
# lxsd at start removes leftovers, but none of a distro whose lock an operation holds.
mkdir -p "$tmp/d/stdin/rootfs.tmp-left/etc" "$tmp/d/fromimg/rootfs.tmp-busy"
head -c 65536 /dev/urandom >"$tmp/d/stdin/ext4.img.tmp-left"
python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "a"); fcntl.flock(f, fcntl.LOCK_EX); print("held", flush=True); time.sleep(60)' \
	"$XDG_DATA_HOME/lxs/locks/fromimg.lock" >"$tmp/holder" 2>&1 &
holder=$!
until_ok 10 grep -q held "$tmp/holder"
run -d r-tar -u root -- echo hello world; expect "${P}_run_echo" 0 $st "$o" "^hello world$"
swept() { [ ! -e "$tmp/d/stdin/rootfs.tmp-left" ] && [ ! -e "$tmp/d/stdin/ext4.img.tmp-left" ]; }
if until_ok 10 swept && [ -d "$tmp/d/fromimg/rootfs.tmp-busy" ] && [ -f "$tmp/d/stdin/ext4.img" ]; then
	pass "${P}_lxsd_sweeps_leftovers_at_start"
else
	fail "${P}_lxsd_sweeps_leftovers_at_start" "$(ls "$tmp/d/stdin" "$tmp/d/fromimg" | tr '\n' ' ')"
fi
kill $holder; wait $holder 2>/dev/null
rm -rf "$tmp/d/fromimg/rootfs.tmp-busy"
run -d r-tar -u root -- sh -c 'exit 42'; expect "${P}_run_exit_42" 42 $st "$o"
run -d r-tar -u root -- false; expect "${P}_run_exit_1" 1 $st "$o"
run -d r-tar -u root -- sh -c 'kill -9 $$'; expect "${P}_run_killed_by_signal" 137 $st "$o"
run -d r-tar -u root -e printf '%s|' 'a b' c; expect "${P}_run_exec_argv" 0 $st "$o" "^a b\|c\|$"
run -d r-tar -u root -- printf '%s|' 'a b' "it's"; expect "${P}_run_dashdash_keeps_args" 0 $st "$o" "^a b\|it's\|$"
run -d r-tar -u root 'echo $((6 * 7)) | cat'; expect "${P}_run_cmdline_through_shell" 0 $st "$o" "^42$"
run -d r-tar -u root --shell-type none printf x; expect "${P}_run_shell_type_none" 0 $st "$o" "^x$"
run -d r-tar -u root 'echo $LXS_DISTRO_NAME $WSL_DISTRO_NAME $PATH'
expect "${P}_run_environment" 0 $st "$o" "^r-tar r-tar /usr/local/sbin:"
run -d r-tar -u root --cd / -- pwd; expect "${P}_run_cd" 0 $st "$o" "^/$"
"$LXS" -d r-tar -u root -e sh -c 'echo out; echo err >&2' >"$o" 2>"$o.err"
grep -qx out "$o" && grep -qx err "$o.err" && ! grep -q err "$o" && pass "${P}_run_stdout_stderr_apart" ||
	fail "${P}_run_stdout_stderr_apart" "stdout: $(cat "$o") stderr: $(cat "$o.err")"
head -c $((20 << 20)) /dev/urandom >"$tmp/big"
want=$(sha256sum <"$tmp/big" | cut -c1-64)
got=$("$LXS" -d r-tar -u root -- cat <"$tmp/big" | sha256sum | cut -c1-64)
[ "$want" = "$got" ] && pass "${P}_run_pipe_20mib" || fail "${P}_run_pipe_20mib" "checksum differs"
expect_fail run_unknown_distro "no distribution named nosuch" -d nosuch -- true
expect_fail run_bad_distro_name "no distribution named" -d "a/b" -- true
expect_fail run_bad_user "not a valid user name" -d r-tar -u "a b" -- true
expect_fail run_unknown_user "does not exist" -d r-tar -u nosuchuser -- true
expect_fail run_missing_command "cannot run" -d r-tar -u root -e /no/such/program
# wsl.conf: [user] default picks the user, [boot] command runs at start.
marker=$tmp/boot-ran
mk wslconf "$tmp/wslconf.tar" "$marker"
"$LXS" --import wc "$tmp/d/wc" "$tmp/wslconf.tar" >/dev/null 2>&1
run -d wc -- id -u; expect "${P}_wsl_conf_default_user" 0 $st "$o" "^65534$"
for _ in $(seq 50); do [ -e "$marker" ] && break; sleep 0.05; done
[ -e "$marker" ] && pass "${P}_wsl_conf_boot_command" || fail "${P}_wsl_conf_boot_command" "no $marker"
# Registry default user (--manage --set-default-user) when wsl.conf names none.
if [ "$(id -u)" = 0 ]; then
	"$LXS" --manage r-tar --set-default-user nobody >/dev/null 2>&1
	"$LXS" --terminate r-tar
	run -d r-tar -- id -u; expect "${P}_registry_default_user" 0 $st "$o" "^65534$"
else
	skip "${P}_registry_default_user" "needs root to make uid 65534 the distro's default user"
fi
# A session held open keeps r-tar running while its state is looked at.
mkfifo "$tmp/hold"
"$LXS" -d r-tar -u root -- cat <"$tmp/hold" >/dev/null 2>&1 &
hold=$!
exec 7>"$tmp/hold"
until_ok 10 listed "^[* ] r-tar +Running"
run -l -v; expect "${P}_list_shows_running" 0 $st "$o" "^[* ] r-tar +Running +2$"
run -l --running; expect "${P}_list_running" 0 $st "$o" "^r-tar"
# An unwritable export of a running distro is refused: its image is in use.
expect_fail export_running "is running or busy" --export r-tar "$tmp/running.tar"
exec 7>&-
wait $hold
# Idle: the distro stops 1 s after its last session, the "VM" 1 s later, lxsd then exits.
none_running() { [ -z "$("$LXS" -l --running -q 2>/dev/null)" ]; }
until_ok 10 none_running
run -l --running -q; [ ! -s "$o" ] && pass "${P}_idle_distro_stops" || fail "${P}_idle_distro_stops" "$(cat "$o")"
for _ in $(seq 100); do [ -S "$XDG_RUNTIME_DIR/lxs/lxsd.sock" ] || break; sleep 0.1; done
[ ! -S "$XDG_RUNTIME_DIR/lxs/lxsd.sock" ] && pass "${P}_lxsd_exits_when_idle" || fail "${P}_lxsd_exits_when_idle" "socket still there"
# lxsd killed with SIGKILL under a running session: the session (direct to the guest) goes on.
"$LXS" -d r-tar -u root -- sh -c 'echo started; sleep 1; echo survived' >"$o.s" 2>&1 &
spid=$!
until_ok 10 grep -q started "$o.s"
lxsd_pid=$(lxsd_pid)
[ -n "$lxsd_pid" ] && kill -9 $lxsd_pid
wait $spid
expect "${P}_session_survives_lxsd_kill9" 0 $? "$o.s" "^survived$"
run -d r-tar -u root -- echo again; expect "${P}_lxsd_restarts_after_kill9" 0 $st "$o" "^again$"
run -l -v; expect "${P}_list_consistent_after_kill9" 0 $st "$o" "r-tar"
# The socket is the user's alone.
m=$(stat -c %a "$XDG_RUNTIME_DIR/lxs"):$(stat -c %a "$XDG_RUNTIME_DIR/lxs/lxsd.sock")
[ "$m" = 700:600 ] && pass "${P}_socket_private" || fail "${P}_socket_private" "modes $m"
if [ "$(id -u)" = 0 ]; then
	chmod 0755 "$XDG_RUNTIME_DIR" "$XDG_RUNTIME_DIR/lxs"; chmod 0666 "$XDG_RUNTIME_DIR/lxs/lxsd.sock"
	python3 - "$XDG_RUNTIME_DIR/lxs/lxsd.sock" >"$o" 2>&1 <<'PY'
import os, socket, sys
os.setgid(65534); os.setuid(65534)
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
try:
    s.sendall(b"\x08\x00\x00\x00\x01\x00\x00\x00" + b"\x4c\x58\x53\x31" + b"\x03\x00\x00\x00")
    print("answered" if s.recv(100) else "refused")
except (BrokenPipeError, ConnectionResetError):
    print("refused")
PY
	chmod 0700 "$XDG_RUNTIME_DIR" "$XDG_RUNTIME_DIR/lxs"; chmod 0600 "$XDG_RUNTIME_DIR/lxs/lxsd.sock"
	grep -qx refused "$o" && pass "${P}_peercred_refuses_others" || fail "${P}_peercred_refuses_others" "$(cat "$o")"
else
	skip "${P}_peercred_refuses_others" "needs root to connect as another user"
fi
# The runtime folder is where lxs meets lxsd: one that is a symbolic link,
# open to others, or someone else's is refused before lxs connects (and
# lxsd does not start in it); a socket there served by another user is
# refused before lxs says anything to it.
mkdir -p "$tmp/rt-real" "$tmp/rt-link" "$tmp/rt-open/lxs" && chmod 0700 "$tmp/rt-real" && chmod 0755 "$tmp/rt-open/lxs"
ln -s "$tmp/rt-real" "$tmp/rt-link/lxs"
(export XDG_RUNTIME_DIR=$tmp/rt-link; expect_fail runtime_dir_symlink "runtime folder $tmp/rt-link/lxs is a symbolic link.*XDG_RUNTIME_DIR" -d r-tar -- true)
(export XDG_RUNTIME_DIR=$tmp/rt-open; expect_fail runtime_dir_open "runtime folder $tmp/rt-open/lxs is open to other users.*chmod 700" --status)
XDG_RUNTIME_DIR=$tmp/rt-open build/lxsd >"$o" 2>&1
expect "${P}_lxsd_refuses_open_runtime_dir" 1 $? "$o" "open to other users"
if [ "$(id -u)" = 0 ]; then
	mkdir -p "$tmp/rt-other/lxs" && chmod 0700 "$tmp/rt-other/lxs" && chown 65534:65534 "$tmp/rt-other/lxs"
	(export XDG_RUNTIME_DIR=$tmp/rt-other; expect_fail runtime_dir_other_owner "runtime folder $tmp/rt-other/lxs belongs to uid 65534, not you" -d r-tar -- true)
	# uid 65534 listens (SO_PEERCRED names who called listen), then its socket is put in our folder.
	mkdir -p "$tmp/rt-fake/lxs" "$tmp/evil" && chmod 0700 "$tmp/rt-fake/lxs" && chown 65534:65534 "$tmp/evil"
	# The system's python3: another one may live in root's home, closed to uid 65534.
	py=/usr/bin/python3; [ -x "$py" ] || py=python3
	setpriv --reuid=65534 --regid=65534 --clear-groups "$py" - "$tmp/evil/s" "$tmp/evil/heard" >/dev/null 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(8)
while True:
    c, _ = s.accept()
    c.settimeout(5)
    try:
        data = c.recv(4096)
    except OSError:
        data = b""
    with open(sys.argv[2], "ab") as f:
        f.write(data)
    try:
        c.sendall(b"ok\nvsock /tmp/evil.sock\nport 1\ndistro r-tar\nuser 0\n\n")
    except OSError:
        pass
    c.close()
PY
	fake=$!
	until_ok 10 test -S "$tmp/evil/s" && mv "$tmp/evil/s" "$tmp/rt-fake/lxs/lxsd.sock"
	(export XDG_RUNTIME_DIR=$tmp/rt-fake; expect_fail fake_lxsd_refused "lxsd.sock is served by uid 65534, not by your lxsd" --status)
	# What lxs sent it, if anything, is written before lxs could have had an answer.
	[ ! -s "$tmp/evil/heard" ] && pass "${P}_fake_lxsd_told_nothing" ||
		fail "${P}_fake_lxsd_told_nothing" "it heard: $(head -c 200 "$tmp/evil/heard")"
	kill $fake; wait $fake 2>/dev/null
else
	skip_each "needs root to act as another user" "${P}_runtime_dir_other_owner" "${P}_fake_lxsd_refused" "${P}_fake_lxsd_told_nothing"
fi
# Garbage on lxsd's socket: unknown requests, binary, an endless line, a half
# line and a hang-up. lxsd answers or drops the peer, and keeps serving.
"$LXS" -d r-tar -u root -- true
before=$(lxsd_pid)
python3 tests/cli/lxsd_wire.py "$XDG_RUNTIME_DIR/lxs/lxsd.sock" garbage >"$o" 2>&1
grep -q "unknown request" "$o" && grep -q "no distribution named" "$o" &&
	grep -q "not a message lxsd knows" "$o" && grep -q "opened by HELLO" "$o" && pass "${P}_lxsd_garbage_answered" ||
	fail "${P}_lxsd_garbage_answered" "$(tr '\n' '|' <"$o" | cut -c1-300)"
run -d r-tar -u root -- echo still; after=$(lxsd_pid)
[ $st = 0 ] && [ -n "$before" ] && [ "$before" = "$after" ] && pass "${P}_lxsd_survives_garbage" ||
	fail "${P}_lxsd_survives_garbage" "status $st, lxsd $before -> $after: $(cat "$o")"
run --shutdown; expect "${P}_shutdown" 0 $st "$o"
unset LXSD_INIT_UNIX

# ---- lxsd answers while a VM boots --------------------------------------------------------
# A stand-in lxs-vm (LXS_VM) that never says READY keeps lxsd's VM booting: a
# session waits for it, while --list, --status and a ping are answered at
# once; --shutdown --force ends the boot and the waiting session hears why.
until_ok 10 eval '[ -z "$(lxsd_pid)" ]'
printf '#!/bin/sh\nexec sleep 120\n' >"$tmp/fake-vm" && chmod +x "$tmp/fake-vm"
: >"$tmp/fake-kernel"
# (asked twice: one status call that fails for itself says nothing about the boot)
booting() {
	local i
	for i in 1 2; do
		python3 tests/cli/lxsd_wire.py "$XDG_RUNTIME_DIR/lxs/lxsd.sock" status >"$o.state" 2>&1
		grep -qx "vm booting" "$o.state" && return 0
	done
	return 1
}
LXS_VM=$tmp/fake-vm LXS_KERNEL=$tmp/fake-kernel "$LXS" -d r-tar -u root -- true >"$o.wait" 2>&1 &
waiter=$!
if until_ok 10 booting; then
	t0=$(date +%s%N); "$LXS" --list >"$o" 2>&1; st=$?; t1=$(date +%s%N)
	ms=$(( (t1 - t0) / 1000000 ))
	# Answered, right, and while the boot is still going on (the point of the test).
	[ $st = 0 ] && grep -q "^r-tar" "$o" && booting && [ $ms -lt 1000 ] &&
		pass "${P}_list_answered_while_vm_boots ($ms ms)" ||
		fail "${P}_list_answered_while_vm_boots" "status $st after $ms ms: $(head -c 200 "$o") state: $(cat "$o.state") log: $(tail -5 "$XDG_RUNTIME_DIR/lxs/lxsd.log")"
	run --status; expect "${P}_status_during_boot" 0 $st "$o" "^VM: booting"
	python3 tests/cli/lxsd_wire.py "$XDG_RUNTIME_DIR/lxs/lxsd.sock" ping >"$o" 2>&1
	grep -qx "HELLO / OK" "$o" && booting && kill -0 $waiter 2>/dev/null && pass "${P}_session_waits_for_boot" ||
		fail "${P}_session_waits_for_boot" "$(cat "$o" "$o.wait") state: $(cat "$o.state") log: $(tail -5 "$XDG_RUNTIME_DIR/lxs/lxsd.log")"
	run --shutdown --force; expect "${P}_shutdown_ends_boot" 0 $st "$o"
	wait $waiter; wst=$?
	expect "${P}_waiting_session_told" 255 $wst "$o.wait" "shutdown stopped the VM"
else
	fail "${P}_list_answered_while_vm_boots" "lxsd never reported a booting VM: $(cat "$o.wait")"
	skip_each "no boot to watch" "${P}_status_during_boot" "${P}_session_waits_for_boot" \
		"${P}_shutdown_ends_boot" "${P}_waiting_session_told"
	kill $waiter 2>/dev/null; wait $waiter 2>/dev/null
fi
"$LXS" --shutdown --force >/dev/null 2>&1

# ---- version 1: lxs-pico, no lxsd and no VM ------------------------------------------
# The busybox and Debian tarballs come from the root run (the caches are root's);
# the run as uid 65534 gets copies through LXS_TEST_BUSYBOX/LXS_TEST_DEBIAN.
v1_section() {
	local bb=${LXS_TEST_BUSYBOX:-} debsrc=${LXS_TEST_DEBIAN:-$deb} s
	[ -z "$bb" ] && bb=$(tests/distro/busybox.sh "$tmp/bb" 2>/dev/null | tail -n 1)
	if [ ! -x build/lxs-pico ] || [ ! -x build/lxs-pico-loader ]; then
		fail "${P}_v1" "build/lxs-pico is not built (make all); the version-1 cases did not run"
		return
	fi
	# The synthetic tarball (devices, FIFOs, hard links, xattrs, ACLs): in, out, 1 -> 2 -> 1.
	run --import v1syn "$tmp/d/v1syn" "$tmp/root.tar" --version 1
	expect "${P}_v1_import_synthetic" 0 $st "$o"
	[ -d "$tmp/d/v1syn/rootfs" ] && [ ! -e "$tmp/d/v1syn/ext4.img" ] && ! ls -d "$tmp"/d/v1syn/rootfs.tmp-* >/dev/null 2>&1 &&
		pass "${P}_v1_folder_in_place" || fail "${P}_v1_folder_in_place" "$(ls -a "$tmp/d/v1syn" 2>&1 | tr '\n' ' ')"
	run --export v1syn "$tmp/v1syn1.tar"
	out=$(python3 tests/cli/tarlist.py -D -L "$tmp/root.tar" "$tmp/v1syn1.tar" 2>&1) && pass "${P}_v1_export_matches_tarball ($out)" ||
		fail "${P}_v1_export_matches_tarball" "$out $(cat "$o")"
	"$LXS" --set-version v1syn 2 >"$o" 2>&1 && "$LXS" --export v1syn "$tmp/v1syn2.tar" >>"$o" 2>&1 &&
		"$LXS" --set-version v1syn 1 >>"$o" 2>&1 && "$LXS" --export v1syn "$tmp/v1syn3.tar" >>"$o" 2>&1 &&
		out=$(python3 tests/cli/tarlist.py -D "$tmp/v1syn1.tar" "$tmp/v1syn2.tar" 2>&1) &&
		out=$(python3 tests/cli/tarlist.py -D "$tmp/v1syn1.tar" "$tmp/v1syn3.tar" 2>&1)
	[ $? = 0 ] && [ -d "$tmp/d/v1syn/rootfs" ] && [ ! -e "$tmp/d/v1syn/ext4.img" ] &&
		pass "${P}_v1_set_version_synthetic_identical ($out)" || fail "${P}_v1_set_version_synthetic_identical" "$out $(tail -c 300 "$o")"
	expect_fail v1_export_img "has no image" --export v1syn "$tmp/x.img" --format img
	expect_fail v1_set_version_bad "1 or 2" --set-version v1syn 3
	expect_fail v1_set_version_unknown "no distribution named" --set-version nosuch 1
	run --unregister v1syn
	[ $st = 0 ] && [ ! -e "$tmp/d/v1syn" ] && pass "${P}_v1_unregister_removes_folder" ||
		fail "${P}_v1_unregister_removes_folder" "status $st: $(ls -a "$tmp/d/v1syn" 2>&1 | tr '\n' ' ') $(cat "$o")"

	if [ -z "$bb" ] || [ ! -r "$bb" ]; then
		fail "${P}_v1_busybox" "no busybox tarball (tests/distro/busybox.sh downloads busybox-static); the busybox cases did not run"
	else
		run --import bb1 "$tmp/d/bb1" "$bb" --version 1; expect "${P}_v1_import_busybox" 0 $st "$o"
		run --import bbin "$tmp/d/bbin" - --version 1 <"$bb"; expect "${P}_v1_import_stdin" 0 $st "$o"
		run --list -v; expect "${P}_v1_list_verbose" 0 $st "$o" "^  bb1 +Stopped +1$" "^  bbin +Stopped +1$"
		run -d bb1 -- sh -c 'id -u; echo $HOME; pwd; echo $LXS_DISTRO_NAME $WSL_DISTRO_NAME; echo $PATH'
		expect "${P}_v1_run_as_root" 0 $st "$o" "^0$" "^/root$" "^bb1 bb1$" "^/usr/local/sbin:"
		run -d bb1 -- exit 42; expect "${P}_v1_exit_42" 42 $st "$o"
		run -d bb1 -- true; expect "${P}_v1_exit_0" 0 $st "$o"
		run -d bb1 -- sh -c 'kill -TERM $$'; expect "${P}_v1_signal_death" 143 $st "$o"
		run -d bb1 -e /bin/echo exec "it's"; expect "${P}_v1_exec" 0 $st "$o" "^exec it's$"
		run -d bb1 -u user --cd "~" -- sh -c 'id -u; id -g; echo $HOME $USER; pwd'
		expect "${P}_v1_user" 0 $st "$o" "^1000$" "^/home/user user$"
		run -d bb1 -u user -- pwd; expect "${P}_v1_starts_in_host_cwd" 0 $st "$o" "^/mnt/host$PWD$"
		expect_fail v1_unknown_user "does not exist" -d bb1 -u nosuchuser -- true
		expect_fail v1_cd_missing "does not exist" -d bb1 --cd /no/such/folder -- true
		echo "from the host" >"$tmp/marker"
		run -d bb1 -- cat "/mnt/host$tmp/marker"; expect "${P}_v1_mnt_host" 0 $st "$o" "^from the host$"
		(cd "$tmp" && "$LXS" -d bb1 --cd d -- pwd) >"$o" 2>&1; st=$?
		expect "${P}_v1_cd_relative_is_host_folder" 0 $st "$o" "^/mnt/host$tmp/d$"
		printf 'exit 7\n' | "$LXS" -d bb1 >"$o" 2>&1; st=$?; expect "${P}_v1_login_shell_stdin" 7 $st "$o"
		# /etc/wsl.conf: [user] default and [automount] enabled=false.
		"$LXS" -d bb1 -- sh -c 'printf "[user]\ndefault = user\n[automount]\nenabled = false\n" >/etc/wsl.conf'
		run -d bb1 -- sh -c "id -u; ls /mnt/host | wc -l; cat /mnt/host$tmp/marker"
		expect "${P}_v1_wsl_conf" 1 $st "$o" "^1000$" "^0$"
		run -d bb1 -- pwd; expect "${P}_v1_no_automount_starts_at_home" 0 $st "$o" "^/home/user$"
		"$LXS" -d bb1 -u root -- rm /etc/wsl.conf
		run --manage bb1 --set-default-user user; run -d bb1 -- id -u
		expect "${P}_v1_manage_default_user" 0 $st "$o" "^1000$"
		run --export bb1 - --format tar.zst
		zstd -dc <"$o" 2>/dev/null | tar -tf - >"$o.list" 2>&1
		grep -q '^\./bin/busybox$' "$o.list" && pass "${P}_v1_export_stdout_zst" ||
			fail "${P}_v1_export_stdout_zst" "$(head -c 200 "$o.list" | tr -d '\0')"
		# A session holds the distro: listed as running, not converted under it.
		"$LXS" -d bb1 -- sleep 3 & s=$!
		for _ in $(seq 50); do grep -q "bb1 .*Running" <<<"$("$LXS" --list -v 2>/dev/null)" && break; sleep 0.05; done
		run --list -v; expect "${P}_v1_list_running" 0 $st "$o" "^\* bb1 +Running +1$|^  bb1 +Running +1$"
		expect_fail v1_set_version_while_running "running" --set-version bb1 2
		kill $s 2>/dev/null; wait $s 2>/dev/null
		run --set-default-version 1; "$LXS" --import bbdef "$tmp/d/bbdef" "$bb" >>"$o" 2>&1
		run --list -v; expect "${P}_v1_set_default_version" 0 $st "$o" "^  bbdef +Stopped +1$"
		"$LXS" --set-default-version 2 >/dev/null 2>&1
		for n in bbin bbdef bb1; do "$LXS" --unregister $n >/dev/null 2>&1; done
	fi

	if [ -z "$debsrc" ] || [ ! -r "$debsrc" ]; then
		skip_each "no Debian tarball (tests/distro/debian.sh makes one as root)" "${P}_v1_import_debian" \
			"${P}_v1_debian_run" "${P}_v1_debian_user" "${P}_v1_debian_export_matches" \
			"${P}_v1_set_version_killed_leaves_original" "${P}_v1_debian_set_version_1_to_2_identical" \
			"${P}_v1_set_version_2_to_1_killed_leaves_original" "${P}_v1_debian_set_version_1_2_1_identical"
		return
	fi
	run --import deb1 "$tmp/d/deb1" "$debsrc" --version 1; expect "${P}_v1_import_debian" 0 $st "$o"
	run -d deb1 -- sh -c 'id; echo $HOME; cat /etc/os-release'
	expect "${P}_v1_debian_run" 0 $st "$o" "^uid=0\(root\) gid=0\(root\) groups=0\(root\)$" "^/root$" "VERSION_CODENAME=bookworm"
	run -d deb1 -u nobody -e sh -c 'id -u; echo $HOME; exit 3'; expect "${P}_v1_debian_user" 3 $st "$o" "^65534$" "^/nonexistent$"
	"$LXS" --export deb1 "$tmp/deb-v1a.tar" >"$o" 2>&1 &&
		out=$(python3 tests/cli/tarlist.py -D -x /mnt/host -x /usr/lib/lxs -x /proc -x /sys -x /dev -x /tmp -x /mnt "$debsrc" "$tmp/deb-v1a.tar" 2>&1)
	[ $? = 0 ] && pass "${P}_v1_debian_export_matches ($out)" || fail "${P}_v1_debian_export_matches" "$out $(cat "$o")"
	# kill -9 while the image is being written: the folder stays registered and works.
	"$LXS" --set-version deb1 2 >/dev/null 2>&1 & s=$!
	for _ in $(seq 500); do ls "$tmp"/d/deb1/ext4.img.tmp-* >/dev/null 2>&1 && break; sleep 0.01; done
	kill -9 $s; wait $s 2>/dev/null
	run -d deb1 -- cat /etc/debian_version
	if grep -qE "^ +deb1 +Stopped +1$" <("$LXS" --list -v 2>&1) && [ $st = 0 ] && [ -d "$tmp/d/deb1/rootfs" ]; then
		pass "${P}_v1_set_version_killed_leaves_original"
	else
		fail "${P}_v1_set_version_killed_leaves_original" "status $st: $(cat "$o"; "$LXS" --list -v 2>&1 | tr '\n' ' ')"
	fi
	# 1 -> 2 (sweeping what the killed one left), killed 2 -> 1, 2 -> 1: the same files throughout.
	"$LXS" --set-version deb1 2 >"$o" 2>&1 && "$LXS" --export deb1 "$tmp/deb-v2.tar" >>"$o" 2>&1 &&
		out=$(python3 tests/cli/tarlist.py -D "$tmp/deb-v1a.tar" "$tmp/deb-v2.tar" 2>&1)
	[ $? = 0 ] && grep -qE "^ +deb1 +Stopped +2$" <("$LXS" --list -v 2>&1) && [ "$(ls "$tmp/d/deb1")" = ext4.img ] &&
		pass "${P}_v1_debian_set_version_1_to_2_identical ($out)" ||
		fail "${P}_v1_debian_set_version_1_to_2_identical" "$out $(tail -c 300 "$o"; ls "$tmp/d/deb1" | tr '\n' ' ')"
	"$LXS" --set-version deb1 1 >/dev/null 2>&1 & s=$!
	for _ in $(seq 500); do ls -d "$tmp"/d/deb1/rootfs.tmp-*/etc >/dev/null 2>&1 && break; sleep 0.01; done
	kill -9 $s; wait $s 2>/dev/null
	grep -qE "^ +deb1 +Stopped +2$" <("$LXS" --list -v 2>&1) && [ -f "$tmp/d/deb1/ext4.img" ] && [ ! -e "$tmp/d/deb1/rootfs" ] &&
		pass "${P}_v1_set_version_2_to_1_killed_leaves_original" ||
		fail "${P}_v1_set_version_2_to_1_killed_leaves_original" "$("$LXS" --list -v 2>&1 | tr '\n' ' '; ls "$tmp/d/deb1" | tr '\n' ' ')"
	"$LXS" --set-version deb1 1 >"$o" 2>&1 && "$LXS" --export deb1 "$tmp/deb-v1b.tar" >>"$o" 2>&1 &&
		out=$(python3 tests/cli/tarlist.py -D "$tmp/deb-v1a.tar" "$tmp/deb-v1b.tar" 2>&1) &&
		"$LXS" -d deb1 -- true >>"$o" 2>&1
	[ $? = 0 ] && [ "$(ls "$tmp/d/deb1")" = rootfs ] && pass "${P}_v1_debian_set_version_1_2_1_identical ($out)" ||
		fail "${P}_v1_debian_set_version_1_2_1_identical" "$out $(tail -c 300 "$o"; ls "$tmp/d/deb1" | tr '\n' ' ')"
	rm -f "$tmp/deb-v1a.tar" "$tmp/deb-v2.tar" "$tmp/deb-v1b.tar"
	"$LXS" --unregister deb1 >/dev/null 2>&1
}
v1_section

exit 0
