# tests/lib.sh - shared by the shell test suites. Each case prints one line:
#   ok - NAME | not ok - NAME: WHY | ok - NAME # SKIP WHY
# and tests/check.sh counts them. Sourced, not run.

pass() { echo "ok - $1"; }
fail() { echo "not ok - $1: $2"; }
skip() { echo "ok - $1 # SKIP $2"; }

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
