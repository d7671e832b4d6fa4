#!/usr/bin/env bash
# Runs one command inside the nested-KVM rig and returns its output and exit
# status. The rig exists because this host's /dev/kvm (kvm_pvm) cannot run a
# stock Linux guest (see /work/shared/ENVIRONMENT.md): QEMU's TCG emulates an
# AMD CPU with SVM and nested paging, Debian's stock kernel loads kvm-amd on
# it, and the command then sees a real /dev/kvm.
#
# usage: tests/rig/rig.sh [--mem MIB] [--cpus N] [--timeout SEC] [--scratch DIR] -- CMD [ARG...]
#        tests/rig/rig.sh [--mem MIB] [--cpus N] [--timeout SEC] --smoke
#
# Inside, / is the host's root read-only and the scratch directory is
# read-write at the same absolute path; /tmp, /run and /dev/shm are empty
# tmpfs, except that a checkout living under one of them (a clone in /tmp)
# is shared too, read-only at its own path. So a command that writes into
# the tree needs that directory as its
# scratch (e.g. --scratch build); without --scratch a temporary one is made
# under build/ and removed afterwards. The command runs as root from the
# caller's directory with a small fixed environment, the caller's LXS_*
# variables, and LXS_IN_RIG=1.
# Exit status: the command's, or 124 on timeout, 125 if the rig itself
# failed, 2 for bad usage. --smoke checks that KVM runs a guest inside.
# LXS_RIG_QEMU names another qemu-system-x86_64 for the rig itself (and
# LXS_RIG_QEMU_DATA its firmware folder, QEMU's -L); the default is Debian's.
# LXS_RIG_APPEND adds to the rig kernel's command line.
# LXS_RIG_NET=1 gives the rig a network card on QEMU's user networking, and
# so the host's network (only for manual checks that need the outside, such
# as scripts/apt-check.sh; tests run in a rig without it).
# shellcheck disable=SC2317 # the handlers below are called from traps
set -Eeuo pipefail

: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
rig_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$rig_dir/../.." && pwd)
cache_root=${LXS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lxs}/rig
# Order matters: each module needs the ones before it. virtio_net: the card
# of LXS_RIG_NET=1; veth: bench/net gives passt, which will not start without
# a default route, a pair that leads nowhere. fuse: lxs-fs, the distros' files.
rig_modules=(ccp irqbypass kvm kvm-amd virtio_ring virtio virtio_pci_modern_dev
	virtio_pci_legacy_dev virtio_pci 9pnet 9pnet_virtio netfs fscache 9p
	failover net_failover virtio_net veth fuse)
# TCG lacks these EPYC features and drops them anyway; naming them here only
# silences QEMU's warnings.
rig_cpu=EPYC,+svm,+npt,-rdseed,-sha-ni,-fxsr-opt,-misalignsse,-3dnowprefetch,-osvw,-topoext,-nrip-save,-xsavec
boot_marker=$'\001lxs-rig: booted'

mem_mib=4096
# CPUs of the rig: one. With two, an IPI to a rig CPU that is running a nested
# guest can be lost under QEMU's emulated SVM: the sender spins for good
# (seen as soft lockups in smp_call_function_many_cond, from kvm_destroy_vm,
# and as RCU stalls), in 4 of 4 runs of the distro suite or the benchmarks.
# With one, a nested guest with 2 vCPUs now and then spins on the rig's only
# CPU for good (seen under QEMU microvm in the benchmarks; rare for lxs-vm's
# test boots): the benchmarks give their guests one vCPU in the rig.
rig_cpus=1
timeout_s=1800
scratch=""
smoke=0
cmd=()

# State the exit trap cleans up; empty means nothing to do.
build_dir=""
ctl_dir=""
own_scratch=""
qemu_pid=""
filter_pid=""

die() { # rig failures exit 125 so they cannot pass for a test's own status
	echo "rig: $*" >&2
	exit 125
}

