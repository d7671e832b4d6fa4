#!/usr/bin/env bash
# tests/hostile/run.sh - the hostile-tarball corpus (tests/hostile/mktar.py)
# imported by both versions' unpackers: build/lxs-pico --unpack (version 1,
# a VolFs folder) and build/lxs-mkimage (version 2, an ext4 image, checked
# with e2fsck -fn and debugfs). As the caller and, when that is root, again
# as uid 65534, from a world-readable scratch folder of copies (the checkout
# may sit in a 0700 folder). Canaries live outside every root, owned by the
# importing user so that a missing check would really let an attack through;
# after every import their content, mode, times, links and xattrs must be as
# they were. An import that must fail must exit non-zero with one line, the
# sentence of src/common/tar_rules.h; one that must succeed must hold the
# right files. At the end, one attack goes through the whole `lxs --import`
# per version, which must refuse it and register nothing.
#
# First line "1..N" (N = the ok/not ok lines that follow, in every branch).
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh

# case -> "ok" (must import) or the fixed text its error must hold; OUT is
# replaced by the canary folder, which some sentences name.
declare -A WANT=(
	[symlink_hardlink]="the archive's entry 'pw' is a hard link to 'etcx/target', which is reached through the symlink 'etcx'; it cannot be imported safely"
	[symlink_dir]=ok
	[symlink_file_through]="the archive's entry 'd/target' would be written through the symlink 'd'; it cannot be imported safely"
	[relsymlink_through]="the archive's entry 'up/escape.txt' would be written through the symlink 'up'; it cannot be imported safely"
	[nested_symlink_parent]="the archive's entry 'a/b/c/d.txt' would be written through the symlink 'a/b'; it cannot be imported safely"
	[symlink_parent_dir]="the archive's entry 's/newdir' would be written through the symlink 's'; it cannot be imported safely"
	[hardlink_dotdot]="the archive's entry 'hl' is a hard link to '../canary', which has '..' in it and could lead outside the root; it cannot be imported safely"
	[hardlink_absolute_outside]="the archive's entry 'hl' is a hard link to 'OUT/target', which the archive does not hold before it"
	[hardlink_to_symlink]=ok
	[dotdot]="the archive's entry '../escape.txt' has '..' in its name, which could lead outside the root; it cannot be imported safely"
	[dotdot_inner]="the archive's entry 'etc/../../escape.txt' has '..' in its name"
	[absolute]=ok
	[abs_symlink_file]=ok
	[abs_symlink_through]="the archive's entry 'etc2/canary' would be written through the symlink 'etc2'; it cannot be imported safely"
	[devices]=ok
	[setuid]=ok
	[sparse]=ok
	[truncated]="the archive is truncated after 3 entries"
	[truncated_header]="the archive is truncated after 2 entries"
	[empty]="the archive holds no entries"
	[zeros]="the archive holds no entries"
	[many]=ok
)
CASES=(symlink_hardlink symlink_dir symlink_file_through relsymlink_through nested_symlink_parent
	symlink_parent_dir hardlink_dotdot hardlink_absolute_outside hardlink_to_symlink dotdot dotdot_inner
	absolute abs_symlink_file abs_symlink_through devices setuid sparse truncated truncated_header empty
	zeros many)
