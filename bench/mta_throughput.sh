#!/usr/bin/env bash
# mta_throughput.sh - end-to-end throughput and latency of two x400mta daemons on loopback
# (issue 6). Prints figures; never fails on timing. Not run by `make test`. See docs/BENCH.md.
#
#   make bench  or  OX_BUILD=build-bench bench/mta_throughput.sh [N] [N_CLI] [CONC]
#     N      messages for the blast and transfer-only runs (default 5000)
#     N_CLI  messages for the CLI run, one `x400mta submit` process each (default 300)
#     CONC   submissions in flight for the load generator (default 8)
#
# Runs, each with fresh daemons and durable queues (SQLite WAL, fsync) in a temp dir:
#  0. baseline: N x 2 KB over a plain loopback TCP connection (tool_common_blast tcp)
#  1. CLI path: N_CLI x `x400mta submit --body-file 2KB` at A, in sequence, while A and B run;
#     end to end = first submit .. last 203 (message-delivered) at B
#  2. blast path: the same 2 KB message (captured once from `x400mta submit`) submitted N times
#     over A's control socket by tool_common_blast, CONC in flight, while A and B run
#  3. transfer-only: N messages queued at A with the connector's schedule = never, then
#     schedule = always and a reload; drain = first 201 .. last 203 at B, the CPU both
#     daemons used for it and what they sent to storage; twice: with the connector defaults (max-associations 10,
#     threshold 50) and with 32 associations at a threshold of 10
# Latency per message = submit time (taken by the submitter) .. B's 203 event time (ms).
# OX_ONLY="blast transfer" runs only those (baseline cli blast transfer); OX_TRANSFER_SETS=
# "MAX:THRESHOLD ..." sets the transfer-only runs' associations (default "10:50 64:10 128:10");
# OX_REPEAT=R runs each transfer-only setting R times and prints the median.
# OX_KEEP=1 keeps the run directory; OX_PERF=FILE perf-records both daemons during each drain
# (FILE.LABEL; OX_PERF_HZ, 0 = every event; OX_PERF_CG, the call-graph or event options);
# OX_STRACE=PREFIX counts their system calls (PREFIX.LABEL.A / .B; OX_STRACE_ARGS replaces -c,
# e.g. "-f -T -e trace=syncfs --seccomp-bpf" for how long each sync takes).
set -euo pipefail
N=${1:-5000}
N_CLI=${2:-300}
CONC=${3:-8}
B_DIR=${OX_BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build-bench}
X=$B_DIR/src/cli/x400mta
BLAST=$B_DIR/tests/tools/tool_common_blast
[ -x "$X" ] && [ -x "$BLAST" ] || {
  echo "build first: make bench (or cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release && cmake --build build-bench --target x400mta tool_common_blast)" >&2
  exit 2
}
# Not in /tmp: on this machine /tmp's block group is full of recently deleted inodes (every test
# run deletes its files there) and ext4 then spends ~170-290 us per file creation scanning them,
# against ~30 us elsewhere on the same disk; the mailbox creates a file per message.
# Each run's sites get directories of their own, made directly under a directory with ext4's
# top-directory flag, so the allocator spreads them over block groups that the previous run's
# deletions did not touch. Without a journal, ext4 also skips every inode deleted in the last
# 5-35 s when it allocates one (recently_deleted), so a run that starts just after the previous
# one's 20,000 files were deleted scanned them for each new file (the receiver's CPU a message
# doubled, the largest part of the variation between runs): a finished run's directories go to
# trash/; a run deletes those older than 10 minutes, then waits until ext4 forgets them.
# The interpreter itself, not a wrapper that finds it: a version manager's shim (pyenv) ran a
# dozen shell processes each time wait_203 started, during the drain (5% of the CPU then).
PY=$(python3 -c 'import sys; print(sys.executable)')
tmp_root=${OX_BENCH_TMP:-$B_DIR/bench-tmp}
mkdir -p "$tmp_root/trash"
chattr +T "$tmp_root" 2>/dev/null || true
tmp_root=$(cd "$tmp_root" && pwd)
old_runs=$(find "$tmp_root/trash" -mindepth 1 -maxdepth 1 -mmin +10 | wc -l)
if [ "$old_runs" -gt 0 ]; then
  echo "deleting $old_runs directories of runs older than 10 minutes, then 36 s for ext4 to forget them"
  find "$tmp_root/trash" -mindepth 1 -maxdepth 1 -mmin +10 -exec rm -rf {} +
  sleep 36
fi
dir=$(mktemp -d "$tmp_root/run-XXXXXX")
site_dirs=()
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${OX_KEEP:-}" ]; then
    echo "kept $dir"
  else
    mv "$dir" "${site_dirs[@]}" "$tmp_root/trash/" 2>/dev/null || rm -rf "$dir" "${site_dirs[@]}"
  fi
}
trap cleanup EXIT
free_port() { "$(dirname "$0")/../scripts/free-port"; }

