#!/usr/bin/env bash
# Installs the Debian packages lxs needs to build, test and run, and nothing
# else; holds the table of the programs the tests run and their packages.
# Safe to re-run: it asks apt only for what is missing, and refreshes the
# package lists at most once per run.
#
# usage: scripts/deps.sh [build|kernel|rig|all]   (default: all)
#        scripts/deps.sh check   one TAP line: is every program of the tools
#                                table installed? Asks apt nothing; exits 0.
set -euo pipefail

want=${1:-all}
build=(build-essential make gcc clang musl-tools pkg-config cpio python3 liburing-dev libslirp-dev libarchive-dev libext2fs-dev comerr-dev libinih-dev libseccomp-dev e2fsprogs debootstrap zstd libclang-rt-14-dev proot dpkg-dev gnupg libfuse3-dev fuse3 sshfs)
kernel=(linux-source-6.12 bc flex bison libelf-dev libssl-dev xz-utils kmod lz4 patch)
rig=(qemu-system-x86 busybox-static cpio xz-utils zstd)

# The programs that make check, the rig and these scripts run, as
# PROGRAM:PACKAGE. Those of Debian's Essential packages (coreutils, grep,
# sed, tar, util-linux, findutils, ...) are on every Debian machine and are
# left out. tests/deps_scan.py fails when a test calls a program that is in
# neither, and `deps.sh check` names the ones not installed. A package of
# this table belongs to the build set unless the kernel or rig set has it.
tools=(
	# compilers and builds
	gcc:gcc cc:gcc make:make ar:binutils strip:binutils musl-gcc:musl-tools
	readelf:binutils          # src/pico/build.mk: checks the loader has no relocations
	nm:binutils               # tests/cycles.sh: which files call which
	clang:clang               # tests/fuzz/run.sh: libFuzzer targets
	clang-format:clang-format # make format, tests/style.sh: the code's layout
	python3:python3
	# tarballs, images and distros
	xz:xz-utils zstd:zstd cpio:cpio awk:mawk
	e2fsck:e2fsprogs debugfs:e2fsprogs
	getfattr:attr             # tests/vm/distro.sh: the host's side of the 9P xattr test
	setfattr:attr             # tests/cli/distrofs.sh: an extended attribute set through lxs-fs
	mount:mount umount:mount  # tests/cli/host.sh: a full file system (a small tmpfs)
	debootstrap:debootstrap
	apt-get:apt apt-cache:apt
	dpkg-scanpackages:dpkg-dev # tests/pico/run.sh: a local apt repository
	gpg:gnupg gpgconf:gpgconf # tests/pico/trixie.sh: signs its repositories
	git:git                   # tests/newcomer.sh: copies the checkout's tracked files
	# the guest kernel (kernel/build.sh)
	objcopy:binutils patch:patch
	# the nested-KVM rig (tests/rig/rig.sh)
	qemu-system-x86_64:qemu-system-x86 busybox:busybox-static
	# tests/lib.sh's `watched`: every thread's stack of a program that hung
	gdb:gdb
	# tests/faults/run.sh: SIGKILL at a chosen system call (strace's inject=)
	strace:strace
	pgrep:procps              # tests/faults/vm.sh: this run's lxs-vm, by its command line
	# tests/cli/net.sh: a resolver of its own on the loopback, and who listens where
	dnsmasq:dnsmasq-base ss:iproute2
	# bench/net: the host's side of the network benchmark, and its peer NAT
	iperf3:iperf3 passt:passt
	ip:iproute2               # bench/net: passt's route in the rig
	sshd:openssh-server       # bench/interop: the ssh peer
	fusermount3:fuse3         # lxs-fs: mounting and clearing the distros' files as an ordinary user
	sshfs:sshfs               # bench/distrofs: the peer of lxs-fs
	# tests/ltp/build.sh: the Linux Test Project, built from its source
	autoconf:autoconf aclocal:automake automake:automake libtoolize:libtool
	m4:m4 bison:bison flex:flex pkg-config:pkg-config
)

if [ "$want" = check ]; then
	missing=()
	for t in "${tools[@]}"; do
		tool=${t%%:*}
		# An ordinary user's PATH may lack the sbin folders (e2fsck, debugfs).
		command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || [ -x "/sbin/$tool" ] && continue
		if [ ${#missing[@]} -eq 0 ]; then
			missing+=("$tool (Debian package ${t#*:})")
		else
			missing+=("$tool (${t#*:})")
		fi
	done
	echo "1..1"
	if [ ${#missing[@]} -eq 0 ]; then
		echo "ok - deps_tools_present (${#tools[@]} tools)"
	else
		printf -v list '%s, ' "${missing[@]}"
		echo "not ok - deps_tools_present: missing ${list%, }; run scripts/deps.sh all as root"
	fi
	exit 0
fi

for t in "${tools[@]}"; do
	p=${t#*:}
	case " ${kernel[*]} ${rig[*]} " in
	*" $p "*) ;;
	*) build+=("$p") ;;
	esac
done

case "$want" in
build) pkgs=("${build[@]}") ;;
kernel) pkgs=("${kernel[@]}") ;;
rig) pkgs=("${rig[@]}") ;;
all) pkgs=("${build[@]}" "${kernel[@]}" "${rig[@]}") ;;
*) echo "deps.sh: unknown set '$want'; use build, kernel, rig, all or check." >&2; exit 2 ;;
esac

missing=()
declare -A seen=()
for p in "${pkgs[@]}"; do
	[ -z "${seen[$p]:-}" ] || continue
	seen[$p]=1
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	sudo=""
	command -v sudo >/dev/null && sudo -n true 2>/dev/null && sudo=sudo
	if [ -z "$sudo" ]; then
		echo "lxs needs these Debian packages: ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2
		exit 1
	fi
else
	sudo=""
fi

echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q >/dev/null
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done" >&2
