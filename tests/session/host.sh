#!/usr/bin/env bash
# The session suite against lxs-init in test mode (--serve-unix) on this host:
# the protocol, relay and client, without a VM.
set -uo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
sock=$tmp/init.sock
build/guest/lxs-init --serve-unix "$sock" 2>"$tmp/init.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
PREFIX=${PREFIX:-session_host} tests/session/suite.sh unix "$sock"