# mkcfg SITE PORT PRMD PEERNAME PEERPORT PEERPRMD MYPW PEERPW SCHEDULE [MAXASSOC THRESHOLD]
mkcfg() {
  mkdir -p "$dir/$1"
  cat > "$dir/$1.ini" <<INI
[mta]
name = SITE$1
password = $7
listen = 127.0.0.1:$2
global-domain = /C=GB/A= /P=$3/
local-address-space = /C=GB/A= /P=$3/
queue = $dir/$1/queue.db
mailbox = $dir/$1/mailbox
event-log = $dir/$1/events.jsonl
control-socket = $dir/$1/control.sock
open-interval-floor = 1
open-interval = 1
[log]
x400-service = medium
[connector peer]
peer-mta = $4
peer-password = $8
peer-address = 127.0.0.1:$5
address-space = /C=GB/A= /P=$6/
schedule = $9
max-associations = ${10:-10}
threshold = ${11:-50}
INI
}
start() {
  ${OX_WRAP:-} "$X" serve -c "$dir/$1.ini" 2>>"$dir/$1/serve.log" & pids+=($!)
  for _ in $(seq 100); do "$X" status -c "$dir/$1.ini" >/dev/null 2>&1 && return; sleep 0.05; done
  echo "site $1 did not start: $(cat "$dir/$1/serve.log")" >&2; exit 1
}
stop_all() {
  for s in A B; do "$X" stop -c "$dir/$s.ini" >/dev/null 2>&1 || true; done
  wait "${pids[@]}" 2>/dev/null || true; pids=()
}
want() { [ -z "${OX_ONLY:-}" ] || [[ " $OX_ONLY " == *" $1 "* ]]; }
# user+system CPU of a process in clock ticks
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
io_bytes() { awk '/^write_bytes/ {print $2}' "/proc/$1/io"; } # what it sent to storage
count() { (find "$dir/$1/mailbox" -name '*.p1' 2>/dev/null || true) | wc -l; }
# wait_203 N SECONDS: until B's event log shows N deliveries (or the time is up). One process
# reading only what was appended: a grep and a date every 50 ms took ~40% of a core on this
# VM (an exec costs ~6 ms), CPU the daemons under test then lacked; splitting the appended
# lines in Python still took 3% of the CPU during a drain, a count over them much less.
wait_203() {
  "$PY" - "$dir/B/events.jsonl" "$1" "$2" <<'PY'
import sys, time, os
path, want, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end, seen, pos, rest = time.monotonic() + limit, 0, 0, b""
while True:
    try:
        with open(path, "rb") as f:
            f.seek(pos)
            data = f.read()
    except FileNotFoundError:
        data = b""
    pos += len(data)
    chunk = rest + data  # counted whole lines at a time, at C speed: this runs during the drain
    cut = chunk.rfind(b"\n") + 1
    seen += chunk.count(b'"id":203', 0, cut)
    rest = chunk[cut:]
    if seen >= want:
        sys.exit(0)
    if time.monotonic() >= end:
        print(f"  (timed out: {seen} of {want} delivered)")
        sys.exit(1)
    time.sleep(0.02)
PY
}
fresh() { # fresh SCHEDULE_A [MAX_ASSOCIATIONS THRESHOLD]
  stop_all; rm -f "$dir/A" "$dir/B"
  for s in A B; do
    site_dirs+=("$(mktemp -d "$tmp_root/site-XXXXXX")")
    ln -s "${site_dirs[-1]}" "$dir/$s"
  done
  pa=$(free_port); pb=$(free_port)
  mkcfg A "$pa" SiteA SITEB "$pb" SiteB pwa pwb "$1" "${2:-10}" "${3:-50}"
  mkcfg B "$pb" SiteB SITEA "$pa" SiteA pwb pwa always
}
# report LABEL SUBMITS_FILE: end-to-end figures from "MTSID T_SENT_US T_ACK_US" lines and B's log
report() {
  "$PY" - "$1" "$2" "$dir/A/events.jsonl" "$dir/B/events.jsonl" <<'PY'
import json, sys, datetime
label, subs, alog, blog = sys.argv[1:]
def ms(t): return datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp() * 1000
sent = {}
for line in open(subs):
    f = line.rstrip("\n").rsplit(" ", 2)   # the MTS identifier has spaces ("A= ")
    if len(f) == 3: sent[f[0]] = int(f[1]) / 1000.0
ev = {201: {}, 203: {}, 202: {}}
for path, ids in ((blog, (201, 203)), (alog, (202,))):
    for line in open(path):
        e = json.loads(line)
        if e["id"] in ids and "msgid" in e: ev[e["id"]].setdefault(e["msgid"], ms(e["time"]))
d = ev[203]
lat = sorted(d[m] - sent[m] for m in sent if m in d)
n = len(lat)
if not sent or not n:
    print(f"{label}: no deliveries matched ({len(sent)} submitted, {len(d)} delivered)"); sys.exit(0)
t0, t1 = min(sent.values()), max(d[m] for m in sent if m in d)
sub_end = max(sent.values())
r201 = [ev[201][m] for m in sent if m in ev[201]]
print(f"{label}: {n}/{len(sent)} delivered; submit phase {sub_end - t0:.0f} ms "
      f"({len(sent) * 1000 / max(sub_end - t0, 1):.0f} msgs/s); end to end {t1 - t0:.0f} ms = "
      f"{n * 1000 / max(t1 - t0, 1):.0f} msgs/s; latency p50 {lat[n // 2]:.0f} ms, "
      f"p99 {lat[min(n - 1, n * 99 // 100)]:.0f} ms, max {lat[-1]:.0f} ms")
if r201:
    print(f"{label}: at B first 201 .. last 203: {t1 - min(r201):.0f} ms = "
          f"{n * 1000 / max(t1 - min(r201), 1):.0f} msgs/s")
PY
}