# Anything failing that no code path expected still has to exit 125, or it
# could pass for the command's own status. In a subshell, leave the report
# to the parent, which sees the subshell fail.
on_unexpected_error() { # LINE STATUS
	[ "$BASH_SUBSHELL" = 0 ] || exit "$2"
	die "unexpected failure (status $2) at tests/rig/rig.sh line $1; the message above says what went wrong."
}

interrupted() { # STATUS
	echo "rig: interrupted; stopping QEMU." >&2
	exit "$1"
}

usage_error() {
	echo "rig: $*; usage: tests/rig/rig.sh [--mem MIB] [--cpus N] [--timeout SEC] [--scratch DIR] -- CMD [ARG...] (or --smoke)." >&2
	exit 2
}

cleanup() {
	if [ -n "$qemu_pid" ]; then
		kill -TERM "$qemu_pid" 2>/dev/null || true
		wait "$qemu_pid" 2>/dev/null || true
	fi
	# Killed, not waited for: if QEMU never opened the console fifo the
	# filter would wait for a writer forever.
	if [ -n "$filter_pid" ]; then kill "$filter_pid" 2>/dev/null || true; fi
	if [ -n "$build_dir" ]; then rm -rf "$build_dir"; fi
	if [ -n "$ctl_dir" ]; then rm -rf "$ctl_dir"; fi
	if [ -n "$own_scratch" ]; then rm -rf "$own_scratch"; fi
}

