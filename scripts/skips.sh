#!/usr/bin/env bash
# Prints the checks the tests skipped, counted, from the file the tests'
# skip helpers append to (one line per skipped check: test, need, why;
# scripts/test.sh passes PKTMON_SKIPS_FILE). Exits 1 when a check was skipped
# although what it needs was there: the corpus (PKTMON_CORPUS_DIR, default
# ../shared/corpus), an installed program (scripts/setup.sh installs them) or a
# file (file:PATH, e.g. the DuckDB venv scripts/duckdb-venv.sh makes).
set -euo pipefail
file=$1
corpus=${PKTMON_CORPUS_DIR:-$(cd "$(dirname "$0")/.." && pwd)/../shared/corpus}
if [ ! -s "$file" ]; then
  echo "test: no checks skipped"
  exit 0
fi
total=0
lines=()
avoidable=0
while IFS=$'\t' read -r test need why; do
  [ -n "$test" ] || continue
  total=$((total + 1))
  but=""
  case $need in
    corpus) [ -d "$corpus" ] && but=" — but the corpus is there ($corpus)" ;;
    program:*) command -v "${need#program:}" >/dev/null 2>&1 && but=" — but ${need#program:} is installed" ;;
    file:*) [ -e "${need#file:}" ] && but=" — but ${need#file:} is there" ;;
  esac
  [ -z "$but" ] || avoidable=$((avoidable + 1))
  lines+=("  $test: $why$but")
done < <(sort "$file")
if [ "$total" -eq 1 ]; then echo "test: 1 check skipped:"; else echo "test: $total checks skipped:"; fi
printf '%s\n' "${lines[@]}"
if [ "$avoidable" -gt 0 ]; then
  echo "test: FAILED: $avoidable of them could have run (what they need is here): a check that skips then is broken"
  exit 1
fi
