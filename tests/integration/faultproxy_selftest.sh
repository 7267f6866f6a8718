#!/usr/bin/env bash
# faultproxy_selftest.sh - tool_common_faultproxy does what each fault says, over 127.0.0.1.
#
# The proxy's own --echo mode is the server; a small python3 (stdlib) client drives each case
# and checks the bytes it gets back; the proxy's and the echo server's --log lines check the
# byte counts on both sides. Cases: pass-through, cut-after (RST and FIN) then pass, cut-after-
# down, corrupt-byte (exactly one byte, both ends), refuse and refuse-rst, bind-then-blackhole
# (raw chunks and RFC 1006 TSDUs), bind-then-reset, --exchanges 2, delay, throttle rate,
# only-connection, the control file, max-seconds, max-connections, SIGTERM, IPv6, non-loopback
# target refused, --help. Finishes in about 15 s.
set -euo pipefail
: "${OX_BUILD:?}" "${OX_SRC:?}"
fp=$OX_BUILD/tests/tools/tool_common_faultproxy
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
t0=$(date +%s%N)

# The client: "client.py PORT STEP..." runs the steps in order and exits 1 at the first
# mismatch. send:HEX | sendn:N (bytes i%251) | expect:HEX | expectn:N (the pattern back) |
# silent:MS (no data and no EOF for MS ms) | reset | eof | closed (EOF or reset) |
# corrupt:N:OFF (send N pattern bytes, read N back, exactly byte OFF differs, by xor 0xff) |
# time:N:MIN:MAX (N pattern bytes round trip, in MIN..MAX seconds; writes from a thread).
cat >"$work/client.py" <<'EOF'
import socket, sys, threading, time
port = int(sys.argv[1])
fam = socket.AF_INET6 if port < 0 else socket.AF_INET
host = "::1" if port < 0 else "127.0.0.1"
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(3)
try:
    s.connect((host, abs(port)))
except ConnectionResetError: # a reset as fast as --refuse-rst can beat connect()'s return
    if sys.argv[2:3] in (["reset"], ["closed"]): print("closed:reset:0"); sys.exit(0)
    raise
def pat(n): return bytes(i % 251 for i in range(n))
def die(msg): print("client:", msg); sys.exit(1)
def readn(n):
    got = b""
    while len(got) < n:
        b = s.recv(n - len(got))
        if not b: die("EOF after %d of %d bytes" % (len(got), n))
        got += b
    return got
for step in sys.argv[2:]:
    op, _, arg = step.partition(":")
    if op == "send": s.sendall(bytes.fromhex(arg))
    elif op == "sendn": s.sendall(pat(int(arg)))
    elif op == "expect":
        want = bytes.fromhex(arg); got = readn(len(want))
        if got != want: die("expected %s got %s" % (arg, got.hex()))
    elif op == "expectn":
        if readn(int(arg)) != pat(int(arg)): die("pattern mismatch")
    elif op == "silent":
        s.settimeout(int(arg) / 1000)
        try:
            b = s.recv(1)
            die("expected silence, got %r" % b if b else "expected silence, got EOF")
        except socket.timeout: pass
        except ConnectionResetError: die("expected silence, got a reset")
        s.settimeout(3)
    elif op in ("reset", "eof", "closed"):
        got = b""
        try:
            while True:
                b = s.recv(65536)
                if not b: how = "eof"; break
                got += b
        except ConnectionResetError: how = "reset"
        except socket.timeout: die("%s expected, nothing came" % op)
        if op != "closed" and how != op: die("%s expected, got %s" % (op, how))
        print("closed:%s:%d" % (how, len(got)))
    elif op == "corrupt":
        n, off = map(int, arg.split(":")); data = pat(n); s.sendall(data); got = readn(n)
        diff = [i for i in range(n) if got[i] != data[i]]
        if diff != [off] or got[off] != data[off] ^ 0xFF: die("differences at %s" % diff[:10])
    elif op == "time":
        n, lo, hi = int(arg.split(":")[0]), float(arg.split(":")[1]), float(arg.split(":")[2])
        data = pat(n); t = time.monotonic()
        th = threading.Thread(target=s.sendall, args=(data,)); th.start()
        s.settimeout(10); got = readn(n); th.join(); dt = time.monotonic() - t
        if got != data: die("data changed")
        if not lo <= dt <= hi: die("%d bytes took %.2f s, want %.2f..%.2f" % (n, dt, lo, hi))
        print("time:%d bytes in %.2f s (%.0f B/s)" % (n, dt, n / dt))
    else: die("bad step " + step)
s.close()
EOF
client() { timeout 20 python3 "$work/client.py" "$@"; }

waitport() { # FILE: the port once the tool has written it
  for _ in $(seq 100); do [ -s "$1" ] && { cat "$1"; return; }; sleep 0.05; done
  fail "no port file $1"
}

# One echo server for every case.
"$fp" --echo 0 --port-file "$work/echo.port" --log "$work/echo.log" --max-seconds 60 &
epid=$!
pids+=($epid)
ep=$(waitport "$work/echo.port")

