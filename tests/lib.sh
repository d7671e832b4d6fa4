# tests/lib.sh - shared by the shell test suites. A suite first prints its
# plan, "1..N" (`plan N`), then one line per case:
#   ok - NAME | not ok - NAME: WHY | ok - NAME # SKIP WHY
# tests/run-suite.sh holds it to its plan and tests/check.sh counts the
# lines. Every branch of a suite prints the same number of lines: a case
# that cannot run here is a skip, with its reason. Sourced, not run.

plan() { echo "1..$1"; }

pass() { echo "ok - $1"; }
fail() { echo "not ok - $1: $2"; }
skip() { echo "ok - $1 # SKIP $2"; }
# skip_each WHY NAME...: the same reason for several cases.
skip_each() {
	local why=$1 n
	shift
	for n in "$@"; do skip "$n" "$why"; done
}

# expect NAME WANT_STATUS GOT_STATUS OUTPUT_FILE [GREP_PATTERN...]
# Passes when the status matches and every pattern is found in the output.
expect() {
	local name=$1 want=$2 got=$3 out=$4
	shift 4
	if [ "$got" != "$want" ]; then
		fail "$name" "exit status $got, wanted $want; last output: $(tail -n 5 "$out" | tr '\n' '|' | cut -c1-400)"
		return
	fi
	local p
	for p in "$@"; do
		if ! grep -qE -- "$p" "$out"; then
			fail "$name" "output lacks /$p/; last output: $(tail -n 5 "$out" | tr '\n' '|' | cut -c1-400)"
			return
		fi
	done
	pass "$name"
}

# watched SECONDS DIAG CMD... - run CMD (stdout and stderr as the caller set
# them) but give up after SECONDS: send it SIGQUIT (lxs-vm then logs its vCPU
# and queue state to its own stderr), write the kernel and gdb stacks of its
# threads to the file DIAG (and to stderr), and kill it. Returns CMD's status,
# or 124 if it was given up on. With WATCHED_VM_PID and WATCHED_VM_LOG set,
# the VM is asked for its state too and its log's tail goes to DIAG.
watched() {
	local secs=$1 log=$2 pid wd st
	shift 2
	"$@" <&0 &  # explicit: a background job would get /dev/null
	pid=$!
	(
		exec >/dev/null 2>&1
		trap 'kill "$nap"; exit 0' TERM
		sleep "$secs" & # a time limit, not synchronisation
		nap=$!
		wait "$nap"
		kill -0 "$pid" || exit 0
		echo "== watched: $* still running after $secs s; state follows" >>"$log"
		kill -QUIT "$pid"
		# A stuck session: the VM it talks to dumps its state too.
		[ -z "${WATCHED_VM_PID:-}" ] || kill -QUIT "$WATCHED_VM_PID"
		for t in /proc/"$pid"/task/*; do
			echo "-- task ${t##*/} $(cat "$t/comm") wchan=$(cat "$t/wchan")" >>"$log"
			cat "$t/stack" >>"$log" 2>/dev/null
		done
		command -v gdb >/dev/null && timeout 60 gdb -q -batch -p "$pid" -ex 'thread apply all bt' >>"$log" 2>&1
		if [ -n "${WATCHED_VM_LOG:-}" ]; then
			echo "-- the VM's log (its state dump at the end)" >>"$log"
			tail -n 80 "$WATCHED_VM_LOG" >>"$log"
		fi
		touch "$log.timedout"
		kill -KILL "$pid"
	) &
	wd=$!
	wait "$pid"
	st=$?
	kill "$wd" 2>/dev/null
	wait "$wd" 2>/dev/null
	if [ -e "$log.timedout" ]; then
		rm -f "$log.timedout"
		sed 's/^/# /' "$log" >&2
		return 124
	fi
	return "$st"
}

# until_ok SECS CMD [ARG...]: run CMD until it succeeds, at most SECS seconds
# (checking every 50 ms); its status is CMD's last. For waiting on something
# a test can observe, instead of sleeping and hoping.
until_ok() {
	local end=$(($(date +%s%N) + ${1%.*} * 1000000000))
	shift
	until "$@"; do
		[ "$(date +%s%N)" -ge "$end" ] && return 1
		sleep 0.05
	done
}
