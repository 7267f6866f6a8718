#!/usr/bin/env bash
# test_peer.sh - x400mta test-peer CONNECTOR (issue 7): each step with its time; on failure
# the step, the peer's answer and the fix; no mail sent, the Open Interval untouched.
#  1. a working LAN peer: exit 0, steps resolve / connect / bind / release;
#  2. the peer expects another password: exit 1, quotes "refused our bind", gives a fix;
#  3. the peer is down: exit 1, "connection refused" for each address, a fix;
#  4. an on-demand connector: link-up runs first and link-down after, both shown;
#  5. an unknown connector: exit 1 with a clear error.
set -euo pipefail
. "$(dirname "$0")/lib/mta.sh"
pa=$(free_port); pb=$(free_port); pdown=$(free_port)
site A "$pa"
connector A tob B "$pb"
connector A badpw B "$pb" "override-password = nope"
connector A down B "$pdown"
connector A dial B "$pb" "kind = ondemand" "link-up = touch $dir/up" "link-down = touch $dir/down" \
  "bindback = no"
site B "$pb"
connector B toa A "$pa"
"$X" check-config -c "$dir/A.ini" >/dev/null 2>"$dir/check.txt" || fail "config: $(cat "$dir/check.txt")"
start A; start B

"$X" test-peer -c "$dir/A.ini" tob >"$dir/ok.txt" || fail "test-peer tob failed: $(cat "$dir/ok.txt")"
for step in 'resolves to' 'TCP connected' 'bound:' 'release sent' 'released in order' 'result: ok'; do
  grep -q "$step" "$dir/ok.txt" || fail "test-peer output lacks '$step': $(cat "$dir/ok.txt")"
done
grep -qE '^ *[0-9]+ ms ' "$dir/ok.txt" || fail "steps carry no times"
echo "test-peer ok:"; sed 's/^/    /' "$dir/ok.txt"

rc=0; "$X" test-peer -c "$dir/A.ini" badpw >"$dir/bad.txt" || rc=$?
[ "$rc" -eq 1 ] || fail "test-peer badpw exit $rc, want 1"
grep -q 'refused our bind' "$dir/bad.txt" || fail "no peer answer quoted: $(cat "$dir/bad.txt")"
grep -q '^fix: ' "$dir/bad.txt" || fail "no fix: $(cat "$dir/bad.txt")"
echo "test-peer wrong password:"; sed 's/^/    /' "$dir/bad.txt"

rc=0; "$X" test-peer -c "$dir/A.ini" down >"$dir/down.txt" || rc=$?
[ "$rc" -eq 1 ] || fail "test-peer down exit $rc, want 1"
grep -qi 'connection refused' "$dir/down.txt" || fail "no refused connect shown: $(cat "$dir/down.txt")"
grep -q '^fix: ' "$dir/down.txt" || fail "no fix: $(cat "$dir/down.txt")"

"$X" test-peer -c "$dir/A.ini" dial >"$dir/dial.txt" || fail "test-peer dial failed: $(cat "$dir/dial.txt")"
grep -q 'running link-up' "$dir/dial.txt" && grep -q 'running link-down' "$dir/dial.txt" ||
  fail "link-up/link-down not shown: $(cat "$dir/dial.txt")"
[ -f "$dir/up" ] && [ -f "$dir/down" ] || fail "link-up or link-down did not run"

rc=0; "$X" test-peer -c "$dir/A.ini" nosuch >"$dir/none.txt" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && grep -q "no connector 'nosuch'" "$dir/none.txt" || fail "unknown connector: rc $rc, $(cat "$dir/none.txt")"

# No mail moved and no Open Interval was started by the probes.
[ "$(count B)" -eq 0 ] || fail "test-peer carried mail"
"$X" queue -c "$dir/A.ini" | awk '$1=="down" && NF>3 {print}' | grep -q 'open interval' &&
  fail "test-peer started the Open Interval of 'down'"
echo "test-peer: ok, wrong password, peer down, on-demand and unknown connector all reported"
