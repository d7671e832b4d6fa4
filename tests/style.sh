#!/usr/bin/env bash
# tests/style.sh - the code's layout: every .c and .h under src/ as
# clang-format (the repository's .clang-format) would leave it. One case:
#   ok - style_clang_format
#   not ok - style_clang_format: N files would change: FILE, FILE, ...
# `make format` rewrites them. Host-only and quick (a few seconds).
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
plan 1

if ! command -v clang-format >/dev/null; then
	fail style_clang_format "clang-format is not installed; run scripts/deps.sh build as root"
	exit 0
fi
mapfile -t files < <(find src -type f \( -name '*.c' -o -name '*.h' \) | LC_ALL=C sort)
if [ ${#files[@]} -eq 0 ]; then
	fail style_clang_format "no .c or .h files under src/"
	exit 0
fi
# One run over them all: with --dry-run -Werror, clang-format names each
# place where a file would change ("FILE:LINE:COL: error: ...") and exits 1.
out=$(clang-format --dry-run -Werror "${files[@]}" 2>&1)
st=$?
mapfile -t changed < <(grep -oE '^src/[^:]+\.[ch]:[0-9]+:[0-9]+: (error|warning):' <<<"$out" |
	cut -d: -f1 | LC_ALL=C sort -u)
if [ $st -ne 0 ] && [ ${#changed[@]} -eq 0 ]; then
	fail style_clang_format "clang-format exited $st: $(head -n 1 <<<"$out")"
	exit 0
fi
if [ ${#changed[@]} -eq 0 ]; then
	pass style_clang_format
else
	# The first ten by name; clang-format --dry-run FILE shows where.
	list=$(printf '%s, ' "${changed[@]:0:10}")
	list=${list%, }
	[ ${#changed[@]} -le 10 ] || list="$list and $((${#changed[@]} - 10)) more"
	fail style_clang_format "${#changed[@]} files would change: $list (of ${#files[@]}; make format fixes them)"
fi
