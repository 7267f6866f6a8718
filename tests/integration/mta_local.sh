#!/usr/bin/env bash
# mta_local.sh - one real daemon: submit through the control socket, local delivery into the
# mailbox, delivery and non-delivery reports, show/track/queue/events, check-config errors,
# a refused reload that keeps the running configuration, orderly stop.
set -euo pipefail
X=${OX_BUILD:?}/src/cli/x400mta
dir=$(mktemp -d /tmp/ox-local-XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- events:"; cat "$dir/events.jsonl" 2>/dev/null; exit 1; }

port=$(( 20000 + RANDOM % 20000 ))
cat > "$dir/a.ini" <<INI
[mta]
name = SITEA
password = secret
listen = 127.0.0.1:$port
global-domain = /C=GB/A= /P=SiteA/
local-address-space = /C=GB/A= /P=SiteA/
queue = $dir/queue.db
mailbox = $dir/mbox
event-log = $dir/events.jsonl
control-socket = $dir/control.sock
[log]
x400-service = medium
INI

$X check-config -c "$dir/a.ini" | grep -q "valid: MTA SITEA" || fail "check-config of a good file"
printf '[mta]\nname = X\nlisten = 127.0.0.1:1\nopen-intervall = 5\n' > "$dir/bad.ini"
if out=$($X check-config -c "$dir/bad.ini" 2>&1); then fail "bad config accepted"; fi
echo "$out" | grep -q "bad.ini:4: error: unknown key 'open-intervall' in \[mta\]; did you mean 'open-interval'" \
  || fail "no file:line error: $out"

$X serve -c "$dir/a.ini" 2>"$dir/serve.err" &
pid=$!
for _ in $(seq 50); do $X status -c "$dir/a.ini" >/dev/null 2>&1 && break; sleep 0.1; done
$X status -c "$dir/a.ini" | grep -q '"mta":"SITEA"' || fail "daemon did not come up: $(cat "$dir/serve.err")"

id=$($X submit -c "$dir/a.ini" --from "C=GB;A= ;P=SiteA;S=Alice" --to "/C=GB/A= /P=SiteA/S=Bob/" \
       --subject "Hello Bob" --dr --body "First message.")
echo "submitted $id"
case "$id" in "C=GB;A= ;P=SiteA;L="*) ;; *) fail "bad message id '$id'";; esac
echo "body from stdin" | $X submit -c "$dir/a.ini" --from "C=GB;A= ;P=SiteA;S=Alice" \
  --to "C=FR;A= ;P=Nowhere;S=Zed" --subject "lost" >/dev/null
if $X submit -c "$dir/a.ini" --from "C=GB;X=1" --to "C=GB;A= ;P=SiteA;S=Bob" --body x 2>"$dir/err"; then
  fail "bad originator accepted"; fi
grep -q "originator 'C=GB;X=1' is not an O/R address" "$dir/err" || fail "unclear submit error: $(cat "$dir/err")"

for _ in $(seq 50); do [ "$(find "$dir/mbox" -name '*.p1' 2>/dev/null | wc -l)" -ge 3 ] && break; sleep 0.1; done
bob=$(find "$dir/mbox" -path '*S-Bob*' -name '*.p1')
[ "$(echo "$bob" | grep -c .)" = 1 ] || fail "Bob has $(echo "$bob" | grep -c .) messages, want 1"
$X show "$bob" | grep -q "^Subject: *Hello Bob" || fail "show: subject"
$X show "$bob" | grep -q "^First message." || fail "show: body"
alice=$(find "$dir/mbox" -path '*S-Alice*' -name '*.p1' | sort)
[ "$(echo "$alice" | grep -c .)" = 2 ] || fail "Alice has $(echo "$alice" | grep -c .) reports, want 2 (DR, NDR)"
reports=$(for f in $alice; do $X show "$f"; done)
echo "$reports" | grep -q "^Delivered: *C=GB;A= ;P=SiteA;S=Bob" || fail "no delivery report"
echo "$reports" | grep -q "^Not deliv.: *C=FR;A= ;P=Nowhere;S=Zed" || fail "no non-delivery report"
echo "$reports" | grep -q "reason 1, diagnostic 0" || fail "NDR reason/diagnostic (unable-to-transfer, unrecognised-OR-name)"

$X track -c "$dir/a.ini" "$id" | grep -q "message-delivered" || fail "track"
$X queue -c "$dir/a.ini" | grep -q "^@local " || fail "queue view"
$X events -c "$dir/a.ini" --id 209 | grep -q "no address space" || fail "event 209 (no route)"

# A reload with errors is refused and the daemon keeps working.
echo "bogus-key = 1" >> "$dir/a.ini"
if $X reload -c "$dir/a.ini" > "$dir/reload.out"; then fail "bad reload accepted"; fi
grep -q "reload refused, previous configuration kept" "$dir/reload.out" || fail "reload message"
$X submit -c "$dir/a.ini" --from "C=GB;A= ;P=SiteA;S=Alice" --to "C=GB;A= ;P=SiteA;S=Bob" \
  --body "after the failed reload" >/dev/null || fail "daemon unusable after refused reload"

$X stop -c "$dir/a.ini" | grep -q "ok stopping" || fail "stop"
wait "$pid"; pid=
grep -q '"id":101' "$dir/events.jsonl" || fail "no stop event"
echo "mta_local: ok"
