#!/usr/bin/env bash
# A Python virtual environment with DuckDB, for the Parquet export's tests
# (tests/tests/cli_export.rs reads the dataset back with DuckDB). Sourced by
# scripts/test.sh after scripts/setup.sh (which installs python3-venv);
# exports PKTMON_DUCKDB_PYTHON, the venv's python. Idempotent: the venv lives in
# ~/.cache/pktmon-analyzer/ (kept between runs and clones) and a second run
# installs nothing and prints one line.
duckdb_version="2.0.0" # tests/tests/cli_export.rs looks for this venv when PKTMON_DUCKDB_PYTHON is not set
venv="${PKTMON_DUCKDB_VENV:-$HOME/.cache/pktmon-analyzer/venv-duckdb-$duckdb_version}"
if "$venv/bin/python" -c "import duckdb" >/dev/null 2>&1; then
  echo "setup: DuckDB $duckdb_version for the export tests is in $venv" >&2
else
  echo "setup: creating a Python venv with duckdb==$duckdb_version in $venv (a 20 MB download, once)" >&2
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  /usr/bin/python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --disable-pip-version-check --progress-bar off "duckdb==$duckdb_version" >&2
fi
export PKTMON_DUCKDB_PYTHON="$venv/bin/python"
