#!/usr/bin/env bash
# seed_001_name_case.sh - seed 001 (Q253307): the Remote Server Name typed in another case
# than the remote's Local MTA Name made the Exchange connector stop delivering silently.
# X.400 compares printable names case-insensitively with spaces folded, so here:
#  - A's connector names the peer 'siteb' against a remote named 'SITEB': mail flows both
#    ways and each side that sees the difference logs one warning (event 401), no error;
#  - check-config warns about a peer-mta that differs from another only in case;
#  - with 'siteX' the bind is refused at once, and the event quotes both 'siteX' and 'SITEB'.
set -euo pipefail
. "$(dirname "$0")/lib/mta.sh"
pa=$(free_port); pb=$(free_port)
site A "$pa"
connector A tob B "$pb"
sed -i 's/^peer-mta = SITEB$/peer-mta = siteb/' "$dir/A.ini"
site B "$pb"
connector B toa A "$pa"
start A; start B
submit A B --subject "case" >/dev/null
submit B A --subject "case back" >/dev/null
wait_count B 1 15 || fail "A -> B with 'siteb' against 'SITEB' did not arrive"
wait_count A 1 15 || fail "B -> A did not arrive"
n=$(events A 401)
[ "$n" -ge 1 ] || fail "A logged no name-case warning (401)"
grep -q "'SITEB'" <<<"$(first_event_text A 401)" || fail "401 does not quote the presented name"
grep -q "'siteb'" <<<"$(first_event_text A 401)" || fail "401 does not quote the configured name"
for s in A B; do [ "$(events $s 400)" -eq 0 ] || fail "$s logged a bind failure (400) for a case-only difference"; done
echo "seed 001: 'siteb' vs 'SITEB': delivered both ways, $n warning(s) 401 at A"
stop A; stop B

# check-config warns about names differing only in case.
cp "$dir/A.ini" "$dir/A2.ini"
cat >>"$dir/A2.ini" <<INI
[connector tob2]
peer-mta = SiteB
peer-password = pwB
peer-address = 127.0.0.1:$pb
address-space = /C=GB/A= /P=SiteB2/
INI
"$X" check-config -c "$dir/A2.ini" 2>"$dir/check.txt" >/dev/null || true
grep -qi 'warning.*case' "$dir/check.txt" || fail "check-config does not warn about 'siteb' vs 'SiteB': $(cat "$dir/check.txt")"

# 'siteX' is another name: refused at once, both names quoted.
pa=$(free_port); pb=$(free_port)
site C "$pa"
connector C tob D "$pb"
sed -i 's/^peer-mta = SITED$/peer-mta = siteX/' "$dir/C.ini"
site D "$pb"
connector D toc C "$pa"
start C; start D
submit C D --subject "wrong name" >/dev/null
wait_event C 400 1 5 || fail "C did not refuse D's answer as 'SITED' against 'siteX' (400)"
grep -q "'siteX'" <<<"$(first_event_text C 400)" || fail "C's event does not quote 'siteX': $(event_text C 400 | head -1)"
grep -q "'SITED'" <<<"$(first_event_text C 400)" || fail "C's event does not quote 'SITED'"
submit D C --subject "wrong name back" >/dev/null
wait_event C 9301 1 5 || fail "C did not refuse D's bind (9301)"
grep -q "'siteX'" <<<"$(first_event_text C 9301)" || fail "C's 9301 does not quote 'siteX': $(event_text C 9301 | head -1)"
grep -q "'SITED'" <<<"$(first_event_text C 9301)" || fail "C's 9301 does not quote 'SITED'"
[ "$(count D)" -eq 0 ] && [ "$(count C)" -eq 0 ] || fail "mail crossed despite the wrong name"
echo "seed 001: 'siteX' vs 'SITED': refused both ways, events quote both names"
