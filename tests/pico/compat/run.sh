#!/usr/bin/env bash
# tests/pico/compat/run.sh WORKDIR ROOT LXS_PICO [RUN_AS...]
# Runs every program of the compatibility suite (build/pico-compat/t_*, from
# tests/pico/compat/t_*.c) natively and under lxs-pico in the distro folder
# ROOT, each in an empty writable directory, as RUN_AS (e.g. setpriv ...).
# Prints one result line per program (its lxs-pico result; a program that
# fails natively too is a skip), then the pass rates both ways, the way WSL
# reported LTP: all programs, and excluding known gaps (KNOWN_GAPS lists
# programs lxs-pico is known to fail, with why). Known gaps print as skips.
# It prints no plan: tests/pico/run.sh counts its cases (one per
# tests/pico/compat/t_*.c, and the rate) in its own.
set -uo pipefail
cd "$(dirname "$0")/../../.."
work=$1 root=$2 pico=$3
shift 3
as=("$@")
. tests/lib.sh
top=$PWD

make -s -j2 pico-compat >/dev/null 2>&1
bins=(build/pico-compat/t_*)
if [ ! -x "${bins[0]}" ]; then
	fail pico_compat_build "build/pico-compat does not build (make pico-compat)"
	exit 0
fi
mkdir -p "$root/opt/compat" "$work/compat-native" "$root/tmp/compat"
cp "${bins[@]}" "$root/opt/compat/"
chmod 0777 "$work/compat-native" "$root/tmp/compat"
[ "$(id -u)" = 0 ] && [ ${#as[@]} -gt 0 ] && chown -R 65534:65534 "$root/opt/compat"

declare -A gap
while read -r name why; do
	[ -n "$name" ] && [ "${name:0:1}" != "#" ] && gap[$name]=$why
done <tests/pico/compat/KNOWN_GAPS

total=0 native_ok=0 lxs_ok=0 both_ok=0 gaps=0
for b in "${bins[@]}"; do
	name=$(basename "$b")
	total=$((total + 1))
	nd=$work/compat-native/$name
	rm -rf "$nd" "$root/tmp/compat/$name"
	mkdir -p "$nd" "$root/tmp/compat/$name"
	chmod 0777 "$nd" "$root/tmp/compat/$name"
	(cd "$nd" && timeout 30 "${as[@]}" "$top/$b" >"$nd.out" 2>&1)
	n=$?
	grep -q '^PASS' "$nd.out" || n=1
	timeout 30 "${as[@]}" "$pico" --root "$root" --cwd "/tmp/compat/$name" -- "/opt/compat/$name" >"$nd.lxs" 2>&1
	l=$?
	grep -q '^PASS' "$nd.lxs" || l=1
	[ $n = 0 ] && native_ok=$((native_ok + 1))
	[ $l = 0 ] && lxs_ok=$((lxs_ok + 1))
	[ $n = 0 ] && [ $l = 0 ] && both_ok=$((both_ok + 1))
	if [ $l = 0 ]; then
		pass "compat_${name#t_}"
	elif [ $n != 0 ]; then
		skip "compat_${name#t_}" "fails natively too: $(grep -m1 FAIL "$nd.out" | cut -c1-150)"
	elif [ -n "${gap[$name]:-}" ]; then
		gaps=$((gaps + 1))
		skip "compat_${name#t_}" "known gap: ${gap[$name]}"
	else
		fail "compat_${name#t_}" "$(grep -m1 -v '^$' "$nd.lxs" | cut -c1-200)"
	fi
done
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b ? 100 * a / b : 0 }'; }
rate=$(pct $lxs_ok $total)
rate_ex=$(pct $lxs_ok $((total - gaps)))
summary="native $native_ok/$total ($(pct $native_ok $total)%), lxs-pico $lxs_ok/$total ($rate%; $rate_ex% excluding $gaps known gaps)"
echo "# compat: $summary"
echo "$summary" >"$work/compat-summary"
if awk -v r="$rate" 'BEGIN { exit !(r >= 95) }'; then
	pass "pico_compat_rate ($summary)"
else
	fail pico_compat_rate "below the 95% goal: $summary"
fi