head -c 2048 /dev/urandom | base64 -w 76 | head -c 2048 > "$dir/body.txt"   # 2 KB IA5 text
ADDR_FROM="C=GB;A= ;P=SiteA;S=UserA"
ADDR_TO="C=GB;A= ;P=SiteB;S=UserB"
echo "openx400 mta_throughput: $(nproc) cores, N=$N N_CLI=$N_CLI CONC=$CONC, build $B_DIR"
echo "  $(git -C "$(dirname "$0")" log -1 --format='%h %s' 2>/dev/null || true)"

# ---- 0. baseline ----
want baseline && "$BLAST" tcp "$N" 2048 | sed 's/^/baseline /'

# the 2 KB message as `x400mta submit` builds it, captured once
fresh always
sed "s#^control-socket = .*#control-socket = $dir/capture.sock#" "$dir/A.ini" > "$dir/capture.ini"
"$BLAST" capture "$dir/capture.sock" "$dir/msg.apdu" 2>/dev/null & cap=$!
for _ in $(seq 50); do [ -S "$dir/capture.sock" ] && break; sleep 0.02; done
"$X" submit -c "$dir/capture.ini" --from "$ADDR_FROM" --to "$ADDR_TO" --subject bench \
  --body-file "$dir/body.txt" >/dev/null
wait "$cap"
echo "message: 2048-octet IA5 body, MTS-APDU $(stat -c %s "$dir/msg.apdu") octets"

# ---- 1. CLI path ----
if want cli; then
start A; start B
: > "$dir/cli.txt"
t0=$(date +%s%N)
for _ in $(seq "$N_CLI"); do
  ts=$(date +%s%6N)
  id=$("$X" submit -c "$dir/A.ini" --from "$ADDR_FROM" --to "$ADDR_TO" --subject bench --body-file "$dir/body.txt")
  echo "$id $ts $ts" >> "$dir/cli.txt"
done
t1=$(date +%s%N)
echo "cli: $N_CLI x 'x400mta submit' in sequence: $(( (t1 - t0) / 1000000 )) ms = $(( N_CLI * 1000000000 / (t1 - t0) )) msgs/s, $(( (t1 - t0) / N_CLI / 1000 )) us per submit (incl. the shell loop's date)"
wait_203 "$N_CLI" 120 || true
report "cli" "$dir/cli.txt"
fi

# ---- 2. blast path (end to end, submission over the control socket) ----
if want blast; then
fresh always
start A; start B
"$BLAST" submit "$dir/A/control.sock" "$dir/msg.apdu" "$N" "$CONC" "$dir/blast.txt" | sed 's/^/blast /'
wait_203 "$N" 300 || true
report "blast" "$dir/blast.txt"
fi

