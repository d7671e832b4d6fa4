#!/usr/bin/env bash
# tests/distro/busybox.sh OUTDIR - a tiny distribution for tests as
# OUTDIR/busybox.tar: Debian's static busybox with a symlink per applet,
# an /etc with root and `user` (1000), and the empty mount points. Needs no
# root: owners are set by tar (0 for all, 1000 for /home/user).
#
# Cached under ${LXS_CACHE:-~/.cache/lxs}/distro, keyed by the package
# version, so it is downloaded once per busybox-static release. Prints the
# tarball's path.
set -euo pipefail

out=${1:?usage: tests/distro/busybox.sh OUTDIR}
say() { echo "busybox.sh: $*" >&2; }

ver=$(apt-cache policy busybox-static 2>/dev/null | sed -n 's/^ *Candidate: //p')
if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
	say "apt knows no busybox-static package (run apt-get update?)"
	exit 1
fi
cache=${LXS_CACHE:-$HOME/.cache/lxs}/distro
tarball=$cache/busybox-$(printf %s "$ver" | tr -c 'A-Za-z0-9.+~-' '_').tar
mkdir -p "$cache" "$out"

if [ ! -s "$tarball" ]; then
	work=$(mktemp -d "$cache/busybox-work.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	say "downloading busybox-static $ver"
	(cd "$work" && apt-get download -q "busybox-static=$ver") >&2
	dpkg-deb -x "$work"/busybox-static_*.deb "$work/deb"

	r=$work/root
	mkdir -p "$r"/{bin,etc,proc,sys,dev,tmp,run,root,home/user,usr}
	install -m 0755 "$work/deb/bin/busybox" "$r/bin/busybox"
	for applet in $("$r/bin/busybox" --list); do
		[ "$applet" = busybox ] || ln -s busybox "$r/bin/$applet"
	done
	# One real bin directory; the usual other names lead to it.
	ln -s bin "$r/sbin"
	ln -s ../bin "$r/usr/bin"
	ln -s ../bin "$r/usr/sbin"
	printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n' >"$r/etc/passwd"
	printf 'root:x:0:\nuser:x:1000:\n' >"$r/etc/group"
	echo busybox >"$r/etc/hostname"
	cat >"$r/etc/os-release" <<-OS
		NAME="BusyBox (lxs test distribution)"
		ID=lxs-busybox
		VERSION_ID="$ver"
	OS
	chmod 0644 "$r"/etc/*
	chmod 0755 "$r" "$r"/{bin,etc,proc,sys,dev,run,home,home/user,usr}
	chmod 1777 "$r/tmp"
	chmod 0700 "$r/root"

	# Reproducible: sorted, numeric, every time the package's own.
	common=(--numeric-owner --sort=name --format=gnu --mtime="@$(stat -c %Y "$work/deb/bin/busybox")")
	tar -C "$r" "${common[@]}" --owner=0 --group=0 --exclude=./home/user -cf "$work/busybox.tar" .
	tar -C "$r" "${common[@]}" --owner=1000 --group=1000 -rf "$work/busybox.tar" ./home/user
	mv "$work/busybox.tar" "$tarball"
	say "built $(du -h "$tarball" | cut -f1), $(tar -tf "$tarball" | wc -l) entries"
fi
# A copy, not a link: whatever the caller does with it must not touch the cache.
# A fresh copy each time: the cached tarball must never be changed through it.
rm -f "$out/busybox.tar"
cp --reflink=auto "$tarball" "$out/busybox.tar"
echo "$out/busybox.tar"
