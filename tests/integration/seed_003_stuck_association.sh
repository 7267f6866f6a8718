#!/usr/bin/env bash
# seed_003_stuck_association.sh - seed 003 (Q181721): the association opened, but the receiver
# had lost it and NAKed every transfer; mail backed up until the message threshold (50) forced
# a new association. Here:
#  1. a proxy passes the bind and then black-holes the association (the first two
#     connections): the sender sees no progress within the recovery timeout (3 s), logs 9316
#     and 1294 with the LTAB index, aborts, and opens a fresh association at once (302); every
#     message arrives exactly once;
#  2. the same with a proxy that resets the association after the bind;
#  3. load: 500 queued messages with threshold 50 open several associations at once (303),
#     and all 500 arrive exactly once.
set -euo pipefail
. "$(dirname "$0")/lib/mta.sh"
PROXY=$OX_BUILD/tests/tools/tool_common_faultproxy
proxy() { # PORTFILE LISTEN TARGET faults...
  local pf=$1 listen=$2 target=$3
  shift 3
  "$PROXY" --listen "127.0.0.1:$listen" --target "127.0.0.1:$target" --port-file "$pf" \
    --max-seconds 200 --log "$dir/proxy.log" "$@" &
  pids+=($!)
  for _ in $(seq 50); do [ -s "$pf" ] && return 0; sleep 0.1; done
  fail "proxy did not start"
}
delivered() { events "$1" 203; }

if [ -z "${OX_SEED3_ONLY_LOAD:-}" ]; then
# A sends to B through a proxy that applies FAULT to its first two connections, then 5
# messages (recovery timeout 3 s, transfer interval 1 s).
through_faulty_proxy() { # FAULT
  rm -rf "$dir/A" "$dir/B"
  pa=$(free_port); pb=$(free_port); pp=$(free_port)
  site A "$pa"
  connector A tob B "$pp" "recovery-timeout = 3" "transfer-interval = 1" "max-transfer-retries = 5"
  site B "$pb"
  connector B toa A "$pa" "schedule = never"
  start B
  proxy "$dir/p$pp.port" "$pp" "$pb" "$1" --connections 2
  start A
  t0=$(date +%s)
  for i in 1 2 3 4 5; do submit A B --subject "$1 $i" >/dev/null; done
}

# ---- 1. bind, then black hole ----
through_faulty_proxy --bind-then-blackhole
wait_event A 9316 1 10 || fail "no 9316 (no progress) within 10 s with recovery timeout 3 s"
t1=$(date +%s)
[ $((t1 - t0)) -le 6 ] || fail "the stuck association was detected after $((t1 - t0)) s"
grep -q 'made no progress for [34] s' <<<"$(first_event_text A 9316)" || fail "9316 text: $(event_text A 9316 | head -1)"
grep -m1 '"id":9316' "$dir/A/events.jsonl" | grep -q '"ltab":[0-9]' || fail "9316 has no LTAB index"
wait_event A 1294 1 2 || fail "no 1294 for the aborted association"
wait_count B 5 40 || fail "B has $(count B) of 5 messages"
sleep 1
[ "$(delivered B)" -eq 5 ] || fail "B delivered $(delivered B) times, want exactly 5"
[ "$(events A 302)" -ge 1 ] || fail "no 302: the stuck association was not replaced"
echo "seed 003: black hole detected in $((t1 - t0)) s (9316 x$(events A 9316)), replaced (302), 5/5 delivered once"
stop A; stop B; kill "${pids[@]}" 2>/dev/null || true

# ---- 2. bind, then reset ----
through_faulty_proxy --bind-then-reset
wait_count B 5 30 || fail "after resets B has $(count B) of 5"
sleep 1
[ "$(delivered B)" -eq 5 ] || fail "B delivered $(delivered B) times, want exactly 5"
[ "$(events A 1294)" -ge 1 ] || fail "no 1294 for the reset association"
echo "seed 003: reset after bind x2: $(events A 1294) abnormal ends, 5/5 delivered once"
stop A; stop B

fi
# ---- 3. threshold: 500 queued open several associations ----
rm -rf "$dir/A" "$dir/B"
pa=$(free_port); pb=$(free_port)
site A "$pa"
connector A tob B "$pb" "schedule = never" "threshold = 50" "max-associations = 10"
site B "$pb"
connector B toa A "$pa" "schedule = never"
start A; start B
N=${OX_SEED3_N:-500}
python3 - "$X" "$dir/A.ini" "$N" <<'PY'
import subprocess, sys
from concurrent.futures import ThreadPoolExecutor
x, ini = sys.argv[1], sys.argv[2]
def one(i):
    subprocess.run([x, "submit", "-c", ini, "--from", "C=GB;A= ;P=SiteA;S=UserA", "--to",
                    "C=GB;A= ;P=SiteB;S=UserB", "--subject", f"load {i}", "--body", "x"],
                   check=True, stdout=subprocess.DEVNULL)
with ThreadPoolExecutor(4) as ex:
    list(ex.map(one, range(int(sys.argv[3]))))
PY
sed -i 's/^schedule = never$/schedule = always/' "$dir/A.ini"
reload A
maxout=0
for _ in $(seq 600); do
  n=$("$X" assoc -c "$dir/A.ini" --json | grep -c '"direction":"out"' || true)
  [ "$n" -gt "$maxout" ] && maxout=$n
  [ "$(count B)" -ge $N ] && break
  sleep 0.1
done
wait_count B $N 60 || fail "B has $(count B) of $N"
sleep 1
[ "$(delivered B)" -eq $N ] || fail "B delivered $(delivered B) times, want exactly $N"
[ "$(events A 303)" -ge 1 ] || fail "no association was added for load (303)"
[ "$maxout" -ge 2 ] || fail "never more than $maxout outbound association(s) at once"
echo "seed 003: $N queued, threshold 50: up to $maxout associations at once, $(events A 303) added for load (303), $N/$N delivered once"
