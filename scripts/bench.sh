#!/usr/bin/env bash
# One benchmark run, end to end: installs what is missing (scripts/setup.sh,
# plus tcptrace and GNU time), builds release (analyzer + Wireshark plugin),
# generates its inputs with `pktmon-analyzer generate`, and prints side by side
# from this one run:
#
#   * on ≥1M-frame converter pcapngs (baseline at scale, mix at scale, and
#     whole frames: ~1 GB of ~1000-byte frames, many seeds' captures of the mix
#     in one multi-section pcapng, so hundreds of drops and findings and
#     thousands of flows; mix and whole frames mix Ethernet and raw-IP
#     interfaces): diagnose, drops and info vs tshark's TCP analysis
#     (-q -Y tcp.analysis.flags -z io,stat,0) vs tcptrace vs a bare read vs cat
#     (wall time, frames/s, MB/s, peak RSS, ratios and goals; diagnose, drops,
#     info, tshark and the bare read are medians of three);
#   * on a ≥500 MB PktMon ETL of whole frames, and on one of pktmon's default
#     128-byte frames: convert vs bare decompression and vs writing as many
#     bytes as convert wrote, convert's peak RSS (medians of three);
#   * tshark with and without the pktmon plugin, same arguments (medians of
#     three runs, wall and CPU time): -q -z expert,note, and -V on 200k frames;
#   * the generator's own throughput.
#
# Usage: scripts/bench.sh [--write-doc]
#   --write-doc   also put the results into docs/benchmarks.md (between its markers)
# Environment: BENCH_DIR (work folder, default a new /tmp/pktmon-bench.*, removed
# at the end unless BENCH_KEEP=1), BENCH_PACKETS (frames of the pcapngs, default
# 1000000), BENCH_ETL_PACKETS (appearances of the ETL, default 3000000),
# BENCH_WHOLE_PARTS and BENCH_WHOLE_PACKETS (the whole-frame pcapng: this many
# captures of about this many appearances each, default 40 × 25000),
# CARGO_TARGET_DIR (as cargo uses it).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WRITE_DOC=0
for arg in "$@"; do
  case "$arg" in
    --write-doc) WRITE_DOC=1 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument $arg" >&2; exit 2 ;;
  esac
done
PACKETS=${BENCH_PACKETS:-1000000}
ETL_PACKETS=${BENCH_ETL_PACKETS:-3000000}
WHOLE_PARTS=${BENCH_WHOLE_PARTS:-40}
WHOLE_PACKETS=${BENCH_WHOLE_PACKETS:-25000}
STARTED=$(date +%s)

# --- what is needed -----------------------------------------------------------
"$ROOT/scripts/setup.sh"
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
missing=()
command -v tcptrace >/dev/null 2>&1 || missing+=(tcptrace)
[ -x /usr/bin/time ] || missing+=(time)
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "bench: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update >&2
  ${SUDO:+$SUDO -E} apt-get install -y --no-install-recommends "${missing[@]}" >&2
fi