parse_args() {
	while [ $# -gt 0 ]; do
		case "$1" in
		--mem | --cpus | --timeout | --scratch) [ $# -ge 2 ] || usage_error "$1 needs a value" ;;
		esac
		case "$1" in
		--mem) mem_mib=$2; shift 2 ;;
		--cpus) rig_cpus=$2; shift 2 ;;
		--timeout) timeout_s=$2; shift 2 ;;
		--scratch) scratch=$2; shift 2 ;;
		--smoke) smoke=1; shift ;;
		--) shift; cmd=("$@"); break ;;
		-h | --help) sed -n '2,/^set /{/^# shellcheck/d;/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"; exit 0 ;;
		*) usage_error "unknown argument '$1' (the command goes after --)" ;;
		esac
	done
	[[ $mem_mib =~ ^[1-9][0-9]*$ ]] || usage_error "--mem wants MiB as a number, not '$mem_mib'"
	[[ $rig_cpus =~ ^[1-9][0-9]?$ ]] || usage_error "--cpus wants a number of CPUs, not '$rig_cpus'"
	[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || usage_error "--timeout wants seconds as a number, not '$timeout_s'"
	if [ "$smoke" = 1 ] && [ ${#cmd[@]} -gt 0 ]; then usage_error "--smoke takes no command"; fi
	if [ "$smoke" = 0 ] && [ ${#cmd[@]} -eq 0 ]; then usage_error "no command given"; fi
}

now_ms() { date +%s%3N; }

# Sets kernel_pkg and kernel_ver to what linux-image-amd64 currently pulls in.
# apt-cache takes most of a second here (apt keeps no binary cache), so its
# answer is remembered until the package lists or apt's pinning change.
resolve_kernel_package() {
	local apt_state memo
	apt_state=$(stat -c '%n %s %Y' /var/lib/apt/lists/*Packages* /etc/apt/preferences* 2>/dev/null || true)
	memo=$cache_root/.kernel-package-$(sha256sum <<<"$apt_state" | cut -c1-16)
	if [ -n "$apt_state" ] && [ -f "$memo" ] && read -r kernel_pkg kernel_ver <"$memo" && [ -n "$kernel_ver" ]; then
		return
	fi
	ask_apt_for_kernel_package
	[ -n "$apt_state" ] || return 0
	mkdir -p "$cache_root"
	rm -f "$cache_root"/.kernel-package-*
	# A concurrent run may clear our temporary file too; it only costs a lookup.
	{ echo "$kernel_pkg $kernel_ver" >"$memo.$$" && mv -f "$memo.$$" "$memo"; } 2>/dev/null || true
}

ask_apt_for_kernel_package() {
	local depends
	depends=$(apt-cache show --no-all-versions linux-image-amd64 2>/dev/null | sed -n 's/^Depends: //p' | head -n1)
	kernel_pkg=$(grep -o '^linux-image-[^ ,]*' <<<"$depends" || true)
	kernel_ver=$(sed -n 's/^[^ ,]* (= \([^)]*\)).*/\1/p' <<<"$depends")
	[ -n "$kernel_pkg" ] || die "apt does not know linux-image-amd64; run 'sudo apt-get update' and retry."
	if [ -z "$kernel_ver" ]; then
		kernel_ver=$(apt-cache show --no-all-versions "$kernel_pkg" | sed -n 's/^Version: //p' | head -n1)
	fi
	[ -n "$kernel_ver" ] || die "apt has no version of $kernel_pkg; run 'sudo apt-get update' and retry."
}

image_key() {
	{
		echo "$kernel_pkg $kernel_ver"
		dpkg-query -W -f='busybox-static ${Version}\n' busybox-static
		cat "$rig_dir/rig.sh" "$rig_dir/init.sh"
	} | sha256sum | cut -c1-16
}

# Prints the module's file in the unpacked package, trying both spellings
# since file names mix '-' and '_'.
find_module() { # UNPACKED NAME
	local dashed=${2//_/-} underscored=${2//-/_}
	find "$1" -path '*/lib/modules/*' -type f \( -name "$dashed.ko" -o -name "$dashed.ko.*" \
		-o -name "$underscored.ko" -o -name "$underscored.ko.*" \) -print -quit
}

is_builtin() { # UNPACKED NAME
	local dashed=${2//_/-} underscored=${2//-/_}
	find "$1" -path '*/lib/modules/*' -name modules.builtin -exec \
		grep -qE "/($dashed|$underscored)\.ko\$" {} + 2>/dev/null
}

# busybox's insmod cannot read compressed modules.
decompress_module() { # FILE
	case "$1" in
	*.ko) cat "$1" ;;
	*.ko.xz) xz -dc "$1" ;;
	*.ko.zst) zstd -qdc "$1" ;;
	*.ko.gz) gzip -dc "$1" ;;
	*) die "no way to decompress the kernel module $1; teach decompress_module in rig.sh." ;;
	esac
}

add_modules() { # UNPACKED ROOT
	local name file
	for name in "${rig_modules[@]}"; do
		file=$(find_module "$1" "$name")
		if [ -z "$file" ]; then
			is_builtin "$1" "$name" && continue
			[ "$name" != kvm-amd ] || die "$kernel_pkg has no kvm-amd, so the rig cannot offer /dev/kvm; use a kernel package that builds it."
			echo "rig: note: $kernel_pkg has no module $name; going on without it." >&2
			continue
		fi
		decompress_module "$file" >"$2/lib/modules/$name.ko"
		echo "$name" >>"$2/lib/modules/order"
	done
}

make_initramfs() { # UNPACKED OUT.cpio
	local root=$build_dir/root applet
	mkdir -p "$root/bin" "$root/lib/modules"
	cp /bin/busybox "$root/bin/busybox"
	for applet in $(/bin/busybox --list); do
		[ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
	done
	install -m 755 "$rig_dir/init.sh" "$root/init"
	add_modules "$1" "$root"
	# Uncompressed: decompressing it under TCG would cost more boot time
	# than reading the extra megabytes.
	(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet) >"$2"
}

# Writes the uncompressed ELF kernel inside a bzImage to OUT. Booting that
# through its PVH entry point skips the decompressor, which takes seconds
# under TCG. Fails if the payload is in a format we do not unpack.
extract_vmlinux() { # BZIMAGE OUT
	local setup_sects payload_offset payload_length start magic decompress
	setup_sects=$(od -An -tu1 -j $((0x1f1)) -N1 "$1" | tr -d ' ')
	[ "$setup_sects" != 0 ] || setup_sects=4
	read -r payload_offset payload_length < <(od -An -tu4 -j $((0x248)) -N8 "$1")
	start=$(((setup_sects + 1) * 512 + payload_offset))
	magic=$(od -An -tx1 -j "$start" -N4 "$1" | tr -d ' ')
	case "$magic" in
	fd377a58) decompress=(xz -dc) ;;
	28b52ffd) decompress=(zstd -qdc) ;;
	1f8b*) decompress=(gzip -dc) ;;
	*) return 1 ;;
	esac
	# The payload ends with the 4-byte uncompressed size, not part of the stream.
	dd if="$1" bs=64k iflag=skip_bytes,count_bytes skip="$start" count=$((payload_length - 4)) status=none |
		"${decompress[@]}" >"$2" 2>/dev/null || return 1
	[ "$(od -An -tx1 -N4 "$2" | tr -d ' ')" = 7f454c46 ]
}

