#!/usr/bin/env bash
# tests/cycles.sh - a static check that no two source files in a folder of
# src/ call into each other: for every pair of .c files in the same folder,
# whether each calls a function the other defines. Calls between files must
# go one way only, so that each file can be read (and changed) knowing only
# the files below it.
#
# It reads the objects of the build (build/obj/FOLDER/FILE.o; make check
# builds those of src/guest and src/pico too, by their own rules): a file
# calls what its object leaves undefined (nm's U) and defines the functions
# its object exports (T, W). Data shared between files (src/pico's `pico`)
# is not a call and not counted.
#
# Prints TAP for tests/check.sh:
#   1..1
#   ok - no call cycles between files (N files in M folders; K known ones left)
#   not ok - call cycles between files: src/a/x.c <-> src/a/y.c (x calls f, g; y calls h); ...
# Exits 1 when the check fails, 0 otherwise. The cycles in KNOWN are not
# cut yet: each is shown as a TAP comment and does not fail the check, but
# one that is gone fails it until it is taken out of the list, so that the
# list only shrinks.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
obj=${O:-build}/obj

KNOWN=(
)

echo "1..1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

in_list() { # WORD LIST...: is WORD one of LIST?
	local w=$1 k
	shift
	for k in "$@"; do [ "$k" = "$w" ] && return 0; done
	return 1
}

missing=() cycles=() seen=() files=0 folders=0
for dir in src/*/; do
	folder=$(basename "$dir")
	srcs=("$dir"*.c)
	[ -e "${srcs[0]}" ] || continue
	folders=$((folders + 1))
	names=()
	for src in "${srcs[@]}"; do
		name=$(basename "$src" .c)
		o=$obj/$folder/$name.o
		# An object older than its source would tell of calls it no longer makes.
		if [ ! -f "$o" ] || [ "$o" -ot "$src" ]; then
			missing+=("$o")
			continue
		fi
		names+=("$name")
		files=$((files + 1))
		nm "$o" | awk '$1 == "U" { print $2 }' | sort -u >"$tmp/$folder.$name.calls"
		nm "$o" | awk 'NF == 3 && ($2 == "T" || $2 == "W") { print $3 }' | sort -u >"$tmp/$folder.$name.defs"
	done
	for i in "${!names[@]}"; do
		for j in "${!names[@]}"; do
			[ "$j" -gt "$i" ] || continue # each pair once
			a=${names[i]} b=${names[j]}
			ab=$(comm -12 "$tmp/$folder.$a.calls" "$tmp/$folder.$b.defs" | paste -sd, | sed 's/,/, /g')
			ba=$(comm -12 "$tmp/$folder.$b.calls" "$tmp/$folder.$a.defs" | paste -sd, | sed 's/,/, /g')
			if [ -z "$ab" ] || [ -z "$ba" ]; then continue; fi
			pair="src/$folder/$a.c <-> src/$folder/$b.c"
			if in_list "$pair" "${KNOWN[@]}"; then
				echo "# known: $pair ($a calls $ab; $b calls $ba)"
				seen+=("$pair")
			else
				cycles+=("$pair ($a calls $ab; $b calls $ba)")
			fi
		done
	done
done

if [ ${#missing[@]} -gt 0 ]; then
	echo "not ok - call cycles between files: missing or stale objects (make check builds them): ${missing[*]}"
	exit 1
fi
for k in "${KNOWN[@]}"; do
	in_list "$k" "${seen[@]}" && continue
	cycles+=("$k is in KNOWN but is no cycle any more: take it out of tests/cycles.sh")
done
if [ ${#cycles[@]} -gt 0 ]; then
	msg=$(printf '%s; ' "${cycles[@]}")
	echo "not ok - call cycles between files: ${msg%; }"
	exit 1
fi
echo "ok - no call cycles between files ($files files in $folders folders; ${#KNOWN[@]} known ones left)"
