#!/usr/bin/env bash
# flapping_link.sh - an on-demand link that goes up and down every few seconds while 1,000
# messages cross it (issue 7): every message is delivered exactly once.
# The link is a fault proxy between A and B that link-up starts and that dies by itself
# after 2 s (--max-seconds 2; each association's connection is throttled to 30 KB/s, so the
# 10 associations carry at most 600 KB a link and the 2.3 MB of 1,000 messages need several
# links however fast the daemons are; at 150 KB/s a fast enough pair moved them all in one),
# cutting whatever association is on it; link-down kills it.
# A then sees the link fail in the middle of transfers, waits the Open Interval (1 s), brings
# the link up again and goes on; B recognises a message it stored whose confirmation was
# lost (same MTS identifier) and does not deliver it twice.
set -euo pipefail
. "$(dirname "$0")/lib/mta.sh"
PROXY=$OX_BUILD/tests/tools/tool_common_faultproxy
N=${OX_FLAP_N:-1000}
pa=$(free_port); pb=$(free_port); pp=$(free_port)
cat >"$dir/link-up" <<SH
#!/bin/sh
# the link: a proxy that lives 2 s at 30 KB/s a connection
"$PROXY" --listen 127.0.0.1:$pp --target 127.0.0.1:$pb --max-seconds 2 --throttle 30000 \\
  --port-file "$dir/proxy.port.\$\$" >/dev/null 2>&1 &
echo \$! >"$dir/proxy.pid"
for i in 1 2 3 4 5 6 7 8 9 10; do [ -s "$dir/proxy.port.\$\$" ] && exit 0; sleep 0.1; done
exit 1
SH
cat >"$dir/link-down" <<SH
#!/bin/sh
kill \$(cat "$dir/proxy.pid" 2>/dev/null) 2>/dev/null; exit 0
SH
chmod +x "$dir/link-up" "$dir/link-down"
site A "$pa"
connector A dial B "$pp" "kind = ondemand" "bindback = no" "link-up = $dir/link-up" \
  "link-down = $dir/link-down" "open-interval = 1" "transfer-interval = 1" "max-transfer-retries = 1000" \
  "max-open-retries = 1000" "recovery-timeout = 2" "schedule = never"
site B "$pb"
connector B toa A "$pa" "schedule = never"
start A; start B
python3 - "$X" "$dir/A.ini" "$N" <<'PY'
import subprocess, sys
from concurrent.futures import ThreadPoolExecutor
x, ini, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def one(i):
    subprocess.run([x, "submit", "-c", ini, "--from", "C=GB;A= ;P=SiteA;S=UserA", "--to",
                    "C=GB;A= ;P=SiteB;S=UserB", "--subject", f"flap {i}", "--body", "x" * 2000],
                   check=True, stdout=subprocess.DEVNULL)
with ThreadPoolExecutor(4) as ex:
    list(ex.map(one, range(n)))
PY
sed -i 's/^schedule = never$/schedule = always/' "$dir/A.ini"
t0=$(date +%s)
reload A
wait_count B "$N" 240 || fail "B has $(count B) of $N after 240 s"
t1=$(date +%s)
sleep 2
[ "$(events B 203)" -eq "$N" ] || fail "B delivered $(events B 203) times, want exactly $N"
[ "$(count B)" -eq "$N" ] || fail "B has $(count B) files, want $N"
ups=$(events A 500)
[ "$ups" -ge 2 ] || fail "the link came up only $ups time(s): it did not flap"
echo "flapping link: $N messages in $((t1 - t0)) s over $ups link-ups, $(events A 1294) abnormal ends, $(events B 207) duplicates recognised, each delivered once"
