#!/usr/bin/env bash
# tests/pico/trixie.sh TARBALL - Debian 13 (trixie) as version 1. An
# ordinary user (uid 65534 when started as root) imports the trixie minbase
# TARBALL (tests/distro/debian.sh with DEBIAN_SUITE=trixie) with
# `lxs --import --version 1`, and its apt 3.0 updates from small signed
# repositories this suite makes with Debian's tools (dpkg-deb,
# dpkg-scanpackages, gpg) and serves on the host's loopback. apt checks
# signatures with sqv, a Rust program, which once died under lxs-pico: a
# good signature must be accepted, and a tampered file or an unknown key
# refused, so the check is known to run. Without TARBALL every case skips.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
plan 8
P=pico_trixie
cases=(import sqv_cleartext apt_update_signed apt_install_signed apt_refuses_tampered
	apt_refuses_unknown_key sources_untouched_by_failure distro_release)
names=("${cases[@]/#/${P}_}")
tarball=${1:-}
if [ -z "$tarball" ] || [ ! -s "$tarball" ]; then
	skip_each "no Debian 13 tarball (tests/check.sh builds it with debootstrap as root)" "${names[@]}"
	exit 0
fi
for t in gpg dpkg-scanpackages python3; do
	if ! command -v "$t" >/dev/null; then
		skip_each "$t is not installed (scripts/deps.sh installs it)" "${names[@]}"
		exit 0
	fi
done