# Puts `vmlinux` (PVH-bootable) or, failing that, `vmlinuz` into DIR.
add_kernel() { # UNPACKED DIR
	local bzimage config
	bzimage=$(find "$1/boot" -name 'vmlinuz-*' -print -quit)
	config=$(find "$1/boot" -name 'config-*' -print -quit)
	[ -n "$bzimage" ] || die "$kernel_pkg holds no /boot/vmlinuz-*; the package layout changed, fix add_kernel in rig.sh."
	if [ -n "$config" ] && grep -qx 'CONFIG_PVH=y' "$config" && extract_vmlinux "$bzimage" "$2/vmlinux"; then
		return
	fi
	rm -f "$2/vmlinux"
	echo "rig: note: cannot unpack $kernel_pkg's kernel for a PVH boot; booting the compressed one (slower)." >&2
	cp "$bzimage" "$2/vmlinuz"
}

# Builds the kernel and initramfs in a private directory and renames it into
# place, so concurrent runs and runs killed half way never see a partial one.
build_image() { # DEST
	local deb
	mkdir -p "$cache_root"
	# Left by runs killed with -9; a build takes a minute, not an hour.
	find "$cache_root" -maxdepth 1 -name '.build.*' -mmin +60 -exec rm -rf {} + 2>/dev/null || true
	build_dir=$(mktemp -d "$cache_root/.build.XXXXXX")
	echo "rig: fetching $kernel_pkg $kernel_ver and building the rig image in $1" >&2
	local sandbox_opt=()
	# As root apt would try to drop to _apt, who cannot write our directory.
	[ "$(id -u)" != 0 ] || sandbox_opt=(-o APT::Sandbox::User=root)
	(cd "$build_dir" && apt-get download -q "${sandbox_opt[@]}" "$kernel_pkg=$kernel_ver" >/dev/null) ||
		die "apt-get download $kernel_pkg=$kernel_ver failed; check that Debian's archive is reachable (apt-get update)."
	deb=$(find "$build_dir" -maxdepth 1 -name '*.deb' -print -quit)
	dpkg-deb -x "$deb" "$build_dir/pkg"
	add_kernel "$build_dir/pkg" "$build_dir"
	make_initramfs "$build_dir/pkg" "$build_dir/initramfs.cpio"
	rm -rf "$build_dir/pkg" "$build_dir/root" "$deb"
	echo "$kernel_pkg $kernel_ver" >"$build_dir/package"
	chmod 755 "$build_dir"
	# Losing the race to a concurrent run is fine: its image is the same.
	mv -T "$build_dir" "$1" 2>/dev/null || rm -rf "$build_dir"
	build_dir=""
	# Every change to the rig makes a new image; drop the ones nobody used
	# for a week (prepare_image touches an image each time it is used).
	find "$cache_root" -mindepth 1 -maxdepth 1 -type d -name '[0-9a-f]*' -mtime +7 -exec rm -rf {} + 2>/dev/null || true
	[ -f "$1/initramfs.cpio" ] || die "could not move the rig image into $1; check that the directory is writable."
}

# Sets image_dir to a ready kernel + initramfs, building it if needed.
prepare_image() {
	resolve_kernel_package
	image_dir=$cache_root/$(image_key)
	[ -f "$image_dir/initramfs.cpio" ] || build_image "$image_dir"
	touch "$image_dir" 2>/dev/null || true
}

