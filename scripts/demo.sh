#!/usr/bin/env bash
# The main job end to end: build, then read the real PktMon ETL bundled in
# captures/ on this OS (info, drops, diagnose), convert it to pcapng with all
# metadata and show it in tshark with the plugin's fields, print etl2txt
# lines; then a generated capture with drops (drops, diagnose, one dropped
# packet's path in tshark), and a recorded capture with a PMTU problem.
# The pcapng files stay in target/demo/ for Wireshark.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
echo "demo: building pktmon-analyzer and the Wireshark plugin (release: a few minutes the first time)" >&2
cargo build --release -p pktmon-analyzer -p pktmon-wireshark
bin=target/release/pktmon-analyzer
etl=captures/demikernel-PktMon.etl
out=target/demo # kept after the demo: open its files in Wireshark
rm -rf "$out"
mkdir -p "$out"
home=$(mktemp -d) # a home with the plugin installed, for tshark
trap 'rm -rf "$home"' EXIT

# tshark's standard error, shown but for the warning it prints when run as root
# (it says why the plugin did not load, if it did not).
tshark_() {
  local err status=0
  err=$(mktemp)
  "$@" 2>"$err" || status=$?
  grep -v -e '^Running as user "root"' -e '^ *This could be dangerous' "$err" >&2 || true
  rm -f "$err"
  return "$status"
}
# tshark as a user that reads personal plugins (tshark ignores them for root).
as_user() {
  if [ "$(id -u)" = 0 ]; then
    setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$home" "$@"
  else
    HOME="$home" "$@"
  fi
}
columns() { awk -F'\t' -v fmt="$1" '{ printf fmt, $1, $2, $3, $4, $5, $6 }'; }

echo "== info: a real PktMon capture (Windows Server 2022, bundled in captures/)"
$bin info "$etl"
echo "== drops"
$bin drops "$etl"
echo "== diagnose"
$bin diagnose "$etl"
echo "== convert"
$bin convert "$etl" -o "$out/demikernel.pcapng"
echo "== the converted file in tshark: first 3 frames (interface = component, comment = PktMon's own line)"
printf '%-5s  %-12s  %-10s  %s\n' FRAME INTERFACE PKTGROUPID COMMENT
tshark_ tshark -r "$out/demikernel.pcapng" -c 3 -T fields -e frame.number -e frame.interface_name \
  -e frame.packet_id -e frame.comment | columns '%-5s  %-12s  %-10s  %.110s\n'
echo "== txt: first 2 lines, as pktmon etl2txt prints them"
$bin txt "$etl" | head -n 2

echo "== the plugin: each packet once (!pktmon.duplicate) with its path"
version=$(tshark_ tshark --version | awk 'NR == 1 { split($3, v, "."); print v[1] "." v[2] }')
$bin install-plugin --dest "$home/.local/lib/wireshark/plugins/$version" >/dev/null
chmod -R a+rX "$home"
rows=$(tshark_ as_user tshark -2 -r "$out/demikernel.pcapng" -Y '!pktmon.duplicate' -T fields -e frame.number \
  -e pktmon.component_name -e pktmon.appearance_count -e pktmon.next_frame -e pktmon.last_frame)
printf '%-5s  %-12s  %-4s  %-10s  %s\n' FRAME COMPONENT HOPS NEXT_FRAME LAST_FRAME
head -n 4 <<<"$rows" | columns '%-5s  %-12s  %-4s  %-10s  %s\n'

gen="$out/generated"
echo "== a capture with drops, generated: pktmon-analyzer generate --scenario mix --seed 1 --format pcapng,etl -o $gen"
# Its list of files written is not shown, unless it fails.
if ! log=$($bin generate --scenario mix --seed 1 --format pcapng,etl -o "$gen" 2>&1); then
  echo "$log" >&2
  exit 1
fi
echo "== drops"
$bin drops "$gen/mix.etl"
echo "== diagnose: the verdict and the worst problem (the whole report: $bin diagnose $gen/mix.etl)"
$bin diagnose "$gen/mix.etl" | head -n 21
echo "== one dropped packet in tshark with the plugin: every appearance along its path, the drop last"
first=$(tshark_ as_user tshark -2 -r "$gen/mix.pcapng" -Y 'pktmon.drop && pktmon.hop > 2' -T fields \
  -e pktmon.first_frame)
first=${first%%$'\n'*}
printf '%-5s  %-15s  %-3s  %-6s  %s\n' FRAME COMPONENT DIR HOP DROP_REASON
tshark_ as_user tshark -2 -r "$gen/mix.pcapng" -Y "frame.number == $first || pktmon.first_frame == $first" -T fields \
  -e frame.number -e pktmon.component_name -e pktmon.direction -e pktmon.hop -e pktmon.appearance_count \
  -e pktmon.drop_reason | awk -F'\t' '{ printf "%-5s  %-15s  %-3s  %-6s  %s\n", $1, $2, $3, $4 " of " $5, $6 }'

echo "== diagnose a recorded capture (PMTU black hole: ICMP filtered on the path)"
$bin diagnose captures/recorded/pmtu-black-hole.pcap 2>/dev/null | head -n 16

echo
echo "The converted capture is $out/demikernel.pcapng, the generated one with drops $gen/mix.pcapng."
echo "Open them in Wireshark with the plugin's fields:"
# Wireshark ignores personal plugins when run as root: then the global folder.
global=""
[ "$(id -u)" != 0 ] || global=" --global"
echo "  $bin install-plugin$global && wireshark $gen/mix.pcapng"
echo "With the plugin installed, Wireshark also opens PktMon's own .etl (File > Open, or: wireshark $gen/mix.etl)."
