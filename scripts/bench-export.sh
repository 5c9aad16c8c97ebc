#!/usr/bin/env bash
# The cost of `export` (docs/benchmarks.md, "Parquet export"): on a generated
# capture of about 1M appearances (`generate --scenario mix --packets 1000000`),
# as converter pcapng and as PktMon ETL, export against a bare read of the same
# file and against `diagnose --json` (which export includes), medians of three
# runs (wall time, CPU time, peak RSS), and the dataset's size against the file's.
# Not part of CI. Usage: scripts/bench-export.sh   (BENCH_DIR: work folder, default a new /tmp folder)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source scripts/setup.sh
command -v /usr/bin/time >/dev/null 2>&1 || {
  echo "bench-export: installing GNU time" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends time >&2
}
cargo build --release -q -p pktmon-analyzer
bin="${CARGO_TARGET_DIR:-$ROOT/target}/release/pktmon-analyzer"
dir=${BENCH_DIR:-$(mktemp -d /tmp/pktmon-bench-export.XXXXXX)}
mkdir -p "$dir"
echo "bench-export: generating a 1M-appearance capture in $dir" >&2
"$bin" generate --scenario mix --packets 1000000 --format etl,pcapng -o "$dir" >/dev/null 2>&1

# Median of three runs of a command: "wall user+sys maxrss_kB".
median3() {
  local runs=()
  for _ in 1 2 3; do
    runs+=("$(/usr/bin/time -f '%e %U %S %M' "$@" 2>&1 >/dev/null | tail -1)")
  done
  printf '%s\n' "${runs[@]}" | awk '{ print $1, $2 + $3, $4 }' | sort -n | sed -n 2p
}
printf '%-8s %-10s %10s %8s %10s %9s %12s\n' file step wall_s cpu_s rss_MB MB_out appearances/s
for f in mix.pcapng mix.etl; do
  in="$dir/$f"
  n=$("$bin" info --json "$in" | awk -F: '/"appearances"/ { gsub(/[ ,]/, "", $2); print $2; exit }')
  size=$(stat -c %s "$in")
  for step in bare-read diagnose export; do
    case $step in
      bare-read) r=$(median3 "$bin" bench-read "$in"); out=0 ;;
      diagnose) r=$(median3 "$bin" diagnose "$in" --json /dev/null); out=0 ;;
      export)
        r=$(median3 bash -c "rm -rf '$dir/ds' && '$bin' export '$in' -o '$dir/ds'")
        out=$(du -sb "$dir/ds" | cut -f1)
        ;;
    esac
    read -r wall cpu rss <<<"$r"
    awk -v f="$f" -v s="$step" -v w="$wall" -v c="$cpu" -v r="$rss" -v o="$out" -v n="$n" \
      'BEGIN { printf "%-8s %-10s %10.2f %8.2f %10.0f %9.1f %12.0f\n", f, s, w, c, r / 1024, o / 1e6, n / w }'
  done
  echo "$f: $(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1e6 }') MB, $n appearances; dataset $(du -sb "$dir/ds" | cut -f1 | awk '{ printf "%.1f", $1 / 1e6 }') MB" \
    "($(find "$dir/ds" -name '*.parquet' | wc -l) files; appearances $(du -sb "$dir/ds/appearances" | cut -f1 | awk '{ printf "%.1f", $1 / 1e6 }') MB)"
done
[ -n "${BENCH_DIR:-}" ] || rm -rf "$dir"
