#!/usr/bin/env bash
# Builds the lxs guest kernel from Debian's linux-source-6.12, the patches in
# kernel/patches and the fragment kernel/lxs.config, or reuses a cached build. Prints the directory holding
# bzImage, vmlinux and config on stdout; progress goes to stderr.
#
# The cache lives outside the tree (${LXS_CACHE:-$XDG_CACHE_HOME/lxs}/kernel/KEY),
# KEY being a hash of the source package's version, the fragment, the patches and this script,
# so a clean clone reuses it and any change to the inputs rebuilds.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src_pkg=linux-source-6.12
src_tar=/usr/src/linux-source-6.12.tar.xz
cache=${LXS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lxs}
jobs=${JOBS:-$(nproc)}

"$here/../scripts/deps.sh" kernel

ver=$(dpkg-query -W -f='${Version}' "$src_pkg")
key=$( { echo "$src_pkg $ver"; cat "$here/lxs.config" "$0" "$here"/patches/*.patch; } | sha256sum | cut -c1-16)
out="$cache/kernel/$key"
if [ -f "$out/bzImage" ] && [ -f "$out/vmlinux" ]; then
	echo "$out"
	exit 0
fi

mkdir -p "$cache/kernel"
exec 9>"$cache/kernel/.lock"
if ! flock -n 9; then
	echo "kernel: another build holds $cache/kernel/.lock; waiting for it" >&2
	flock 9
	if [ -f "$out/bzImage" ]; then echo "$out"; exit 0; fi
fi

work="$cache/kernel/build-$key"
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
start=$(date +%s)

echo "kernel: unpacking $src_pkg $ver (about a minute)" >&2
tar -xf "$src_tar" -C "$work" --strip-components=1

cd "$work"
# Our changes to Linux, applied in name order (kernel/patches/README says what
# each one is for).
for p in "$here"/patches/*.patch; do
	echo "kernel: applying ${p##*/}" >&2
	patch -p1 -s --no-backup-if-mismatch <"$p" || { echo "kernel: ${p##*/} does not apply to $src_pkg $ver; update the patch." >&2; exit 1; }
done
echo "kernel: configuring (x86_64_defconfig + kvm_guest.config + kernel/lxs.config)" >&2
make -s x86_64_defconfig >/dev/null
scripts/kconfig/merge_config.sh -m .config kernel/configs/kvm_guest.config "$here/lxs.config" >/dev/null
make -s olddefconfig >/dev/null

# Every option the fragment sets must survive olddefconfig, or the fragment
# asks for something its dependencies don't allow and the build is wrong.
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*) grep -qxF "$line" .config || { echo "kernel: $line did not survive olddefconfig (now: $(grep "^${line%%=*}=" .config || echo unset))" >&2; bad=1; } ;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }; opt=${opt%% *}
		grep -q "^$opt=" .config && { echo "kernel: $opt should be off but is $(grep "^$opt=" .config)" >&2; bad=1; } ;;
	esac
done <"$here/lxs.config"
[ $bad -eq 0 ] || { echo "kernel: fix kernel/lxs.config so the options above hold, then run again." >&2; exit 1; }

# Progress: count the objects compiled against the total of the last build
# (or a rough first guess), on one updating line when stderr is a terminal.
expect_file="$cache/kernel/objects.count"
expect=$(cat "$expect_file" 2>/dev/null || echo 2600)
echo "kernel: building with $jobs jobs (about $((expect / 300 + 1)) minutes here)" >&2
n=0
last=0
set +e
make -j"$jobs" bzImage vmlinux 2>&1 | {
	while IFS= read -r l; do
		case "$l" in
		*" CC "* | *" AS "* | *" LD "* | *" AR "*) n=$((n + 1)) ;;
		*error* | *Error*) echo "$l" >&2 ;;
		esac
		now=$(date +%s)
		if [ -t 2 ]; then
			[ "$now" != "$last" ] && printf '\rkernel: %d/~%d objects (%d%%) %ds ' "$n" "$expect" $((n * 100 / expect)) $((now - start)) >&2
		elif [ $((now - last)) -ge 30 ]; then
			printf 'kernel: %d/~%d objects (%d%%) %ds\n' "$n" "$expect" $((n * 100 / expect)) $((now - start)) >&2
		else
			continue
		fi
		last=$now
	done
	echo "$n" >"$work/.objects"
}
rc=${PIPESTATUS[0]}
set -e
[ -t 2 ] && echo >&2
[ "$rc" -eq 0 ] || { echo "kernel: the build failed (make exited $rc); the errors are above." >&2; exit 1; }

cp "$work/.objects" "$expect_file"
tmp="$cache/kernel/.new-$key"
rm -rf "$tmp"
mkdir -p "$tmp"
cp arch/x86/boot/bzImage "$tmp/bzImage"
objcopy --strip-debug vmlinux "$tmp/vmlinux"
cp .config "$tmp/config"
echo "$(($(date +%s) - start))" >"$tmp/build-seconds"
rm -rf "$out"
mv "$tmp" "$out"
echo "kernel: built in $(($(date +%s) - start)) s, cached in $out" >&2
echo "$out"