# HOSTILE_CASES="a b": only those (while working on one; the plan follows).
# HOSTILE_BUILD=DIR: the programs under test from DIR instead of build/ (to
# see the attacks succeed against an older build).
B=${HOSTILE_BUILD:-build}
[ -n "${HOSTILE_CASES:-}" ] && read -ra CASES <<<"$HOSTILE_CASES"
WHO=(caller nobody)
LXS_LINES=2
# per user: every case in both versions, and lxs-pico's own set-up
plan $(((${#CASES[@]} * 2 + 1) * ${#WHO[@]} + LXS_LINES))

# Missing programs or tools are a broken build or set-up, not a reason to
# skip: every case fails with it.
fail_all() { # REASON
	local who v c
	for who in "${WHO[@]}"; do
		for v in 1 2; do
			for c in "${CASES[@]}"; do fail "hostile_${who}_v${v}_$c" "$1"; done
		done
		fail "hostile_${who}_pico_setup" "$1"
	done
	fail hostile_lxs_v1_refused "$1"
	fail hostile_lxs_v2_refused "$1"
	exit 0
}
for b in "$B"/lxs-pico "$B"/lxs-pico-loader "$B"/lxs-mkimage "$B"/lxs "$B"/lxs-manage; do
	[ -x "$b" ] || fail_all "$b is not built (make all build/lxs build/lxs-pico build/lxs-pico-loader)"
done
for t in python3 e2fsck debugfs; do
	command -v "$t" >/dev/null || fail_all "$t is not installed (scripts/deps.sh all)"
done

S=$(mktemp -d /tmp/lxs-hostile.XXXXXX)
chmod 0755 "$S"
trap 'rm -rf "$S"' EXIT
mkdir -p "$S/bin"
cp "$B"/lxs-pico "$B"/lxs-pico-loader "$B"/lxs-mkimage "$S/bin/"
chmod 0755 "$S/bin" "$S/bin/"*
if [[ " ${CASES[*]} " == *" many "* ]]; then
	python3 tests/hostile/mktar.py "$S/many" "$S/unused" --many >/dev/null || fail_all "mktar.py failed"
	find "$S/many" -name '*.tar' ! -name many.tar -delete
	chmod -R a+rX "$S/many"
fi

# A user's area: canaries in out/, the roots and images it makes in box/.
setup_user() { # WHO UID
	local u=$S/$1
	mkdir -p "$u/box"
	python3 tests/hostile/mktar.py "$u/tars" "$u/out" >/dev/null
	chmod -R a+rX "$u/tars"
	chmod 0755 "$u" "$u/box"
	chown "$2:$2" "$u/box"
	echo "$2" >"$u/uid"
}

# The canaries afresh before each case, so that each verdict is its own.
reset_canaries() { # WHO
	local u=$S/$1
	rm -rf "$u/out"
	mkdir -p "$u/out/sub"
	echo "original target" >"$u/out/target"
	echo canary >"$u/out/canary"
	echo deeper >"$u/out/sub/file"
	chmod 0644 "$u/out/target" "$u/out/canary" "$u/out/sub/file"
	chmod 0750 "$u/out" "$u/out/sub"
	chown -R "$(cat "$u/uid"):$(cat "$u/uid")" "$u/out"
	touch -h -d @1000000000 "$u/out/target" "$u/out/canary" "$u/out/sub/file" "$u/out/sub" "$u/out"
	python3 tests/hostile/snapshot.py "$u/out" >"$u/out.before"
}

as_who() { # WHO CMD...
	local who=$1
	shift
	if [ "$who" = nobody ]; then
		setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
	else
		"$@"
	fi
}

# Reasons a case went wrong, appended to $why.
why=
bad() { why="${why:+$why; }$1"; }
xattr() { python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], sys.argv[2]).decode())' "$1" "$2" 2>/dev/null; }
dbg() { debugfs -R "$1" "$2" 2>/dev/null; }

check_v1() { # CASE ROOT OUT: what a successful import must hold
	local r=$2 out=$3
	case $1 in
	symlink_dir)
		[ -d "$r/d" ] && [ ! -L "$r/d" ] || bad "d is not a folder"
		[ "$(cat "$r/d/inside.txt" 2>/dev/null)" = inside ] || bad "d/inside.txt is wrong" ;;
	hardlink_to_symlink)
		[ "$(readlink "$r/hl")" = "$out/canary" ] || bad "hl is not the linked symlink" ;;
	absolute)
		[ "$(cat "$r/abs.txt" 2>/dev/null)" = inside ] || bad "/abs.txt did not land inside"
		[ "$(cat "$r/$out/target" 2>/dev/null)" = "absolute name, inside" ] || bad "$out/target did not land inside" ;;
	abs_symlink_file)
		[ -f "$r/l" ] && [ ! -L "$r/l" ] && [ "$(cat "$r/l")" = replaced ] || bad "l did not replace the symlink"
		[ "$(xattr "$r/l" user.test)" = v ] || bad "l lacks its xattr" ;;
	devices)
		[ "$(xattr "$r/dev/null" user.lxs.stat)" = 0:0:20666:1:3 ] || bad "dev/null: $(xattr "$r/dev/null" user.lxs.stat)"
		[ "$(xattr "$r/dev/sda" user.lxs.stat)" = 0:6:60660:8:0 ] || bad "dev/sda: $(xattr "$r/dev/sda" user.lxs.stat)"
		[ -f "$r/dev/tty" ] && [ ! -L "$r/dev/tty" ] && [ "$(xattr "$r/dev/tty" user.lxs.stat)" = 0:0:20666:5:0 ] ||
			bad "dev/tty did not replace the symlink" ;;
	setuid)
		[ "$(stat -c %a "$r/bin/su")" = 755 ] || bad "bin/su is $(stat -c %a "$r/bin/su") on the host"
		[ "$(stat -c %a "$r/bin/sg")" = 755 ] || bad "bin/sg is $(stat -c %a "$r/bin/sg") on the host"
		[ "$(xattr "$r/bin/su" user.lxs.stat)" = 0:0:104755:0:0 ] || bad "bin/su: $(xattr "$r/bin/su" user.lxs.stat)" ;;
	sparse)
		[ "$(stat -c %s "$r/sparse")" = 1073741824 ] || bad "sparse has $(stat -c %s "$r/sparse") bytes"
		[ "$(du -k "$r/sparse" | cut -f1)" -lt 1024 ] || bad "sparse takes $(du -k "$r/sparse" | cut -f1) KiB"
		[ "$(head -c 4096 "$r/sparse" | tr -d A | wc -c)" = 0 ] &&
			[ "$(tail -c 4096 "$r/sparse" | tr -d B | wc -c)" = 0 ] || bad "sparse's data is wrong" ;;
	many)
		[ "$(find "$r" -type f | wc -l)" = 100000 ] || bad "$(find "$r" -type f | wc -l) files, not 100000"
		[ "$(cat "$r/m99/f0999")" = 99.999 ] || bad "m99/f0999 is wrong" ;;
	esac
}

