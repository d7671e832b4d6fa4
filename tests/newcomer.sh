#!/usr/bin/env bash
# tests/newcomer.sh - what a newcomer on a fresh Debian 12 machine meets, in
# its cheap parts: every tool the suites call comes from scripts/deps.sh (a
# static scan), and a copy of this checkout in a 0700 folder under /tmp,
# with a space in its path, builds, passes the session suite (as root and,
# from its staged copy, as uid 65534), runs `make run`'s version-1 path to
# the distro's os-release, and runs a command in the nested-KVM rig (which
# must share a checkout that lives under /tmp). The whole "fresh clone,
# make run && make check" is rehearsed by hand before an issue is closed.
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
plan 6
top=$PWD

# --- the static scan --------------------------------------------------------------
scan=$(python3 tests/deps_scan.py 2>&1)
st=$?
line=$(grep -m 1 -E '^(not )?ok - ' <<<"$scan")
case "$st:$line" in
0:"ok - "*) pass "newcomer_${line#ok - }" ;;
*) fail newcomer_deps_scan "${line:-tests/deps_scan.py exited $st without a result}" ;;
esac

# --- a checkout in a 0700 folder with a space in its path -----------------------------
outer=$(mktemp -d /tmp/lxs-newcomer.XXXXXX) # mktemp -d makes it 0700, as root's home is
work="$outer/a checkout"
cleanup() {
	[ -z "${rundata:-}" ] || XDG_DATA_HOME=$rundata/data XDG_RUNTIME_DIR=$rundata/run "$work/build/lxs" --shutdown >/dev/null 2>&1
	rm -rf "$outer" "${stage_root:-}"
}
trap cleanup EXIT
mkdir -p "$work"
# The files git tracks, as they are now (a clone would leave out what is not
# committed yet); a tree that is no git checkout is copied less build/.
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git -C "$top" ls-files -z | tar -C "$top" -c --null -T - | tar -x -C "$work"
else
	tar -C "$top" -c --exclude=./build . | tar -x -C "$work"
fi
if (cd "$work" && make -s -j2 all) >"$outer/build.log" 2>&1; then
	pass newcomer_builds_in_0700_folder_with_space
else
	fail newcomer_builds_in_0700_folder_with_space "$(tail -n 3 "$outer/build.log" | tr '\n' '|')"
fi

# ok_suite NAME CMD...: one case for a whole suite run through run-suite.sh.
ok_suite() {
	local name=$1
	shift
	"$top/tests/run-suite.sh" "$name" "$@" >"$outer/$name.out" 2>&1
	if grep -q '^not ok' "$outer/$name.out" || ! grep -q '^ok - ' "$outer/$name.out"; then
		fail "$name" "$(grep -m 2 '^not ok' "$outer/$name.out" | tr '\n' '|' | cut -c1-300)"
	else
		pass "$name ($(grep -c '^ok - ' "$outer/$name.out") cases)"
	fi
}
ok_suite newcomer_session_suite "$work/tests/session/host.sh"

if [ "$(id -u)" = 0 ]; then
	stage_root=$(mktemp -d /tmp/lxs-newcomer-stage.XXXXXX)
	chmod 0755 "$stage_root"
	if "$work/tests/stage.sh" "$stage_root/stage" >"$outer/stage.log" 2>&1; then
		ok_suite newcomer_session_suite_as_nobody setpriv --reuid=65534 --regid=65534 --clear-groups \
			env HOME=/nonexistent "$stage_root/stage/tests/session/host.sh"
	else
		fail newcomer_session_suite_as_nobody "tests/stage.sh failed: $(tail -n 2 "$outer/stage.log" | tr '\n' '|')"
	fi
else
	skip newcomer_session_suite_as_nobody "not root, so the suite above already ran as an ordinary user"
fi

# --- make run's version-1 path: the default Debian distro's os-release --------------------
# Its own data folders: the user's distros are not touched.
rundata=$outer/run-state
if [ "$(id -u)" != 0 ] && ! ls "${LXS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lxs}"/distro/debian-bookworm-minbase*.tar.zst >/dev/null 2>&1; then
	skip newcomer_make_run_version_1 "no cached Debian tarball, and debootstrap needs root"
else
	(cd "$work" && XDG_DATA_HOME=$rundata/data XDG_CONFIG_HOME=$rundata/config XDG_RUNTIME_DIR=$rundata/run \
		LXS_RUN_VERSION=1 scripts/run.sh) >"$outer/run.out" 2>&1
	expect newcomer_make_run_version_1 0 $? "$outer/run.out" "^run: version 1 " "^PRETTY_NAME=\"Debian GNU/Linux" \
		"^VERSION_CODENAME=bookworm$"
fi

# --- the rig shares a checkout under /tmp ---------------------------------------------
(cd "$work" && tests/rig/rig.sh --timeout 600 --smoke) >"$outer/rig.out" 2>&1
expect newcomer_rig_runs_checkout_under_tmp 0 $? "$outer/rig.out" "."
exit 0