if [ "$(id -u)" = 0 ]; then AS=(setpriv --reuid=65534 --regid=65534 --clear-groups); else AS=(); fi
T=$(mktemp -d /tmp/lxs-trixie.XXXXXX)
chmod 0755 "$T"
server=
cleanup() {
	[ -z "$server" ] || kill "$server" 2>/dev/null
	# gpg started an agent for its home folder; it must not outlive it.
	[ -d "$T/gnupg" ] && GNUPGHOME=$T/gnupg gpgconf --kill gpg-agent 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
o=$T/out
# The programs and the tarball where the ordinary user can reach them, and
# a home of its own for lxs (registry, runtime folder).
mkdir -p "$T/bin" "$T/home"
for f in lxs lxs-manage lxs-pico lxs-pico-loader; do cp "build/$f" "$T/bin/"; done
cp "$tarball" "$T/trixie.tar.zst"
chmod -R a+rX "$T"
[ "$(id -u)" = 0 ] && chown 65534:65534 "$T/home"
lxs() {
	"${AS[@]}" env HOME="$T/home" XDG_DATA_HOME="$T/home/data" XDG_CONFIG_HOME="$T/home/config" \
		XDG_RUNTIME_DIR="$T/home/run" LXS_DISABLE_WARNINGS=1 "$T/bin/lxs" "$@"
}
mkdir -p "$T/home/run" && chmod 0700 "$T/home/run"
[ "$(id -u)" = 0 ] && chown -R 65534:65534 "$T/home"

# ---- the repositories -------------------------------------------------------------
# One package, in three repositories: "good" (signed by the key the distro
# trusts), "tampered" (its Packages changed after signing, with the Release
# hashes left as signed) and "stranger" (signed by a key the distro lacks).
export GNUPGHOME=$T/gnupg
mkdir -m 0700 "$GNUPGHOME"
gen_key() { gpg --batch --quiet --passphrase '' --quick-gen-key "$1" ed25519 sign never 2>>"$T/gpg.log"; }
gen_key "lxs test archive <archive@lxs.test>" && gen_key "somebody else <else@lxs.test>"
pkg=$T/pkg
mkdir -p "$pkg/DEBIAN" "$pkg/usr/bin"
cat >"$pkg/DEBIAN/control" <<'EOF'
Package: lxs-signed-hello
Version: 1.0
Architecture: all
Maintainer: lxs tests <tests@lxs.test>
Description: a package from a signed repository on the host's loopback
EOF
printf '#!/bin/sh\necho "hello from a verified repository"\n' >"$pkg/usr/bin/lxs-signed-hello"
chmod 0755 "$pkg/usr/bin/lxs-signed-hello"
make_repo() { # NAME KEY-UID
	local d=$T/srv/$1
	mkdir -p "$d/pool" "$d/dists/lxs/main/binary-amd64" "$d/dists/lxs/main/binary-all"
	dpkg-deb --root-owner-group -Zxz --build "$pkg" "$d/pool/lxs-signed-hello_1.0_all.deb" >/dev/null
	(cd "$d" && dpkg-scanpackages pool /dev/null 2>/dev/null >dists/lxs/main/binary-amd64/Packages)
	cp "$d/dists/lxs/main/binary-amd64/Packages" "$d/dists/lxs/main/binary-all/Packages"
	(
		cd "$d/dists/lxs"
		printf 'Origin: lxs\nLabel: lxs\nSuite: lxs\nCodename: lxs\nDate: %s\nArchitectures: amd64 all\nComponents: main\nSHA256:\n' \
			"$(LC_ALL=C date -u -R)"
		for f in main/binary-amd64/Packages main/binary-all/Packages; do
			printf ' %s %s %s\n' "$(sha256sum <"$f" | cut -d' ' -f1)" "$(stat -c %s "$f")" "$f"
		done
	) >"$d/dists/lxs/Release"
	gpg --batch --quiet --yes --local-user "$2" --clearsign --output "$d/dists/lxs/InRelease" "$d/dists/lxs/Release"
}
make_repo good archive@lxs.test && make_repo tampered archive@lxs.test && make_repo stranger else@lxs.test
echo "Description: changed after signing" >>"$T/srv/tampered/dists/lxs/main/binary-amd64/Packages"
gpg --batch --export archive@lxs.test >"$T/lxs-test.pgp"
chmod -R a+rX "$T/srv" "$T/lxs-test.pgp"

# A web server on the host's loopback (version 1 shares the host's network).
python3 - "$T/srv" "$T/port" <<'EOF' >"$T/http.log" 2>&1 &
import functools, http.server, os, sys
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
with open(sys.argv[2] + ".new", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(sys.argv[2] + ".new", sys.argv[2])
srv.serve_forever()
EOF
server=$!
for _ in $(seq 100); do [ -s "$T/port" ] || ! kill -0 "$server" 2>/dev/null && break; sleep 0.1; done
port=$(cat "$T/port" 2>/dev/null)

# ---- the distro ---------------------------------------------------------------------
lxs --import trixie "$T/home/trixie" "$T/trixie.tar.zst" --version 1 >"$o" 2>&1
st=$?
expect ${P}_import 0 $st "$o"
if [ $st != 0 ] || [ -z "$port" ]; then
	why="the import failed"; [ -n "$port" ] || why="the loopback web server did not start: $(tail -n 3 "$T/http.log" | tr '\n' '|')"
	skip_each "$why" "${names[@]:1}"
	exit 0
fi
g() { lxs -d trixie -u root -- "$@"; }
# The key and the sources, written from inside as an administrator would.
g sh -c 'mkdir -p /etc/apt/keyrings && cat >/etc/apt/keyrings/lxs-test.pgp' <"$T/lxs-test.pgp"
for r in good tampered stranger; do
	echo "deb [signed-by=/etc/apt/keyrings/lxs-test.pgp] http://127.0.0.1:$port/$r lxs main" |
		g sh -c "cat >/etc/apt/$r.list"
done
# apt with only one of those lists, and none of the distro's own.
apt_from() { # REPO apt-get|apt-cache ARGS...
	local r=$1 tool=$2
	shift 2
	g "$tool" -o Dir::Etc::SourceList=/etc/apt/$r.list -o Dir::Etc::SourceParts=- -o Acquire::Retries=0 "$@"
}

# sqv itself, the program that crashed: a cleartext signature checked and
# its text given back (without the last line break, which belongs to the
# signature's framing).
g sh -c "cat >/tmp/InRelease" <"$T/srv/good/dists/lxs/InRelease"
g sqv --keyring /etc/apt/keyrings/lxs-test.pgp --cleartext --output /tmp/Release.out /tmp/InRelease >"$o" 2>&1
st=$?
if [ $st = 0 ] && ! g cat /tmp/Release.out | cmp -s - <(head -c -1 "$T/srv/good/dists/lxs/Release"); then
	fail ${P}_sqv_cleartext "sqv accepted the signature but its output is not the signed Release"
else
	expect ${P}_sqv_cleartext 0 $st "$o"
fi

apt_from good apt-get update >"$o" 2>&1
st=$?
apt_from good apt-cache policy lxs-signed-hello >>"$o" 2>&1
if grep -qE '^(W|E): ' "$o"; then
	fail ${P}_apt_update_signed "apt warned or failed: $(grep -E '^(W|E): ' "$o" | head -n 3 | tr '\n' '|')"
else
	expect ${P}_apt_update_signed 0 $st "$o" "Get:1 http://127.0.0.1:$port/good lxs InRelease" "Candidate: 1.0"
fi

apt_from good apt-get install -y lxs-signed-hello >"$o" 2>&1 && g lxs-signed-hello >>"$o" 2>&1
expect ${P}_apt_install_signed 0 $? "$o" "Setting up lxs-signed-hello" "^hello from a verified repository$"

# A failed update keeps what the last good one fetched; look for the
# tampered repository's own index instead.
lists() { g sh -c 'ls /var/lib/apt/lists'; }
apt_from tampered apt-get update >"$o" 2>&1
st=$?
if lists | grep -q "_tampered_.*Packages"; then
	fail ${P}_apt_refuses_tampered "apt kept the tampered Packages file (exit $st)"
else
	expect ${P}_apt_refuses_tampered 100 $st "$o" "Hash Sum mismatch|hashes do not match|File has unexpected size"
fi

apt_from stranger apt-get update >"$o" 2>&1
st=$?
if lists | grep -q "_stranger_"; then
	fail ${P}_apt_refuses_unknown_key "apt kept the stranger's files (exit $st)"
else
	expect ${P}_apt_refuses_unknown_key 100 $st "$o" "(NO_PUBKEY|Missing key|not signed|signature verification failed)"
fi

# The refused updates left the good repository's state alone.
apt_from good apt-cache policy lxs-signed-hello >"$o" 2>&1
expect ${P}_sources_untouched_by_failure 0 $? "$o" "Installed: 1.0"

g sh -c '. /etc/os-release && echo "$VERSION_ID $VERSION_CODENAME"' >"$o" 2>&1
expect ${P}_distro_release 0 $? "$o" "^13 trixie$"