check_v2() { # CASE IMAGE OUT
	local i=$2 out=$3
	e2fsck -fn "$i" >"$S/fsck.log" 2>&1 || bad "e2fsck -fn: $(tail -n 3 "$S/fsck.log" | tr '\n' '|')"
	case $1 in
	symlink_dir)
		dbg "stat /d" "$i" | grep -q "Type: directory" || bad "d is not a folder"
		[ "$(dbg "cat /d/inside.txt" "$i")" = inside ] || bad "d/inside.txt is wrong" ;;
	hardlink_to_symlink)
		dbg "stat /hl" "$i" | grep -q "Type: symlink" || bad "hl is not the linked symlink" ;;
	absolute)
		[ "$(dbg "cat /abs.txt" "$i")" = inside ] || bad "/abs.txt did not land inside"
		[ "$(dbg "cat $out/target" "$i")" = "absolute name, inside" ] || bad "$out/target did not land inside" ;;
	abs_symlink_file)
		dbg "stat /l" "$i" | grep -q "Type: regular" && [ "$(dbg "cat /l" "$i")" = replaced ] ||
			bad "l did not replace the symlink" ;;
	devices)
		dbg "stat /dev/null" "$i" | grep -q "Device major/minor number: 01:03" || bad "dev/null is wrong"
		dbg "stat /dev/sda" "$i" | grep -q "Type: block special" || bad "dev/sda is wrong"
		dbg "stat /dev/tty" "$i" | grep -q "Device major/minor number: 05:00" || bad "dev/tty did not replace the symlink" ;;
	setuid)
		dbg "stat /bin/su" "$i" | grep -q "Mode:  04755" || bad "bin/su lost its setuid bit" ;;
	sparse)
		dbg "stat /sparse" "$i" | grep -q "Size: 1073741824" || bad "sparse has the wrong size"
		dbg "stat /sparse" "$i" | grep -qE "Blockcount: [0-9]{1,3}$" || bad "sparse is not sparse" ;;
	many)
		[ "$(dbg "cat /m99/f0999" "$i")" = 99.999 ] || bad "m99/f0999 is wrong"
		[ "$(dbg "ls -p /m42" "$i" | grep -c '/f[0-9]*/')" = 1000 ] || bad "m42 does not hold 1000 files" ;;
	esac
}

