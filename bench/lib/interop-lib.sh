# bench/lib/interop-lib.sh - sourced by bench/interop (version 1, on this
# host) and bench/lib/interop-vm.sh (version 2, in the rig or on a host
# whose /dev/kvm runs guests): the two things bench/interop sets side by
# side, measured the same way in the same place.
#   lxs-host   from inside one running session of distro D: 100 `lxs-host
#              true` timed by /bin/timeit in the distro (bench/lib/timeit.c,
#              added to the busybox tarball by bench/interop), and
#              `head -c 256MiB /dev/zero | lxs-host cat >/dev/null`
#   ssh        the peer: an sshd of our own on 127.0.0.1 (throwaway keys,
#              key auth only, no PAM), `ssh 127.0.0.1 true` 100 times and the
#              same 256 MiB pipe through `ssh 127.0.0.1 cat`
# The caller sets IO_TMP (a folder of its own), IO_TIMEIT (timeit on this
# side) and IO_LXS (the lxs to run). LXS_INTEROP_TRUE_RUNS (100),
# LXS_INTEROP_REF_RUNS (10) and LXS_INTEROP_PIPE_RUNS (3) change the counts
# (LXS_* names: tests/rig/rig.sh carries them into the rig). Every
# measurement is under `timeout`; results go to stdout as numbers, failures
# to stderr as one line and status 1.
# shellcheck shell=bash

IO_TRUE_RUNS=${LXS_INTEROP_TRUE_RUNS:-100}
IO_REF_RUNS=${LXS_INTEROP_REF_RUNS:-10}
IO_PIPE_RUNS=${LXS_INTEROP_PIPE_RUNS:-3}
IO_PIPE_BYTES=268435456 # 256 MiB
io_sshd_pid=""
io_sshd_port=""
io_made_privsep=""

