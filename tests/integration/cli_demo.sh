#!/usr/bin/env bash
# cli_demo.sh - `x400mta demo` (the README's main job): exit 0, mail delivered both ways with
# the delivery report, the LTAB shown, both daemons gone afterwards and the directory removed;
# with --keep the directory stays.
set -euo pipefail
X=${OX_BUILD:?}/src/cli/x400mta
out=$(mktemp)
keepdir=$(mktemp -d /tmp/ox-demo-keep-XXXXXX)
trap 'rm -rf "$out" "$keepdir"' EXIT
fail() { echo "FAIL: $*"; cat "$out"; exit 1; }
timeout 120 "$X" demo >"$out" 2>&1 || fail "x400mta demo exited $?"
grep -q '^demo: ok$' "$out" || fail "no 'demo: ok'"
grep -q 'SITEB delivered 4 message(s) to Bob; SITEA delivered 2 to Alice' "$out" || fail "not everything delivered"
grep -q '^Subject:      Hello from SITEA' "$out" || fail "the delivered message is not shown"
grep -q '^Delivered:    C=GB;A= ;P=SiteB;S=Bob' "$out" || fail "the delivery report is not shown"
grep -q '^LTAB DIR STATE' "$out" || fail "the LTAB is not shown"
dir=$(sed -n 's/^== openx400 .*: two MTAs in //p' "$out")
[ -n "$dir" ] && [ ! -e "$dir" ] || fail "the demo directory $dir was not removed"
pgrep -f "serve --config $dir/" >/dev/null && fail "a daemon of the demo still runs"
timeout 120 "$X" demo --dir "$keepdir/d" --keep --messages 1 >"$out" 2>&1 || fail "demo --keep exited $?"
grep -q 'demo: ok (files kept in' "$out" || fail "no 'kept' note"
[ -f "$keepdir/d/SITEA.ini" ] && [ -f "$keepdir/d/SITEB/events.jsonl" ] || fail "--keep removed the files"
pgrep -f "serve --config $keepdir/d/" >/dev/null && fail "a daemon of the kept demo still runs"
echo "cli_demo: ok"
