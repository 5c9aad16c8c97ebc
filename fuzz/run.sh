#!/usr/bin/env bash
# Runs one fuzz target with the options it was tuned for.
#
#   fuzz/run.sh <etl_reader|pcapng_reader|text_reader|plugin_state> [seconds, default 600] [extra libFuzzer flags…]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`) and the seed corpus
# (`fuzz/seed.sh`). RUSTC_BOOTSTRAP=1 lets the stable toolchain take the
# nightly-only flags cargo-fuzz passes (-Zsanitizer=address, …).
set -euo pipefail
target="${1:?usage: fuzz/run.sh <etl_reader|pcapng_reader|text_reader|plugin_state> [seconds] [libFuzzer flags…]}"
seconds="${2:-600}"
shift $(( $# < 2 ? $# : 2 ))
case "$target" in
    etl_reader) max_len=65536 ;;
    pcapng_reader) max_len=32768 ;;
    text_reader) max_len=16384 ;;
    plugin_state) max_len=4096; mkdir -p "$(dirname "${BASH_SOURCE[0]}")/corpus/plugin_state" ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
esac
cd "$(dirname "${BASH_SOURCE[0]}")"
[ -d "corpus/$target" ] || ./seed.sh
exec env RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -- \
    -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 -max_total_time="$seconds" -print_final_stats=1 "$@"
