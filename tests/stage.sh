#!/usr/bin/env bash
# tests/stage.sh DEST [FILE...] - a world-readable copy of what the suites
# that run as an ordinary user (uid 65534) need, so that they never reach into
# the checkout: it may sit in a 0700 folder (root's home, a `mktemp -d`), or
# have been cloned with a umask of 077. DEST gets the scripts (Makefile,
# scripts/, tests/, src/, kernel/), the built programs (build/ less objects,
# libraries and test distros) and each FILE given (e.g. a distro tarball)
# under DEST/files/, everything readable and every folder searchable by all.
# DEST must not exist yet; its parent must be reachable by that user.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:?usage: tests/stage.sh DEST [FILE...]}
shift
[ ! -e "$dest" ] || { echo "stage.sh: $dest already exists; give a new folder." >&2; exit 1; }
mkdir -p "$dest/build" "$dest/files"
cp -a Makefile scripts tests src kernel "$dest/"
# Programs only: the objects, archives and distro images would be gigabytes.
for f in build/lxs build/lxsd build/lxs-manage build/lxs-vm build/lxs-fwd build/lxs-net build/lxs-session build/lxs-mkimage \
	build/lxs-pico build/lxs-pico-loader build/lxs-host build/lxs-fs build/guest; do
	[ ! -e "$f" ] || cp -a "$f" "$dest/build/"
done
for f in "$@"; do cp "$f" "$dest/files/"; done
chmod -R a+rX,go-w "$dest"
