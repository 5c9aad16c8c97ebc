#!/usr/bin/env bash
# A fleet end to end (docs/fleet.md): generates 200 PktMon captures of 40
# simulated hosts over 5 days (FLEET/captures/<host>/PktMon-<date>.etl: the host
# is the folder, as `export` reads it), exports them into one Parquet dataset,
# and asks the same questions of it with DuckDB and with a PySpark job in local
# mode, printing both answers and whether they agree. Not part of CI (it
# downloads Spark: ~400 MB, and takes a few minutes).
#
# Installs what it needs, idempotently: scripts/setup.sh, Debian's
# openjdk-17-jre-headless, and Python venvs with DuckDB (scripts/duckdb-venv.sh)
# and PySpark (~/.cache/pktmon-analyzer/venv-spark-*).
# Usage: scripts/fleet-example.sh [FLEET_DIR]   (default: target/fleet, emptied first)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
FLEET=${1:-$ROOT/target/fleet}
source scripts/setup.sh
source scripts/duckdb-venv.sh
if ! command -v java >/dev/null 2>&1; then
  echo "fleet: installing openjdk-17-jre-headless (Java for Spark)" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends openjdk-17-jre-headless >&2
else
  echo "fleet: Java is installed ($(java -version 2>&1 | head -1))" >&2
fi
spark_version="4.3.0"
spark_venv="$HOME/.cache/pktmon-analyzer/venv-spark-$spark_version"
if "$spark_venv/bin/python" -c "import pyspark" >/dev/null 2>&1; then
  echo "fleet: PySpark $spark_version is in $spark_venv" >&2
else
  echo "fleet: creating a Python venv with pyspark==$spark_version in $spark_venv (a 400 MB download, once)" >&2
  rm -rf "$spark_venv"
  mkdir -p "$(dirname "$spark_venv")"
  /usr/bin/python3 -m venv "$spark_venv" >&2
  "$spark_venv/bin/pip" install --disable-pip-version-check --progress-bar off "pyspark==$spark_version" >&2
fi
echo "fleet: building pktmon-analyzer (release)" >&2
cargo build --release -q -p pktmon-analyzer
bin="${CARGO_TARGET_DIR:-$ROOT/target}/release/pktmon-analyzer"

secs_since() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }

rm -rf "$FLEET"
mkdir -p "$FLEET/captures"
days=(2025-06-02 2025-06-03 2025-06-04 2025-06-05 2025-06-06)
hosts=()
for i in $(seq 1 16); do hosts+=("$(printf 'web-%02d' "$i")"); done
for i in $(seq 1 12); do hosts+=("$(printf 'app-%02d' "$i")"); done
for i in $(seq 1 8); do hosts+=("$(printf 'db-%02d' "$i")"); done
for i in $(seq 1 4); do hosts+=("$(printf 'edge-%02d' "$i")"); done

# What each host sees on each day: web servers get a filter driver on the last
# day that drops by policy; two database servers lose their gateway's ARP
# every day; app servers see congestion and resets; edge hosts everything.
scenario() { # HOST DAY-INDEX
  case $1 in
    web-*) if [ "$2" -eq 4 ]; then echo local-policy; else echo baseline; fi ;;
    db-03 | db-07) echo address-resolution ;;
    db-*) echo baseline ;;
    app-*) case $(((10#${1#app-} + $2) % 4)) in 0) echo remote-congestion ;; 1) echo session-loss ;; 2) echo unreachable ;; *) echo baseline ;; esac ;;
    edge-*) echo mix ;;
  esac
}
build() { # HOST
  case $1 in
    web-*) echo 26100 ;;
    app-*) echo 26200 ;;
    *) echo 20348 ;;
  esac
}

echo "fleet: generating $((${#hosts[@]} * ${#days[@]})) captures of ${#hosts[@]} hosts over ${#days[@]} days in $FLEET/captures" >&2
start=$(date +%s%N)
n=0
for h in "${hosts[@]}"; do
  mkdir -p "$FLEET/captures/$h"
  for d in "${!days[@]}"; do
    n=$((n + 1))
    tmp="$FLEET/tmp"
    "$bin" generate --scenario "$(scenario "$h" "$d")" --build "$(build "$h")" --packets 3000 \
      --seed $((n * 1000)) --on-date "${days[$d]}" --format etl -o "$tmp" >/dev/null 2>&1
    mv "$tmp"/*.etl "$FLEET/captures/$h/PktMon-${days[$d]}.etl"
    rm -rf "$tmp"
  done
  [ -t 2 ] && printf '\rfleet: %d captures' "$n" >&2
done
[ -t 2 ] && echo >&2
gen_secs=$(secs_since "$start")
captures_bytes=$(du -sb "$FLEET/captures" | cut -f1)
echo "fleet: $n captures, $(mb "$captures_bytes") MB, generated in $gen_secs s"

echo "fleet: $bin export $FLEET/captures -o $FLEET/dataset"
start=$(date +%s%N)
"$bin" export "$FLEET/captures" -o "$FLEET/dataset"
export_secs=$(secs_since "$start")
dataset_bytes=$(du -sb "$FLEET/dataset" | cut -f1)
echo "fleet: export took $export_secs s; dataset $(mb "$dataset_bytes") MB in $(find "$FLEET/dataset" -name '*.parquet' | wc -l) files"

echo
echo "=== DuckDB $("$PKTMON_DUCKDB_PYTHON" -c 'import duckdb; print(duckdb.__version__)')"
start=$(date +%s%N)
"$PKTMON_DUCKDB_PYTHON" scripts/fleet/duckdb_queries.py "$FLEET/dataset" --timing | tee "$FLEET/duckdb.txt"
echo "fleet: DuckDB answered in $(secs_since "$start") s (Python's start included)"

echo
echo "=== Spark $spark_version (PySpark, local mode)"
start=$(date +%s%N)
"$spark_venv/bin/python" scripts/fleet/spark_queries.py "$FLEET/dataset" 2> "$FLEET/spark.log" | tee "$FLEET/spark.txt" ||
  { echo "fleet: the Spark job failed; its log: $FLEET/spark.log" >&2; tail -20 "$FLEET/spark.log" >&2; exit 1; }
echo "fleet: Spark answered in $(secs_since "$start") s (the JVM's start included)"

echo
# The same answers, timings apart.
if diff <(sed 's/ ([0-9]* ms)$//' "$FLEET/duckdb.txt") "$FLEET/spark.txt" >"$FLEET/diff.txt"; then
  echo "fleet: DuckDB and Spark give the same answers ($(wc -l <"$FLEET/spark.txt") lines)"
else
  echo "fleet: DuckDB and Spark differ:"
  cat "$FLEET/diff.txt"
  exit 1
fi