prepare_scratch() {
	if [ -z "$scratch" ]; then
		mkdir -p "$repo/build"
		scratch=$(mktemp -d "$repo/build/rig-scratch.XXXXXX")
		own_scratch=$scratch
	fi
	[ -d "$scratch" ] || die "the scratch directory '$scratch' does not exist; create it or leave out --scratch."
	scratch=$(realpath -e "$scratch")
	[ "$scratch" != / ] || die "the scratch directory cannot be /; pick a directory of its own."
	[[ $scratch != *$'\n'* ]] || die "the scratch directory's path contains a newline; pick another one."
	[ -w "$scratch" ] || die "the scratch directory $scratch is not writable by $(id -un); pick one that is."
}

# cmd.sh runs in the chroot under `env -i`: it sets the environment, enters
# the caller's directory and execs the command. printf %q keeps every
# argument intact, whatever it contains.
write_command_script() { # FILE
	{
		echo "# Written by tests/rig/rig.sh for one run."
		echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
		printf 'export HOME=%q TERM=dumb LANG=C.UTF-8 LXS_IN_RIG=1\n' "$HOME"
		# The caller's LXS_* settings (cache, opt-in tests) hold inside too.
		local v
		for v in $(compgen -e); do
			if [[ $v == LXS_* && $v != LXS_IN_RIG ]]; then printf 'export %s=%q\n' "$v" "${!v}"; fi
		done
		if [ -n "${XDG_CACHE_HOME+set}" ]; then printf 'export XDG_CACHE_HOME=%q\n' "$XDG_CACHE_HOME"; fi
		printf 'cd -- %q 2>/dev/null || {\n' "$PWD"
		printf '\techo %q >%q\n' \
			"the caller's directory $PWD does not exist inside the rig (/tmp, /run and /dev/shm are not shared); run rig.sh from elsewhere." \
			"$ctl_dir/error"
		echo "	exit 125"
		echo "}"
		printf 'exec'
		printf ' %q' "${cmd[@]}"
		echo
	} >"$1"
}

# The rig mounts fresh tmpfs over these; a checkout below one of them is
# shared of its own, or the command would find nothing of it inside.
masked_checkout() {
	case "$repo/" in
	/tmp/* | /run/* | /dev/shm/*) return 0 ;;
	esac
	return 1
}

prepare_control_dir() {
	ctl_dir=$(mktemp -d "$scratch/.rig.XXXXXX")
	printf '%s' "$scratch" >"$ctl_dir/scratch_path"
	if masked_checkout; then printf '%s' "$repo" >"$ctl_dir/checkout_path"; fi
	write_command_script "$ctl_dir/cmd.sh"
	mkfifo "$ctl_dir/console"
}

# Drops the serial port's \r and the boot marker, reporting on stderr how
# long the boot took when the marker goes by.
start_console_filter() { # START_MS
	local awk=(awk)
	# mawk, Debian's default awk, waits for a full buffer before it looks
	# at input from a pipe unless told otherwise.
	if [[ $(awk -W version 2>&1) == *mawk* ]]; then awk=(awk -W interactive); fi
	# shellcheck disable=SC2016 # an awk program
	"${awk[@]}" -v start_ms="$1" -v marker="$boot_marker" '
		{ gsub(/\r/, "") }
		!booted && (at = index($0, marker)) {
			if (at > 1) print substr($0, 1, at - 1)
			"date +%s%3N" | getline now
			printf "rig: booted in %.1f s\n", (now - start_ms) / 1000 > "/dev/stderr"
			booted = 1
			next
		}
		{ print; fflush() }
	' <"$ctl_dir/console" &
	filter_pid=$!
}

start_qemu() {
	local kernel_file=$image_dir/vmlinux
	[ -f "$kernel_file" ] || kernel_file=$image_dir/vmlinuz
	# loglevel=5: the rig kernel's warnings (soft lockups, RCU stalls, hung
	# tasks, with their stacks) reach the output; nothing below that does.
	# nohz=off highres=off: the rig's timer ticks periodically. With the
	# default one-shot timer, which the kernel re-arms from each interrupt,
	# one timer interrupt lost under QEMU's emulated SVM (it happens while a
	# nested guest runs) stopped the rig's timers for good: the "wedge" of
	# bench/RESULTS.md, in every 9P-heavy benchmark boot. A periodic timer
	# fires again by itself; with it, the boots that always wedged finish.
	local append="console=ttyS0 quiet loglevel=5 reboot=k panic=-1 rdinit=/init lxs_rig=${ctl_dir##*/} nohz=off highres=off ${LXS_RIG_APPEND:-}"
	local checkout=() net=(-nic none)
	if [ "${LXS_RIG_NET:-0}" = 1 ]; then
		net=(-nic user,model=virtio-net-pci)
		append="$append lxs_rig_net=1"
	fi
	if masked_checkout; then
		checkout=(-virtfs "local,path=${repo//,/,,},mount_tag=checkout,security_model=none,readonly=on,multidevs=remap")
	fi
	# qboot rather than SeaBIOS: it boots sooner and prints nothing on the
	# serial port. --foreground keeps QEMU in our process group, so whoever
	# kills the group (a terminal's ^C, a test harness) kills QEMU too; a
	# lone kill -9 of this script leaves QEMU to the timeout.
	timeout --foreground -k 10 "$timeout_s" "${LXS_RIG_QEMU:-qemu-system-x86_64}" ${LXS_RIG_QEMU_DATA:+-L "$LXS_RIG_QEMU_DATA"} \
		-M q35 -accel tcg -cpu "$rig_cpu" -m "$mem_mib" -smp "$rig_cpus" \
		-nodefaults -no-user-config -nographic -serial stdio -no-reboot -bios qboot.rom \
		-kernel "$kernel_file" -initrd "$image_dir/initramfs.cpio" -append "$append" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs "local,path=${scratch//,/,,},mount_tag=scratch,security_model=none,multidevs=remap" \
		"${checkout[@]}" "${net[@]}" \
		</dev/null >"$ctl_dir/console" &
	qemu_pid=$!
}