one() { # WHO VERSION CASE
	local who=$1 v=$2 c=$3 u=$S/$1
	local tar=$u/tars/$c.tar want=${WANT[$c]} target st lines
	[ "$c" = many ] && tar=$S/many/many.tar
	want=${want//OUT/$u/out}
	why=
	reset_canaries "$who"
	if [ "$v" = 1 ]; then
		target=$u/box/v1-$c
		as_who "$who" "$S/bin/lxs-pico" --unpack "$tar" "$target" >"$S/stdout" 2>"$S/stderr"
	else
		target=$u/box/v2-$c.img
		local size=64M
		[ "$c" = many ] && size=2G
		as_who "$who" "$S/bin/lxs-mkimage" -q "$tar" "$target" --size $size >"$S/stdout" 2>"$S/stderr"
	fi
	st=$?
	lines=$(wc -l <"$S/stderr")
	if [ "$want" = ok ]; then
		[ $st = 0 ] || bad "exit $st: $(head -c 300 "$S/stderr")"
		if [ $st = 0 ] && [ "$v" = 1 ]; then
			check_v1 "$c" "$target" "$u/out"
		elif [ $st = 0 ]; then
			check_v2 "$c" "$target" "$u/out"
		fi
	else
		[ $st != 0 ] || bad "exit 0, wanted a failure"
		[ "$lines" = 1 ] || bad "$lines lines on stderr: $(head -c 300 "$S/stderr" | tr '\n' '|')"
		grep -qF -- "$want" "$S/stderr" || bad "stderr lacks \"$want\": $(head -c 300 "$S/stderr")"
		[ "$v" = 2 ] && ls "$target"* >/dev/null 2>&1 && bad "an image was left: $(ls "$target"*)"
	fi
	python3 tests/hostile/snapshot.py "$u/out" >"$u/out.after"
	cmp -s "$u/out.before" "$u/out.after" ||
		bad "a canary changed: $(diff "$u/out.before" "$u/out.after" | grep '^>' | head -n 2 | tr '\n' '|')"
	local left
	left=$(ls -A "$u/box")
	[ -z "$left" ] || [ "$left" = "${target##*/}" ] || bad "something landed beside the root: $(echo $left)"
	rm -rf "${u:?}/box/"* "${u:?}/box/".[!.]* 2>/dev/null
	[ -z "$why" ] && pass "hostile_${who}_v${v}_$c" || fail "hostile_${who}_v${v}_$c" "$why"
}

# lxs-pico makes /proc /sys /dev /tmp /mnt/host in the distro folder before
# running anything; a distro whose /mnt is a symlink must not get `host`
# made where it points.
pico_setup() { # WHO
	local who=$1 u=$S/$1 r=$S/$1/box/setup st
	why=
	reset_canaries "$who"
	mkdir -p "$r"
	ln -s "$u/out" "$r/mnt"
	[ "$who" = nobody ] && chown -R -h 65534:65534 "$r"
	as_who "$who" "$S/bin/lxs-pico" --root "$r" -- /nothing >"$S/stdout" 2>"$S/stderr"
	st=$?
	[ $st = 127 ] || bad "exit $st, wanted 127 (no /nothing): $(head -c 300 "$S/stderr")"
	[ -L "$r/mnt" ] || bad "mnt is no longer a symlink"
	for d in proc sys dev tmp; do [ -d "$r/$d" ] || bad "$d was not made"; done
	python3 tests/hostile/snapshot.py "$u/out" >"$u/out.after"
	cmp -s "$u/out.before" "$u/out.after" ||
		bad "a canary changed: $(diff "$u/out.before" "$u/out.after" | grep '^>' | head -n 2 | tr '\n' '|')"
	rm -rf "$r"
	[ -z "$why" ] && pass "hostile_${who}_pico_setup" || fail "hostile_${who}_pico_setup" "$why"
}

for who in "${WHO[@]}"; do
	if [ "$who" = nobody ] && [ "$(id -u)" != 0 ]; then
		for v in 1 2; do
			for c in "${CASES[@]}"; do skip "hostile_${who}_v${v}_$c" "not root, so no second user to run as"; done
		done
		skip "hostile_${who}_pico_setup" "not root, so no second user to run as"
		continue
	fi
	uid=$(id -u)
	[ "$who" = nobody ] && uid=65534
	setup_user "$who" "$uid"
	for v in 1 2; do
		for c in "${CASES[@]}"; do one "$who" "$v" "$c"; done
	done
	pico_setup "$who"
done

# ---- the whole lxs --import, once per version: refused, nothing registered ---------------
u=$S/caller
export XDG_DATA_HOME=$S/xdg/data XDG_CONFIG_HOME=$S/xdg/config XDG_RUNTIME_DIR=$S/xdg/run
export LXS_DISABLE_WARNINGS=1
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_RUNTIME_DIR"
chmod 0700 "$XDG_RUNTIME_DIR"
want=${WANT[symlink_hardlink]}
for v in 1 2; do
	why=
	reset_canaries caller
	"$B"/lxs --import "hv$v" "$u/box/hv$v" "$u/tars/symlink_hardlink.tar" --version "$v" >"$S/stdout" 2>"$S/stderr"
	st=$?
	[ $st = 255 ] || bad "exit $st, wanted 255"
	[ "$(wc -l <"$S/stderr")" = 1 ] || bad "$(wc -l <"$S/stderr") lines on stderr: $(head -c 300 "$S/stderr" | tr '\n' '|')"
	grep -qF -- "$want" "$S/stderr" || bad "stderr lacks the sentence: $(head -c 300 "$S/stderr")"
	"$B"/lxs --list --quiet 2>&1 | grep -qx "hv$v" && bad "hv$v is registered"
	[ -z "$(ls -A "$u/box/hv$v" 2>/dev/null)" ] || bad "left in the install folder: $(ls -A "$u/box/hv$v" | tr '\n' ' ')"
	python3 tests/hostile/snapshot.py "$u/out" >"$u/out.after"
	cmp -s "$u/out.before" "$u/out.after" || bad "a canary changed"
	[ -z "$why" ] && pass "hostile_lxs_v${v}_refused" || fail "hostile_lxs_v${v}_refused" "$why"
done
exit 0
