#!/usr/bin/env bash
# assoc_recovery.sh - X.228 recovery over real TCP: a 10 MB RT-TRANSFER (checkpoint 30 KB,
# window 5) through tool_common_faultproxy, cut mid-transfer on the first connection.
# 1) within the recovery timeout: the initiator reconnects with connectionDataRQ recover and
#    S-ACTIVITY-RESUME; the transfer completes and the octets sent again are at most
#    window x checkpoint (printed). 2) timeout exceeded: the transfer restarts from zero and
#    still completes. The receiver checks every octet where it lands in both cases.
set -euo pipefail
: "${OX_BUILD:?}" "${OX_SRC:?}"
tool=$OX_BUILD/tests/tools/tool_assoc_peer
proxy=$OX_BUILD/tests/tools/tool_common_faultproxy
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { "${OX_SRC:?}/scripts/free-port"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
size=10000000 ck=30720 win=5

run() { # name initiator-recover-timeout-ms mode
  local name=$1 rto=$2 mode=$3
  local port pport
  port=$(free_port)
  "$proxy" --listen 0 --port-file "$tmp/pp_$name" --target "$port" --cut-after 4000000 \
    --connections 1 --max-seconds 100 >"$tmp/proxy_$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do [ -s "$tmp/pp_$name" ] && break; sleep 0.1; done
  pport=$(cat "$tmp/pp_$name")
  common=(--mode "$mode" --checkpoint $ck --window $win --max-seconds 90 --recover-timeout 10000)
  timeout 100 "$tool" --listen "$port" "${common[@]}" --peer-count 1 --peer-size $size \
    >"$tmp/r_$name.log" 2>&1 &
  local rp=$!
  pids+=("$rp")
  sleep 0.3
  timeout 100 "$tool" --connect "$pport" "${common[@]}" --recover-timeout "$rto" --count 1 \
    --size $size >"$tmp/i_$name.log" 2>&1 || { cat "$tmp/i_$name.log" "$tmp/r_$name.log"; fail "$name initiator"; }
  wait "$rp" || { cat "$tmp/r_$name.log"; fail "$name responder"; }
  grep -E "lost|resum|restart|refus|RESULT" "$tmp/i_$name.log" "$tmp/r_$name.log" | sed "s|$tmp/||"
}

for mode in 1988 1984; do
  run "resume_$mode" 10000 "$mode"
  i=$tmp/i_resume_$mode.log
  grep -q "recoveries 1 restarts 0" "$i" || fail "resume_$mode: not recovered"
  resent=$(awk '/^RESULT/ {for (k=1;k<NF;k++) if ($k=="resent") print $(k+1)}' "$i")
  echo "resume_$mode: octets sent again after the cut: $resent (bound: window x checkpoint = $((win * ck)))"
  [ "$resent" -le $((win * ck)) ] || fail "resume_$mode: $resent octets resent"
done

run restart 0 1988
grep -q "restarts 1" "$tmp/i_restart.log" || fail "restart: not restarted from zero"
grep -q "RESULT ok" "$tmp/r_restart.log" || fail "restart: receiver"
echo "assoc_recovery: ok"
