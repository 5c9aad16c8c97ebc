#!/usr/bin/env bash
# What the HTML report costs: on a generated ≥1M-frame converter pcapng with
# every planted cause of loss (`generate --scenario mix --packets N --format
# pcapng`), `diagnose F` against `diagnose F --html R.html` and `report F -o
# R.html` (all with the text report to /dev/null), run alternately RUNS times
# each; prints the medians (wall and CPU seconds, peak RSS), the overhead, and
# the size of the page.
#
# Usage: scripts/bench-report.sh [--write-doc]
#   --write-doc   also put the table into docs/benchmarks.md (between its report markers)
# Environment: BENCH_PACKETS (default 1000000), RUNS (default 7), BENCH_DIR
# (work folder, default a new /tmp/pktmon-bench-report.*, removed at the end
# unless BENCH_KEEP=1), CARGO_TARGET_DIR (as cargo uses it).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WRITE_DOC=0
[ "${1:-}" = --write-doc ] && WRITE_DOC=1
PACKETS=${BENCH_PACKETS:-1000000}
RUNS=${RUNS:-7}
command -v /usr/bin/time >/dev/null || { echo "bench-report: needs GNU time (apt-get install time)" >&2; exit 2; }
(cd "$ROOT" && cargo build --release --quiet -p pktmon-analyzer)
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/pktmon-analyzer
WORK=${BENCH_DIR:-$(mktemp -d /tmp/pktmon-bench-report.XXXXXX)}
mkdir -p "$WORK"
cleanup() { [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT

F=$WORK/mix.pcapng
[ -s "$F" ] || "$BIN" generate --scenario mix --seed 1 --packets "$PACKETS" --format pcapng -o "$WORK" >/dev/null 2>&1
FRAMES=$("$BIN" info "$F" | awk '/appearances:/ { print $2; exit }')

# measure NAME CMD...: appends "wall cpu rss" to $WORK/NAME.times.
measure() {
  local name=$1
  shift
  /usr/bin/time -f '%e %U %S %M' -o "$WORK/time.out" "$@" >/dev/null 2>"$WORK/stderr.log" || {
    echo "bench-report: failed: $*" >&2
    tail -5 "$WORK/stderr.log" >&2
    exit 1
  }
  awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$WORK/time.out" >>"$WORK/$name.times"
}
median() { # FILE COLUMN
  sort -g -k"$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'
}
least() { # FILE COLUMN
  sort -g -k"$2" "$1" | awk -v c="$2" 'NR == 1 { print $c }'
}
rm -f "$WORK"/*.times
for _ in $(seq "$RUNS"); do
  measure plain "$BIN" diagnose "$F"
  measure html "$BIN" diagnose "$F" --html "$WORK/diagnose.html"
  measure report "$BIN" report "$F" -o "$WORK/report.html"
done
SIZE=$(stat -c %s "$WORK/report.html")
PT=$(median "$WORK/plain.times" 1)
PL=$(least "$WORK/plain.times" 1)
PC=$(median "$WORK/plain.times" 2)
out=$(
  echo "Run of $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(cd "$ROOT" && git rev-parse --short HEAD)$(cd "$ROOT" && git diff --quiet HEAD -- analyzer 2>/dev/null || echo " (with uncommitted changes)"), $(nproc) cores, load average at start $(cut -d' ' -f1-3 /proc/loadavg); \`generate --scenario mix --packets $PACKETS --format pcapng\`: $FRAMES frames, $(awk "BEGIN { printf \"%.0f\", $(stat -c %s "$F") / 1048576 }") MB; medians of $RUNS runs, run alternately."
  echo
  echo "| command | wall s (median) | wall s (least) | CPU s | peak RSS MB | median wall vs diagnose | least wall vs diagnose | CPU vs diagnose |"
  echo "|---|---|---|---|---|---|---|---|"
  for name in plain html report; do
    t=$(median "$WORK/$name.times" 1)
    l=$(least "$WORK/$name.times" 1)
    c=$(median "$WORK/$name.times" 2)
    m=$(median "$WORK/$name.times" 3)
    case $name in
      plain) what="\`diagnose F\`" ;;
      html) what="\`diagnose F --html R.html\`" ;;
      report) what="\`report F -o R.html\`" ;;
    esac
    echo "| $what | $t | $l | $c | $(awk "BEGIN { printf \"%.0f\", $m / 1024 }") | $(awk "BEGIN { printf \"%+.1f %%\", ($t / $PT - 1) * 100 }") | $(awk "BEGIN { printf \"%+.1f %%\", ($l / $PL - 1) * 100 }") | $(awk "BEGIN { printf \"%+.1f %%\", ($c / $PC - 1) * 100 }") |"
  done
  echo
  echo "The page: $SIZE bytes ($(awk "BEGIN { printf \"%.2f\", $SIZE / 1048576 }") MB; goal under 5 MB)."
)
echo "$out"
if [ "$WRITE_DOC" = 1 ]; then
  doc=$ROOT/docs/benchmarks.md
  python3 - "$doc" "$out" <<'EOF'
import sys
path, table = sys.argv[1], sys.argv[2]
text = open(path, encoding="utf-8").read()
begin, end = "<!-- bench-report:begin -->", "<!-- bench-report:end -->"
i, j = text.index(begin) + len(begin), text.index(end)
open(path, "w", encoding="utf-8").write(text[:i] + "\n" + table + "\n" + text[j:])
EOF
  echo "bench-report: docs/benchmarks.md updated" >&2
fi
