#!/usr/bin/env bash
# assoc_loopback.sh - two tool_assoc_peer processes over real TCP on 127.0.0.1, in normal
# (1988) mode and in X.410-1984 mode, each in its own capture (tshark keeps the 1984
# applicationProtocol across packets: docs/UPPER-LAYERS.md). Open with a P1 bind, transfers of
# real P1 messages both ways with turn please/give, checkpoints and window stalls, release.
# Fails on any bad frame (scripts/tshark-check; the documented 1984 data-phase exception for the
# 1984 streams), on missing RTSE APDU types, and when p1 does not decode in normal mode.
set -euo pipefail
: "${OX_BUILD:?}" "${OX_SRC:?}"
tool=$OX_BUILD/tests/tools/tool_assoc_peer
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { "${OX_SRC:?}/scripts/free-port"; }

fail() { echo "FAIL: $*" >&2; exit 1; }

for mode in 1988 1984; do
  port=$(free_port)
  pcap=$tmp/assoc_$mode.pcap
  cap=$("$OX_SRC/scripts/capture" start "$pcap" "$port")
  pids+=("$cap")
  # Both modes: checkpoints of 8 KB with window stalls, S-DATAs of at most 6000 octets, so
  # every APDU crosses in several segments (1988: one RTTR OCTET STRING per S-DATA, which
  # tshark reassembles at the activity end).
  ck=8192
  common=(--mode "$mode" --checkpoint "$ck" --window 3 --max-data 6000 --max-seconds 60 --segments)
  timeout 90 "$tool" --listen "$port" "${common[@]}" --count 2 --size 30000 \
    --peer-count 3 --peer-size 20000 >"$tmp/r_$mode.log" 2>&1 &
  rp=$!
  pids+=("$rp")
  sleep 0.3
  timeout 90 "$tool" --connect "$port" "${common[@]}" --count 3 --size 20000 \
    --peer-count 2 --peer-size 30000 >"$tmp/i_$mode.log" 2>&1 || {
    cat "$tmp/i_$mode.log" "$tmp/r_$mode.log"; fail "initiator ($mode)"; }
  wait "$rp" || { cat "$tmp/r_$mode.log"; fail "responder ($mode)"; }
  sleep 1 # let the capture write the last frames
  "$OX_SRC/scripts/capture" stop "$cap"
  tail -1 "$tmp/i_$mode.log"
  tail -1 "$tmp/r_$mode.log"
  grep -q "turn-please-ind" "$tmp/i_$mode.log" || fail "no turn please ($mode)"
  grep -q "turn-give-ind" "$tmp/r_$mode.log" || fail "no turn give ($mode)"

  if [ "$mode" = 1984 ]; then
    streams=$(tshark -r "$pcap" -Y "tcp.port==$port" -T fields -e tcp.stream 2>/dev/null |
      sort -u | tr '\n' ' ' | sed 's/ *$//')
    "$OX_SRC/scripts/tshark-check" "$pcap" "$port" \
      "pres.invalid_offset && ses.type == 1 && tcp.stream in {$streams}" || fail "tshark ($mode)"
  else
    "$OX_SRC/scripts/tshark-check" "$pcap" "$port" || fail "tshark ($mode)"
  fi

  # The RTSE APDU types tshark saw.
  fields=(-e rtse.rtorq_apdu_element -e rtse.rtoac_apdu_element -e rtse.rttp_apdu
    -e rtse.rttr_apdu -e p1 -e p1.message_element -e pres.mode_value)
  tshark -2 -r "$pcap" -d "tcp.port==$port,tpkt" -T fields -E occurrence=f "${fields[@]}" \
    2>/dev/null >"$tmp/f_$mode.txt"
  col() { awk -F'\t' -v c="$1" '$c != "" {n++} END {print n+0}' "$tmp/f_$mode.txt"; }
  rtorq=$(col 1); rtoac=$(col 2); rttp=$(col 3); rttr=$(col 4); p1=$(col 5); msg=$(col 6)
  echo "$mode: frames with RTORQ $rtorq, RTOAC $rtoac, RTTP $rttp, RTTR $rttr, p1 $p1, p1 message $msg"
  [ "$p1" -ge 2 ] || fail "p1 (bind) did not decode ($mode)"
  if [ "$mode" = 1988 ]; then
    [ "$rtorq" -ge 1 ] && [ "$rtoac" -ge 1 ] || fail "no RTORQ/RTOAC decoded ($mode)"
    [ "$rttp" -ge 1 ] || fail "no RTTP decoded ($mode)"
    # the RTTR itself is not exported as a field when its EXTERNAL is dissected; p1 is
    [ "$msg" -ge 5 ] || fail "not every P1 message decoded ($mode: $msg of 5)"
  fi
  # session activity, checkpoints and release as Wireshark names them
  types=$(tshark -r "$pcap" -d "tcp.port==$port,tpkt" -T fields -e ses.type 2>/dev/null |
    tr ',' '\n' | sort -un | tr '\n' ' ')
  echo "$mode: session SPDU types seen: $types"
  want="13 14 45 41 42 9 10"
  [ "$mode" = 1984 ] && want="$want 49 50"
  for t in $want; do
    grep -qw "$t" <<<"$types" || fail "session SPDU type $t not seen ($mode)"
  done
done
echo "assoc_loopback: ok"
