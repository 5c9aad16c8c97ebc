#!/usr/bin/env bash
# Every test: unit and integration tests of the workspace (on the bundled
# captures, on ../shared/corpus/ when present, and on generated fixtures),
# plus the formatting and lint gates. Every step runs even when one fails;
# the end lists the failed steps and every skipped check with why, and the
# run fails when a check was skipped although what it needs was there.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
source scripts/duckdb-venv.sh # DuckDB for the Parquet export tests

skips="${CARGO_TARGET_DIR:-$PWD/target}/test-skips.txt"
mkdir -p "$(dirname "$skips")"
: >"$skips"
export PKTMON_SKIPS_FILE="$skips"

failed=()
step() { # NAME WHAT-IT-TAKES COMMAND…
  local name=$1 note=$2
  shift 2
  echo "test: $name: $*${note:+ ($note)}" >&2
  if ! "$@"; then
    failed+=("$name")
  fi
}
step formatting "" cargo fmt --all -- --check
step lints "builds the workspace in debug mode: a few minutes the first time" \
  cargo clippy --workspace --all-targets -- -D warnings
step tests "builds in release mode first: a few minutes the first time" \
  cargo test --workspace --release

echo
skipped_ok=0
bash scripts/skips.sh "$skips" || skipped_ok=$?
if [ "${#failed[@]}" -gt 0 ]; then
  echo "test: FAILED: ${failed[*]}"
  exit 1
fi
if [ "$skipped_ok" -ne 0 ]; then
  exit 1
fi
echo "test: all passed"