n=0
proxy() { # start a proxy with these options; sets $pp (port), $plog, $ppid
  n=$((n + 1))
  plog=$work/p$n.log
  "$fp" --listen 0 --target "127.0.0.1:$ep" --port-file "$work/p$n.port" --log "$plog" \
    --max-seconds 30 "$@" &
  ppid=$!
  pids+=($ppid)
  pp=$(waitport "$work/p$n.port")
}
stop() { # stop the current proxy (SIGTERM) and wait for it
  kill "$ppid" 2>/dev/null || true
  wait "$ppid" || fail "proxy exit status $?"
}
logline() { # INDEX: the proxy log line of connection INDEX
  grep "^conn=$1 " "$plog" || fail "no log line for connection $1 in $plog: $(cat "$plog")"
}
has() { # LINE WORD...: every word occurs in the line
  local line=$1; shift
  for w in "$@"; do
    case " $line " in *" $w "*) ;; *) fail "'$w' not in: $line" ;; esac
  done
}
echo_in_last() { tail -n 1 "$work/echo.log" | sed 's/.* in=\([0-9]*\) .*/\1/'; }

# 1. pass-through: 200 kB both ways, counted.
proxy
client "$pp" time:200000:0:10 >/dev/null
stop
has "$(logline 1)" up=200000 down=200000 fault=none end=client-closed
echo "ok pass-through"

# 2. cut-after 300 (RST) on the first connection, the second passes.
proxy --cut-after 300 --connections 1
client "$pp" sendn:1000 reset >"$work/out"
got=$(sed -n 's/closed:reset://p' "$work/out")
[ "$got" -le 300 ] || fail "client got $got bytes back after a cut at 300"
client "$pp" time:1000:0:5 >/dev/null
stop
has "$(logline 1)" up=300 fault=cut-after=300/rst end=cut-after
has "$(logline 2)" up=1000 down=1000 fault=none
grep -q "^conn=[0-9]* in=300 out=[0-9]* fault=none end=reset" "$work/echo.log" ||
  fail "the echo server did not receive exactly 300 bytes before the reset"
echo "ok cut-after 300 (rst), then pass"

# 3. cut-after with FIN, and cut-after-down.
proxy --cut-after 5 --cut-how fin
client "$pp" send:0102030405060708 eof >"$work/out"
stop
has "$(logline 1)" up=5 fault=cut-after=5/fin end=cut-after
grep -q "^conn=[0-9]* in=5 out=[0-9]* fault=none end=eof" "$work/echo.log" ||
  fail "the echo server did not receive exactly 5 bytes and a FIN"
proxy --cut-after-down 700
client "$pp" sendn:1000 expectn:700 reset >/dev/null
stop
has "$(logline 1)" up=1000 down=700 end=cut-after-down
echo "ok cut-after 5 (fin), cut-after-down 700"

# 4. corrupt-byte: exactly byte 10 flipped, seen by the server too.
proxy --corrupt-byte 10
client "$pp" corrupt:1000:10
stop
has "$(logline 1)" up=1000 down=1000 fault=corrupt-byte=10
proxy --corrupt-byte-down 999
client "$pp" corrupt:1000:999
stop
echo "ok corrupt-byte 10, corrupt-byte-down 999"

# 5. refuse and refuse-rst: the server never sees the connection.
lines=$(wc -l <"$work/echo.log")
proxy --refuse
client "$pp" eof >/dev/null
stop
has "$(logline 1)" up=0 down=0 fault=refuse end=refused
proxy --refuse-rst
client "$pp" reset >/dev/null
stop
has "$(logline 1)" end=refused-rst
[ "$(wc -l <"$work/echo.log")" -eq "$lines" ] || fail "a refused connection reached the server"
echo "ok refuse, refuse-rst"

# 6. bind-then-blackhole, raw chunks: the first exchange passes, then silence, sockets open.
proxy --bind-then-blackhole
client "$pp" send:61626364 expect:61626364 send:6d6f7265 silent:500 send:6d6f7265 silent:300 \
  >/dev/null
stop
has "$(logline 1)" up=4 down=4 dropped_up=8 fault=bind-then-blackhole/1 end=stopped
for _ in $(seq 20); do [ "$(echo_in_last)" = 4 ] && break; sleep 0.05; done
[ "$(echo_in_last)" = 4 ] || fail "echo server got $(echo_in_last) bytes, not 4"
echo "ok bind-then-blackhole (raw)"

# 7. bind-then-blackhole over RFC 1006: CR/CC and a DT without EOT are not the bind; the first
#    TSDU each way (DT with EOT) is; the next TSDU is swallowed.
cr=0300000b06e00000000100     # TPKT(11) CR: LI 6, E0, dst-ref 0, src-ref 1, class 0
dt_more=0300000a02f000010203 # TPKT(10) DT, EOT not set
dt_eot=0300000a02f080040506  # TPKT(10) DT, EOT set
proxy --bind-then-blackhole
client "$pp" send:$cr expect:$cr send:$dt_more expect:$dt_more send:$dt_eot expect:$dt_eot \
  send:$dt_eot silent:500 >/dev/null