# Waits for QEMU and sets qemu_status to how it (or timeout) exited.
wait_qemu() {
	qemu_status=0
	wait "$qemu_pid" || qemu_status=$?
	qemu_pid=""
	wait "$filter_pid" || true
	filter_pid=""
}

report_and_exit() {
	local status
	[ "$qemu_status" != 124 ] || {
		echo "rig: timed out after $timeout_s s and stopped QEMU; raise --timeout if the command is merely slow." >&2
		exit 124
	}
	[ ! -f "$ctl_dir/error" ] || die "$(cat "$ctl_dir/error")"
	[ -f "$ctl_dir/status" ] ||
		die "QEMU exited (status $qemu_status) before the command reported its exit status; the output above should say why."
	status=$(cat "$ctl_dir/status")
	[[ $status =~ ^[0-9]+$ ]] || die "the rig wrote a malformed exit status '$status'; this is a bug in tests/rig/init.sh."
	exit "$status"
}

smoke_command() {
	local bin=$repo/build/rig/kvmsmoke
	command -v gcc >/dev/null || die "gcc is missing; run scripts/deps.sh build."
	mkdir -p "${bin%/*}"
	gcc -O2 -Wall -Wextra -o "$bin" "$rig_dir/kvmsmoke.c" || die "could not compile tests/rig/kvmsmoke.c."
	cmd=("$bin")
}

main() {
	trap 'on_unexpected_error $LINENO $?' ERR
	parse_args "$@"
	trap cleanup EXIT
	trap 'interrupted 129' HUP
	trap 'interrupted 130' INT
	trap 'interrupted 143' TERM
	"$repo/scripts/deps.sh" rig || die "the rig's Debian packages are missing; install them as scripts/deps.sh rig says."
	if [ "$smoke" = 1 ]; then smoke_command; fi
	prepare_scratch
	prepare_image
	prepare_control_dir
	local start_ms
	start_ms=$(now_ms)
	echo "rig: starting the nested-KVM rig ($kernel_pkg, $rig_cpus CPUs, $mem_mib MiB, timeout $timeout_s s)" >&2
	start_console_filter "$start_ms"
	start_qemu
	wait_qemu
	report_and_exit
}

main "$@"
