#!/usr/bin/env bash
# seed_002_open_interval.sh - seed 002 (Q150927): after a link error the MTA redialled at
# once instead of waiting the Open Interval. Here:
#  1. an on-demand connector whose link-up command exits 1, Open Interval 2 s, for 10 s:
#     5 or 6 link-up attempts (event 9311 each, with the code and the command's stderr),
#     never more; the queue view shows the attempts and the next retry;
#  2. after Max Open Retries (3) the originator gets a non-delivery report;
#  3. the same with the peer down (TCP refused) on a LAN connector: 5 or 6 opens (289);
#  4. then link-up works: the mail goes, link-down runs after the association ends.
set -euo pipefail
. "$(dirname "$0")/lib/mta.sh"
pa=$(free_port); pb=$(free_port)
site A "$pa"
connector A dial B "$pb" "kind = ondemand" "link-up = echo dialler: no carrier >&2; exit 1" \
  "link-down = touch $dir/link-down" "max-open-retries = 100"
start A
t0=$(date +%s.%N)
submit A B --subject "seed 002" >/dev/null
sleep 10
n=$(events A 9311)
[ "$n" -ge 5 ] && [ "$n" -le 6 ] || fail "link-up attempts in 10 s with Open Interval 2 s: $n, want 5 or 6"
grep -q 'exited with code 1: dialler: no carrier' <<<"$(first_event_text A 9311)" ||
  fail "9311 does not carry the code and the stderr: $(event_text A 9311 | head -1)"
grep -q 'open interval (2 s)' <<<"$(first_event_text A 9311)" || fail "9311 does not say when the next attempt is"
"$X" queue -c "$dir/A.ini" >"$dir/queue.txt"
grep -q 'dial' "$dir/queue.txt" || fail "queue view has no line for the connector: $(cat "$dir/queue.txt")"
[ -f "$dir/link-down" ] && fail "link-down ran although the link never came up"
echo "seed 002: $n link-up attempts in 10 s (Open Interval 2 s)"
stop A

# ---- 2. Max Open Retries then non-delivery ----
pa=$(free_port)
site A2 "$pa"
connector A2 dial B "$pb" "kind = ondemand" "link-up = exit 7" "max-open-retries = 3"
start A2
submit A2 B --subject "ndr" >/dev/null
wait_count A2 1 20 || fail "no non-delivery report after max-open-retries"
[ "$(events A2 9311)" -le 4 ] || fail "more than max-open-retries+1 link-up attempts: $(events A2 9311)"
[ "$(events A2 205)" -ge 1 ] || fail "no report event 205"
echo "seed 002: non-delivery report after $(events A2 9311) failed link-ups (max-open-retries 3)"
stop A2

# ---- 3. LAN connector, peer down ----
pa=$(free_port)
site A3 "$pa"
connector A3 lan B "$pb" "max-open-retries = 100"
start A3
submit A3 B --subject "lan" >/dev/null
sleep 10
n=$(events A3 289)
[ "$n" -ge 5 ] && [ "$n" -le 6 ] || fail "opens in 10 s with the peer down: $n, want 5 or 6"
echo "seed 002: $n refused opens in 10 s (Open Interval 2 s)"

# ---- 4. link-up works: delivered, link-down after the association ----
pa=$(free_port)
site A4 "$pa"
connector A4 dial B "$pb" "kind = ondemand" "link-up = touch $dir/link-up4" \
  "link-down = touch $dir/link-down4" "lifetime = 1" "bindback = no"
site B "$pb"
connector B back A4 "$pa"
sed -i 's/^peer-mta = SITEA4/peer-mta = SITEA4/' "$dir/B.ini"
start B; start A4
submit A4 B --subject "over the link" >/dev/null
wait_count B 1 20 || fail "the message did not cross the on-demand link"
for _ in $(seq 100); do [ -f "$dir/link-down4" ] && break; sleep 0.1; done
[ -f "$dir/link-up4" ] || fail "link-up did not run"
[ -f "$dir/link-down4" ] || fail "link-down did not run after the association"
wait_event A4 501 1 5 || fail "no link-down event 501"
echo "seed 002: on-demand link up, message delivered, link down after the lifetime"
