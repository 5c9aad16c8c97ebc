#!/usr/bin/env bash
# Every test: unit and integration tests of the workspace (on the bundled
# captures, on ../shared/corpus/ when present, and on generated fixtures),
# plus the formatting and lint gates.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --workspace --release