# ---- 3. transfer-only: pre-queued at A, drained after a reload ----
# transfer LABEL MAX_ASSOCIATIONS THRESHOLD
transfer() {
local label=$1
fresh never "$2" "$3"
start A; start B
"$BLAST" submit "$dir/A/control.sock" "$dir/msg.apdu" "$N" "$CONC" "$dir/pre.txt" | sed "s/^/$label pre-queue /"
sed -i 's/^schedule = never/schedule = always/' "$dir/A.ini"
cpu0=$(cpu_ticks "${pids[0]}")/$(cpu_ticks "${pids[1]}")
io0=$(io_bytes "${pids[0]}")/$(io_bytes "${pids[1]}")
if [ -n "${OX_PERF:-}" ]; then # OX_PERF=FILE: perf record both daemons during the drain
  hz_opt="-F ${OX_PERF_HZ:-999}"; [ "${OX_PERF_HZ:-}" = 0 ] && hz_opt="-c 1" # 0: every event
  perf record -q $hz_opt ${OX_PERF_CG:--g} -p "${pids[${OX_PERF_PID:-0}]},${pids[1]}" -o "$OX_PERF.$label" 2>/dev/null & perf_pid=$!
  sleep 0.5
fi
if [ -n "${OX_STRACE:-}" ]; then # OX_STRACE=PREFIX: syscall counts of A and B during the drain
  st_pids=()
  strace ${OX_STRACE_ARGS:--c} -o "$OX_STRACE.$label.A" -p "${pids[0]}" & st_pids+=($!)
  strace ${OX_STRACE_ARGS:--c} -o "$OX_STRACE.$label.B" -p "${pids[1]}" & st_pids+=($!)
  sleep 0.5
fi
# The watcher starts before the drain: an interpreter starting took ~60 ms of CPU in its
# first 200 ms otherwise.
wait_203 "$N" 300 & watcher=$!
sleep 0.3
tr=$(date +%s%3N)
"$X" reload -c "$dir/A.ini" >/dev/null
wait "$watcher" || true
cpu1=$(cpu_ticks "${pids[0]}")/$(cpu_ticks "${pids[1]}")
io1=$(io_bytes "${pids[0]}")/$(io_bytes "${pids[1]}")
[ -n "${OX_PERF:-}" ] && { kill -INT "$perf_pid"; wait "$perf_pid" || true; }
[ -n "${OX_STRACE:-}" ] && { kill -INT "${st_pids[@]}"; wait "${st_pids[@]}" 2>/dev/null || true; }
"$PY" - "$label" "$tr" "$dir/B/events.jsonl" "$N" <<'PY'
import json, sys, datetime
label, tr, path, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
def ms(t): return datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp() * 1000
e = [json.loads(l) for l in open(path)]
r = [ms(x["time"]) for x in e if x["id"] == 201]
d = [ms(x["time"]) for x in e if x["id"] == 203]
if r and d:
    span = max(d) - min(r)
    print(f"{label}: {len(d)}/{n} delivered; reload .. first 201 {min(r) - tr:.0f} ms; "
          f"first 201 .. last 203 {span:.0f} ms = {len(d) * 1000 / max(span, 1):.0f} msgs/s; "
          f"reload .. last 203 {max(d) - tr:.0f} ms = {len(d) * 1000 / max(max(d) - tr, 1):.0f} msgs/s")
else:
    print(f"{label}: nothing delivered ({len(r)} received, {len(d)} delivered)")
PY
hz=$(getconf CLK_TCK)
IFS=/ read -r a0 b0 <<<"$cpu0"; IFS=/ read -r a1 b1 <<<"$cpu1"
echo "$label: CPU during the drain: A $(( (a1 - a0) * 1000 / hz )) ms, B $(( (b1 - b0) * 1000 / hz )) ms" \
  "= $(( (a1 - a0) * 1000000 / hz / N )) + $(( (b1 - b0) * 1000000 / hz / N )) us per message"
IFS=/ read -r a0 b0 <<<"$io0"; IFS=/ read -r a1 b1 <<<"$io1"
echo "$label: written to storage during the drain: A $(( (a1 - a0) / N )) + B $(( (b1 - b0) / N )) octets per message"
}
if want transfer; then
  # the connector defaults (EXCHANGE-MTA.md), then tuned for a fast LAN peer: more associations
  # in flight; OX_TRANSFER_SETS="MAX:THRESHOLD ..." runs other settings
  # OX_REPEAT=R runs each R times and ends with the median (this VM varies 20-30% a run)
  for set in ${OX_TRANSFER_SETS:-10:50 64:10 128:10}; do
    label=transfer-only
    [ "$set" = 10:50 ] || label=transfer-only-${set%%:*}
    rates=()
    for _ in $(seq "${OX_REPEAT:-1}"); do
      transfer "$label" "${set%%:*}" "${set##*:}" > "$dir/transfer.out" # not $(...): its daemons
      cat "$dir/transfer.out"                                              # must stay ours to stop
      rates+=("$(sed -n "s/^$label: .*first 201 .. last 203 [0-9]* ms = \([0-9]*\) msgs\/s.*/\1/p" "$dir/transfer.out")")
    done
    if [ "${OX_REPEAT:-1}" -gt 1 ]; then
      echo "$label: median of ${OX_REPEAT} runs: $(printf '%s\n' "${rates[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') msgs/s (all: ${rates[*]})"
    fi
  done
fi
stop_all
echo "mta_throughput: done"