stop
has "$(logline 1)" up=31 down=31 dropped_up=10 end=stopped
echo "ok bind-then-blackhole (TPKT: CR/CC and DT without EOT are not the bind)"

# 8. bind-then-reset, and --exchanges 2.
proxy --bind-then-reset
client "$pp" send:6869 expect:6869 reset >/dev/null
stop
has "$(logline 1)" up=2 down=2 end=bind-then-reset
proxy --bind-then-blackhole --exchanges 2
client "$pp" send:61 expect:61 send:62 expect:62 send:63 silent:400 >/dev/null
stop
has "$(logline 1)" up=2 down=2 dropped_up=1 fault=bind-then-blackhole/2
echo "ok bind-then-reset, --exchanges 2"

# 9. delay: each chunk held 300 ms each way; throttle: 100 kB at 50 kB/s each way.
proxy --delay 300
client "$pp" time:10:0.55:2.5
stop
proxy --throttle 50000
client "$pp" time:100000:1.6:3.5
stop
echo "ok delay, throttle"

# 10. only-connection 2: 1 and 3 pass.
proxy --only-connection 2 --cut-after 0
client "$pp" time:100:0:3 >/dev/null
client "$pp" closed >/dev/null
client "$pp" time:100:0:3 >/dev/null
stop
has "$(logline 1)" fault=none
has "$(logline 2)" up=0 fault=cut-after=0/rst end=cut-after
has "$(logline 3)" fault=none
echo "ok only-connection"

# 11. control file: changed between connections; counts restart at each change.
ctl=$work/control
proxy --control "$ctl"
client "$pp" time:10:0:3 >/dev/null
echo "--cut-after 3 --connections 1" >"$ctl"
client "$pp" send:0102030405 reset >/dev/null
client "$pp" time:10:0:3 >/dev/null
echo "--refuse" >"$ctl"
client "$pp" eof >/dev/null
echo "--no-such-option" >"$ctl"
client "$pp" eof >/dev/null # a bad line keeps the previous faults
rm "$ctl"
client "$pp" time:10:0:3 >/dev/null
stop
has "$(logline 1)" fault=none
has "$(logline 2)" up=3 end=cut-after
has "$(logline 3)" fault=none
has "$(logline 4)" end=refused
has "$(logline 5)" end=refused
has "$(logline 6)" fault=none
echo "ok control file"

# 12. stops by itself: --max-seconds, --max-connections; SIGTERM with a live connection.
start=$(date +%s%N)
"$fp" --listen 0 --target "127.0.0.1:$ep" --max-seconds 1 || fail "max-seconds exit status"
ms=$((($(date +%s%N) - start) / 1000000))
[ "$ms" -ge 900 ] && [ "$ms" -le 2500 ] || fail "--max-seconds 1 took $ms ms"
proxy --max-connections 2
client "$pp" time:10:0:3 >/dev/null
client "$pp" time:10:0:3 >/dev/null
for _ in $(seq 50); do kill -0 "$ppid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$ppid" 2>/dev/null && fail "--max-connections 2 did not stop the proxy"
wait "$ppid" || fail "max-connections exit status"
proxy --bind-then-blackhole
client "$pp" send:01 expect:01 silent:100 >/dev/null &
cpid=$!
sleep 0.5
stop
wait "$cpid" || true
has "$(logline 1)" end=stopped
echo "ok max-seconds ($ms ms), max-connections, SIGTERM"

# 13. IPv6 listener (if the machine has ::1), loopback-only targets, --help.
if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
  n=$((n + 1))
  plog=$work/p$n.log
  "$fp" --listen '[::1]:0' --target "127.0.0.1:$ep" --port-file "$work/p$n.port" \
    --log "$plog" --max-seconds 10 &
  ppid=$!
  pids+=($ppid)
  pp=$(waitport "$work/p$n.port")
  client "-$pp" time:1000:0:3 >/dev/null
  stop
  has "$(logline 1)" up=1000 down=1000
  echo "ok IPv6 listener"
fi
for bad in 10.0.0.1:80 192.168.1.1:25 '[2001:db8::1]:102' example.org:102 '[::]:102'; do
  if "$fp" --listen 0 --target "$bad" 2>"$work/err"; then fail "target $bad accepted"; fi
  grep -q "loopback" "$work/err" || fail "no clear error for $bad: $(cat "$work/err")"
done
if "$fp" --listen 0.0.0.0:0 --target "127.0.0.1:$ep" 2>/dev/null; then fail "listen 0.0.0.0"; fi
"$fp" --help >"$work/help"
for o in --listen --target --echo --refuse --refuse-rst --delay --throttle --cut-after \
  --cut-after-down --cut-how --bind-then-blackhole --bind-then-reset --exchanges --framing \
  --corrupt-byte --corrupt-byte-down --connections --only-connection --max-seconds \
  --max-connections --log --port-file --control --help; do
  grep -q -- "$o " "$work/help" || fail "--help does not list $o"
done
echo "ok loopback only, --help"

kill "$epid"
wait "$epid" || fail "echo server exit status $?" # ASan reports make it non-zero
echo "faultproxy_selftest: all passed in $((($(date +%s%N) - t0) / 1000000)) ms"