io_say() { echo "bench/interop: $*" >&2; }
io_median() { sort -n | awk '{a[NR]=$1} END {if (NR) print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
# Nanoseconds, one a line, to the median in ms (2 decimals).
io_median_ms() { io_median | awk 'NF {printf "%.2f", $1 / 1e6}'; }
# Nanoseconds for IO_PIPE_BYTES, one a line, to the median in MiB/s.
io_median_mibs() { awk -v b="$IO_PIPE_BYTES" 'NF {printf "%.0f\n", b / 1048576 / ($1 / 1e9)}' | io_median; }

# ---- the ssh peer -------------------------------------------------------------

io_sshd_bin() {
	local s
	s=$(command -v sshd 2>/dev/null) || s=/usr/sbin/sshd
	[ -x "$s" ] || { io_say "sshd is not installed (Debian's openssh-server: scripts/deps.sh build)"; return 1; }
	echo "$s"
}

# Starts sshd -D as the current user on a free port of 127.0.0.1; sets
# io_sshd_pid and io_sshd_port. Polls (bounded) until the port listens.
io_ssh_start() {
	local sshd t=$IO_TMP/ssh
	sshd=$(io_sshd_bin) || return 1
	if ! command -v ssh >/dev/null || ! command -v ssh-keygen >/dev/null; then
		io_say "ssh or ssh-keygen is missing (Debian's openssh-client)"
		return 1
	fi
	mkdir -p "$t" && chmod 0700 "$t"
	ssh-keygen -q -t ed25519 -N '' -C interop-host -f "$t/host_key" </dev/null || return 1
	ssh-keygen -q -t ed25519 -N '' -C interop-user -f "$t/user_key" </dev/null || return 1
	cp "$t/user_key.pub" "$t/authorized_keys"
	# sshd started by root separates privileges into a chroot at this
	# compiled-in folder, which only the service's start-up makes.
	if [ "$(id -u)" = 0 ] && [ ! -d /run/sshd ]; then
		mkdir -m 0755 /run/sshd && io_made_privsep=1
	fi
	# SetEnv SHLVL=1: Debian's bash reads ~/.bashrc when sshd starts it
	# (SSH_CLIENT set, SHLVL below 2), so the remote `bash -c true` would pay
	# for whatever this user's rc file runs (pyenv init: +0.5 s a call here).
	# At SHLVL 1 it reads none: the peer is ssh itself, not anyone's dotfiles.
	for _ in 1 2 3 4 5; do
		io_sshd_port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		cat >"$t/sshd_config" <<-CONF
			# bench/interop's ssh peer: this user, the loopback, key auth only.
			Port $io_sshd_port
			ListenAddress 127.0.0.1
			HostKey $t/host_key
			PidFile $t/sshd.pid
			AuthorizedKeysFile $t/authorized_keys
			PubkeyAuthentication yes
			PasswordAuthentication no
			KbdInteractiveAuthentication no
			UsePAM no
			PermitRootLogin prohibit-password
			StrictModes no
			UseDNS no
			PrintMotd no
			PrintLastLog no
			X11Forwarding no
			AllowTcpForwarding no
			MaxStartups 100:30:200
			SetEnv SHLVL=1
			LogLevel ERROR
		CONF
		"$sshd" -D -e -f "$t/sshd_config" 2>>"$t/sshd.log" &
		io_sshd_pid=$!
		for _ in $(seq 100); do
			kill -0 "$io_sshd_pid" 2>/dev/null || break
			# Our sshd's own listener, not someone else's on that port.
			if ss -Hltnp "sport = :$io_sshd_port" 2>/dev/null | grep -q "pid=$io_sshd_pid,"; then
				io_say "sshd (pid $io_sshd_pid) listens on 127.0.0.1:$io_sshd_port"
				return 0
			fi
			sleep 0.1
		done
		io_sshd_kill
	done
	io_say "sshd did not come up on the loopback in 5 tries: $(tail -n 3 "$t/sshd.log" | tr '\n' ' ')"
	return 1
}

io_sshd_kill() {
	if [ -n "$io_sshd_pid" ]; then
		kill "$io_sshd_pid" 2>/dev/null || true
		timeout 10 tail --pid="$io_sshd_pid" -f /dev/null 2>/dev/null || kill -9 "$io_sshd_pid" 2>/dev/null || true
		wait "$io_sshd_pid" 2>/dev/null || true
		io_sshd_pid=""
	fi
}

# Stops our sshd and removes the privilege separation folder if we made it.
io_ssh_stop() {
	io_sshd_kill
	if [ -n "$io_made_privsep" ]; then
		rmdir /run/sshd 2>/dev/null || true
		io_made_privsep=""
	fi
}

# The ssh command line; the caller appends the remote command.
io_ssh_cmd() {
	local t=$IO_TMP/ssh
	echo ssh -F /dev/null -T -p "$io_sshd_port" -i "$t/user_key" -o IdentitiesOnly=yes \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile="$t/known_hosts" -o BatchMode=yes \
		-o LogLevel=ERROR -o ControlMaster=no -o ControlPath=none 127.0.0.1
}

# Median ms of IO_TRUE_RUNS `ssh 127.0.0.1 true` (after one that learns the host key).
io_ssh_true() {
	local ssh
	ssh=$(io_ssh_cmd)
	# shellcheck disable=SC2086 # io_ssh_cmd's words
	timeout 60 $ssh true </dev/null || { io_say "ssh 127.0.0.1 true failed: $(tail -n 3 "$IO_TMP/ssh/sshd.log" | tr '\n' ' ')"; return 1; }
	# shellcheck disable=SC2086
	timeout $((IO_TRUE_RUNS * 20 + 60)) "$IO_TIMEIT" "$IO_TRUE_RUNS" $ssh true </dev/null >"$IO_TMP/ssh_true.ns" ||
		{ io_say "timing ssh 127.0.0.1 true failed or timed out"; return 1; }
	io_median_ms <"$IO_TMP/ssh_true.ns"
}

# Median MiB/s of IO_PIPE_RUNS 256 MiB pipes through `ssh 127.0.0.1 cat`.
io_ssh_pipe() {
	local ssh
	ssh=$(io_ssh_cmd)
	timeout $((IO_PIPE_RUNS * 600 + 60)) "$IO_TIMEIT" "$IO_PIPE_RUNS" sh -c \
		"head -c $IO_PIPE_BYTES /dev/zero | $ssh cat >/dev/null" </dev/null >"$IO_TMP/ssh_pipe.ns" ||
		{ io_say "256 MiB through ssh 127.0.0.1 cat failed or timed out"; return 1; }
	io_median_mibs <"$IO_TMP/ssh_pipe.ns"
}

# ---- lxs-host, from inside a session of distro D -------------------------------

# Status 0 when the distro's PATH has lxs-host; else one clear line.
io_lxs_has_host() { # D
	local where
	where=$(timeout 600 "$IO_LXS" -d "$1" -- sh -c 'command -v lxs-host' </dev/null 2>/dev/null) || true
	[ -n "$where" ] && return 0
	io_say "lxs-host is not in this build (\`lxs -d $1 -- sh -c 'command -v lxs-host'\` finds nothing)"
	return 1
}

# Median ms of IO_REF_RUNS `lxs -d D -- true`, the session already started.
io_lxs_true() { # D
	timeout 600 "$IO_LXS" -d "$1" -- true </dev/null || { io_say "lxs -d $1 -- true failed"; return 1; }
	timeout $((IO_REF_RUNS * 30 + 60)) "$IO_TIMEIT" "$IO_REF_RUNS" "$IO_LXS" -d "$1" -- true </dev/null >"$IO_TMP/lxs_true.ns" ||
		{ io_say "timing lxs -d $1 -- true failed or timed out"; return 1; }
	io_median_ms <"$IO_TMP/lxs_true.ns"
}

# Median ms of IO_TRUE_RUNS `lxs-host true`, all from one session inside D.
io_lxs_host_true() { # D
	timeout $((IO_TRUE_RUNS * 20 + 120)) "$IO_LXS" -d "$1" -- /bin/timeit "$IO_TRUE_RUNS" lxs-host true </dev/null \
		>"$IO_TMP/host_true.ns" || { io_say "timing lxs-host true inside $1 failed or timed out"; return 1; }
	io_median_ms <"$IO_TMP/host_true.ns"
}

# Median MiB/s of IO_PIPE_RUNS 256 MiB pipes through `lxs-host cat` inside D.
io_lxs_host_pipe() { # D
	timeout $((IO_PIPE_RUNS * 600 + 120)) "$IO_LXS" -d "$1" -- /bin/timeit "$IO_PIPE_RUNS" sh -c \
		"head -c $IO_PIPE_BYTES /dev/zero | lxs-host cat >/dev/null" </dev/null >"$IO_TMP/host_pipe.ns" ||
		{ io_say "256 MiB through lxs-host cat inside $1 failed or timed out"; return 1; }
	io_median_mibs <"$IO_TMP/host_pipe.ns"
}

# Every measurement of one side, as KEY=VALUE lines (na for what failed or
# could not run): ref_ms host_true_ms ssh_true_ms host_pipe_mibs ssh_pipe_mibs.
# Status 1 if lxs-host was missing or a measurement failed.
io_measure_all() { # D
	local d=$1 st=0 v
	v=$(io_lxs_true "$d") || { v=na; st=1; }
	echo "ref_ms=$v"
	if io_lxs_has_host "$d"; then
		v=$(io_lxs_host_true "$d") || { v=na; st=1; }
		echo "host_true_ms=$v"
		v=$(io_lxs_host_pipe "$d") || { v=na; st=1; }
		echo "host_pipe_mibs=$v"
	else
		st=1
		echo "host_true_ms=na"
		echo "host_pipe_mibs=na"
	fi
	if io_ssh_start; then
		v=$(io_ssh_true) || { v=na; st=1; }
		echo "ssh_true_ms=$v"
		v=$(io_ssh_pipe) || { v=na; st=1; }
		echo "ssh_pipe_mibs=$v"
		io_ssh_stop
	else
		st=1
		echo "ssh_true_ms=na"
		echo "ssh_pipe_mibs=na"
	fi
	return $st
}
