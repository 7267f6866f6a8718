#!/usr/bin/env bash
# p1_tshark.sh - tshark (4.0, its p1 and p22 dissectors) judges our P1 and IPM bytes.
# tool_p1_pcap wraps a message (carrying the IPM vector), a report and a probe in hand-built
# TPKT/COTP/session/presentation/RTSE framing; a private WIRESHARK_CONFIG_DIR maps the
# presentation contexts (no CP is sent). Then: no bad frame (the CONFORMANCE.md filter), and
# the fields decode to the values written. No network is used.
set -euo pipefail
: "${OX_BUILD:?}" "${OX_SRC:?}"
command -v tshark >/dev/null || { echo "tshark missing"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/cfg" "$work/vec"
printf '"3","2.6.0.2.12"\n"5","2.6.0.2.7"\n' >"$work/cfg/pres_context_list"
export WIRESHARK_CONFIG_DIR="$work/cfg"
tool="$OX_BUILD/tests/tools/tool_p1_pcap"
timeout 30 "$tool" "$work/p1.pcap" "$OX_SRC/tests/vectors/ipm/ipm_basic.hex" "$work/vec"
for v in message report probe; do   # the committed vectors are what we write today
    diff <(grep -v '^#' "$work/vec/$v.hex") <(grep -v '^#' "$OX_SRC/tests/vectors/p1/$v.hex")
done
bad=$(timeout 60 tshark -2 -r "$work/p1.pcap" -Y '_ws.malformed || _ws.expert.severity >= error
  || _ws.expert.group == undecoded || _ws.expert.group == malformed
  || (tcp.len>0 && !tpkt && !tcp.reassembled_in) || (cotp.type==0x0f && cotp.eot==1 && !ses)' \
  2>/dev/null | wc -l)
[ "$bad" -eq 0 ] || { echo "tshark: $bad bad frames"; exit 1; }
fields=$(timeout 60 tshark -2 -r "$work/p1.pcap" -T fields -E separator='|' -e p1.local_identifier \
  -e p1.mta_name -e p22.subject -e p22.user_relative_identifier -e p1.surname 2>/dev/null \
  | grep -v '^||||$')
echo "$fields"
line() { sed -n "$1p" <<<"$fields"; }
[[ $(line 1) == "msg-0001@site|mta1.site|Test subject|ipm-0001|Smith,User0"* ]] || { echo "message fields"; exit 1; }
[[ $(line 2) == "rep-0001@far,msg-0001@site|"* ]] || { echo "report fields"; exit 1; }
[[ $(line 3) == "probe-0001@site|mta1.site|"* ]] || { echo "probe fields"; exit 1; }
[ "$(timeout 60 tshark -2 -r "$work/p1.pcap" -T fields -e p1 -e p22 2>/dev/null | grep -c .)" -ge 3 ]
echo "p1_tshark: ok"
