#!/usr/bin/env bash
# The main job end to end on the bundled capture: build, then read the real
# PktMon ETL of captures/ on this OS (info, drops), diagnose it, convert it to
# pcapng with all metadata and show it in tshark with the plugin's fields,
# print etl2txt lines, and diagnose a recorded capture with a PMTU problem.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release --quiet -p pktmon-analyzer -p pktmon-wireshark
bin=target/release/pktmon-analyzer
etl=captures/demikernel-PktMon.etl
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== info"; $bin info "$etl"
echo "== drops"; $bin drops "$etl"
echo "== diagnose"; $bin diagnose "$etl"
echo "== convert"; $bin convert "$etl" -o "$out/demikernel.pcapng"
echo "== the converted file in tshark (first 5 frames, interface = component, comment = PktMon line)"
tshark -r "$out/demikernel.pcapng" -c 5 -T fields -e frame.number -e frame.interface_name -e frame.packet_id -e frame.comment 2>/dev/null
echo "== txt (first 3 lines, as pktmon etl2txt prints them)"
$bin txt "$etl" | head -n 3
echo "== the plugin: each packet once (!pktmon.duplicate) with its path"
home="$out/home"
mkdir -p "$home"
HOME="$home" $bin install-plugin --dest "$home/.local/lib/wireshark/plugins/$(tshark --version 2>/dev/null | head -1 | awk '{print $3}' | cut -d. -f1,2)" >/dev/null
chmod -R a+rX "$out"
as_user() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$home" "$@"; else HOME="$home" "$@"; fi; }
as_user tshark -2 -r "$out/demikernel.pcapng" -Y '!pktmon.duplicate' -T fields -e frame.number \
  -e pktmon.component_name -e pktmon.appearance_count -e pktmon.next_frame -e pktmon.last_frame 2>/dev/null | head -n 5
echo "== diagnose a recorded capture (PMTU black hole: ICMP filtered on the path)"
$bin diagnose captures/recorded/pmtu-black-hole.pcap 2>/dev/null | head -n 20