echo "bench: building release (analyzer + plugin; a few minutes the first time)" >&2
BUILD_START=$(date +%s)
(cd "$ROOT" && cargo build --release -p pktmon-analyzer -p pktmon-wireshark)
BUILD_SECS=$(( $(date +%s) - BUILD_START ))
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
case "$TARGET" in /*) ;; *) TARGET="$ROOT/$TARGET" ;; esac
BIN="$TARGET/release/pktmon-analyzer"
PLUGIN="$TARGET/release/libpktmon_wireshark.so"

WORK=${BENCH_DIR:-$(mktemp -d /tmp/pktmon-bench.XXXXXX)}
mkdir -p "$WORK"
chmod a+rwx "$WORK"
cleanup() { [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT

# --- helpers ------------------------------------------------------------------
# measure CMD...: runs it (stdout to /dev/null, or to $WORK/stdout.log with
# KEEP_STDOUT=1), sets T (wall seconds), C (user + system CPU seconds) and M
# (peak RSS, KiB).
measure() {
  local stdout=/dev/null
  [ "${KEEP_STDOUT:-0}" = 1 ] && stdout="$WORK/stdout.log"
  if ! /usr/bin/time -f '%e %M %U %S' -o "$WORK/time.out" "$@" >"$stdout" 2>"$WORK/stderr.log"; then
    echo "bench: failed: $*" >&2
    tail -5 "$WORK/stderr.log" >&2
    T=nan; M=0; C=nan
    return 0
  fi
  local u s
  read -r T M u s < "$WORK/time.out"
  C=$(awk "BEGIN { printf \"%.2f\", $u + $s }")
}
# median3 CMD...: measure three times; T, C and M are the medians.
median3() {
  local ts=() cs=() ms=()
  for _ in 1 2 3; do
    measure "$@"
    ts+=("$T"); cs+=("$C"); ms+=("$M")
  done
  T=$(printf '%s\n' "${ts[@]}" | sort -g | sed -n 2p)
  C=$(printf '%s\n' "${cs[@]}" | sort -g | sed -n 2p)
  M=$(printf '%s\n' "${ms[@]}" | sort -g | sed -n 2p)
}
# f OPS SCALE: floating point with awk.
calc() { awk "BEGIN { v = $1; if (v != v) print \"n/a\"; else printf \"$2\", v }"; }
mb() { awk "BEGIN { printf \"%.1f\", $1 / 1048576 }"; }
size_of() { stat -c %s "$1"; }

WSVER=$(tshark --version | head -1 | sed -E 's/.* ([0-9]+)\.([0-9]+)\.[0-9]+.*/\1.\2/')
PLUGIN_HOME="$WORK/home-plugin"
EMPTY_HOME="$WORK/home-empty"
# tshark as an unprivileged user (tshark ignores personal plugins as root), with
# the plugin in its personal folder or with an empty home.
if [ "$(id -u)" -eq 0 ]; then
  AS_USER=(setpriv --reuid=65534 --regid=65534 --clear-groups env)
else
  AS_USER=(env)
fi
TSHARK_PLAIN=("${AS_USER[@]}" HOME="$EMPTY_HOME" tshark)
TSHARK_PLUGIN=("${AS_USER[@]}" HOME="$PLUGIN_HOME" tshark)
mkdir -p "$PLUGIN_HOME/.local/lib/wireshark/plugins/$WSVER/epan" "$EMPTY_HOME"
cp "$PLUGIN" "$PLUGIN_HOME/.local/lib/wireshark/plugins/$WSVER/epan/pktmon.so"
chmod -R a+rwX "$PLUGIN_HOME" "$EMPTY_HOME"

OUT="$WORK/results.md"
: > "$OUT"
say() { echo "$*" | tee -a "$OUT"; }

# --- machine ------------------------------------------------------------------
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
MEM=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
OS=$(. /etc/os-release && echo "$PRETTY_NAME")
say "Run of $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$ROOT" && git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')."
say ""
say "| machine | |"
say "|---|---|"
say "| CPU | $CPU, $(nproc) cores |"
say "| memory | $MEM |"
say "| OS | $OS, kernel $(uname -r) |"
say "| load average at start | $(cut -d' ' -f1-3 /proc/loadavg) |"
say "| tshark | $(tshark --version | head -1 | sed 's/^TShark (Wireshark) //') |"
say "| tcptrace | $(tcptrace -v 2>&1 | grep -m1 -o 'version [0-9.]*') |"
say "| rustc | $(rustc --version | cut -d' ' -f2) |"
say ""

