#!/usr/bin/env bash
# ondemand_schedule.sh - connector schedules and the on-demand link (issue 7):
#  1. selected-times: a message submitted before the window waits (event 503) and goes at the
#     window's start; at the window's end the association is released (not kept for its
#     lifetime) and later mail waits for the next window;
#  2. remote-initiated: A never dials; its queued mail goes to B on the association B opens;
#  3. link-up timeout: a link-up command that hangs is killed (with its children) after the
#     link timeout, events 502 and 9311, and the next attempt waits the Open Interval.
set -euo pipefail
. "$(dirname "$0")/lib/mta.sh"
utc() { python3 -c "import time,sys; print(time.strftime(sys.argv[1], time.gmtime(time.time()+float(sys.argv[2]))))" "$@"; }
sent_at() { # SITE ID: epoch seconds of the first event ID
  python3 - "$dir/$1/events.jsonl" "$2" <<'PY'
import json, sys, datetime
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["id"] == int(sys.argv[2]):
        print(datetime.datetime.fromisoformat(e["time"].replace("Z", "+00:00")).timestamp()); break
PY
}

# ---- 1. selected-times ----
pa=$(free_port); pb=$(free_port)
# A window opening 5 s from now and closing 12 s from now, in UTC (timezone = UTC).
start_s=$(python3 -c 'import time; print(int(time.time()) + 5)')
win="$(utc %a 5) $(utc %H:%M:%S 5)-$(utc %H:%M:%S 12)"
site A "$pa" "timezone = UTC"
connector A tob B "$pb" "schedule = selected-times" "window = $win" "lifetime = 300"
site B "$pb"
connector B toa A "$pa" "schedule = never"
start A; start B
submit A B --subject "before the window" >/dev/null
sleep 2
[ "$(count B)" -eq 0 ] || fail "the message went before the window ($win)"
wait_event A 503 1 3 || fail "no schedule-wait event 503"
wait_count B 1 10 || fail "the message did not go in the window ($win)"
t=$(sent_at B 203)
python3 -c "import sys; sys.exit(0 if $t >= $start_s - 0.05 and $t <= $start_s + 3 else 1)" ||
  fail "delivered at $t, the window opened at $start_s"
echo "schedule: waited for the window ($win), delivered $(python3 -c "print(round($t - $start_s, 2))") s after it opened"
# The window closes at start+7 s: the association is released then, not after its lifetime.
while [ "$(date +%s)" -lt $((start_s + 8)) ]; do sleep 0.2; done
for _ in $(seq 30); do
  n=$("$X" assoc -c "$dir/A.ini" --json | grep -c '"direction":"out"' || true)
  [ "$n" -eq 0 ] && break
  sleep 0.1
done
[ "$n" -eq 0 ] || fail "the association outlived the window: $("$X" assoc -c "$dir/A.ini")"
submit A B --subject "after the window" >/dev/null
sleep 3
[ "$(count B)" -eq 1 ] || fail "mail went outside the window"
"$X" queue -c "$dir/A.ini" | grep -qi 'window' || fail "the queue view does not say it waits for the window: $("$X" queue -c "$dir/A.ini")"
echo "schedule: released at the window's end; later mail waits for the next window"
stop A; stop B

# ---- 2. remote-initiated ----
rm -rf "$dir/A" "$dir/B"
pa=$(free_port); pb=$(free_port)
site A "$pa"
connector A tob B "$pb" "schedule = remote-initiated"
site B "$pb"
connector B toa A "$pa"
start A; start B
submit A B --subject "waits for B to call" >/dev/null
sleep 3
[ "$(count B)" -eq 0 ] || fail "remote-initiated connector dialled out"
grep -q '"id":300.*association to' "$dir/A/events.jsonl" && fail "A opened an association itself"
submit B A --subject "B calls" >/dev/null
wait_count A 1 10 || fail "B's message did not arrive"
wait_count B 1 10 || fail "A's queued mail did not go on B's association"
grep -q '"id":300.*association to' "$dir/A/events.jsonl" && fail "A opened an association itself"
echo "remote-initiated: A never dialled; its mail went on the association B opened"
stop A; stop B

# ---- 3. link-up timeout ----
rm -rf "$dir/A"
pa=$(free_port)
marker="ox-linkup-hang-$$"
site A "$pa"
connector A dial B "$pb" "kind = ondemand" "link-up = sleep 60 # $marker" "link-timeout = 2" \
  "max-open-retries = 100"
start A
submit A B --subject "hanging dialler" >/dev/null
wait_event A 502 1 5 || fail "no link timeout event 502 within 5 s (link-timeout 2 s)"
wait_event A 9311 1 1 || fail "no 9311 after the link timeout"
sleep 0.5
pgrep -f "$marker" >/dev/null && fail "the hung link-up command was not killed"
sleep 3
n=$(events A 502)
[ "$n" -le 2 ] || fail "$n link-up attempts in ~6 s with link-timeout 2 s and Open Interval 2 s"
echo "link-up timeout: killed after 2 s (502, 9311), $n attempt(s) in ~6 s"
