# tests/vm/hostshare.sh - the host folder at /mnt/host seen from a distro:
# the cases every transport of it must pass (9P in tests/vm/distro.sh,
# virtio-fs in tests/vm/hostfs.sh). Sourced; needs tests/lib.sh, S (the
# lxs-session command) and run (a scratch folder) from its caller.
# host_share_cases PREFIX DISTRO SHARE MOUNT_LINE runs 15 cases named
# PREFIX_*: DISTRO must have SHARE at /mnt/host, and `mount` inside must
# print a line matching MOUNT_LINE for it.

host_share_cases() { # PREFIX DISTRO SHARE MOUNT_LINE: 15 cases
	local p=$1 d=$2 sh=$3 mline=$4
	local t=$sh/t out st hsum
	# A static helper for what busybox lacks (xattrs), run from the share itself.
	cat >"$run/p9tool.c" <<'C'
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
int main(int argc, char **argv)
{
	char b[256];
	ssize_t n;

	if (argc == 5 && !strcmp(argv[1], "set")) {
		if (setxattr(argv[2], argv[3], argv[4], strlen(argv[4]), 0) == 0)
			return 0;
		printf("setxattr: %s\n", strerror(errno));
		return errno == EOPNOTSUPP ? 3 : 1;
	}
	if (argc == 4 && !strcmp(argv[1], "get")) {
		n = getxattr(argv[2], argv[3], b, sizeof(b) - 1);
		if (n < 0) {
			printf("getxattr: %s\n", strerror(errno));
			return errno == EOPNOTSUPP ? 3 : 1;
		}
		b[n] = 0;
		puts(b);
		return 0;
	}
	return 2;
}
C
	musl-gcc -static -O2 -o "$sh/p9tool" "$run/p9tool.c" 2>"$run/o" || cc -static -O2 -o "$sh/p9tool" "$run/p9tool.c" 2>>"$run/o"
	# Host side, before the guest looks: a big directory, names, planted symlinks.
	mkdir "$t/big" && (cd "$t/big" && seq -f 'f%05g' 1 10000 | xargs touch)
	printf 'from host\n' >"$t/hostfile"
	touch "$t/日本語 ☃"
	ln -s /etc "$t/abs_etc"
	ln -s / "$t/abs_root"
	ln -s ../../../../../../../etc "$t/dotdot_etc"

	"${S[@]}" -d "$d" -- sh -c 'mount | grep " /mnt/host "; cat /mnt/host/t/hostfile' >"$run/o" 2>&1
	expect "${p}_mounted" 0 $? "$run/o" "$mline" "^from host$"
	if ! grep -q "$mline" "$run/o"; then
		skip_each "not mounted" "${p}_guest_script" "${p}_create_write_append" "${p}_truncate" \
			"${p}_rename_across_dirs" "${p}_hard_link" "${p}_symlink" "${p}_mkdir_rmdir" "${p}_chmod_no_metadata" \
			"${p}_xattr" "${p}_10000_entries" "${p}_unicode_names" "${p}_concurrent_writers" "${p}_sparse_over_4g" \
			"${p}_hostile_symlinks_and_dotdot"
		return
	fi

	"${S[@]}" -d "$d" -- sh -c 'cd /mnt/host/t || exit 9
		echo hello >f; echo "read=$(cat f)"
		echo more >>f
		printf 0123456789 >tr; truncate -s 3 tr
		mkdir d1 d2; echo x >d1/a; mv d1/a d2/b
		ln d2/b d2/c; echo "links=$(stat -c %h d2/b)"
		ln -s some/target sl; echo "readlink=$(readlink sl)"
		mkdir -p x/y && rmdir x/y && echo rmdir=ok
		chmod 600 f && echo chmod=ok
		../p9tool set f user.lxs_test val; echo "xset=$?"
		echo "xget=$(../p9tool get f user.lxs_test)"
		# Globs read the directory without a lookup per name (ls would stat each).
		set -- big/*; echo "bigcount=$#"
		echo "bigsum=$(printf "%s\n" big/* | md5sum | cut -c1-32)"
		touch "héllo wörld ✓" && echo unicode_create=ok
		# A glob, not ls: busybox ls prints non-ASCII bytes as "?".
		for n in *; do [ "$n" = "日本語 ☃" ] && echo unicode_host=ok; done
		for i in 1 2 3 4; do dd if=/dev/urandom of=cw$i bs=64k count=32 2>/dev/null & done; wait
		md5sum cw1 cw2 cw3 cw4 >cw.sum.guest
		truncate -s 5368709120 sparse && printf X >>sparse
		echo "sparse_size=$(stat -c %s sparse)"
		echo "sparse_tail=$(dd if=sparse bs=1 skip=5368709120 count=1 2>/dev/null)"
		echo "abs_etc=$(cmp -s abs_etc/passwd /etc/passwd && echo guest)"
		echo "abs_root=$(cmp -s abs_root/etc/passwd /etc/passwd && echo guest)"
		echo "dotdot_etc=$(cmp -s dotdot_etc/passwd /etc/passwd && echo guest)"
		echo "parent=$(cd /mnt/host/.. && pwd)"
		echo done' >"$run/o" 2>&1
	st=$?
	cp "$run/o" "$run/p9.out"
	get() { sed -n "s/^$1=//p" "$run/p9.out" | head -1; }
	[ $st -eq 0 ] && grep -q '^done$' "$run/p9.out" && pass "${p}_guest_script" ||
		fail "${p}_guest_script" "status $st: $(tail -n 5 "$run/p9.out" | tr '\n' '|' | cut -c1-400)"
	[ "$(get read)" = hello ] && [ "$(cat "$t/f" 2>/dev/null | tr '\n' ' ')" = "hello more " ] &&
		pass "${p}_create_write_append" || fail "${p}_create_write_append" "guest read '$(get read)', host has '$(cat "$t/f" 2>&1)'"
	[ "$(cat "$t/tr" 2>&1)" = 012 ] && pass "${p}_truncate" || fail "${p}_truncate" "host has '$(cat "$t/tr" 2>&1)'"
	[ -f "$t/d2/b" ] && [ ! -e "$t/d1/a" ] && pass "${p}_rename_across_dirs" || fail "${p}_rename_across_dirs" "$(ls -R "$t/d1" "$t/d2" 2>&1 | tr '\n' ' ')"
	[ "$(get links)" = 2 ] && [ "$(stat -c %h "$t/d2/b")" = 2 ] && [ "$(stat -c %i "$t/d2/b")" = "$(stat -c %i "$t/d2/c")" ] &&
		pass "${p}_hard_link" || fail "${p}_hard_link" "guest links $(get links), host $(stat -c %h "$t/d2/b" 2>&1)"
	[ "$(get readlink)" = some/target ] && [ "$(readlink "$t/sl")" = some/target ] &&
		pass "${p}_symlink" || fail "${p}_symlink" "guest '$(get readlink)', host '$(readlink "$t/sl")'"
	[ "$(get rmdir)" = ok ] && [ -d "$t/x" ] && [ ! -e "$t/x/y" ] && pass "${p}_mkdir_rmdir" || fail "${p}_mkdir_rmdir" "$(get rmdir)"
	# Without `metadata` chmod succeeds and changes nothing (DrvFs).
	[ "$(get chmod)" = ok ] && pass "${p}_chmod_no_metadata" || fail "${p}_chmod_no_metadata" "chmod failed in the guest"
	case "$(get xset)" in
	0) [ "$(get xget)" = val ] && [ "$(getfattr --only-values -n user.lxs_test "$t/f" 2>/dev/null)" = val ] &&
		pass "${p}_xattr" || fail "${p}_xattr" "guest got '$(get xget)', host '$(getfattr --only-values -n user.lxs_test "$t/f" 2>&1)'" ;;
	3) skip "${p}_xattr" "the scratch file system has no user.* xattrs" ;;
	*) fail "${p}_xattr" "setxattr status $(get xset): $(grep -m1 xattr "$run/p9.out")" ;;
	esac
	hsum=$(cd "$t" && printf '%s\n' big/* | md5sum | cut -c1-32)
	[ "$(get bigcount)" = 10000 ] && [ "$(get bigsum)" = "$hsum" ] && pass "${p}_10000_entries" ||
		fail "${p}_10000_entries" "guest lists $(get bigcount) entries"
	[ "$(get unicode_create)" = ok ] && [ "$(get unicode_host)" = ok ] && [ -f "$t/héllo wörld ✓" ] &&
		pass "${p}_unicode_names" || fail "${p}_unicode_names" "$(ls "$t" | tr '\n' ' ')"
	(cd "$t" && md5sum cw1 cw2 cw3 cw4) >"$run/cw.host" 2>&1
	cmp -s "$run/cw.host" "$t/cw.sum.guest" && [ "$(stat -c %s "$t/cw1")" = 2097152 ] && pass "${p}_concurrent_writers" ||
		fail "${p}_concurrent_writers" "host and guest checksums differ"
	[ "$(get sparse_size)" = 5368709121 ] && [ "$(stat -c %s "$t/sparse")" = 5368709121 ] && [ "$(get sparse_tail)" = X ] &&
		[ "$(tail -c 1 "$t/sparse")" = X ] && pass "${p}_sparse_over_4g" ||
		fail "${p}_sparse_over_4g" "guest size $(get sparse_size) tail '$(get sparse_tail)', host $(stat -c %s "$t/sparse" 2>&1)"
	# Absolute symlinks and .. resolve in the guest, never on the host.
	if [ "$(get abs_etc)" = guest ] && [ "$(get abs_root)" = guest ] && [ "$(get dotdot_etc)" = guest ] &&
		[ "$(get parent)" = /mnt ]; then
		pass "${p}_hostile_symlinks_and_dotdot"
	else
		fail "${p}_hostile_symlinks_and_dotdot" "abs_etc=$(get abs_etc) abs_root=$(get abs_root) dotdot=$(get dotdot_etc) parent=$(get parent)"
	fi
	rm -f "$t/sparse"
}