# --- inputs -------------------------------------------------------------------
echo "bench: generating inputs in $WORK" >&2
say "### Inputs (pktmon-analyzer generate)"
say ""
say "| input | command | appearances | size | wall s | appearances/s | peak RSS MB |"
say "|---|---|---:|---:|---:|---:|---:|"
gen_row() { # name args...
  local name=$1; shift
  KEEP_STDOUT=1 measure "$BIN" generate "$@" -o "$WORK/$name"
  local n
  n=$(awk '/appearances/ { print $1 }' "$WORK/stdout.log")
  local f
  f=$(ls "$WORK/$name"/*.pcapng "$WORK/$name"/*.etl 2>/dev/null | head -1 || true)
  local sz="-"
  [ -n "$f" ] && sz="$(mb "$(size_of "$f")") MB"
  say "| $name | \`generate $*\` | $n | $sz | $T | $(calc "$n / $T" "%.0f") | $(calc "$M / 1024" "%.0f") |"
}
gen_row generator-alone --scenario mix --packets "$PACKETS" --format none --seed 1
gen_row baseline --scenario baseline --packets "$PACKETS" --format pcapng --seed 1
gen_row mix --scenario mix --packets "$PACKETS" --format pcapng --seed 1
gen_row mix-etl2pcapng --scenario mix --packets "$PACKETS" --format etl2pcapng --seed 1
gen_row big-etl --scenario mix --packets "$ETL_PACKETS" --pkt-size 0 --format etl --seed 2
gen_row default-etl --scenario mix --packets "$ETL_PACKETS" --format etl --seed 3
# Whole frames, many causes: one capture per seed (mix, whole frames), put
# in time order and concatenated into one multi-section pcapng.
echo "bench: generating the whole-frame capture ($WHOLE_PARTS × $WHOLE_PACKETS appearances)" >&2
WHOLE="$WORK/whole/whole.pcapng"
mkdir -p "$WORK/whole"
WHOLE_START=$(date +%s.%N)
for seed in $(seq 101 $((100 + WHOLE_PARTS))); do
  "$BIN" generate --scenario mix --packets "$WHOLE_PACKETS" --pkt-size 0 --format pcapng --seed "$seed" \
    -o "$WORK/whole/s$seed" >/dev/null 2>&1
  printf '%s %s\n' "$("$BIN" info "$WORK/whole/s$seed/mix.pcapng" | awk '/packets from:/ { print $3 }')" "$seed"
done | sort | while read -r _ seed; do
  cat "$WORK/whole/s$seed/mix.pcapng"
  rm -rf "$WORK/whole/s$seed"
done > "$WHOLE"
WHOLE_SECS=$(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $WHOLE_START }")
WHOLE_N=$("$BIN" bench-read "$WHOLE" | awk '{ print $1 }')
say "| whole-frames | $WHOLE_PARTS × \`generate --scenario mix --packets $WHOLE_PACKETS --pkt-size 0 --format pcapng --seed S\`, in time order, concatenated | $WHOLE_N | $(mb "$(size_of "$WHOLE")") MB | $WHOLE_SECS | $(calc "$WHOLE_N / $WHOLE_SECS" "%.0f") | |"
chmod -R a+rX "$WORK"
say ""
BASELINE="$WORK/baseline/baseline.pcapng"
MIX="$WORK/mix/mix.pcapng"
MIX_E2P="$WORK/mix-etl2pcapng/mix.etl2pcapng.pcapng"
ETL="$WORK/big-etl/mix.etl"
DEFAULT_ETL="$WORK/default-etl/mix.etl"

# --- pcapng: diagnose vs the peers --------------------------------------------
pcapng_table() { # title file
  local title=$1 f=$2
  local frames bytes
  frames=$("$BIN" bench-read "$f" | awk '{ print $1 }')
  bytes=$(size_of "$f")
  echo "bench: $title" >&2
  say "### $title: $(basename "$f"), $frames frames, $(mb "$bytes") MB"
  say ""
  say "| tool | command | wall s | CPU s | frames/s | MB/s | peak RSS MB | time ÷ diagnose | CPU ÷ diagnose |"
  say "|---|---|---:|---:|---:|---:|---:|---:|---:|"
  median3 "$BIN" diagnose "$f"; local TD=$T MD=$M CD=$C
  median3 "$BIN" drops "$f"; local TDR=$T MDR=$M CDR=$C
  median3 "$BIN" info "$f"; local TI=$T MI=$M CI=$C
  median3 "$BIN" bench-read "$f"; local TB=$T MB_=$M CB=$C
  measure cat "$f"; local TC=$T MC=$M CC=$C
  median3 "${TSHARK_PLAIN[@]}" -q -Y tcp.analysis.flags -z io,stat,0 -r "$f"; local TT=$T MT=$M CT=$C
  local TR=nan MR=0 CR=nan tcptrace_note=""
  measure tcptrace -n "$f"
  if grep -q "PCAP error" "$WORK/stderr.log"; then
    tcptrace_note=$(grep -m1 -o "PCAP error.*" "$WORK/stderr.log")
  else
    TR=$T; MR=$M; CR=$C
  fi
  row() { # name command t m cpu
    if [ "$3" = nan ]; then
      say "| $1 | \`$2\` | n/a | | | | | | |"
    else
      say "| $1 | \`$2\` | $3 | $5 | $(calc "$frames / $3" "%.0f") | $(calc "$bytes / 1048576 / $3" "%.1f") | $(calc "$4 / 1024" "%.0f") | $(calc "$3 / $TD" "%.2f") | $(calc "$5 / $CD" "%.2f") |"
    fi
  }
  row "pktmon-analyzer diagnose" "diagnose F" "$TD" "$MD" "$CD"
  row "pktmon-analyzer drops" "drops F" "$TDR" "$MDR" "$CDR"
  row "pktmon-analyzer info" "info F" "$TI" "$MI" "$CI"
  row "tshark" "tshark -q -Y tcp.analysis.flags -z io,stat,0 -r F" "$TT" "$MT" "$CT"
  row "tcptrace" "tcptrace -n F" "$TR" "$MR" "$CR"
  row "bare read" "pktmon-analyzer bench-read F" "$TB" "$MB_" "$CB"
  row "cat" "cat F > /dev/null" "$TC" "$MC" "$CC"
  say ""
  [ -n "$tcptrace_note" ] && say "tcptrace: $tcptrace_note (libpcap reads one link type per pcapng; this file has Ethernet and raw IP interfaces)." && say ""
  say "diagnose is $(calc "$TT / $TD" "%.2f")× tshark's speed with $(calc "$MD / $MT" "%.2f")× its peak memory; it runs at $(calc "$TB / $TD" "%.2f")× the speed of a bare read of the same file."
  say ""
  # The goals of issue #16, each with its figure and whether it is met.
  goal() { # text figure condition(awk)
    local met
    met=$(awk "BEGIN { v = $2; if (v != v) print \"n/a\"; else if ($3) print \"yes\"; else print \"**no**\" }")
    say "| $1 | $(calc "$2" "%.2f") | $met |"
  }
  say "| goal on $(basename "$f") | figure | met |"
  say "|---|---:|---|"
  goal "diagnose ≥ 10× tshark's speed (tshark time ÷ diagnose time)" "$TT / $TD" "v >= 10"
  goal "(the same in CPU time: tshark CPU s ÷ diagnose CPU s)" "$CT / $CD" "v >= 10"
  if [ "$TR" != nan ]; then
    goal "diagnose ≥ 1.0× tcptrace's speed (tcptrace time ÷ diagnose time)" "$TR / $TD" "v >= 1.0"
  fi
  goal "diagnose ≤ 1.3× the bare read's time" "$TD / $TB" "v <= 1.3"
  goal "(the same in CPU time: diagnose CPU s ÷ bare read CPU s; diagnose uses two threads)" "$CD / $CB" "v <= 1.3"
  goal "diagnose ≤ ¼ of tshark's peak memory (diagnose ÷ tshark)" "$MD / $MT" "v <= 0.25"
  goal "drops ≤ 1.2× the bare read's time" "$TDR / $TB" "v <= 1.2"
  goal "drops ≤ 100 MB (peak RSS, MB)" "$MDR / 1024" "v <= 100"
  goal "info ≤ 1.2× the bare read's time" "$TI / $TB" "v <= 1.2"
  goal "info ≤ 100 MB (peak RSS, MB)" "$MI / 1024" "v <= 100"
  say ""
}
pcapng_table "Converter pcapng, baseline at scale" "$BASELINE"
pcapng_table "Converter pcapng, mix at scale" "$MIX"
pcapng_table "Converter pcapng, whole frames, many seeds' causes" "$WHOLE"

# tshark -z expert with every severity: packet comments become "Comment" items.
echo "bench: tshark -z expert growth" >&2
say "### tshark -q -z expert (all severities) and packet comments"
say ""
say "| input | frames | wall s |"
say "|---|---:|---:|"
for n in 10000 20000 40000; do
  "$BIN" generate --scenario mix --packets "$n" --format pcapng,etl2pcapng --seed 1 -o "$WORK/small-$n" 2>/dev/null >/dev/null
  chmod -R a+rX "$WORK/small-$n"
  measure "${TSHARK_PLAIN[@]}" -q -z expert -r "$WORK/small-$n/mix.pcapng"
  say "| converter pcapng (a comment per frame) | $n | $T |"
done
measure "${TSHARK_PLAIN[@]}" -q -z expert -r "$MIX_E2P"
say "| etl2pcapng-style pcapng (no comments) | $("$BIN" bench-read "$MIX_E2P" | awk '{ print $1 }') | $T |"
say ""

# --- ETL: convert vs bare decompression ----------------------------------------
etl_table() { # file shape
  local etl=$1 shape=$2
  echo "bench: ETL ($shape)" >&2
  local etl_bytes etl_frames
  etl_bytes=$(size_of "$etl")
  etl_frames=$("$BIN" bench-read "$etl" | awk '{ print $1 }')
  say "### PktMon ETL, $shape: $(basename "$etl"), $(mb "$etl_bytes") MB, $etl_frames appearances (XPRESS-compressed buffers, 4 CPUs)"
  say ""
  say "| step | command | wall s | CPU s | ETL MB/s | appearances/s | peak RSS MB |"
  say "|---|---|---:|---:|---:|---:|---:|"
  median3 "$BIN" bench-read --decompress-only "$etl"; local TX=$T CX=$C MX=$M
  median3 "$BIN" bench-read "$etl"; local TP=$T CP=$C MP=$M
  median3 "$BIN" convert "$etl" -o "$WORK/big.pcapng"; local TV=$T CV=$C MV=$M
  local out_bytes
  out_bytes=$(size_of "$WORK/big.pcapng")
  rm -f "$WORK/big.pcapng"
  # The conversion's own work: a device is written directly, no disk involved.
  median3 "$BIN" convert "$etl" -o /dev/null; local TN=$T CN=$C MN=$M
  # The peers for the output side: writing the same number of bytes to the same
  # disk, into the page cache, and synced as convert syncs its output before the rename.
  median3 sh -c "head -c $out_bytes /dev/zero > '$WORK/zeros'"; local TW=$T CW=$C MW=$M
  rm -f "$WORK/zeros"
  median3 dd if=/dev/zero of="$WORK/zeros" bs=4M count="$out_bytes" iflag=count_bytes conv=fsync status=none; local TS=$T CS=$C MS=$M
  rm -f "$WORK/zeros"
  etl_row() { say "| $1 | \`$2\` | $3 | $4 | $(calc "$etl_bytes / 1048576 / $3" "%.0f") | $(calc "$etl_frames / $3" "%.0f") | $(calc "$5 / 1024" "%.0f") |"; }
  etl_row "bare decompression" "bench-read --decompress-only F" "$TX" "$CX" "$MX"
  etl_row "read every record" "bench-read F" "$TP" "$CP" "$MP"
  etl_row "convert to pcapng" "convert F -o out.pcapng" "$TV" "$CV" "$MV"
  etl_row "convert, output discarded" "convert F -o /dev/null" "$TN" "$CN" "$MN"
  say "| write as many bytes as convert wrote | \`head -c N /dev/zero > f\` | $TW | $CW | | | $(calc "$MW / 1024" "%.0f") |"
  say "| the same, synced | \`dd … count=N iflag=count_bytes conv=fsync\` | $TS | $CS | | | $(calc "$MS / 1024" "%.0f") |"
  say ""
  say "Goal: convert ≥ 0.8× the speed of writing as many bytes (\`head -c N /dev/zero > f\` time ÷ convert time): $(calc "$TW / $TV" "%.2f")× ($(awk "BEGIN { print ($TW / $TV >= 0.8) ? \"met\" : \"**not met**\" }")); against the synced write $(calc "$TS / $TV" "%.2f")×."
  say ""
  say "convert runs at $(calc "$TX / $TV" "%.2f")× the speed of bare decompression (goal ≥ 0.5); with its output discarded, at $(calc "$TX / $TN" "%.2f")×. Its output is $(mb "$out_bytes") MB for a $(mb "$etl_bytes") MB ETL: merely writing that many bytes takes $TW s ($TS s synced, as convert syncs its output), so a converter doing nothing else would run at $(calc "$TX / $TW" "%.2f")× ($(calc "$TX / $TS" "%.2f")× synced) on this disk. convert's peak RSS is $(calc "$MV / 1024" "%.0f") MB ($(calc "$MV * 1024 / $etl_bytes * 100" "%.1f")% of the file)."
  say ""
}
etl_table "$ETL" "whole frames (--pkt-size 0)"
etl_table "$DEFAULT_ETL" "pktmon's default 128-byte frames"

# --- tshark with and without the plugin -----------------------------------------
echo "bench: plugin" >&2
if "${TSHARK_PLUGIN[@]}" -G plugins 2>/dev/null | grep -q '^pktmon'; then
  say "### tshark with and without the pktmon plugin: $(basename "$MIX"), same arguments"
  say ""
  say "Medians of three runs each; CPU is user + system time."
  say ""
  say "| run | command | wall s | CPU s | peak RSS MB |"
  say "|---|---|---:|---:|---:|"
  plugin_rows() { # title args...
    local title=$1; shift
    median3 "${TSHARK_PLAIN[@]}" "$@" -r "$MIX"; local TN=$T CN=$C MN=$M
    median3 "${TSHARK_PLUGIN[@]}" "$@" -r "$MIX"; local TW=$T CW=$C MW=$M
    say "| without the plugin | \`tshark $* -r F\` | $TN | $CN | $(calc "$MN / 1024" "%.0f") |"
    say "| with the plugin | \`tshark $* -r F\` | $TW | $CW | $(calc "$MW / 1024" "%.0f") |"
    RATIOS+=("$title: with the plugin tshark takes $(calc "$TW / $TN" "%.2f")× the wall time, $(calc "$CW / $CN" "%.2f")× the CPU time (goal ≤ 1.15) and $(calc "$MW / $MN" "%.2f")× the memory.")
  }
  RATIOS=()
  plugin_rows "\`-q -z expert,note\`" -q -z expert,note
  plugin_rows "\`-V -c 200000\` (every field of every frame built and printed)" -V -c 200000
  say ""
  for r in "${RATIOS[@]}"; do say "$r"; say ""; done
else
  say "### tshark with and without the pktmon plugin"
  say ""
  say "The plugin did not load into tshark $WSVER (built for another Wireshark?): not measured."
fi
say ""
TOTAL=$(( $(date +%s) - STARTED ))
say "Whole run: ${TOTAL} s (of which building ${BUILD_SECS} s)."

if [ "$WRITE_DOC" = 1 ]; then
  DOC="$ROOT/docs/benchmarks.md"
  awk -v results="$OUT" '
    /<!-- bench:begin -->/ { print; print ""; while ((getline line < results) > 0) print line; skip = 1; next }
    /<!-- bench:end -->/ { skip = 0 }
    !skip { print }
  ' "$DOC" > "$DOC.tmp" && mv "$DOC.tmp" "$DOC"
  echo "bench: results written into docs/benchmarks.md" >&2
fi
