#!/usr/bin/env bash
# The main job end to end on the bundled capture: build, then read the real
# PktMon ETL of captures/ on this OS (info, components, drops), convert it to
# pcapng with all metadata and show it in tshark, and print etl2txt lines.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release --quiet
bin=target/release/pktmon-analyzer
etl=captures/demikernel-PktMon.etl
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== info"; $bin info "$etl"
echo "== drops"; $bin drops "$etl"
echo "== convert"; $bin convert "$etl" -o "$out/demikernel.pcapng"
echo "== the converted file in tshark (first 5 frames, interface = component, comment = PktMon line)"
tshark -r "$out/demikernel.pcapng" -c 5 -T fields -e frame.number -e frame.interface_name -e frame.packet_id -e frame.comment 2>/dev/null
echo "== txt (first 3 lines, as pktmon etl2txt prints them)"
$bin txt "$etl" | head -n 3
