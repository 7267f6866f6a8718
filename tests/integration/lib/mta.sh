# lib/mta.sh - shared helpers for integration tests with real x400mta daemons on loopback.
# Source it after `set -euo pipefail`; needs OX_BUILD and OX_SRC. It creates $dir (removed
# at exit with every daemon started through it) and defines:
#   site SITE PORT [extra [mta] lines...]      config $dir/SITE.ini for MTA "SITE$SITE",
#                                              PRMD "Site$SITE", password "pw$SITE"
#   connector SITE NAME PEER PEERPORT [extra connector lines...]
#                                              appends [connector NAME] to SITE's config:
#                                              peer-mta SITE$PEER, peer-password pw$PEER,
#                                              address space of PRMD Site$PEER
#   start SITE / stop SITE / reload SITE       the daemon (start waits until it answers)
#   submit SITE TO_SITE [x400mta submit options] one IPM from UserSITE to UserTO_SITE
#   count SITE                                 delivered files in SITE's mailbox
#   wait_count SITE N SECONDS                  until SITE has N delivered files (1 if not)
#   events SITE ID                             how many events ID SITE logged
#   wait_event SITE ID N SECONDS               until SITE logged N events ID (1 if not)
#   event_text SITE ID                         the text of SITE's events ID, one per line
#   fail MESSAGE                               prints both sides' events, exits 1
#   free_port
X=${OX_BUILD:?}/src/cli/x400mta
SRC=${OX_SRC:?}
dir=$(mktemp -d /tmp/ox-it-XXXXXX)
pids=()
declare -A site_pid=()
_ox_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${OX_KEEP:-}" ] && echo "kept $dir" || rm -rf "$dir"
}
trap _ox_cleanup EXIT

free_port() { "$SRC/scripts/free-port"; }

fail() {
  echo "FAIL: $*"
  for f in "$dir"/*/events.jsonl; do
    [ -f "$f" ] || continue
    echo "--- events $(basename "$(dirname "$f")"):"
    cut -c1-500 "$f"
  done
  exit 1
}

site() {
  local s=$1 port=$2
  shift 2
  mkdir -p "$dir/$s"
  {
    cat <<INI
[mta]
name = SITE$s
password = pw$s
listen = 127.0.0.1:$port
global-domain = /C=GB/A= /P=Site$s/
local-address-space = /C=GB/A= /P=Site$s/
queue = $dir/$s/queue.db
mailbox = $dir/$s/mailbox
event-log = $dir/$s/events.jsonl
control-socket = $dir/$s/control.sock
open-interval-floor = 1
open-interval = 2
INI
    for l in "$@"; do echo "$l"; done
    cat <<INI
[log]
x400-service = medium
interface = maximum
security = medium
INI
  } >"$dir/$s.ini"
}

connector() {
  local s=$1 name=$2 peer=$3 pport=$4
  shift 4
  {
    cat <<INI
[connector $name]
peer-mta = SITE$peer
peer-password = pw$peer
peer-address = 127.0.0.1:$pport
address-space = /C=GB/A= /P=Site$peer/
INI
    for l in "$@"; do echo "$l"; done
  } >>"$dir/$s.ini"
}

start() {
  "$X" serve -c "$dir/$1.ini" 2>>"$dir/$1/serve.log" &
  pids+=($!)
  site_pid[$1]=$!
  for _ in $(seq 100); do
    "$X" status -c "$dir/$1.ini" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "site $1 did not start: $(cat "$dir/$1/serve.log")"
}

stop() {
  "$X" stop -c "$dir/$1.ini" >/dev/null 2>&1 || true
  local p=${site_pid[$1]:-}
  if [ -n "$p" ]; then
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill "$p" 2>/dev/null || true
  fi
}

reload() { "$X" reload -c "$dir/$1.ini" >/dev/null || fail "reload of $1 refused"; }

submit() {
  local from=$1 to=$2
  shift 2
  "$X" submit -c "$dir/$from.ini" --from "C=GB;A= ;P=Site$from;S=User$from" \
    --to "C=GB;A= ;P=Site$to;S=User$to" --body "hello from $from" "$@"
}

count() { (find "$dir/$1/mailbox" -name '*.p1' 2>/dev/null || true) | wc -l; }

wait_count() {
  for _ in $(seq $(($3 * 10))); do
    [ "$(count "$1")" -ge "$2" ] && return 0
    sleep 0.1
  done
  return 1
}

events() { grep -c "\"id\":$2," "$dir/$1/events.jsonl" 2>/dev/null || true; }

wait_event() {
  for _ in $(seq $(($4 * 10))); do
    [ "$(events "$1" "$2")" -ge "$3" ] && return 0
    sleep 0.1
  done
  return 1
}

event_text() {
  python3 - "$dir/$1/events.jsonl" "$2" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("id") == int(sys.argv[2]):
        print(e.get("text", e.get("message", "")))
PY
}

# The first such text (no pipe into `head`: with pipefail a closed pipe would fail the test).
first_event_text() { event_text "$1" "$2" | sed -n 1p; }
