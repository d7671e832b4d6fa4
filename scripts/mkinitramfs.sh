#!/usr/bin/env bash
# mkinitramfs.sh OUT INIT: an uncompressed newc initramfs whose /init is INIT.
# Uncompressed, because the kernel unpacks it faster than it could inflate it.
# No device nodes: the init mounts devtmpfs itself, so no root is needed here.
set -euo pipefail
out=$1 init=$2
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/dev" "$stage/proc" "$stage/sys"
install -m 0755 "$init" "$stage/init"
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) >"$out.tmp"
mv "$out.tmp" "$out"
