#!/usr/bin/env bash
# seed_004_bindback_address.sh - seed 004 (KB279537): the bindback target was a host name the
# responder could not resolve on a multihomed host, so the MTAs could not bind (9322/9318).
# Here B binds back to A, which calls it:
#  1. B's bindback target for A is a name that does not resolve: B falls back to the source
#     address of A's connection, succeeds, logs one warning (402) naming what it tried, and
#     the mail goes;
#  2. with the fallback disabled the bindback fails at once: 9322 lists every address tried
#     and the error of each, A's bind is refused (A: 9318) and the mail stays queued;
#  3. a name that resolves to several addresses (localhost: ::1 and 127.0.0.1 while A listens
#     on 127.0.0.1 only) is tried address by address until one answers;
#  4. multihomed: A lives on 127.0.0.2 (listens there, its connector sends from local-address
#     127.0.0.2) while B's configuration still points at an old name: B sees the call from
#     127.0.0.2 and binds back there through the fallback.
set -euo pipefail
. "$(dirname "$0")/lib/mta.sh"

run() { # NAME BINDBACK-LINES... : A calls B, B binds back with the given connector lines
  local name=$1
  shift
  rm -rf "$dir/A" "$dir/B"
  pa=$(free_port); pb=$(free_port)
  site A "$pa"
  connector A tob B "$pb" ${A_EXTRA:+"$A_EXTRA"}
  [ -n "${A_LISTEN:-}" ] && sed -i "s/^listen = 127.0.0.1:/listen = $A_LISTEN:/" "$dir/A.ini"
  site B "$pb"
  connector B toa A "$pa" "schedule = never" "bindback = yes" "$@"
  start A; start B
  submit A B --subject "$name" >/dev/null
}

# ---- 1. unresolvable name, fallback to the source address ----
run fallback "bindback-address = a.name-that-does-not-resolve.invalid"
wait_count B 1 15 || fail "the message did not arrive through the fallback"
[ "$(events B 402)" -eq 1 ] || fail "B logged $(events B 402) fallback warnings (402), want 1"
grep -q 'a.name-that-does-not-resolve.invalid' <<<"$(event_text B 402)" || fail "402 does not say what was tried: $(event_text B 402)"
grep -q "bindback-address = 127.0.0.1:$pa" <<<"$(event_text B 402)" || fail "402 does not give the fix: $(event_text B 402)"
[ "$(events B 9322)" -eq 0 ] || fail "B logged 9322 although the fallback worked"
echo "seed 004: unresolvable bindback name: fallback to the source address, one 402, delivered"
stop A; stop B

# ---- 2. fallback disabled ----
run nofallback "bindback-address = a.name-that-does-not-resolve.invalid" "bindback-source-fallback = no"
wait_event B 9322 1 5 || fail "no 9322 with the fallback disabled"
grep -q 'a.name-that-does-not-resolve.invalid' <<<"$(first_event_text B 9322)" || fail "9322 does not list the name: $(event_text B 9322 | head -1)"
grep -qi 'resolve' <<<"$(first_event_text B 9322)" || fail "9322 does not give the error: $(event_text B 9322 | head -1)"
wait_event A 9318 1 3 || fail "A's bind was not refused (9318)"
[ "$(count B)" -eq 0 ] || fail "mail crossed over a failed bindback"
"$X" queue -c "$dir/A.ini" | grep -q tob || fail "the message is not queued at A any more"
echo "seed 004: fallback disabled: 9322 lists the name and its error, A refused (9318), mail queued"
stop A; stop B

# ---- 3. a name with several addresses ----
run several "bindback-address = localhost"
wait_count B 1 15 || fail "bindback to localhost did not reach A at one of its addresses"
[ "$(events B 9322)" -eq 0 ] || fail "9322 although one address of localhost answers"
grep -q 'after bindback to 127.0.0.1' "$dir/B/events.jsonl" || fail "B did not bind back at 127.0.0.1"
echo "seed 004: bindback to localhost reached A at 127.0.0.1"
stop A; stop B

# ---- 4. multihomed: A calls from 127.0.0.2 ----
if python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.2", 0))' 2>/dev/null; then
  A_LISTEN=127.0.0.2 A_EXTRA="local-address = 127.0.0.2" run multihomed "bindback-address = 10.255.255.1.invalid"
  wait_count B 1 15 || fail "multihomed: the message did not arrive"
  grep -q '"id":300.*127.0.0.2' "$dir/B/events.jsonl" || fail "B did not see the call from 127.0.0.2"
  grep -q '127.0.0.2' <<<"$(event_text B 402)" || fail "B's fallback did not go to 127.0.0.2: $(event_text B 402)"
  "$X" assoc -c "$dir/A.ini" --json | grep -q '"local_address":"127.0.0.2:' ||
    fail "A's assoc does not show the local address: $("$X" assoc -c "$dir/A.ini")"
  echo "seed 004: multihomed: called from 127.0.0.2, bound back there"
fi
