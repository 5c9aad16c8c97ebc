#!/usr/bin/env bash
# Memory and time of the plugin's file reader: tshark opening a large PktMon
# ETL itself, against tshark opening the same capture converted to pcapng
# (the peer: Wireshark's own pcapng reader, same frames, same plugin), in the
# same run. Generates its input (`generate --pkt-size 0`, about 525 MB for
# the default 3,000,000 appearances), prints a Markdown table.
#
#   scripts/bench-wiretap.sh              # BENCH_WTAP_PACKETS=3000000
#
# Needs what scripts/setup.sh installs (tshark) and a release build of the
# analyzer and the plugin (built here if missing). Runs tshark as uid 65534
# when root (tshark ignores personal plugins as root).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKETS=${BENCH_WTAP_PACKETS:-3000000}
say() { printf '%s\n' "$*"; }

cargo build --release -q -p pktmon-analyzer --bin pktmon-analyzer
cargo build --release -q -p pktmon-wireshark --lib
BIN=$PWD/target/release/pktmon-analyzer
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pktmon-bench-wtap.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
chmod a+rwx "$WORK"

minor=$(tshark --version 2>/dev/null | head -n 1 | awk '{ split($3, v, "."); print v[1] "." v[2] }')
mkdir -p "$WORK/home/.local/lib/wireshark/plugins/$minor/epan"
cp target/release/libpktmon_wireshark.so "$WORK/home/.local/lib/wireshark/plugins/$minor/epan/pktmon.so"

say "bench-wiretap: generating $PACKETS appearances (whole frames) as ETL" >&2
"$BIN" generate --scenario mix --packets "$PACKETS" --pkt-size 0 --format etl --seed 2 -o "$WORK/gen" >/dev/null
ETL="$WORK/gen/mix.etl"
say "bench-wiretap: converting it to pcapng (the peer's input)" >&2
"$BIN" convert "$ETL" -o "$WORK/mix.pcapng" >/dev/null 2>&1
chmod -R a+rwX "$WORK"

if [ "$(id -u)" = 0 ]; then
  tshark_cmd=(setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$WORK/home" tshark)
else
  tshark_cmd=(env HOME="$WORK/home" tshark)
fi
# measure CMD...: T (wall s), M (peak RSS KB), C (CPU s), N (lines printed).
measure() {
  /usr/bin/time -f '%e %M %U %S' -o "$WORK/time.out" "$@" >"$WORK/out.txt" 2>"$WORK/err.txt" || true
  local u s
  read -r T M u s <"$WORK/time.out"
  C=$(awk "BEGIN { printf \"%.2f\", $u + $s }")
  N=$(wc -l <"$WORK/out.txt")
}
mb() { awk "BEGIN { printf \"%.1f\", $1 / 1048576 }"; }

etl_bytes=$(stat -c %s "$ETL")
pcap_bytes=$(stat -c %s "$WORK/mix.pcapng")
say "### tshark opening a PktMon ETL itself: mix.etl, $(mb "$etl_bytes") MB, $PACKETS appearances requested (whole frames, 4 CPUs)"
say ""
say "Wireshark $(tshark --version | head -n 1 | awk '{ print $3 }'); the peer is the same capture converted to pcapng ($(mb "$pcap_bytes") MB), read by Wireshark's own pcapng reader with the same plugin."
say ""
say "| run | command | frames | wall s | CPU s | peak RSS MB | RSS / ETL size |"
say "|---|---|---:|---:|---:|---:|---:|"
row() { say "| $1 | \`$2\` | $N | $T | $C | $(awk "BEGIN { printf \"%.0f\", $M / 1024 }") | $(awk "BEGIN { printf \"%.2f\", $M * 1024 / $etl_bytes }") |"; }
# -q alone: every frame read through the reader, none dissected (tshark
# dissects only for a filter, a tap or output): what opening the file costs.
measure "${tshark_cmd[@]}" -q -r "$ETL"
TE=$T; ME=$M; N=-; row "ETL, read" "tshark -q -r mix.etl"
measure "${tshark_cmd[@]}" -q -r "$WORK/mix.pcapng"
TP=$T; MP=$M; N=-; row "converted pcapng (peer), read" "tshark -q -r mix.pcapng"
# With a tap every frame is dissected, the plugin's path state included.
measure "${tshark_cmd[@]}" -q -r "$ETL" -z io,stat,0
NE=$(awk -F'|' '/<>/ { gsub(/ /, "", $3); print $3 }' "$WORK/out.txt")
TED=$T; MED=$M; N=$NE; row "ETL, every frame dissected" "tshark -q -r mix.etl -z io,stat,0"
measure "${tshark_cmd[@]}" -q -r "$WORK/mix.pcapng" -z io,stat,0
N=$(awk -F'|' '/<>/ { gsub(/ /, "", $3); print $3 }' "$WORK/out.txt")
TPD=$T; MPD=$M; row "converted pcapng (peer), every frame dissected" "tshark -q -r mix.pcapng -z io,stat,0"
say ""
say "Reading the ETL, tshark peaks at $(awk "BEGIN { printf \"%.0f\", $ME / 1024 }") MB, $(awk "BEGIN { printf \"%.0f\", $ME * 1024 / $etl_bytes * 100 }")% of the file's size (goal < 100%): the reader holds $(awk "BEGIN { printf \"%.0f\", ($ME - $MP) / 1024 }") MB more than Wireshark's pcapng reader on the same capture, in $(awk "BEGIN { printf \"%.2f\", $TE / $TP }")× its wall time. Dissecting every frame ($NE), tshark itself grows with the frame count whatever the file (the peer: $(awk "BEGIN { printf \"%.0f\", $MPD / 1024 }") MB); with the ETL it holds $(awk "BEGIN { printf \"%.0f\", ($MED - $MPD) / 1024 }") MB more ($(awk "BEGIN { printf \"%.2f\", $MED / $MPD }")× the memory, $(awk "BEGIN { printf \"%.2f\", $TED / $TPD }")× the wall time)."
